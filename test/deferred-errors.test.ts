/**
 * Problems found while the tree is built (sources, secrets, duplicate ids) are coded errors at the
 * path of the construct they concern — never a stack trace: under `cdktf synth` they print as
 * `ERROR [path]: [CODE] …` and the command exits 1, in an app that calls plain `app.synth()`.
 * Plain strings where a secret reference belongs are refused, never dropped.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Testing } from "cdktf";
import { ModelSource, SecretRef } from "../constructs/model-source";
import { ModelStore } from "../constructs/model-store";
import { GpuCluster } from "../constructs/gpu-cluster";
import { ModelServingStack } from "../stacks/model-serving-stack";

process.env.MODEL_SERVING_QUIET = "1";
const root = join(__dirname, "..");
const QWEN = "Qwen/Qwen2.5-7B-Instruct";
const QWEN_REV = "a09a35458c702b33eeacc393d103063234e8bc28";
const LLAMA = "meta-llama/Llama-3.1-8B-Instruct";
const LLAMA_REV = "0e9e39f249a16976918f6564b8830bc894c89659";
const QUOTAS = { "L-DB2E81BA": 1000 };

function stack() {
  return new ModelServingStack(Testing.app(), "s", { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: QUOTAS } } });
}
/** The coded lines synth failed with ("" when it passed). */
function synthErrors(s: ModelServingStack): string {
  try {
    Testing.synth(s, true);
    return "";
  } catch (e) {
    return (e as Error).message;
  }
}

describe("a plain string where a secret reference belongs", () => {
  test("a Hub token pasted as a string is SECRET_INLINED at the model's path, not dropped", () => {
    const s = stack();
    const token = "hf_" + "Q".repeat(34);
    s.addEndpoint("chat", { model: s.importModel("m", { source: ModelSource.huggingFace(LLAMA, { revision: LLAMA_REV, token: token as unknown as SecretRef }) }), maxModelLen: 8192 });
    const msg = synthErrors(s);
    expect(msg).toMatch(/\[SECRET_INLINED\] s\/m: token holds what looks like a literal credential \(hf_…\)/);
    expect(msg).not.toContain(token);
    expect(msg).not.toMatch(/HF_TOKEN_REQUIRED/);
  });

  test("process.env.HF_TOKEN holding some other string is SECRET_REF_REQUIRED, and says what to pass", () => {
    const s = stack();
    s.addEndpoint("chat", { model: s.importModel("m", { source: ModelSource.huggingFace(LLAMA, { revision: LLAMA_REV, token: "my-token-name" as unknown as SecretRef }) }), maxModelLen: 8192 });
    expect(synthErrors(s)).toMatch(/\[SECRET_REF_REQUIRED\] s\/m: token is a plain string \("my-token-nam"…\), not a SecretRef\..*Fix: .*SecretRef\.fromKubernetesSecret/);
  });

  test("an unset process.env.HF_TOKEN (undefined) on a gated model is HF_TOKEN_REQUIRED", () => {
    const s = stack();
    s.addEndpoint("chat", { model: s.importModel("m", { source: ModelSource.huggingFace(LLAMA, { revision: LLAMA_REV, token: undefined }) }), maxModelLen: 8192 });
    expect(synthErrors(s)).toMatch(/\[HF_TOKEN_REQUIRED\] s\/m/);
  });

  test("an API key given as a string is refused too", () => {
    const s = stack();
    const model = s.importModel("m", { source: ModelSource.huggingFace(QWEN, { revision: QWEN_REV }) });
    s.addEndpoint("chat", { model, maxModelLen: 8192, apiKey: ("sk-" + "z".repeat(30)) as unknown as SecretRef });
    expect(synthErrors(s)).toMatch(/\[SECRET_INLINED\] s\/chat: apiKey holds what looks like a literal credential/);
  });
});

describe("revisions and S3 URIs", () => {
  test("an uppercase 40-hex revision is normalised to the Hub's lowercase sha: pinned, no warning", () => {
    const s = stack();
    s.addEndpoint("chat", { model: s.importModel("m", { source: ModelSource.huggingFace(QWEN, { revision: QWEN_REV.toUpperCase() }) }), maxModelLen: 8192 });
    const tf = JSON.parse(Testing.synth(s, true));
    expect(s.cluster.plan().endpoints[0].revision).toBe(QWEN_REV);
    expect(s.cluster.allFindings().map((f) => f.code)).not.toContain("MODEL_REVISION_UNPINNED");
    const args: string[] = (Object.values(tf.resource.kubernetes_deployment_v1)[0] as any).spec.template.spec.container[0].args;
    expect(args[args.indexOf("--revision") + 1]).toBe(QWEN_REV);
  });

  test("an uppercase short sha is still refused as a short sha", () => {
    expect(ModelSource.huggingFace(QWEN, { revision: "A09A354" }).findings.map((f) => f.code)).toEqual(["MODEL_REVISION_INVALID"]);
  });

  test.each([
    ["s3://Bucket_Name/x", ["S3_BUCKET_NAME_INVALID", "S3_URI_INVALID"]],
    ["s3://Bucket_Name/x/", ["S3_BUCKET_NAME_INVALID"]],
    ["s3://models-s3alias/x/", ["S3_BUCKET_NAME_INVALID"]],
    ["s3://acme-models/x", ["S3_URI_INVALID"]],
  ])("ModelSource.s3(%j) reports every problem: %j", (uri, codes) => {
    expect(ModelSource.s3(uri).findings.map((f) => f.code)).toEqual(codes);
  });

  test("the bucket problem says which rule it breaks", () => {
    expect(ModelSource.s3("s3://Bucket_Name/x").findings[0].message).toMatch(/"Bucket_Name" is not a valid bucket name: it has uppercase letters/);
  });
});

