/**
 * The constructs in stacks the user owns: which providers they bind to, where their workloads may
 * live, and what each stack's serving plan holds.
 */
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, TerraformStack, Testing } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { GpuCluster } from "../constructs/gpu-cluster";
import { ImportedModel } from "../constructs/imported-model";
import { InferenceEndpoint } from "../constructs/inference-endpoint";
import { ModelSource } from "../constructs/model-source";
import { ModelServingStack } from "../stacks/model-serving-stack";
import { DEPLOYER_CIDRS, synthPhases } from "./fixtures/phases";

process.env.MODEL_SERVING_QUIET = "1";
const QWEN = () => ModelSource.huggingFace("Qwen/Qwen2.5-7B-Instruct", { revision: "a09a35458c702b33eeacc393d103063234e8bc28" });
const QUOTAS = { "L-DB2E81BA": 1000 };

function synthError(app: App): string {
  try {
    app.synth();
    return "";
  } catch (e) {
    return (e as Error).message;
  }
}

/** An existing cluster composed into a user's stack, with one endpoint. */
function existingIn(stack: TerraformStack, id = "gpu", extra: Partial<Parameters<typeof GpuCluster.fromExisting>[2]> = {}) {
  const cluster = GpuCluster.fromExisting(stack, id, { clusterName: `${id}-cluster`, subnetIds: ["subnet-0a1b2c3d4e5f60718"], quotas: QUOTAS, ...extra });
  const model = new ImportedModel(stack, `${id}-qwen`, { source: QWEN() });
  new InferenceEndpoint(stack, `${id}-chat`, { cluster, model, maxModelLen: 8192 });
  return cluster;
}

describe("providers", () => {
  test("a stack with only aliased AWS providers must name one: AWS_PROVIDER_AMBIGUOUS lists the aliases", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "multi");
    new AwsProvider(stack, "us", { alias: "us", region: "us-east-1" });
    new AwsProvider(stack, "eu", { alias: "eu", region: "eu-west-1" });
    existingIn(stack);
    expect(synthError(app)).toMatch(/\[AWS_PROVIDER_AMBIGUOUS\] multi\/gpu: stack multi has AWS providers us, eu and none is the single unaliased default.*Fix: pass awsProvider/);
  });

  test("a stack without an AWS provider is told to add one, not given one silently", () => {
    const app = Testing.app();
    existingIn(new TerraformStack(app, "bare"));
    expect(synthError(app)).toMatch(/\[AWS_PROVIDER_MISSING\] bare\/gpu: stack bare has no AWS provider/);
  });

  test("a stack that already has its own unaliased Kubernetes provider keeps it alone as the default: the library's is aliased and its resources use it", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "mine");
    new AwsProvider(stack, "aws", { region: "us-east-1" });
    new KubernetesProvider(stack, "k8s", { configPath: "~/.kube/config" });
    existingIn(stack);
    const tf = JSON.parse(Testing.synth(stack, true));
    expect(tf.provider.kubernetes.filter((p: { alias?: string }) => p.alias === undefined)).toHaveLength(1);
    const libraryProvider = tf.provider.kubernetes.find((p: { alias?: string }) => p.alias)!.alias;
    for (const d of Object.values(tf.resource.kubernetes_deployment_v1) as Array<{ provider: string }>) expect(d.provider).toBe(`kubernetes.${libraryProvider}`);
  });

  test("a cluster whose provider is in another region than the cluster declares is refused with REGION_CONFLICT", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "r");
    new AwsProvider(stack, "aws", { region: "us-east-1" });
    existingIn(stack, "gpu", { region: "eu-west-1" });
    expect(synthError(app)).toMatch(/\[REGION_CONFLICT\] r\/gpu: the cluster declares region eu-west-1, but its AWS provider is in us-east-1/);
  });
});

