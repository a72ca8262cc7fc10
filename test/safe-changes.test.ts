/**
 * Safe changes: ordinary edits to a serving stack, each with the Terraform resources it may touch.
 * Each test synthesizes before and after and proves nothing else is replaced — and that the model
 * bucket and the node groups are never replaced by an endpoint change.
 */
import { Testing } from "cdktf";
import { ModelSource, SecretRef } from "../constructs/model-source";
import { ModelStore } from "../constructs/model-store";
import { ModelServingStack } from "../stacks/model-serving-stack";
import type { InferenceEndpointProps } from "../constructs/inference-endpoint";
import { synthPhases } from "./fixtures/phases";

process.env.MODEL_SERVING_QUIET = "1";

type Json = Record<string, any>;

/**
 * Arguments the AWS and Kubernetes providers replace a resource for (ForceNew), per resource type —
 * from the providers' documentation. Anything else is an in-place update.
 */
const FORCE_NEW: Record<string, string[]> = {
  aws_eks_cluster: ["name"],
  aws_eks_node_group: ["ami_type", "capacity_type", "cluster_name", "disk_size", "instance_types", "node_group_name", "node_group_name_prefix", "node_role_arn", "remote_access", "subnet_ids"],
  aws_launch_template: ["name", "name_prefix"],
  aws_s3_bucket: ["bucket", "bucket_prefix"],
  aws_iam_role: ["name", "name_prefix"],
  aws_iam_policy: ["name", "name_prefix"],
  aws_eks_pod_identity_association: ["cluster_name", "namespace", "service_account"],
  kubernetes_job_v1: ["metadata", "spec"],
  kubernetes_deployment_v1: ["metadata.name", "metadata.namespace"],
  kubernetes_service_v1: ["metadata.name", "metadata.namespace"],
  kubernetes_service_account_v1: ["metadata.name", "metadata.namespace"],
  kubernetes_pod_disruption_budget_v1: ["metadata.name", "metadata.namespace"],
  kubernetes_namespace_v1: ["metadata.name"],
};

const get = (o: Json, path: string) => path.split(".").reduce((v: any, k) => (Array.isArray(v) ? v[0] : v)?.[k], o);

function resources(tf: Json): Map<string, Json> {
  const out = new Map<string, Json>();
  for (const [type, byName] of Object.entries(tf.resource ?? {})) for (const [name, r] of Object.entries(byName as Json)) out.set(`${type}.${name}`, r as Json);
  return out;
}

/** Addresses Terraform would replace (destroy and create) or destroy, going from `a` to `b`. */
function diff(a: Json, b: Json) {
  const before = resources(a);
  const after = resources(b);
  const replaced: string[] = [];
  const destroyed: string[] = [];
  const updated: string[] = [];
  const created = [...after.keys()].filter((k) => !before.has(k));
  for (const [address, r] of before) {
    const next = after.get(address);
    if (!next) {
      destroyed.push(address);
      continue;
    }
    const { lifecycle: _l, depends_on: _d, ...x } = r;
    const { lifecycle: _l2, depends_on: _d2, ...y } = next;
    if (JSON.stringify(x) === JSON.stringify(y)) continue;
    const type = address.split(".")[0];
    const forceNew = (FORCE_NEW[type] ?? []).some((p) => JSON.stringify(get(x, p)) !== JSON.stringify(get(y, p)));
    if (forceNew) replaced.push(address);
    else updated.push(address);
  }
  // Resources replaced because something they name in replace_triggered_by changed.
  for (const [address, r] of after) {
    const triggers: string[] = (r.lifecycle?.replace_triggered_by ?? []).map((t: string) => t.replace(/^\$\{|\}$/g, ""));
    if (before.has(address) && triggers.some((t) => updated.includes(t) || replaced.includes(t)) && !replaced.includes(address)) replaced.push(address);
  }
  return { replaced, destroyed, updated, created };
}

interface Setup {
  revision?: string;
  title?: string;
  chat?: Partial<InferenceEndpointProps>;
  extraEndpoint?: "same-shape" | "new-shape";
  tags?: Record<string, string>;
  budget?: number;
}

const REV_A = "0e9e39f249a16976918f6564b8830bc894c89659";
const REV_B = "5206a32e0bd3067aef1ce90f5528ade7d866253f"; // a later commit of the same repo (any 40-hex works)

