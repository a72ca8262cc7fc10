import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { invalidNames } from "./fixtures/emitted-names";
import { checkovScan, type ScanRow } from "./fixtures/checkov-scan";
import { crdsNotInstalled, duplicateDefaultProviders, manifestsInClusterStacks, secretsNobodyCreates, unpinnedCharts, unreachableApis, type Stacks } from "./fixtures/deploy-invariants";
import { credentialLeaks } from "./fixtures/credentials";
import { waitProblems } from "./fixtures/waits";

const root = join(__dirname, "..");
// One node process with tsx's loader (the tsx CLI would start a second one).
const tsxLoader = require.resolve("tsx/cjs");

/** Run an example app the way `cdktf synth` does, in a fresh directory, and read what it wrote. */
function synthExample(example: string): { status: number | null; stdout: string; files: Record<string, string> } {
  const cwd = mkdtempSync(join(tmpdir(), "example-"));
  try {
    const r = spawnSync(process.execPath, ["--require", tsxLoader, join(root, "examples", example, "main.ts")], { cwd, encoding: "utf8", env: { ...process.env, MODEL_SERVING_QUIET: "0", TSX_TSCONFIG_PATH: join(root, "tsconfig.json") } });
    const files: Record<string, string> = {};
    const stacks = join(cwd, "cdktf.out", "stacks");
    // Files only: a stack's assets/ (a local chart copied from charts/) is not generated code.
    for (const stack of readdirSync(stacks)) for (const f of readdirSync(join(stacks, stack), { withFileTypes: true })) if (f.isFile()) files[`${stack}/${f.name}`] = readFileSync(join(stacks, stack, f.name), "utf8");
    return { status: r.status, stdout: r.stdout, files };
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

const firstRuns = new Map<string, ReturnType<typeof synthExample>>();
/** The first synth of an example, shared by the tests that only read it. */
function firstRun(example: string) {
  if (!firstRuns.has(example)) firstRuns.set(example, synthExample(example));
  return firstRuns.get(example)!;
}

describe.each(["quickstart", "existing-cluster", "multi-tenant", "large-model", "throughput", "platform", "gateway"])("examples/%s", (example) => {
  const first = firstRun(example);
  const second = synthExample(example);

  test("synthesizes offline into cdk.tf.json, serving-plan.json and serving-plan.md and prints the plan table", () => {
    expect(first.status).toBe(0);
    // A new cluster is its own deploy phase: <example>-cluster, then the workloads in <example>.
    const phases = ["existing-cluster", "platform"].includes(example) ? [] : [`${example}-cluster/cdk.tf.json`];
    // The platform example composes two clusters into one stack: one plan per cluster.
    const plans = example === "platform" ? ["platform/serving-plan.eu.json", "platform/serving-plan.eu.md", "platform/serving-plan.us.json", "platform/serving-plan.us.md"] : [`${example}/serving-plan.json`, `${example}/serving-plan.md`];
    expect(Object.keys(first.files).sort()).toEqual([`${example}/cdk.tf.json`, ...plans, ...phases].sort());
    expect(first.stdout).toMatch(/endpoint\s+model\s+shape\s+GPUs\s+KV tokens\s+max conc\.\s+\$\/month/);
  });

  test("is byte-identical across two synths and carries no absolute path or timestamp", () => {
    expect(second.files).toEqual(first.files);
    for (const content of Object.values(first.files)) {
      expect(content).not.toMatch(/\/(tmp|work|home|root|Users)\//);
      expect(content).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/);
    }
  });

  // Every serving plan the example wrote (one per cluster), and every stack's Terraform (both phases).
  const plans = Object.entries(first.files).filter(([f]) => /\/serving-plan(\.[^/]+)?\.json$/.test(f)).map(([, c]) => JSON.parse(c));
  const terraform = Object.entries(first.files).filter(([f]) => f.endsWith("/cdk.tf.json")).map(([, c]) => JSON.parse(c));

  test.each(plans.map((p, i) => [i, p]))("plans every endpoint with a shape, KV tokens, concurrency, replicas and a positive monthly cost range (plan %i)", (_i, plan: any) => {
    expect(plan.endpoints.length).toBeGreaterThan(0);
    for (const e of plan.endpoints) {
      expect(e.tensorParallel * e.pipelineParallel).toBe(e.gpusPerReplica);
      expect(e.monthlyUsd.min).toBeGreaterThan(0);
      expect(e.monthlyUsd.min).toBeLessThanOrEqual(e.monthlyUsd.max);
      if (e.capability === "TEXT_TO_TEXT" || e.capability === "IMAGE_TEXT_TO_TEXT") expect(e.kvCacheTokens).toBeGreaterThanOrEqual(e.maxModelLen);
    }
    expect(plan.findings.filter((f: { severity: string }) => f.severity === "error")).toEqual([]);
  });

  test("writes no credential: nothing token-like in cdk.tf.json or the serving plan, secrets only by name", () => {
    expect(Object.keys(first.files).some((f) => f.endsWith("cdk.tf.json"))).toBe(true);
    expect(credentialLeaks(first.files)).toEqual([]);
  });

  test("emits only names their APIs accept (Kubernetes names and labels, IAM, EKS, S3, CloudWatch, launch templates), in every stack", () => {
    for (const tf of terraform) expect(invalidNames(tf)).toEqual([]);
  });

  test("a Checkov-style scan of every stack's Terraform has no unexplained failure: each one is a rule a serving plan suppresses there, with a reason", () => {
    const explained = (f: ScanRow) => plans.some((plan) => plan.policy.rules.some((r: any) => r.references.checkovTerraform.includes(f.id) && r.suppressed.some((s: any) => s.address === f.address && s.reason.length > 20)));
    // The platform example's own VPC, database and log bucket are the consumer's to fix, not the library's.
    const consumers = example === "platform" ? ["aws_vpc.vpc", "aws_subnet.data-subnet", "aws_db_instance.orders-db", "aws_s3_bucket.access-logs"] : [];
    const rows = terraform.flatMap((tf) => checkovScan(tf)).filter((r) => !consumers.includes(r.address));
    expect(rows.length).toBeGreaterThan(40);
    expect(rows.filter((r) => r.result === "FAILED" && !explained(r)).map((r) => `${r.id} ${r.address}`)).toEqual([]);
  });

  test("every wait in every stack is one the Kubernetes provider supports for its kind: rollout only on Deployments, DaemonSets and StatefulSets; Jobs wait for completion, Deployments for rollout", () => {
    const stacks = Object.keys(first.files).filter((f) => f.endsWith("/cdk.tf.json"));
    expect(stacks.length).toBe(["existing-cluster", "platform"].includes(example) ? 1 : 2);
    expect(stacks.flatMap((f) => waitProblems(JSON.parse(first.files[f])))).toEqual([]);
  });

  test.each(plans.map((p, i) => [i, p]))("lists every policy rule with its result, none failing, and every suppression with its reason (plan %i)", (_i, plan: any) => {
    expect(plan.policy.rules.length).toBeGreaterThanOrEqual(20);
    expect(plan.policy.rules.filter((r: { result: string }) => r.result === "fail")).toEqual([]);
    for (const s of plan.policy.suppressions) expect(s.reason.length).toBeGreaterThan(20);
  });
});

/** The example's stacks, parsed: stack name → cdk.tf.json. */
function stacksOf(example: string): Stacks {
  const files = firstRun(example).files;
  return Object.fromEntries(Object.entries(files).filter(([f]) => f.endsWith("/cdk.tf.json")).map(([f, c]) => [f.split("/")[0], JSON.parse(c)]));
}

describe.each(["quickstart", "existing-cluster", "multi-tenant", "large-model", "throughput", "platform", "gateway"])("examples/%s deploys as Terraform and EKS need", (example) => {
  const stacks = stacksOf(example);
  const existing = ["existing-cluster", "platform"].includes(example);

  test("no stack that creates a cluster holds a kubernetes_manifest (its plan needs that cluster's API)", () => {
    expect(manifestsInClusterStacks(stacks)).toEqual([]);
  });

  test("every provider that talks to a cluster the app creates can reach its API, with exec auth", () => {
    expect(unreachableApis(stacks)).toEqual([]);
  });

  test("every custom resource's CRD is installed by the app, by a pinned chart, in the same or an earlier stack", () => {
    expect(crdsNotInstalled(stacks, existing)).toEqual([]);
  });

  test("every secret a pod reads is synced by the app (or the cluster is an existing one)", () => {
    expect(secretsNobodyCreates(stacks, existing)).toEqual([]);
  });

  test("each stack has at most one unaliased block per provider type, and every Helm release pins its chart version", () => {
    expect(duplicateDefaultProviders(stacks)).toEqual([]);
    expect(unpinnedCharts(stacks)).toEqual([]);
  });

  test("the workloads stack depends on the cluster stack through cross-stack references, and the plan lists the phase order", () => {
    const [, planJson] = Object.entries(firstRun(example).files).find(([f]) => f.startsWith(`${example}/serving-plan`) && f.endsWith(".json"))!;
    const plan = JSON.parse(planJson);
    if (existing) {
      expect(Object.keys(stacks)).toEqual([example]);
      expect(plan.phases.map((p: { stack: string }) => p.stack)).toEqual([example]);
      return;
    }
    expect(Object.keys(stacks).sort()).toEqual([example, `${example}-cluster`].sort());
    expect(stacks[example].data.terraform_remote_state).toHaveProperty([`cross-stack-reference-input-${example}-cluster`]);
    expect(plan.phases.map((p: { order: number; stack: string }) => [p.order, p.stack])).toEqual([[1, `${example}-cluster`], [2, example]]);
  });
});

test("the checks above catch what they look for", () => {
  const cluster = { resource: { aws_eks_cluster: { c: { name: "c", vpc_config: [{ endpoint_public_access: false, subnet_ids: ["${aws_subnet.a.id}"] }] } }, kubernetes_manifest: { m: { manifest: { apiVersion: "keda.sh/v1alpha1", kind: "ScaledObject", metadata: { name: "x" } } } } }, provider: { kubernetes: [{}, { host: "${aws_eks_cluster.c.endpoint}", token: "t" }] } };
  const stacks: Stacks = { s: cluster };
  expect(manifestsInClusterStacks(stacks)).toHaveLength(1);
  expect(unreachableApis(stacks).join("\n")).toMatch(/cannot reach[\s\S]*get-token/);
  expect(crdsNotInstalled(stacks, false)).toEqual(["s: ScaledObject needs the keda chart, which no stack it depends on installs"]);
  expect(duplicateDefaultProviders(stacks)).toEqual(["s: 2 unaliased kubernetes providers"]);
  const pod = { resource: { kubernetes_deployment_v1: { d: { spec: [{ template: [{ spec: [{ container: [{ env: [{ name: "K", value_from: [{ secret_key_ref: [{ name: "hand-made", key: "k" }] }] }] }] }] }] }] } } } };
  expect(secretsNobodyCreates({ w: pod }, false)).toEqual(["w: kubernetes_deployment_v1.d reads secret hand-made, which nothing in the app creates or syncs"]);
  expect(secretsNobodyCreates({ w: pod }, true)).toEqual([]);
  expect(unpinnedCharts({ s: { resource: { helm_release: { h: { chart: "keda", repository: "https://x", version: ">= 2" } } } } })).toEqual(["s: helm_release.h has version >= 2"]);
});

test("the multi-tenant example hosts 50 adapters on one shape and prices each", () => {
  const plan = JSON.parse(firstRun("multi-tenant").files["multi-tenant/serving-plan.json"]);
  expect(plan.endpoints).toHaveLength(1);
  expect(plan.endpoints[0].adapters).toHaveLength(50);
  expect(plan.endpoints[0].lora.monthlyUsdPerAdapter).toBeGreaterThan(0);
});

test("the large-model example spans nodes in whole groups and counts them in the quota", () => {
  const plan = JSON.parse(firstRun("large-model").files["large-model/serving-plan.json"]);
  expect(plan.endpoints[0]).toMatchObject({ nodesPerReplica: 2, tensorParallel: 8, pipelineParallel: 2 });
  expect(plan.quotas[0]).toMatchObject({ code: "L-417A185B", neededVcpus: 768, status: "ok" });
});

test("the quickstart serves chat, embeddings, rerank and vision", () => {
  const plan = JSON.parse(firstRun("quickstart").files["quickstart/serving-plan.json"]);
  expect(plan.endpoints.map((e: { capability: string }) => e.capability).sort()).toEqual(["EMBEDDING", "IMAGE_TEXT_TO_TEXT", "RERANK", "TEXT_TO_TEXT"]);
});

test("the quickstart plan shows tokens/s and $ per 1M tokens for every endpoint, in JSON and in the reviewer's tables", () => {
  const run = firstRun("quickstart");
  const plan = JSON.parse(run.files["quickstart/serving-plan.json"]);
  for (const e of plan.endpoints) {
    expect(e.performance.perReplicaAtSaturation.totalTokensPerSecond).toBeGreaterThan(0);
    expect(e.performance.usdPer1MTotalTokens.atSaturation).toBeGreaterThan(0);
    if (e.capability === "TEXT_TO_TEXT" || e.capability === "IMAGE_TEXT_TO_TEXT") expect(e.performance.usdPer1MOutputTokens.atSaturation).toBeGreaterThan(0);
  }
  expect(run.files["quickstart/serving-plan.md"]).toContain("## Performance and $ per 1M tokens");
  expect(run.stdout).toMatch(/tok\/s\/replica\s+\$\/1M tokens/);
});

test("the throughput example sizes its endpoints by traffic: the replicas it chose serve the declared rate within the latency targets", () => {
  const plan = JSON.parse(firstRun("throughput").files["throughput/serving-plan.json"]);
  const chat = plan.endpoints.find((e: { name: string }) => e.name === "support-chat");
  const p = chat.performance;
  expect(p.workload).toEqual({ inputTokens: 1500, outputTokens: 300, basis: "declared" });
  expect(p.targets).toEqual({ p95TtftMs: 1500, p95TpotMs: 50, basis: "declared" });
  expect(p.perReplicaAtTarget.p95TtftMs).toBeLessThanOrEqual(1500);
  expect(p.perReplicaAtTarget.p95TpotMs).toBeLessThanOrEqual(50);
  expect(chat.replicas.expected * p.perReplicaAtTarget.requestsPerSecond).toBeGreaterThanOrEqual(6);
  expect(p.declaredLoad).toMatchObject({ requestsPerSecond: 6, replicasNeeded: chat.replicas.expected });
  expect(p.declaredLoad.headroom).toBeGreaterThanOrEqual(0);
  // One replica fewer would not carry the traffic: the planner did not over-provision.
  expect((chat.replicas.expected - 1) * p.perReplicaAtTarget.requestsPerSecond).toBeLessThan(6);
  expect(p.usdPer1MOutputTokens.atDeclaredLoad).toBeCloseTo((chat.hourlyUsd * chat.replicas.expected * 1e6) / (6 * 300 * 3600), 3);
});

test("the gateway example puts self-hosted models, adapters, a traffic group and three hosted providers behind one entry point for two consumers with different limits", () => {
  const run = firstRun("gateway");
  const plan = JSON.parse(run.files["gateway/serving-plan.json"]);
  const g = plan.gateway;
  const served = plan.endpoints.flatMap((e: { name: string; adapters: Array<{ name: string }> }) => [e.name, ...e.adapters.map((a) => a.name)]);
  expect(plan.endpoints.find((e: { name: string }) => e.name === "llama-chat").adapters.length).toBeGreaterThan(0);
  for (const name of [...served, "assistant"]) expect(g.routes.find((r: { model: string }) => r.model === name)?.provider).toBe("self-hosted");
  expect(new Set(g.routes.filter((r: { provider: string }) => r.provider !== "self-hosted").map((r: { provider: string }) => r.provider))).toEqual(new Set(["openai", "anthropic", "bedrock"]));
  for (const r of g.routes.filter((x: { provider: string }) => x.provider !== "self-hosted")) expect(r.listPrice.outputUsdPer1M).toBeGreaterThan(0);
  expect(g.consumers).toHaveLength(2);
  expect(g.consumers[0].limits).not.toEqual(g.consumers[1].limits);
  expect(run.files["gateway-cluster/cdk.tf.json"]).toContain('"chart": "ai-gateway-helm"');
  expect(run.files["gateway/serving-plan.md"]).toContain("## Model gateway");
});

test("`model-serving plan` prints the default app's plan as JSON without writing Terraform", () => {
  const r = spawnSync(join(root, "bin", "model-serving.cjs"), ["plan", "--json"], { cwd: root, encoding: "utf8" });
  expect(r.status).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(Object.keys(out.stacks)).toEqual(["quickstart"]);
  expect(out.stacks.quickstart.endpoints.length).toBe(4);
});

describe("each example's own cdktf.json", () => {
  const examples = ["quickstart", "existing-cluster", "multi-tenant", "large-model", "throughput", "platform", "gateway"];
  const cdktf = require.resolve("cdktf-cli/bundle/bin/cdktf");

  test("names the example's main.ts, and the root cdktf.json stays the quickstart", () => {
    for (const ex of examples) expect(JSON.parse(readFileSync(join(root, "examples", ex, "cdktf.json"), "utf8")).app).toBe("npx tsx main.ts");
    expect(JSON.parse(readFileSync(join(root, "cdktf.json"), "utf8")).app).toBe("npx tsx examples/quickstart/main.ts");
  });

  test("`cd examples/<name> && npx cdktf synth` works for every example, as a user runs it", async () => {
    const out = mkdtempSync(join(tmpdir(), "cdktf-cli-"));
    try {
      const runs = examples.map(
        (ex) =>
          new Promise<{ ex: string; code: number; output: string }>((resolve) => {
            execFile(process.execPath, [cdktf, "synth", "--output", join(out, ex)], { cwd: join(root, "examples", ex), env: { ...process.env, CHECKPOINT_DISABLE: "1", MODEL_SERVING_QUIET: "1", CI: "1" }, timeout: 180_000 }, (err, stdout, stderr) =>
              resolve({ ex, code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
            );
          }),
      );
      for (const r of await Promise.all(runs)) {
        expect([r.ex, r.code, r.output]).toEqual([r.ex, 0, expect.stringContaining(`Generated Terraform code for the stacks: ${r.ex}`)]);
        expect(readdirSync(join(out, r.ex, "stacks", r.ex)).filter((f) => f.startsWith("cdk.tf") || /^serving-plan\.(\w+\.)?json$/.test(f)).length).toBeGreaterThanOrEqual(2);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 240_000);
});
