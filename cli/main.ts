/**
 * `model-serving` — the planner on the command line, and the "what fits?" calculator.
 *
 *   model-serving size   --config <config.json | catalog id> (--gpu G | --gpu-memory-gib N) [--gpus N] [--tp N] [--pp N]
 *                        [--util F] [--max-model-len N] [--dtype D] [--kv-cache-dtype D] [--quantization Q] [--region R] [--json]
 *   model-serving shapes --config <…> --max-model-len N [--min-concurrency F] [--region R] [--json]
 *   model-serving plan   [--region R] [--json]
 *   model-serving lock   <hf-repo-id>[@<revision>] | s3://<bucket>/<prefix>/ [--out models.lock.json]   (see cli/lock.ts)
 *   model-serving perf   --config <…> --gpu G [--gpus N] [--tp N] [--pp N] --input N --output N
 *                        (--concurrency N | --request-rate R|inf) [--num-prompts N] [--json]      (see cli/perf.ts)
 *   model-serving plan   [--compare <base serving-plan.json>] [--json]
 *
 * Exit codes: 0 success, 1 the model does not fit or the input is invalid (coded errors), 2 usage.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { GPUS, findGpu, findGpuByName } from "../catalog";
import { chooseShape, layoutFor } from "../planner/choose";
import { DEFAULT_VLLM_VERSION, servableVllmVersions, vllmRelease, type EngineProfile } from "../planner/engine";
import { PlanningError, round, type Finding } from "../planner/findings";
import { assertRegion, DEFAULT_REGION } from "../planner/region";
import { profileFromConfig, type ModelProfile } from "../planner/model-profile";
import { derivedMaxModelLen, size, type GpuFacts, type KvCacheDtype, type SizingResult } from "../planner/sizing";
import type { LimitMmPerPrompt } from "../planner/multimodal";
import { loadConfig } from "./model-source";
import { LOCK_USAGE, lockCommand } from "./lock";
import { planConsoleTable } from "../constructs/plan-report";
import type { ServingPlan } from "../planner/plan-types";
import { basePlans, comparePlans, hasLoadFlags, hasTrafficFlags, loadFlags, PerfUsageError, performanceGpuOf, predictionJson, predictRun, rankShapesByTokenCost, trafficFlags } from "./perf";
import { planDiffMarkdown } from "../constructs/plan-report";

const USAGE = `usage:
  model-serving size   --config <config.json | catalog model id> (--gpu <${GPUS.map((g) => g.id).join("|")}> | --gpu-memory-gib N)
                       [--gpus N] [--tp N] [--pp N] [--util F] [--max-model-len N] [--dtype D] [--kv-cache-dtype D]
                       [--quantization fp8] [--limit-mm-per-prompt JSON] [--enable-prefix-caching] [--vllm X.Y.Z] [--region R] [--json]
  model-serving shapes --config <…> --max-model-len N [--min-concurrency F] [--util F] [--kv-cache-dtype D]
                       [--quantization fp8] [--limit-mm-per-prompt JSON] [--enable-prefix-caching] [--vllm X.Y.Z] [--region R] [--json]
  model-serving plan   [--vllm X.Y.Z] [--region R] [--json]   the serving plan of the app in ./cdktf.json, without writing Terraform
  model-serving plan   --compare <base serving-plan.json | plan --json output> [--json]
                       what changed against the base (cost, shapes, replicas, quotas, $/1M tokens) as markdown
  model-serving perf   --config <…> --gpu <GPU> [--gpus N] [--tp N] [--pp N] [--quantization fp8] [--kv-cache-dtype D]
                       --input N --output N (--concurrency N | --request-rate R|inf) [--num-prompts N]
                       [--max-model-len N] [--util F] [--max-num-seqs N] [--max-num-batched-tokens N] [--vllm X.Y.Z] [--json]
                       what vllm bench serve would print: output/total tokens/s, requests/s, TTFT, TPOT, ITL
${LOCK_USAGE}

  size also takes perf's load flags (--input --output --concurrency|--request-rate) and adds the prediction.
  shapes also takes traffic flags: --input N --output N [--request-rate R | --output-tokens-per-second T]
  [--p95-ttft-ms X] [--p95-tpot-ms Y]; it then ranks the shapes by $ per 1M tokens (replicas for the rate).

  --gpu takes any catalog GPU by id or name ("RTX 4090", "RTX-PRO-6000", GB10, L40, A40, B300, …).
  --gpu-memory-gib is the CUDA-visible total per GPU of any other GPU (assumed an Ampere-or-newer GPU).
  --util is vLLM's gpu_memory_utilization (default ${vllmRelease(undefined, "--vllm").engine.gpuMemoryUtilization} in vLLM ${DEFAULT_VLLM_VERSION}).
  --vllm is the release to size for (default ${DEFAULT_VLLM_VERSION}): any of v0.6–v0.29; a stack serves ${servableVllmVersions().join(", ")}.
    plan --vllm sets the release of every cluster that does not name its own.
  --quantization is vLLM's online quantization of an unquantized checkpoint.
  --limit-mm-per-prompt is vLLM's flag for vision models, as JSON: '{"image":2}' or '{"image":{"count":1,"width":1024,"height":1024}}'
           (default: vLLM's 999 per modality); vLLM profiles the vision encoder with that many images at start-up.
  --enable-prefix-caching sizes Gated DeltaNet hybrids (Qwen3-Next, Qwen3.5) with two recurrent states per request.
  --region is the AWS region shapes are offered and priced in (default ${DEFAULT_REGION}); for plan, the
           region to price the app in instead of its own (a what-if: no Terraform is written).
exit codes: 0 success, 1 does not fit / invalid input, 2 usage`;

class UsageError extends Error {}

interface Io {
  out(line: string): void;
  err(line: string): void;
}

const DTYPES = ["auto", "bfloat16", "float16", "float32"] as const;
const KV_DTYPES = ["auto", "fp8", "fp8_e4m3", "fp8_e5m2"] as const;

function positiveInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) <= 0) throw new UsageError(`--${name} must be a positive integer (got "${v}")`);
  return Number(v);
}
function positiveNumber(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number (got "${v}")`);
  return n;
}
function oneOf<T extends string>(name: string, v: string | undefined, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`--${name} must be one of ${allowed.join(", ")} (got "${v}")`);
  return v as T;
}

const OPTIONS = {
  config: { type: "string" },
  gpu: { type: "string" },
  "gpu-memory-gib": { type: "string" },
  gpus: { type: "string" },
  tp: { type: "string" },
  pp: { type: "string" },
  util: { type: "string" },
  "max-model-len": { type: "string" },
  "min-concurrency": { type: "string" },
  dtype: { type: "string" },
  "kv-cache-dtype": { type: "string" },
  quantization: { type: "string" },
  "limit-mm-per-prompt": { type: "string" },
  "enable-prefix-caching": { type: "boolean" },
  vllm: { type: "string" },
  region: { type: "string" },
  input: { type: "string" },
  output: { type: "string" },
  concurrency: { type: "string" },
  "request-rate": { type: "string" },
  "num-prompts": { type: "string" },
  "max-num-seqs": { type: "string" },
  "max-num-batched-tokens": { type: "string" },
  "output-tokens-per-second": { type: "string" },
  "p95-ttft-ms": { type: "string" },
  "p95-tpot-ms": { type: "string" },
  compare: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean" },
} as const;

function gpuFrom(values: Record<string, string | boolean | undefined>): GpuFacts {
  const id = values.gpu as string | undefined;
  const mem = positiveNumber("gpu-memory-gib", values["gpu-memory-gib"] as string | undefined);
  if (id && mem) throw new UsageError("give --gpu or --gpu-memory-gib, not both");
  if (id) {
    const gpu = findGpu(id) ?? findGpuByName(id);
    if (!gpu) throw new UsageError(`--gpu must be one of ${GPUS.map((g) => g.id).join(", ")} (got "${id}")`);
    return gpu;
  }
  if (mem) return { id: `${mem}GiB-GPU`, deviceName: `GPU with ${mem} GiB`, cudaVisibleGiB: mem, computeCapability: 8.0, smCount: 108 };
  throw new UsageError("size needs --gpu or --gpu-memory-gib");
}

/** --region, checked against the regions the price catalog covers (REGION_UNKNOWN lists them). */
function regionFrom(values: Record<string, string | boolean | undefined>): string {
  const region = (values.region as string | undefined) ?? DEFAULT_REGION;
  assertRegion(region, "--region", "--region");
  return region;
}