describe("where workloads live", () => {
  test("a new cluster's endpoints in the stack that creates it are refused: PHASES_REQUIRED says how to split them", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "one");
    new AwsProvider(stack, "aws", { region: "us-east-1" });
    const cluster = new GpuCluster(stack, "gpu", { publicAccessCidrs: DEPLOYER_CIDRS, quotas: QUOTAS });
    new InferenceEndpoint(stack, "chat", { cluster, model: new ImportedModel(stack, "qwen", { source: QWEN() }), maxModelLen: 8192 });
    expect(synthError(app)).toMatch(/\[PHASES_REQUIRED\] one\/gpu: the endpoints of cluster one-gpu are in stack one, which also creates the cluster\..*kubernetes_manifest.*Fix: put the endpoints and model stores in a second stack/);
  });

  test("one cluster's workloads in two stacks are refused: WORKLOADS_SPLIT_ACROSS_STACKS names the stack that has them", () => {
    const app = Testing.app();
    const a = new TerraformStack(app, "a");
    new AwsProvider(a, "aws", { region: "us-east-1" });
    const cluster = existingIn(a);
    const b = new TerraformStack(app, "b");
    new AwsProvider(b, "aws", { region: "us-east-1" });
    new InferenceEndpoint(b, "other", { cluster, model: new ImportedModel(b, "qwen", { source: QWEN() }), maxModelLen: 8192 });
    expect(synthError(app)).toMatch(/\[WORKLOADS_SPLIT_ACROSS_STACKS\] a\/gpu: cluster gpu-cluster already has its workloads in stack a, and stack b adds more/);
  });

  test("nothing is written when the second stack of an app has an error: the whole app is checked before the first stack is written", () => {
    const outdir = mkdtempSync(join(tmpdir(), "app-"));
    const app = new App({ outdir });
    const ok = new ModelServingStack(app, "ok", { cluster: { create: { publicAccessCidrs: DEPLOYER_CIDRS, quotas: QUOTAS } } });
    ok.addEndpoint("chat", { model: ok.importModel("qwen", { source: QWEN() }), maxModelLen: 8192 });
    const bad = new ModelServingStack(app, "bad", { cluster: { create: { publicAccessCidrs: DEPLOYER_CIDRS, quotas: { "L-DB2E81BA": 4 } } } });
    bad.addEndpoint("chat", { model: bad.importModel("qwen", { source: QWEN() }), maxModelLen: 8192 });
    expect(synthError(app)).toMatch(/\[QUOTA_EXCEEDED\] bad-cluster\/cluster/);
    // cdktf creates the empty stacks/ folder up front; no stack's files are in it.
    expect(existsSync(join(outdir, "stacks")) ? readdirSync(join(outdir, "stacks"), { recursive: true }) : []).toEqual([]);
  });
});

describe("what each stack's plan holds", () => {
  test("a warning of one stack stays in that stack's plan, and an error names its own stack's path", () => {
    const app = Testing.app();
    const a = new ModelServingStack(app, "team-a", { cluster: { create: { publicAccessCidrs: DEPLOYER_CIDRS, quotas: QUOTAS } } });
    a.addEndpoint("chat", { model: a.importModel("qwen", { source: ModelSource.huggingFace("Qwen/Qwen2.5-7B-Instruct", { revision: "main" }) }), maxModelLen: 8192 });
    const b = new ModelServingStack(app, "team-b", { cluster: { create: { publicAccessCidrs: DEPLOYER_CIDRS, quotas: QUOTAS } } });
    b.addEndpoint("chat", { model: b.importModel("qwen", { source: QWEN() }), maxModelLen: 8192 });
    synthPhases(a);
    synthPhases(b);
    const codes = (s: ModelServingStack) => s.cluster.allFindings().map((f) => `${f.code} ${f.path}`);
    expect(codes(a)).toContain("MODEL_REVISION_UNPINNED team-a/qwen");
    expect(codes(b).filter((c) => c.startsWith("MODEL_REVISION_UNPINNED"))).toEqual([]);
    expect(codes(b).every((c) => !c.includes("team-a"))).toBe(true);
  });
});