function synth(s: Setup = {}): Json {
  const app = Testing.app();
  const stack = new ModelServingStack(app, "serving", { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "prod", quotas: { "L-DB2E81BA": 1000, "L-417A185B": 1000 }, ...(s.budget ? { budgetUsdPerMonth: s.budget } : {}) } }, ...(s.tags ? { tags: s.tags } : {}) });
  const store = new ModelStore(stack, "store", { cluster: stack.cluster });
  const llama = stack.importModel("llama", { source: ModelSource.huggingFace("meta-llama/Llama-3.1-8B-Instruct", { revision: s.revision ?? REV_A, token: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:hf-token") }), store, title: s.title ?? "Llama 3.1 8B" });
  const bge = stack.importModel("bge", { source: ModelSource.huggingFace("BAAI/bge-large-en-v1.5", { revision: "d4aa6901d3a41ba39fb536a557fa166f842b0e09" }) });
  stack.addEndpoint("chat", { model: llama, shape: "L40S_X1", maxModelLen: 8192, replicas: 1, ...(s.chat ?? {}) });
  stack.addEndpoint("embed", { model: bge, shape: "L4_X1", maxModelLen: 512 });
  if (s.extraEndpoint === "same-shape") stack.addEndpoint("chat-b", { model: llama, shape: "L40S_X1", maxModelLen: 4096 });
  if (s.extraEndpoint === "new-shape") stack.addEndpoint("chat-big", { model: llama, shape: "H100_X1", maxModelLen: 32768 });
  return synthPhases(stack);
}

const base = synth();

/** The changes, and the resources each may replace (a regexp over Terraform addresses). */
const changes: Array<[string, Setup, RegExp | null]> = [
  ["scale an endpoint from 1 to 2 replicas", { chat: { replicas: 2 } }, /^kubernetes_job_v1\.chat_smoke-test/],
  ["lower maxModelLen from 8192 to 4096", { chat: { maxModelLen: 4096 } }, /^kubernetes_job_v1\.chat_smoke-test/],
  ["raise gpuMemoryUtilization", { chat: { gpuMemoryUtilization: 0.95 } }, /^kubernetes_job_v1\.chat_smoke-test/],
  ["switch the KV cache to fp8", { chat: { kvCacheDtype: "fp8" } }, /^kubernetes_job_v1\.chat_smoke-test/],
  ["add an endpoint on an existing shape", { extraEndpoint: "same-shape" }, null],
  ["add an endpoint on a new shape", { extraEndpoint: "new-shape" }, null],
  ["serve a new model revision", { revision: REV_B }, /^kubernetes_job_v1\.(chat_smoke-test|store_stage-llama)/],
  ["rename the model's display title", { title: "Llama 3.1 8B Instruct (prod)" }, /^kubernetes_job_v1\.chat_smoke-test/],
  ["move an endpoint to a bigger shape", { chat: { shape: "H100_X1" } }, /^kubernetes_job_v1\.chat_smoke-test/],
  ["require more concurrency the shape already holds", { chat: { minConcurrency: 2 } }, null],
  ["add a cost-centre tag", { tags: { "cost-centre": "ml-42" } }, null],
  ["set a monthly budget", { budget: 100000 }, null],
  ["turn prefix caching off", { chat: { enablePrefixCaching: false } }, /^kubernetes_job_v1\.chat_smoke-test/],
];

describe("safe changes", () => {
  test("the table has at least 10 ordinary changes", () => {
    expect(changes.length).toBeGreaterThanOrEqual(10);
  });

  test.each(changes)("%s replaces nothing but what it may, and never the bucket or a node group", (_name, setup, mayReplace) => {
    const d = diff(base, synth(setup));
    const unexpected = d.replaced.filter((a) => !mayReplace || !mayReplace.test(a));
    expect(unexpected).toEqual([]);
    for (const a of [...d.replaced, ...d.destroyed]) {
      expect(a).not.toMatch(/^aws_s3_bucket\./);
      expect(a).not.toMatch(/^aws_eks_cluster\./);
    }
    // Node groups are never replaced; one is destroyed only when the last endpoint leaves its shape.
    for (const a of d.replaced) expect(a).not.toMatch(/^aws_eks_node_group\./);
    if (!setup.chat?.shape) expect(d.destroyed.filter((a) => a.startsWith("aws_eks_node_group."))).toEqual([]);
  });

  test("a change that would replace a node group is caught (the check is not vacuous)", () => {
    const after = JSON.parse(JSON.stringify(base));
    const group = Object.values(after.resource.aws_eks_node_group as Json).find((g: any) => g.node_group_name === "l40s-x1") as Json;
    group.instance_types = ["g6e.2xlarge"];
    expect(diff(base, after).replaced).toEqual([expect.stringMatching(/^aws_eks_node_group\./)]);
  });

  test("every rollout re-runs the smoke test: the Job is replaced when its Deployment changes", () => {
    const d = diff(base, synth({ chat: { replicas: 2 } }));
    expect(d.updated).toContainEqual(expect.stringMatching(/^kubernetes_deployment_v1\.chat_deployment/));
    expect(d.replaced).toContainEqual(expect.stringMatching(/^kubernetes_job_v1\.chat_smoke-test/));
  });
});

describe("plan-time quota guard", () => {
  test("when opted in, each GPU node group carries a precondition on the live Service Quotas value", () => {
    const app = Testing.app();
    const stack = new ModelServingStack(app, "serving", { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "prod", quotas: { "L-DB2E81BA": 1000 }, planTimeQuotaCheck: true } } });
    const bge = stack.importModel("bge", { source: ModelSource.huggingFace("BAAI/bge-large-en-v1.5", { revision: "d4aa6901d3a41ba39fb536a557fa166f842b0e09" }) });
    stack.addEndpoint("embed", { model: bge, shape: "L4_X1", maxModelLen: 512, replicas: 3 });
    const tf = synthPhases(stack);
    const quota = Object.entries(tf.data.aws_servicequotas_service_quota as Json)[0];
    expect(quota[1]).toEqual({ service_code: "ec2", quota_code: "L-DB2E81BA" });
    const group = Object.values(tf.resource.aws_eks_node_group as Json).find((g: any) => g.node_group_name === "l4-x1") as Json;
    const needed = stack.cluster.plan().quotas[0].neededVcpus;
    expect(needed).toBe(4 * (3 + 1)); // g6.xlarge: 4 vCPUs × (3 nodes + 1 surge)
    expect(group.lifecycle.precondition).toEqual([{ condition: `\${(data.aws_servicequotas_service_quota.${quota[0]}.value >= ${needed})}`, error_message: expect.stringMatching(/^\[QUOTA_EXCEEDED\] EC2 quota L-DB2E81BA/) }]);
  });

  test("is off by default", () => {
    expect(base.data?.aws_servicequotas_service_quota).toBeUndefined();
  });
});
