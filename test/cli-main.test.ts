/**
 * The `model-serving` command, run in-process through main(argv, io), plus one run of the real
 * executable as a child process.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../cli/main";
import { onDemandUsdPerHour, REGIONS } from "../catalog";
import { catalogConfigPath, REPO_ROOT } from "./fixtures/models";
import { encodeSafetensors, numel, tempDir, TINY_LLAMA_CONFIG, tinyLlamaTensors, writeShardedCheckpoint } from "./fixtures/safetensors";

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

function cli(...argv: string[]): Run {
  const out: string[] = [];
  const err: string[] = [];
  const code = main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  if (typeof code !== "number") throw new Error("size, shapes and plan answer synchronously");
  return { code, out: out.join("\n"), err: err.join("\n") };
}

interface SizeJson {
  model: string;
  gpu: string;
  gpus: number;
  fits: boolean;
  weightsGiB: number;
  overheadGiB: number;
  kvCacheGiB: number;
  kvCacheTokens: number;
  maxConcurrency: number;
  tensorParallel: number;
  pipelineParallel: number;
  gpuMemoryUtilization: number;
  dtype: string;
  errors: { code: string; message: string }[];
  warnings: { code: string; message: string }[];
  fitsOn?: { shape: string; instanceType: string; usdPerReplicaHour: number }[];
}
interface Candidate {
  shape: string;
  instanceType: string | null;
  usdPerReplicaHour: number | null;
  fits: boolean;
  kvCacheTokens: number;
  maxConcurrency: number;
  verdict: string;
}
interface ShapesJson {
  model: string;
  maxModelLen: number;
  feasible: Candidate[];
  rejected: Candidate[];
}

const json = <T>(r: Run): T => JSON.parse(r.out) as T;
const LLAMA_8B = "meta-llama/Llama-3.1-8B-Instruct";
const LLAMA_70B = "meta-llama/Llama-3.1-70B-Instruct";

describe("model-serving size", () => {
  it("fits Llama-3.1-8B-Instruct on one A10G at 8192 tokens with KV tokens and concurrency to spare (exit 0)", () => {
    const r = cli("size", "--config", LLAMA_8B, "--gpu", "A10G", "--max-model-len", "8192", "--json");
    expect(r.code).toBe(0);
    const s = json<SizeJson>(r);
    expect(s).toMatchObject({ model: LLAMA_8B, gpu: "A10G", gpus: 1, fits: true, tensorParallel: 1, errors: [] });
    expect(s.kvCacheTokens).toBeGreaterThan(0);
    expect(s.maxConcurrency).toBeGreaterThan(0);
    // 8.03 B bf16 parameters need at least 14.96 GiB; the A10G shows 22.07 GiB to CUDA.
    expect(s.weightsGiB).toBeGreaterThanOrEqual((8_030_261_248 * 2) / 1024 ** 3 - 0.01);
    expect(s.weightsGiB + s.overheadGiB + s.kvCacheGiB).toBeLessThanOrEqual(22.07 * s.gpuMemoryUtilization + 0.02);
  });

  it("refuses the same model on a T4 (exit 1): 15 GiB of weights do not fit in 14.6 GiB, and names shapes that fit", () => {
    const r = cli("size", "--config", LLAMA_8B, "--gpu", "T4", "--max-model-len", "8192", "--json");
    expect(r.code).toBe(1);
    const s = json<SizeJson>(r);
    expect(s.fits).toBe(false);
    expect(s.errors.map((e) => e.code)).toEqual(["MODEL_DOES_NOT_FIT"]);
    expect(s.errors[0].message).toMatch(/^\[MODEL_DOES_NOT_FIT\] meta-llama\/Llama-3\.1-8B-Instruct: .+\. .+\. Fix: .+\.$/);
    expect(s.warnings.map((w) => w.code)).toContain("DTYPE_DOWNCAST"); // the T4 has no bf16
    expect(s.fitsOn!.length).toBeGreaterThan(0);
    const prices = s.fitsOn!.map((f) => f.usdPerReplicaHour);
    expect([...prices].sort((a, b) => a - b)).toEqual(prices);
  });

  it("prints the refusal and its reason in the human-readable form too", () => {
    const r = cli("size", "--config", LLAMA_8B, "--gpu", "T4", "--max-model-len", "8192");
    expect(r.code).toBe(1);
    expect(r.out).toContain("does not fit");
    expect(r.out).toContain("[MODEL_DOES_NOT_FIT]");
  });

  it("refuses Llama-3.1-70B on 4 × A10G as MODEL_DOES_NOT_FIT (exit 1) at TP 4", () => {
    const r = cli("size", "--config", LLAMA_70B, "--gpu", "A10G", "--gpus", "4", "--max-model-len", "8192", "--json");
    expect(r.code).toBe(1);
    const s = json<SizeJson>(r);
    expect(s.gpus).toBe(4);
    expect(s.tensorParallel).toBe(4);
    expect(s.errors.map((e) => e.code)).toEqual(["MODEL_DOES_NOT_FIT"]);
  });

  it("fits Llama-3.1-70B on 8 × H100 at TP 8", () => {
    const r = cli("size", "--config", LLAMA_70B, "--gpu", "H100", "--gpus", "8", "--max-model-len", "8192", "--json");
    expect(r.code).toBe(0);
    expect(json<SizeJson>(r)).toMatchObject({ fits: true, tensorParallel: 8, pipelineParallel: 1 });
  });

  it("sizes from a path to a real config.json the same as from the catalog id", () => {
    const byId = json<SizeJson>(cli("size", "--config", LLAMA_8B, "--gpu", "L4", "--max-model-len", "8192", "--json"));
    const path = catalogConfigPath(LLAMA_8B);
    const r = cli("size", "--config", path, "--gpu", "L4", "--max-model-len", "8192", "--json");
    expect(r.code).toBe(0);
    const byPath = json<SizeJson>(r);
    expect(byPath.model).toBe(path);
    expect({ ...byPath, model: LLAMA_8B }).toEqual(byId);
  });

  it("sizes the bench copy of phi-2's config.json by path", () => {
    const r = cli("size", "--config", join(REPO_ROOT, "bench/data/configs/microsoft__phi-2.json"), "--gpu", "A10G", "--max-model-len", "2048", "--json");
    expect(r.code).toBe(0);
    expect(json<SizeJson>(r)).toMatchObject({ fits: true, dtype: "float16" });
  });

  it("reads config.json from a model directory", () => {
    const dir = tempDir("model-dir-");
    try {
      mkdirSync(join(dir, "tiny"));
      writeFileSync(join(dir, "tiny", "config.json"), JSON.stringify(TINY_LLAMA_CONFIG));
      const r = cli("size", "--config", join(dir, "tiny"), "--gpu", "A10G", "--max-model-len", "2048", "--json");
      expect(r.code).toBe(0);
      expect(json<SizeJson>(r).fits).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads the exact weights of a model directory from its sharded safetensors headers", () => {
    const dir = tempDir("model-dir-");
    try {
      writeFileSync(join(dir, "config.json"), JSON.stringify(TINY_LLAMA_CONFIG));
      const tensors = tinyLlamaTensors();
      writeShardedCheckpoint(dir, [tensors.slice(0, 10), tensors.slice(10)]);
      const r = cli("size", "--config", dir, "--gpu", "A10G", "--max-model-len", "2048", "--json");
      expect(r.code).toBe(0);
      const s = json<SizeJson & { safetensors?: { parameters: number; bytes: number; tensors: number } }>(r);
      const params = tensors.reduce((a, t) => a + numel(t.shape), 0);
      expect(s.safetensors).toMatchObject({ parameters: params, bytes: 2 * params, tensors: tensors.length });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reports a truncated safetensors shard in a model directory as SAFETENSORS_INVALID, not as a config.json problem (exit 1)", () => {
    const dir = tempDir("model-dir-");
    try {
      writeFileSync(join(dir, "config.json"), JSON.stringify(TINY_LLAMA_CONFIG));
      const whole = encodeSafetensors(tinyLlamaTensors());
      writeFileSync(join(dir, "model.safetensors"), whole.subarray(0, 40)); // cut inside the JSON header
      const r = cli("size", "--config", dir, "--gpu", "A10G", "--max-model-len", "2048", "--json");
      expect(r.code).toBe(1);
      expect(json<SizeJson>(r).errors.map((e) => e.code)).toEqual(["SAFETENSORS_INVALID"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a config.json that is not JSON as CONFIG_INVALID (exit 1)", () => {
    const dir = tempDir("model-dir-");
    try {
      const file = join(dir, "config.json");
      writeFileSync(file, '{"architectures": ["LlamaForCausalLM"],');
      const r = cli("size", "--config", file, "--gpu", "A10G", "--json");
      expect(r.code).toBe(1);
      expect(json<SizeJson>(r).errors.map((e) => e.code)).toEqual(["CONFIG_INVALID"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("sizes against --gpu-memory-gib: 20 GiB more CUDA memory is 20 × utilisation GiB more KV cache", () => {
    const small = json<SizeJson>(cli("size", "--config", LLAMA_8B, "--gpu-memory-gib", "30", "--max-model-len", "8192", "--json"));
    const large = json<SizeJson>(cli("size", "--config", LLAMA_8B, "--gpu-memory-gib", "50", "--max-model-len", "8192", "--json"));
    expect(small.fits).toBe(true);
    expect(large.kvCacheGiB - small.kvCacheGiB).toBeCloseTo(20 * small.gpuMemoryUtilization, 1);
    expect(large.kvCacheTokens).toBeGreaterThan(small.kvCacheTokens);
  });

  it("refuses a model that needs more than --gpu-memory-gib gives (exit 1)", () => {
    const r = cli("size", "--config", LLAMA_8B, "--gpu-memory-gib", "12", "--max-model-len", "8192", "--json");
    expect(r.code).toBe(1);
    expect(json<SizeJson>(r).errors.map((e) => e.code)).toEqual(["MODEL_DOES_NOT_FIT"]);
  });

  it("roughly doubles KV tokens with --kv-cache-dtype fp8", () => {
    const auto = json<SizeJson>(cli("size", "--config", LLAMA_8B, "--gpu", "L40S", "--max-model-len", "8192", "--json"));
    const fp8 = json<SizeJson>(cli("size", "--config", LLAMA_8B, "--gpu", "L40S", "--max-model-len", "8192", "--kv-cache-dtype", "fp8", "--json"));
    expect(fp8.kvCacheTokens).toBeGreaterThanOrEqual(2 * auto.kvCacheTokens);
    expect(fp8.kvCacheTokens).toBeLessThanOrEqual(2 * auto.kvCacheTokens + 16);
  });

  it("uses --util as gpu_memory_utilization", () => {
    const s = json<SizeJson>(cli("size", "--config", LLAMA_8B, "--gpu", "L40S", "--util", "0.8", "--max-model-len", "8192", "--json"));
    expect(s.gpuMemoryUtilization).toBe(0.8);
  });

  it("refuses falcon-7b at --tp 2 as TP_NOT_DIVISOR (exit 1)", () => {
    const r = cli("size", "--config", "tiiuae/falcon-7b", "--gpu", "A10G", "--tp", "2", "--max-model-len", "2048", "--json");
    expect(r.code).toBe(1);
    expect(json<SizeJson>(r).errors.map((e) => e.code)).toEqual(["TP_NOT_DIVISOR"]);
  });

  it("refuses the TinyTimeMixer time-series model as MODEL_NOT_SERVABLE (exit 1)", () => {
    const r = cli("size", "--config", "ibm-granite/granite-tsfm-ttm-notebook-cl512-fl96", "--gpu", "A10G", "--json");
    expect(r.code).toBe(1);
    expect(json<SizeJson>(r).errors.map((e) => e.code)).toEqual(["MODEL_NOT_SERVABLE"]);
  });

  it("refuses a --config that is neither a file nor a catalog model as CONFIG_NOT_FOUND (exit 1)", () => {
    const r = cli("size", "--config", "nobody/no-such-model", "--gpu", "A10G");
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^\[CONFIG_NOT_FOUND\] --config: /);
    expect(r.err).toContain(LLAMA_8B); // it lists the catalog models
  });

  it("gives an embedding model no KV cache but fits it", () => {
    const r = cli("size", "--config", "BAAI/bge-large-en-v1.5", "--gpu", "T4", "--json");
    expect(r.code).toBe(0);
    expect(json<SizeJson>(r)).toMatchObject({ fits: true, kvCacheTokens: 0 });
  });
});

describe("model-serving shapes", () => {
  it("lists the shapes that serve Llama-3.1-70B at 8192 tokens, sorted by $/replica-hour", () => {
    const r = cli("shapes", "--config", LLAMA_70B, "--max-model-len", "8192", "--json");
    expect(r.code).toBe(0);
    const s = json<ShapesJson>(r);
    expect(s.maxModelLen).toBe(8192);
    expect(s.feasible.length).toBeGreaterThan(0);
    const prices = s.feasible.map((c) => c.usdPerReplicaHour);
    for (const p of prices) expect(p).not.toBeNull();
    expect([...(prices as number[])].sort((a, b) => a - b)).toEqual(prices);
    for (const c of s.feasible) {
      expect(c.fits).toBe(true);
      expect(c.maxConcurrency).toBeGreaterThanOrEqual(1);
      expect(c.instanceType).not.toBe("p5e.48xlarge");
    }
    expect(s.feasible[0].verdict).toMatch(/^chosen/);
  });

  it("rejects every shape too small for 70B of bf16 weights, each with a coded verdict", () => {
    const s = json<ShapesJson>(cli("shapes", "--config", LLAMA_70B, "--max-model-len", "8192", "--json"));
    const names = s.rejected.map((c) => c.shape);
    for (const small of ["T4_X1", "A10_X1", "A10_X2", "L4_X1", "L40S_X1", "A100_40G_X1", "H100_X1"]) expect(names).toContain(small);
    for (const c of s.rejected) expect(c.verdict).toMatch(/^[A-Z][A-Z0-9_]+$/);
  });

  it("narrows the list as --min-concurrency grows", () => {
    const one = json<ShapesJson>(cli("shapes", "--config", LLAMA_8B, "--max-model-len", "8192", "--json"));
    const many = json<ShapesJson>(cli("shapes", "--config", LLAMA_8B, "--max-model-len", "8192", "--min-concurrency", "100", "--json"));
    expect(many.feasible.length).toBeLessThan(one.feasible.length);
    for (const c of many.feasible) expect(c.maxConcurrency).toBeGreaterThanOrEqual(100);
  });

  it("exits 1 when no shape fits", () => {
    const r = cli("shapes", "--config", "meta-llama/Llama-3.1-405B-Instruct", "--max-model-len", "131072", "--min-concurrency", "1000", "--json");
    expect(r.code).toBe(1);
    expect(json<ShapesJson>(r).feasible).toEqual([]);
  });

  it("prints a table in the human-readable form", () => {
    const r = cli("shapes", "--config", LLAMA_8B, "--max-model-len", "8192");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/feasible shape\(s\), cheapest first/);
  });
});

describe("--region", () => {
  it("lists the shapes eu-west-1 offers, priced at eu-west-1's On-Demand rates", () => {
    const r = cli("shapes", "--config", LLAMA_8B, "--max-model-len", "8192", "--region", "eu-west-1", "--json");
    expect(r.code).toBe(0);
    const s = json<ShapesJson & { region: string }>(r);
    expect(s.region).toBe("eu-west-1");
    for (const c of s.feasible) expect(onDemandUsdPerHour("eu-west-1", c.instanceType!)).toBeDefined();
    const byType = s.feasible.find((c) => c.shape === "A10_X1")!;
    expect(byType.usdPerReplicaHour).toBe(onDemandUsdPerHour("eu-west-1", "g5.xlarge"));
    expect(s.rejected.filter((c) => c.shape.startsWith("L40S_")).map((c) => c.verdict)).toEqual(["SHAPE_NOT_OFFERED_IN_REGION", "SHAPE_NOT_OFFERED_IN_REGION", "SHAPE_NOT_OFFERED_IN_REGION", "SHAPE_NOT_OFFERED_IN_REGION"]);
  });

  it("defaults to us-east-1 and says so", () => {
    expect(json<{ region: string }>(cli("shapes", "--config", LLAMA_8B, "--max-model-len", "8192", "--json")).region).toBe("us-east-1");
    expect(cli("shapes", "--config", LLAMA_8B, "--max-model-len", "8192").out).toContain("us-east-1: ");
  });

  it("suggests shapes offered in the region when a model does not fit: size on a T4 in ap-northeast-1", () => {
    const s = json<SizeJson & { region: string }>(cli("size", "--config", LLAMA_8B, "--gpu", "T4", "--max-model-len", "8192", "--region", "ap-northeast-1", "--json"));
    expect(s.region).toBe("ap-northeast-1");
    expect(s.fits).toBe(false);
    for (const f of s.fitsOn!) expect(f.usdPerReplicaHour).toBeGreaterThan(0);
    expect(s.fitsOn!.map((f) => onDemandUsdPerHour("ap-northeast-1", f.instanceType))).not.toContain(undefined);
  });

  it("refuses a region the catalog does not cover with REGION_UNKNOWN and the list it covers (exit 1)", () => {
    const r = cli("shapes", "--config", LLAMA_8B, "--max-model-len", "8192", "--region", "us-west-3");
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^\[REGION_UNKNOWN\] --region: "us-west-3" is not a region the price catalog covers\./);
    for (const region of REGIONS) expect(r.err).toContain(region);
  });

  it("prices a whole app in another region with `plan --region`, and refuses an unknown one", () => {
    const dir = mkdtempSync(join(tmpdir(), "plan-region-"));
    try {
      const loader = require.resolve("tsx/cjs");
      writeFileSync(join(dir, "cdktf.json"), JSON.stringify({ app: `"${process.execPath}" --require "${loader}" "${join(REPO_ROOT, "examples", "quickstart", "main.ts")}"` }));
      const run = (...argv: string[]) => spawnSync(process.execPath, [join(REPO_ROOT, "bin", "model-serving.cjs"), "plan", ...argv], { cwd: dir, encoding: "utf8", timeout: 120_000, env: { ...process.env, TSX_TSCONFIG_PATH: join(REPO_ROOT, "tsconfig.json") } });
      const eu = run("--region", "eu-west-1", "--json");
      expect(eu.status).toBe(0);
      const plan = JSON.parse(eu.stdout).stacks.quickstart;
      expect(plan.catalog.region).toBe("eu-west-1");
      for (const pool of plan.nodePools) expect(pool.hourlyUsdPerNode).toBe(onDemandUsdPerHour("eu-west-1", pool.instanceType));
      const own = JSON.parse(run("--json").stdout).stacks.quickstart;
      expect(own.catalog.region).toBe("us-east-1");
      const bad = run("--region", "mars-east-1");
      expect(bad.status).toBe(1);
      expect(bad.stderr).toContain("[REGION_UNKNOWN] --region");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("usage errors exit 2", () => {
  const usage: Array<[string, string[]]> = [
    ["an unknown command", ["deploy"]],
    ["size without --config", ["size", "--gpu", "A10G"]],
    ["size without a GPU", ["size", "--config", LLAMA_8B]],
    ["both --gpu and --gpu-memory-gib", ["size", "--config", LLAMA_8B, "--gpu", "A10G", "--gpu-memory-gib", "24"]],
    ["an unknown GPU", ["size", "--config", LLAMA_8B, "--gpu", "X100"]],
    ["--gpus that is not TP × PP", ["size", "--config", LLAMA_8B, "--gpu", "A10G", "--gpus", "3", "--tp", "2"]],
    ["a non-numeric --util", ["size", "--config", LLAMA_8B, "--gpu", "A10G", "--util", "high"]],
    ["a fractional --max-model-len", ["size", "--config", LLAMA_8B, "--gpu", "A10G", "--max-model-len", "8k"]],
    ["an unknown --dtype", ["size", "--config", LLAMA_8B, "--gpu", "A10G", "--dtype", "bf16"]],
    // parseArgs rejects it with a TypeError (code ERR_PARSE_ARGS_UNKNOWN_OPTION); main() must map that to exit 2 in-process too.
    ["an unknown option (--fast), also when main() runs in-process", ["size", "--config", LLAMA_8B, "--gpu", "A10G", "--fast"]],
    ["shapes without --max-model-len", ["shapes", "--config", LLAMA_8B]],
    ["a negative --gpu-memory-gib", ["size", "--config", LLAMA_8B, "--gpu-memory-gib=-4"]],
  ];
  it.each(usage)("for %s, with the usage text on stderr", (_what, argv) => {
    const r = cli(...argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^model-serving: /);
    expect(r.err).toContain("usage:");
    expect(r.out).toBe("");
  });

  it("shows the usage and exits 2 when no command is given", () => {
    const r = cli();
    expect(r.code).toBe(2);
    expect(r.out + r.err).toContain("usage:");
  });

  it("prints the usage and exits 0 for --help", () => {
    const r = cli("--help");
    expect(r.code).toBe(0);
    expect(r.out).toContain("model-serving size");
  });
});

describe("the installed executable", () => {
  it("runs `node bin/model-serving.cjs size … --json` as a child process with the same answer and exit code as main()", () => {
    const argv = ["size", "--config", LLAMA_8B, "--gpu", "A10G", "--max-model-len", "8192", "--json"];
    const child = spawnSync(process.execPath, [join(REPO_ROOT, "bin", "model-serving.cjs"), ...argv], { cwd: REPO_ROOT, encoding: "utf8", timeout: 30_000 });
    expect(child.error).toBeUndefined();
    expect(child.status).toBe(0);
    expect(JSON.parse(child.stdout)).toEqual(json<SizeJson>(cli(...argv)));
  });
});

describe("plan for any app", () => {
  it("reads the serving plans of an app that calls plain app.synth() (no synthOrExit), one per cluster, and leaves no Terraform behind", () => {
    const dir = mkdtempSync(join(tmpdir(), "plan-any-app-"));
    try {
      // Plain compiled JavaScript against the built package: two clusters in one existing-cluster stack.
      const app = [
        `const { App, TerraformStack } = require(${JSON.stringify(join(REPO_ROOT, "node_modules", "cdktf"))});`,
        `const { AwsProvider } = require(${JSON.stringify(join(REPO_ROOT, "node_modules", "@cdktf", "provider-aws", "lib", "provider"))});`,
        `const ms = require(${JSON.stringify(join(REPO_ROOT, "lib", "index.js"))});`,
        "const app = new App();",
        'const stack = new TerraformStack(app, "platform");',
        'new AwsProvider(stack, "aws", { region: "us-east-1" });',
        'for (const name of ["blue", "green"]) {',
        '  const cluster = ms.GpuCluster.fromExisting(stack, name, { clusterName: name, subnetIds: ["subnet-0a1b2c3d4e5f60718"], namespace: `llm-${name}`, quotas: { "L-DB2E81BA": 100 } });',
        '  const model = new ms.ImportedModel(stack, `${name}-qwen`, { source: ms.ModelSource.huggingFace("Qwen/Qwen2.5-7B-Instruct", { revision: "a09a35458c702b33eeacc393d103063234e8bc28" }) });',
        '  new ms.InferenceEndpoint(stack, `${name}-chat`, { cluster, model, maxModelLen: 8192 });',
        "}",
        "app.synth();",
      ].join("\n");
      writeFileSync(join(dir, "app.js"), app);
      writeFileSync(join(dir, "cdktf.json"), JSON.stringify({ app: `"${process.execPath}" app.js` }));
      const r = spawnSync(process.execPath, [join(REPO_ROOT, "bin", "model-serving.cjs"), "plan", "--json"], { cwd: dir, encoding: "utf8", timeout: 120_000 });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(Object.keys(out.stacks).sort()).toEqual(["platform/blue", "platform/green"]);
      expect(out.stacks["platform/blue"].endpoints.map((e: { name: string }) => e.name)).toEqual(["blue-chat"]);
      expect(out.stacks["platform/green"].endpoints.map((e: { name: string }) => e.name)).toEqual(["green-chat"]);
      expect(existsSync(join(dir, "cdktf.out"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