/** --limit-mm-per-prompt and --enable-prefix-caching, as the sizing takes them. */
function servingFlags(values: Record<string, string | boolean | undefined>): { limitMmPerPrompt?: LimitMmPerPrompt; enablePrefixCaching?: boolean } {
  const raw = values["limit-mm-per-prompt"] as string | undefined;
  let limits: unknown;
  if (raw !== undefined) {
    try {
      limits = JSON.parse(raw);
    } catch {
      throw new UsageError(`--limit-mm-per-prompt must be JSON such as '{"image":2}' (got ${raw})`);
    }
    if (!limits || typeof limits !== "object" || Array.isArray(limits)) throw new UsageError(`--limit-mm-per-prompt must be a JSON object such as '{"image":2}' (got ${raw})`);
  }
  return { ...(limits ? { limitMmPerPrompt: limits as LimitMmPerPrompt } : {}), ...(values["enable-prefix-caching"] ? { enablePrefixCaching: true } : {}) };
}

function codes(list: readonly Finding[]) {
  return list.map((f) => ({ code: f.code, message: f.message }));
}

/**
 * The layout and the engine flags `size` and `perf` share, and vLLM's budget for them: one place reads
 * --gpus/--tp/--pp, --max-model-len, --util, --dtype, --kv-cache-dtype, --quantization, the batch limits
 * and the serving flags.
 */
