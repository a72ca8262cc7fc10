import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { invalidNames } from "./fixtures/emitted-names";
import { checkovScan, type ScanRow } from "./fixtures/checkov-scan";
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
    for (const stack of readdirSync(stacks)) for (const f of readdirSync(join(stacks, stack))) files[`${stack}/${f}`] = readFileSync(join(stacks, stack, f), "utf8");
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

describe.each(["quickstart", "existing-cluster", "multi-tenant", "large-model", "throughput"])("examples/%s", (example) => {
  const first = firstRun(example);
  const second = synthExample(example);

  test("synthesizes offline into cdk.tf.json, serving-plan.json and serving-plan.md and prints the plan table", () => {
    expect(first.status).toBe(0);
    // A new cluster is its own deploy phase: <example>-cluster, then the workloads in <example>.
    const phases = example === "existing-cluster" ? [] : [`${example}-cluster/cdk.tf.json`];
    expect(Object.keys(first.files).sort()).toEqual([`${example}/cdk.tf.json`, `${example}/serving-plan.json`, `${example}/serving-plan.md`, ...phases].sort());
    expect(first.stdout).toMatch(/endpoint\s+model\s+shape\s+GPUs\s+KV tokens\s+max conc\.\s+\$\/month/);
  });

  test("is byte-identical across two synths and carries no absolute path or timestamp", () => {
    expect(second.files).toEqual(first.files);
    for (const content of Object.values(first.files)) {
      expect(content).not.toMatch(/\/(tmp|work|home|root|Users)\//);
      expect(content).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/);
    }
  });

  test("plans every endpoint with a shape, KV tokens, concurrency, replicas and a positive monthly cost range", () => {
    const plan = JSON.parse(first.files[`${example}/serving-plan.json`]);
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
    for (const content of Object.values(first.files)) expect(content).not.toMatch(/hf_[A-Za-z0-9]{20,}|sk-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|-----BEGIN/);
    const tf = first.files[`${example}/cdk.tf.json`];
    expect(tf).not.toMatch(/"HF_TOKEN"\s*,\s*"value"/);
    expect(tf).not.toContain("aws_secretsmanager_secret_version");
    expect(tf).not.toContain("kubernetes_secret_v1");
  });

  test("emits only names their APIs accept (Kubernetes names and labels, IAM, EKS, S3, CloudWatch, launch templates)", () => {
    expect(invalidNames(JSON.parse(first.files[`${example}/cdk.tf.json`]))).toEqual([]);
  });

  test("a Checkov-style scan of its Terraform has no unexplained failure: each one is a rule the plan suppresses there, with a reason", () => {
    const tf = JSON.parse(first.files[`${example}/cdk.tf.json`]);
    const plan = JSON.parse(first.files[`${example}/serving-plan.json`]);
    const explained = (f: ScanRow) => plan.policy.rules.some((r: any) => r.references.checkovTerraform.includes(f.id) && r.suppressed.some((s: any) => s.address === f.address && s.reason.length > 20));
    const rows = checkovScan(tf);
    expect(rows.length).toBeGreaterThan(40);
    expect(rows.filter((r) => r.result === "FAILED" && !explained(r)).map((r) => `${r.id} ${r.address}`)).toEqual([]);
  });

  test("every wait in every stack is one the Kubernetes provider supports for its kind: rollout only on Deployments, DaemonSets and StatefulSets; Jobs wait for completion, Deployments for rollout", () => {
    const stacks = Object.keys(first.files).filter((f) => f.endsWith("/cdk.tf.json"));
    expect(stacks.length).toBe(example === "existing-cluster" ? 1 : 2);
    expect(stacks.flatMap((f) => waitProblems(JSON.parse(first.files[f])))).toEqual([]);
  });

  test("lists every policy rule with its result, none failing, and every suppression with its reason", () => {
    const plan = JSON.parse(first.files[`${example}/serving-plan.json`]);
    expect(plan.policy.rules.length).toBeGreaterThanOrEqual(20);
    expect(plan.policy.rules.filter((r: { result: string }) => r.result === "fail")).toEqual([]);
    for (const s of plan.policy.suppressions) expect(s.reason.length).toBeGreaterThan(20);
  });
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

test("`model-serving plan` prints the default app's plan as JSON without writing Terraform", () => {
  const r = spawnSync(join(root, "bin", "model-serving.cjs"), ["plan", "--json"], { cwd: root, encoding: "utf8" });
  expect(r.status).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(Object.keys(out.stacks)).toEqual(["quickstart"]);
  expect(out.stacks.quickstart.endpoints.length).toBe(4);
});

describe("each example's own cdktf.json", () => {
  const examples = ["quickstart", "existing-cluster", "multi-tenant", "large-model"];
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
        expect(readdirSync(join(out, r.ex, "stacks", r.ex)).sort()).toEqual(["cdk.tf.json", "serving-plan.json", "serving-plan.md"]);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 240_000);
});