describe("duplicate construct ids", () => {
  test.each([
    ["importModel", (s: ModelServingStack) => { s.importModel("m", { source: ModelSource.huggingFace(QWEN, { revision: QWEN_REV }) }); s.importModel("m", { source: ModelSource.huggingFace(QWEN, { revision: QWEN_REV }) }); }, /\[DUPLICATE_ID\] s\/m: the id "m" is already used by another construct in s \(ImportedModel s\/m\).*Fix: give this ImportedModel its own id, e.g. "m-2"/],
    ["addEndpoint", (s: ModelServingStack) => { const m = s.importModel("m", { source: ModelSource.huggingFace(QWEN, { revision: QWEN_REV }) }); s.addEndpoint("chat", { model: m, maxModelLen: 8192 }); s.addEndpoint("chat", { model: m, maxModelLen: 8192 }); }, /\[DUPLICATE_ID\] s\/chat: .*InferenceEndpoint/],
    ["ModelStore", (s: ModelServingStack) => { new ModelStore(s, "store", { cluster: s.cluster }); new ModelStore(s, "store", { cluster: s.cluster }); }, /\[DUPLICATE_ID\] s\/store: .*ModelStore/],
    ["GpuCluster", (s: ModelServingStack) => { new GpuCluster(s.clusterStack!, "cluster", { clusterName: "other", publicAccessCidrs: ["203.0.113.0/24"] }); }, /\[DUPLICATE_ID\] s-cluster\/cluster: .*GpuCluster/],
  ])("a second %s with the same id is a coded error at synth, not a throw while building", (_what, build, expected) => {
    const s = stack();
    expect(() => build(s)).not.toThrow();
    expect(synthErrors(s)).toMatch(expected);
  });
});

describe("under the cdktf CLI", () => {
  test("an app that calls plain app.synth() prints every construction-time error as a coded line and exits 1, without a stack trace", () => {
    const dir = mkdtempSync(join(tmpdir(), "cli-errors-"));
    try {
      symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
      const lib = (p: string) => JSON.stringify(join(root, p));
      writeFileSync(
        join(dir, "main.ts"),
        [
          `import { App } from "cdktf";`,
          `import { ModelSource, SecretRef } from ${lib("constructs/model-source")};`,
          `import { ModelServingStack } from ${lib("stacks/model-serving-stack")};`,
          `const app = new App();`,
          `const stack = new ModelServingStack(app, "bad", { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: { "L-DB2E81BA": 100 } } } });`,
          `const m = stack.importModel("m", { source: ModelSource.huggingFace("${QWEN}", { revision: "a09a354" }) });`,
          `stack.importModel("m", { source: ModelSource.s3("s3://Bucket_Name/x") });`,
          `stack.importModel("gated", { source: ModelSource.huggingFace("${LLAMA}", { revision: "${LLAMA_REV}", token: SecretRef.fromKubernetesSecret("hf_" + "x".repeat(30), "token") }) });`,
          `stack.addEndpoint("chat", { model: m, maxModelLen: 8192 });`,
          `app.synth();`,
        ].join("\n"),
      );
      writeFileSync(join(dir, "cdktf.json"), JSON.stringify({ language: "typescript", app: `${JSON.stringify(process.execPath)} --require ${JSON.stringify(require.resolve("tsx/cjs"))} main.ts`, projectId: "cli-errors", sendCrashReports: "false", terraformProviders: [], terraformModules: [], context: {} }));
      const r = spawnSync(process.execPath, [require.resolve("cdktf-cli/bundle/bin/cdktf"), "synth"], { cwd: dir, encoding: "utf8", env: { ...process.env, CHECKPOINT_DISABLE: "1", MODEL_SERVING_QUIET: "1", CI: "1" }, timeout: 120_000 });
      const out = `${r.stdout}\n${r.stderr}`;
      expect(r.status).toBe(1);
      expect(out).toMatch(/ERROR \[bad\/m\]: \[MODEL_REVISION_INVALID\] bad\/m: "a09a354" looks like a short sha/);
      expect(out).toMatch(/\[DUPLICATE_ID\] bad\/m: the id "m" is already used/);
      expect(out).toMatch(/\[S3_BUCKET_NAME_INVALID\] bad\/m-duplicate-2: "Bucket_Name"/);
      expect(out).toMatch(/\[SECRET_INLINED\] bad\/gated: name holds what looks like a literal credential/);
      expect(out).not.toMatch(/\n\s+at .+:\d+:\d+/);
      expect(out).not.toMatch(/Validation failed with the following errors/);
      expect(readFileSync(join(dir, "main.ts"), "utf8")).toContain("app.synth()");
      // Stopped before the first stack was written.
      expect(existsSync(join(dir, "cdktf.out", "stacks", "bad", "cdk.tf.json"))).toBe(false);
      expect(existsSync(join(dir, "cdktf.out", "stacks", "bad-cluster", "cdk.tf.json"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("outside the CLI, app.synth() still throws the coded lines for the caller to catch, and writes nothing", () => {
    const outdir = mkdtempSync(join(tmpdir(), "no-cli-"));
    try {
      const app = new App({ outdir });
      const s = new ModelServingStack(app, "s", { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: QUOTAS } } });
      s.importModel("m", { source: ModelSource.huggingFace(QWEN, { revision: "a09a354" }) });
      expect(() => app.synth()).toThrow(/\[MODEL_REVISION_INVALID\] s\/m/);
      expect(existsSync(join(outdir, "stacks", "s", "cdk.tf.json"))).toBe(false);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