function sizeFromFlags(values: Record<string, string | boolean | undefined>, c: { profile: ModelProfile; gpu: GpuFacts; engine: EngineProfile; loaded: ReturnType<typeof loadConfig>; defaultMaxModelLen: number }) {
  const gpus = positiveInt("gpus", values.gpus as string | undefined);
  const tpArg = positiveInt("tp", values.tp as string | undefined);
  const ppArg = positiveInt("pp", values.pp as string | undefined);
  const layout = tpArg || ppArg ? { tp: tpArg ?? 1, pp: ppArg ?? 1 } : layoutFor(c.profile, gpus ?? 1);
  if (gpus !== undefined && layout.tp * layout.pp !== gpus) throw new UsageError(`--tp × --pp (${layout.tp} × ${layout.pp}) must equal --gpus (${gpus})`);
  const maxModelLen = positiveInt("max-model-len", values["max-model-len"] as string | undefined) ?? c.defaultMaxModelLen;
  const util = positiveNumber("util", values.util as string | undefined);
  const dtype = oneOf("dtype", values.dtype as string | undefined, DTYPES);
  const kv = oneOf("kv-cache-dtype", values["kv-cache-dtype"] as string | undefined, KV_DTYPES);
  const quantization = oneOf("quantization", values.quantization as string | undefined, ["fp8"] as const);
  const maxNumSeqs = positiveInt("max-num-seqs", values["max-num-seqs"] as string | undefined);
  const maxNumBatchedTokens = positiveInt("max-num-batched-tokens", values["max-num-batched-tokens"] as string | undefined);
  const sizing = size({
    ...servingFlags(values),
    profile: c.profile,
    gpu: c.gpu,
    engine: c.engine,
    tensorParallel: layout.tp,
    pipelineParallel: layout.pp,
    maxModelLen,
    path: c.loaded.id,
    ...(c.loaded.safetensors ? { checkpointBytes: c.loaded.safetensors.bytes } : {}),
    ...(util !== undefined ? { gpuMemoryUtilization: util } : {}),
    ...(dtype ? { dtype } : {}),
    ...(kv ? { kvCacheDtype: kv as KvCacheDtype } : {}),
    ...(quantization ? { quantization } : {}),
    ...(maxNumSeqs ? { maxNumSeqs } : {}),
    ...(maxNumBatchedTokens ? { maxNumBatchedTokens } : {}),
  });
  return { layout, maxModelLen, util, kv, quantization, sizing };
}

