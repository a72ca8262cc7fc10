/**
 * The library as users get it: `npm pack`, the tarball unpacked into a scratch consumer project
 * beside only the dependencies and peers its package.json declares, TypeScript compiled against the
 * published .d.ts with strict flags, and plain `node` (no tsx, no ts-node) synthesizing consumer
 * stacks that compose the constructs.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const root = join(__dirname, "..");
const work = mkdtempSync(join(tmpdir(), "consumer-"));
const consumer = join(work, "consumer");
let pkg: { name: string; dependencies: Record<string, string>; peerDependencies: Record<string, string>; files: string[]; main: string; types: string };
let tarballFiles: string[] = [];

/** Run the consumer's compiled app in a fresh output directory; returns what it wrote. */
function runApp(file: string): { status: number | null; stderr: string; stacks: Record<string, Record<string, string>> } {
  const out = join(work, `out-${file}`);
  const r = spawnSync(process.execPath, [join(consumer, "dist", `${file}.js`)], { cwd: consumer, encoding: "utf8", env: { ...process.env, CDKTF_OUTDIR: out, MODEL_SERVING_QUIET: "1" } });
  const stacks: Record<string, Record<string, string>> = {};
  const dir = join(out, "stacks");
  if (existsSync(dir)) for (const s of readdirSync(dir)) stacks[s] = Object.fromEntries(readdirSync(join(dir, s)).map((f) => [f, readFileSync(join(dir, s, f), "utf8")]));
  return { status: r.status, stderr: r.stderr, stacks };
}

beforeAll(() => {
  // lib/ is built by jest's global setup; pack exactly what `npm publish` would ship.
  execFileSync("npm", ["pack", "--ignore-scripts", "--pack-destination", work], { cwd: root, stdio: "pipe" });
  const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"))!;
  tarballFiles = execFileSync("tar", ["-tzf", join(work, tarball)], { encoding: "utf8" }).trim().split("\n");
  const installed = join(consumer, "node_modules", "cdktf-model-serving");
  mkdirSync(installed, { recursive: true });
  execFileSync("tar", ["-xzf", join(work, tarball), "-C", installed, "--strip-components=1"]);
  pkg = JSON.parse(readFileSync(join(installed, "package.json"), "utf8"));
  // Only what the package declares (and its peers, which the consumer provides) is there to resolve.
  for (const dep of [...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies)]) {
    const link = join(consumer, "node_modules", dep);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(root, "node_modules", dep), link, "dir");
  }
  mkdirSync(join(consumer, "src"));
  // The platform example, as a user writes it, is one consumer; new-cluster.ts is the other.
  writeFileSync(join(consumer, "src", "platform.ts"), readFileSync(join(root, "examples", "platform", "main.ts"), "utf8"));
  writeFileSync(join(consumer, "src", "new-cluster.ts"), NEW_CLUSTER_APP);
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, version: "1.0.0" }));
  writeFileSync(
    join(consumer, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { target: "ES2022", module: "commonjs", moduleResolution: "node", strict: true, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, noImplicitOverride: true, skipLibCheck: false, esModuleInterop: true, outDir: "dist", rootDir: "src", types: [] },
      include: ["src"],
    }),
  );
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

const NEW_CLUSTER_APP = `
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { App, LocalBackend, TerraformStack } from "cdktf";
import { GpuCluster, ImportedModel, InferenceEndpoint, ModelSource, ModelStore, SecretRef } from "cdktf-model-serving";

const app = new App();
// The consumer's infrastructure stack gets the cluster (the first deploy phase)...
const infra = new TerraformStack(app, "infra");
new LocalBackend(infra, { path: "../../../terraform.infra.tfstate" });
new AwsProvider(infra, "aws", { region: "eu-west-1" });
new S3Bucket(infra, "team-artifacts", { bucket: "acme-team-artifacts" });
const cluster = new GpuCluster(infra, "gpu", { clusterName: "acme-gpu", publicAccessCidrs: ["203.0.113.0/24"], quotas: { "L-DB2E81BA": 96 } });

// ...and the workloads go in a stack beside it (the second phase), which reads the cluster across stacks.
const serving = new TerraformStack(app, "serving");
new LocalBackend(serving, { path: "../../../terraform.serving.tfstate" });
new AwsProvider(serving, "aws", { region: "eu-west-1" });
const store = new ModelStore(serving, "weights", { cluster });
const qwen = new ImportedModel(serving, "qwen", {
  source: ModelSource.huggingFace("Qwen/Qwen2.5-7B-Instruct", { revision: "a09a35458c702b33eeacc393d103063234e8bc28", token: SecretRef.fromSecretsManager("arn:aws:secretsmanager:eu-west-1:111122223333:secret:hf-token") }),
  store,
});
new InferenceEndpoint(serving, "chat", { cluster, model: qwen, maxModelLen: 8192 });
app.synth();
`;