function runSize(values: Record<string, string | boolean | undefined>, io: Io): number {
  if (!values.config) throw new UsageError("size needs --config");
  const gpu = gpuFrom(values);
  const region = regionFrom(values);
  const loaded = loadConfig(values.config as string);
  const profile = profileFromConfig(loaded.config, loaded.id);
  const release = vllmRelease(values.vllm as string | undefined, "--vllm");
  const engine = release.engine;
  const { layout, maxModelLen, util, kv, quantization, sizing: result } = sizeFromFlags(values, { profile, gpu, engine, loaded, defaultMaxModelLen: derivedMaxModelLen(profile) });
  const flags = servingFlags(values);
  const fitsOn = result.fits
    ? []
    : chooseShape({ ...flags, profile, engine, maxModelLen, path: loaded.id, region, ...(util !== undefined ? { gpuMemoryUtilization: util } : {}), ...(kv ? { kvCacheDtype: kv as KvCacheDtype } : {}), ...(quantization ? { quantization } : {}) })
        .ranked.filter((f) => f.feasible)
        .slice(0, 5)
        .map((f) => ({ shape: f.shape.name, instanceType: f.host!.instance.instanceType, usdPerReplicaHour: Math.round(f.usdPerReplicaHour * 10000) / 10000, tensorParallel: f.tensorParallel, kvCacheTokens: f.sizing.kvCacheTokens, maxConcurrency: f.sizing.maxConcurrency }));
  const out = {
    model: loaded.id,
    gpu: gpu.id,
    gpuMemoryGiB: gpu.cudaVisibleGiB,
    gpus: layout.tp * layout.pp,
    fits: result.fits,
    weightsGiB: result.weightsGiB,
    overheadGiB: result.overheadGiB,
    kvCacheGiB: result.kvCacheGiB,
    kvCacheTokens: result.kvCacheTokens,
    kvBlockSize: result.kvBlockSize,
    maxConcurrency: result.maxConcurrency,
    tensorParallel: result.tensorParallel,
    pipelineParallel: result.pipelineParallel,
    maxModelLen,
    gpuMemoryUtilization: result.gpuMemoryUtilization,
    dtype: result.dtype,
    kvCacheDtype: result.kvCacheDtype,
    ...(flags.limitMmPerPrompt ? { limitMmPerPrompt: flags.limitMmPerPrompt } : {}),
    vllm: release.version,
    vllmImage: release.imageTag,
    region,
    ...(loaded.safetensors ? { safetensors: loaded.safetensors } : {}),
    errors: codes(result.errors),
    warnings: codes(result.warnings),
    ...(result.fits ? {} : { fitsOn }),
    ...(result.fits && hasLoadFlags(values) ? { performance: sizePerformance(values, profile, gpu, result, engine, quantization, loaded.id) } : {}),
  };
  if (values.json) io.out(JSON.stringify(out, null, 2));
  else {
    io.out(`${loaded.id} on ${out.gpus} × ${gpu.id} (${gpu.cudaVisibleGiB} GiB), TP ${out.tensorParallel} PP ${out.pipelineParallel}, maxModelLen ${maxModelLen}, vLLM ${out.vllm}`);
    io.out(`  ${result.fits ? "fits" : "does not fit"}: weights ${out.weightsGiB} GiB/GPU, start-up overhead ${out.overheadGiB} GiB, KV cache ${out.kvCacheGiB} GiB = ${out.kvCacheTokens.toLocaleString("en-US")} tokens, max concurrency ${out.maxConcurrency}×`);
    for (const e of result.errors) io.out(`  ${e.message}`);
    for (const w of result.warnings) io.out(`  ${w.message}`);
    if (!result.fits && fitsOn.length) io.out(`  fits on (cheapest first in ${region}): ${fitsOn.map((f) => `${f.shape} on ${f.instanceType} $${f.usdPerReplicaHour}/h`).join(", ")}`);
    if (out.performance) io.out(`  predicted: ${out.performance.outputTokensPerSecond} output tok/s, ${out.performance.totalTokensPerSecond} total tok/s, ${out.performance.requestsPerSecond} req/s, mean TTFT ${out.performance.meanTtftMs} ms, mean TPOT ${out.performance.meanTpotMs ?? "—"} ms`);
  }
  return result.fits ? 0 : 1;
}

function runShapes(values: Record<string, string | boolean | undefined>, io: Io): number {
  if (!values.config) throw new UsageError("shapes needs --config");
  const maxModelLen = positiveInt("max-model-len", values["max-model-len"] as string | undefined);
  if (!maxModelLen) throw new UsageError("shapes needs --max-model-len");
  const loaded = loadConfig(values.config as string);
  const profile = profileFromConfig(loaded.config, loaded.id);
  const util = positiveNumber("util", values.util as string | undefined);
  const kv = oneOf("kv-cache-dtype", values["kv-cache-dtype"] as string | undefined, KV_DTYPES);
  const quantization = oneOf("quantization", values.quantization as string | undefined, ["fp8"] as const);
  const minConcurrency = positiveNumber("min-concurrency", values["min-concurrency"] as string | undefined) ?? 1;
  const release = vllmRelease(values.vllm as string | undefined, "--vllm");
  const region = regionFrom(values);
  if (hasTrafficFlags(values)) {
    const traffic = trafficFlags(values);
    const ranked = rankShapesByTokenCost(
      { profile, engine: release.engine, maxModelLen, minConcurrency, path: loaded.id, ...(util !== undefined ? { gpuMemoryUtilization: util } : {}), ...(kv ? { kvCacheDtype: kv as KvCacheDtype } : {}), ...(quantization ? { quantization } : {}) },
      traffic,
    );
    const { rateGiven, ...declared } = traffic;
    if (values.json) io.out(JSON.stringify({ model: loaded.id, maxModelLen, traffic: rateGiven ? declared : { ...declared, requestsPerSecond: null }, region, vllm: release.version, ranked }, null, 2));
    else {
      io.out(`${loaded.id}, ${traffic.inputTokens}/${traffic.outputTokens} tokens${rateGiven ? ` at ${round(traffic.requestsPerSecond ?? (traffic.outputTokensPerSecond ?? 0) / Math.max(1, traffic.outputTokens), 3)} req/s` : ""}: shapes by $ per 1M ${traffic.outputTokens > 0 ? "output" : "total"} tokens, cheapest first`);
      for (const r of ranked) io.out(`  ${r.shape.padEnd(12)} ${String(r.instanceType).padEnd(18)} ${r.replicas !== null ? `${r.replicas} × ` : ""}$${r.usdPerReplicaHour}/replica-hour  ${r.perReplicaOutputTokensPerSecond ?? "—"} out tok/s/replica  $/1M out ${r.usdPer1MOutputTokens ?? "—"}  $/1M total ${r.usdPer1MTotalTokens ?? "—"}  ${r.verdict}`);
    }
    return ranked.some((r) => r.perReplicaRequestsPerSecond !== null) ? 0 : 1;
  }
  const choice = chooseShape({
    ...servingFlags(values),
    region,
    profile,
    engine: release.engine,
    maxModelLen,
    minConcurrency,
    path: loaded.id,
    ...(util !== undefined ? { gpuMemoryUtilization: util } : {}),
    ...(kv ? { kvCacheDtype: kv as KvCacheDtype } : {}),
    ...(quantization ? { quantization } : {}),
  });
  const feasible = choice.candidates.filter((c) => c.verdict.startsWith("chosen") || c.verdict.startsWith("fits"));
  const rejected = choice.candidates.filter((c) => !feasible.includes(c));
  if (values.json) {
    io.out(JSON.stringify({ model: loaded.id, maxModelLen, minConcurrency, region, vllm: release.version, feasible, rejected }, null, 2));
  } else {
    io.out(`${loaded.id}, maxModelLen ${maxModelLen}, concurrency ≥ ${minConcurrency}, ${region}: ${feasible.length} feasible shape(s), cheapest first`);
    for (const c of feasible) io.out(`  ${c.shape.padEnd(12)} ${String(c.instanceType).padEnd(18)} $${String(c.usdPerReplicaHour).padEnd(9)}/replica-hour  TP ${c.tensorParallel} PP ${c.pipelineParallel}  ${c.kvCacheTokens.toLocaleString("en-US")} KV tokens  ${c.maxConcurrency}× concurrency`);
    if (!feasible.length) io.out("  none: lower --max-model-len or --min-concurrency, or use a quantized checkpoint");
  }
  return feasible.length ? 0 : 1;
}

/** The plans an app that calls synthOrExit prints in plan-only mode. */
function printedPlans(stdout: string): { stacks: Record<string, ServingPlan> } | undefined {
  try {
    const p = JSON.parse(stdout) as { stacks?: Record<string, ServingPlan> };
    return p.stacks ? { stacks: p.stacks } : undefined;
  } catch {
    return undefined;
  }
}

/** The plans a synthesized app wrote beside its stacks: serving-plan.json, or serving-plan.<cluster>.json for several clusters. */
function writtenPlans(outdir: string): { stacks: Record<string, ServingPlan> } | undefined {
  const dir = join(outdir, "stacks");
  if (!existsSync(dir)) return undefined;
  const stacks: Record<string, ServingPlan> = {};
  for (const stack of readdirSync(dir).sort()) {
    for (const f of readdirSync(join(dir, stack)).sort()) {
      const m = /^serving-plan(?:\.(.+))?\.json$/.exec(f);
      if (m) stacks[m[1] ? `${stack}/${m[1]}` : stack] = JSON.parse(readFileSync(join(dir, stack, f), "utf8")) as ServingPlan;
    }
  }
  return Object.keys(stacks).length ? { stacks } : undefined;
}