test("the tarball ships the compiled library, its declarations and data, the CLI, README and LICENSE — and no sources, tests or tooling", () => {
  expect(tarballFiles).toEqual(expect.arrayContaining(["package/lib/index.js", "package/lib/index.d.ts", "package/lib/catalog/gpus.json", "package/lib/catalog/models/sources.json", "package/lib/charts/inference-extension-crds/Chart.yaml", "package/bin/model-serving.cjs", "package/README.md", "package/LICENSE", "package/package.json"]));
  expect(tarballFiles.filter((f) => /^package\/(test|bench|\.ci|examples|scripts)\//.test(f) || /\.ts$/.test(f) && !f.endsWith(".d.ts") || /eslint|jest\.config|tsconfig/.test(f))).toEqual([]);
  expect(pkg.main).toBe("lib/index.js");
  expect(pkg.types).toBe("lib/index.d.ts");
  expect(Object.keys(pkg.peerDependencies).sort()).toEqual(["@cdktf/provider-aws", "@cdktf/provider-helm", "@cdktf/provider-kubernetes", "cdktf", "constructs"]);
  expect(Object.keys(pkg.dependencies)).not.toContain("tsx");
});

test("a consumer compiles against the published .d.ts with strict, noUncheckedIndexedAccess and exactOptionalPropertyTypes", () => {
  const r = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", join(consumer, "tsconfig.json")], { encoding: "utf8" });
  expect(r.stdout + r.stderr).toBe("");
  expect(r.status).toBe(0);
}, 120_000);

test("the installed CLI runs compiled JavaScript with plain node", () => {
  const r = spawnSync(process.execPath, [join(consumer, "node_modules", "cdktf-model-serving", "bin", "model-serving.cjs"), "size", "--config", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "L4", "--max-model-len", "8192", "--json"], { cwd: consumer, encoding: "utf8" });
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ fits: true, tensorParallel: 1 });
});

describe("composed into the consumer's own stacks", () => {
  test("two regions in one existing stack: each cluster's resources use its region's aliased provider, one serving plan per cluster, the consumer's own resources are not judged", () => {
    const run = runApp("platform");
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const files = run.stacks.platform!;
    expect(Object.keys(files).sort()).toEqual(["cdk.tf.json", "serving-plan.eu.json", "serving-plan.eu.md", "serving-plan.us.json", "serving-plan.us.md"]);
    const tf = JSON.parse(files["cdk.tf.json"]!);
    expect(tf.provider.aws.map((p: { alias?: string }) => p.alias)).toEqual(["us", "eu"]);
    expect(tf.provider.kubernetes.every((p: { alias?: string }) => p.alias)).toBe(true);
    // Every resource names the provider of its region; nothing binds to a default AWS provider that does not exist.
    for (const [type, byName] of Object.entries(tf.resource as Record<string, Record<string, { provider?: string }>>)) for (const [name, r] of Object.entries(byName)) expect([type, name, r.provider]).toEqual([type, name, expect.stringMatching(/^(aws\.(us|eu)|kubernetes\.model_serving_(us|eu))$/)]);
    for (const [type, byName] of Object.entries(tf.data as Record<string, Record<string, { provider?: string }>>)) for (const [name, d] of Object.entries(byName)) expect([type, name, d.provider]).toEqual([type, name, expect.stringMatching(/^aws\.(us|eu)$/)]);
    const eu = JSON.parse(files["serving-plan.eu.json"]!);
    const us = JSON.parse(files["serving-plan.us.json"]!);
    expect([eu.catalog.region, us.catalog.region]).toEqual(["eu-west-1", "us-east-1"]);
    expect(eu.endpoints.map((e: { name: string }) => e.name)).toEqual(["chat"]);
    expect(us.endpoints.map((e: { name: string }) => e.name)).toEqual(["chat", "embeddings"]);
    // The consumer's unencrypted log bucket and database are not the library's to judge.
    for (const plan of [eu, us]) for (const r of plan.policy.rules) for (const v of [...r.violations, ...r.suppressed]) expect(v.address).not.toMatch(/access-logs|orders-db|vpc|data-subnet/);
  }, 120_000);

  test("a new cluster in the consumer's infrastructure stack, its workloads in a stack beside it: phases linked by cross-stack references, no duplicated providers", () => {
    const run = runApp("new-cluster");
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(Object.keys(run.stacks).sort()).toEqual(["infra", "serving"]);
    const infra = JSON.parse(run.stacks.infra!["cdk.tf.json"]!);
    const serving = JSON.parse(run.stacks.serving!["cdk.tf.json"]!);
    expect(Object.keys(infra.resource)).toEqual(expect.arrayContaining(["aws_eks_cluster", "helm_release", "aws_s3_bucket"]));
    expect(infra.resource.kubernetes_manifest).toBeUndefined();
    expect(serving.data.terraform_remote_state).toHaveProperty(["cross-stack-reference-input-infra"]);
    for (const tf of [infra, serving]) for (const blocks of Object.values(tf.provider as Record<string, Array<{ alias?: string }>>)) expect(blocks.filter((b) => b.alias === undefined).length).toBeLessThanOrEqual(1);
    // The plan is written beside the workloads and says which stack creates what, in order.
    const plan = JSON.parse(run.stacks.serving!["serving-plan.json"]!);
    expect(plan.phases.map((p: { order: number; stack: string }) => [p.order, p.stack])).toEqual([[1, "infra"], [2, "serving"]]);
    expect(plan.catalog.region).toBe("eu-west-1");
    // The consumer's own artifacts bucket was not judged by the library's S3 rules.
    for (const r of plan.policy.rules) for (const v of r.violations) expect(v.address).not.toContain("team-artifacts");
  }, 120_000);
});