function runPlan(values: Record<string, string | boolean | undefined>, io: Io): number {
  if (!existsSync("cdktf.json")) throw new UsageError("plan runs the app of ./cdktf.json; run it in the project directory");
  const app = (JSON.parse(readFileSync("cdktf.json", "utf8")) as { app?: string }).app;
  if (!app) throw new UsageError('cdktf.json has no "app" command');
  const vllm = values.vllm as string | undefined;
  if (vllm !== undefined) vllmRelease(vllm, "--vllm", "serve"); // a coded error here, before the app runs
  // --region prices every cluster of the app in that region (clusters honour it only in plan-only runs).
  const planRegion = values.region === undefined ? "" : regionFrom(values);
  // An app that ends in synthOrExit prints its plans and writes nothing; any other app synthesizes into a
  // scratch directory, from which only the serving plans are read before it is removed.
  const scratch = mkdtempSync(join(tmpdir(), "model-serving-plan-"));
  let parsed: { stacks: Record<string, ServingPlan> } | undefined;
  let r: ReturnType<typeof spawnSync>;
  try {
    r = spawnSync(app, { shell: true, encoding: "utf8", env: { ...process.env, CDKTF_OUTDIR: scratch, MODEL_SERVING_PLAN_ONLY: "1", MODEL_SERVING_QUIET: "1", MODEL_SERVING_PLAN_REGION: planRegion, ...(vllm ? { MODEL_SERVING_VLLM: vllm } : {}) }, maxBuffer: 256 * 1024 * 1024 });
    parsed = printedPlans(String(r.stdout)) ?? writtenPlans(scratch);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  if (!parsed) {
    io.err(String(r.stderr || r.stdout).trim() || "the app wrote no serving plan: does it declare a GpuCluster?");
    return 1;
  }
  if (typeof values.compare === "string") {
    const file = values.compare;
    if (!existsSync(file)) throw new UsageError(`--compare: ${file} does not exist`);
    const diff = comparePlans(basePlans(JSON.parse(readFileSync(file, "utf8")), parsed.stacks, file), parsed.stacks);
    io.out(values.json ? JSON.stringify(diff, null, 2) : planDiffMarkdown(diff));
    return r.status === 0 ? 0 : 1;
  }
  if (values.json) io.out(JSON.stringify(parsed, null, 2));
  else {
    for (const [name, plan] of Object.entries(parsed.stacks)) {
      io.out(planConsoleTable(name, plan));
      for (const f of plan.findings) io.out(`  ${f.severity}: ${f.message}`);
    }
  }
  return r.status === 0 ? 0 : 1;
}

/** The benchmark run predicted on a sized replica, for `size` with load flags. */
function sizePerformance(values: Record<string, string | boolean | undefined>, profile: ModelProfile, gpu: GpuFacts, sizing: SizingResult, engine: EngineProfile, quantization: "fp8" | undefined, path: string) {
  const load = loadFlags(values, "size");
  const catalogGpu = findGpu(gpu.id);
  if (!catalogGpu) throw new UsageError("a performance prediction needs --gpu (a catalog GPU), not --gpu-memory-gib");
  return predictionJson(predictRun({ profile, gpu: catalogGpu, sizing, engine, ...(quantization ? { quantization } : {}), load, path }), load);
}

function runPerf(values: Record<string, string | boolean | undefined>, io: Io): number {
  if (!values.config) throw new UsageError("perf needs --config");
  const loaded = loadConfig(values.config as string);
  const { gpu } = performanceGpuOf(values.gpu as string | undefined, loaded.id);
  const load = loadFlags(values, "perf");
  const profile = profileFromConfig(loaded.config, loaded.id);
  const release = vllmRelease(values.vllm as string | undefined, "--vllm");
  const engine = release.engine;
  // Long enough for the requests; vLLM's own default (the model's maximum) rarely fits one GPU.
  const defaultMaxModelLen = Math.min(derivedMaxModelLen(profile), Math.max(8192, load.inputTokens + load.outputTokens));
  const { layout, maxModelLen, quantization, sizing } = sizeFromFlags(values, { profile, gpu, engine, loaded, defaultMaxModelLen });
  if (!sizing.fits) throw new PlanningError(sizing.errors);
  const m = predictRun({ profile, gpu, sizing, engine, ...(quantization ? { quantization } : {}), load, path: loaded.id });
  const out = {
    model: loaded.id,
    gpu: gpu.id,
    gpus: layout.tp * layout.pp,
    tensorParallel: layout.tp,
    pipelineParallel: layout.pp,
    vllm: release.version,
    vllmImage: release.imageTag,
    engine: { maxModelLen, maxNumSeqs: sizing.maxNumSeqs, maxNumBatchedTokens: sizing.maxNumBatchedTokens, kvCacheTokens: sizing.kvCacheTokens, dtype: sizing.dtype, kvCacheDtype: sizing.kvCacheDtype, chunkedPrefill: engine.chunkedPrefill, asyncScheduling: engine.asyncScheduling },
    load: { inputTokens: load.inputTokens, outputTokens: load.outputTokens, requestRate: load.requestRate, maxConcurrency: load.maxConcurrency ?? null, numPrompts: load.numPrompts },
    ...predictionJson(m, load),
    warnings: codes(sizing.warnings),
  };
  if (values.json) io.out(JSON.stringify(out, null, 2));
  else {
    io.out(`${loaded.id} on ${out.gpus} × ${gpu.id} (TP ${layout.tp} PP ${layout.pp}), ${release.imageTag}: ${load.numPrompts} prompts of ${load.inputTokens}/${load.outputTokens} tokens, request rate ${load.requestRate}${load.maxConcurrency ? `, max concurrency ${load.maxConcurrency}` : ""}`);
    io.out(`  engine: max_num_seqs ${sizing.maxNumSeqs}, max_num_batched_tokens ${sizing.maxNumBatchedTokens}, ${sizing.kvCacheTokens.toLocaleString("en-US")} KV tokens`);
    io.out(`  Benchmark duration (s):      ${out.durationSeconds}`);
    io.out(`  Request throughput (req/s):  ${out.requestsPerSecond}`);
    io.out(`  Output token throughput:     ${out.outputTokensPerSecond} tok/s`);
    io.out(`  Total token throughput:      ${out.totalTokensPerSecond} tok/s`);
    io.out(`  Mean / median / p95 TTFT:    ${out.meanTtftMs} / ${out.medianTtftMs} / ${out.p95TtftMs} ms`);
    io.out(`  Mean / p95 TPOT:             ${out.meanTpotMs ?? "—"} / ${out.p95TpotMs ?? "—"} ms`);
    io.out(`  Mean ITL:                    ${out.meanItlMs ?? "—"} ms`);
  }
  return 0;
}

/** Runs a command; `lock` reads the network and returns a Promise, every other command returns at once. */
export function main(argv: readonly string[], io: Io = { out: (l) => console.log(l), err: (l) => console.error(l) }): number | Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (!command || command === "--help" || command === "help") {
      io.out(USAGE);
      return command ? 0 : 2;
    }
    if (command === "lock") {
      return lockCommand(rest, io).catch((e: unknown) => {
        io.err(`model-serving lock: ${String((e as Error)?.message ?? e)}`);
        return 1;
      });
    }
    const { values } = parseArgs({ args: [...rest], options: OPTIONS, strict: true, allowPositionals: false });
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    if (command === "size") return runSize(values, io);
    if (command === "shapes") return runShapes(values, io);
    if (command === "plan") return runPlan(values, io);
    if (command === "perf") return runPerf(values, io);
    throw new UsageError(`unknown command "${command}"`);
  } catch (e) {
    if (e instanceof PlanningError) {
      if (rest.includes("--json")) io.out(JSON.stringify({ fits: false, errors: codes(e.findings) }, null, 2));
      else for (const f of e.findings) io.err(f.message);
      return 1;
    }
    // parseArgs errors carry a code; checked by code, not class, because test sandboxes have their own TypeError.
    if (e instanceof UsageError || e instanceof PerfUsageError || String((e as { code?: unknown })?.code ?? "").startsWith("ERR_PARSE_ARGS")) {
      io.err(`model-serving: ${(e as Error).message}`);
      io.err(USAGE);
      return 2;
    }
    throw e;
  }
}

if (require.main === module) void Promise.resolve(main(process.argv.slice(2))).then((code) => (process.exitCode = code));
