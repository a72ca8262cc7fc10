/**
 * Throughput benchmark: replay published vLLM serving benchmarks (bench/data/throughput-public.json)
 * through the performance model — the same sizing, step-time model and engine/benchmark simulation
 * the planner uses — and print, per point and overall, the signed % error of output tokens/s,
 * TPOT/ITL and TTFT (TTFT only where the prompts were not all released at once).
 *
 *   npm run bench:throughput            table + summary
 *   npm run bench:throughput -- --json  machine-readable
 *
 * Nothing here is tuned per point: each point is described only by what its source states (model,
 * GPU, parallelism, vLLM version, server flags, dataset lengths, load), and what a source does not
 * state falls back to the engine's defaults.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { findGpu } from "../catalog";
import { engineFor } from "../planner/engine";
import { profileFromConfig } from "../planner/model-profile";
import { performanceGpu, replicaEngineOf, simulateRun, type BenchmarkLoad } from "../planner/performance";
import { size, type KvCacheDtype } from "../planner/sizing";

interface Point {
  source: string;
  model: string;
  gpu_model: string;
  gpu_count: number;
  tensor_parallel_size: number;
  vllm_version: string | null;
  dtype: string | null;
  quantization: string | null;
  kv_cache_dtype: string | null;
  input_len: number | null;
  output_len: number | null;
  mean_input_len_derived?: number;
  mean_output_len_derived?: number;
  dataset: string;
  concurrency: number | null;
  request_rate: number | "inf" | null;
  num_prompts: number;
  output_tok_s: number;
  total_tok_s: number | null;
  req_s: number | null;
  ttft_mean_ms: number | null;
  tpot_mean_ms: number | null;
  itl_mean_ms: number | null;
  tpot_from_e2e_ms?: number | null;
  notes: string;
  source_type: string;
}

const dataDir = join(__dirname, "data");
const points = JSON.parse(readFileSync(join(dataDir, "throughput-public.json"), "utf8")) as Point[];

/** The config.json each model id is replayed with (bench/data/README.md names their sources). */
const CONFIGS: Record<string, { file: string; quantization?: "fp8" }> = {
  "meta-llama/Llama-2-7b-hf": { file: "configs/meta-llama__Llama-2-7b-hf.json" },
  "meta-llama/Llama-2-70b-hf": { file: "configs/meta-llama__Llama-2-70b-hf.json" },
  "mistralai/Mixtral-8x7B-v0.1": { file: "configs/mistralai__Mixtral-8x7B-v0.1.json" },
  "codellama/CodeLlama-34b-Instruct-hf": { file: "configs/codellama__CodeLlama-34b-Instruct-hf.json" },
  // FP8 W8A8 checkpoints of these architectures: the base config with vLLM's fp8 (same bytes and kernels).
  "neuralmagic/Meta-Llama-3.1-8B-Instruct-FP8": { file: "configs/meta-llama__Meta-Llama-3.1-8B-Instruct.json", quantization: "fp8" },
  "neuralmagic/Llama-3.2-11B-Vision-Instruct-FP8-dynamic": { file: "configs/meta-llama__Llama-3.2-11B-Vision-Instruct.text.json", quantization: "fp8" },
};

/**
 * Server flags the source states. inference-sim's runs print them in the notes; the KubeAI points
 * quote them in their docs (the prefix-aware document's Model, and for the 11B vision point the
 * KubeAI model catalog at the benchmark document's commit: substratusai/kubeai@9c3d77c8
 * charts/models/values.yaml, llama-3.2-11b-vision-instruct-l4).
 */
interface ServerArgs {
  maxModelLen?: number;
  maxNumBatchedTokens?: number;
  maxNumSeqs?: number;
  gpuMemoryUtilization?: number;
}
function serverArgs(pt: Point): ServerArgs {
  const flag = (re: RegExp) => {
    const m = pt.notes.match(re);
    return m ? Number(m[1]) : undefined;
  };
  const args: ServerArgs = {};
  const set = (k: keyof ServerArgs, v: number | undefined) => {
    if (v !== undefined) args[k] = v;
  };
  set("maxModelLen", flag(/max[-_]model[-_]len[= ](\d+)/));
  set("maxNumBatchedTokens", flag(/max[-_]num[-_]batched[-_]tokens?[= ](\d+)/));
  set("maxNumSeqs", flag(/max[-_]num[-_]seqs[= ](\d+)/));
  set("gpuMemoryUtilization", flag(/gpu[-_]memory[-_]utilization[= ]([\d.]+)/));
  if (pt.model === "neuralmagic/Llama-3.2-11B-Vision-Instruct-FP8-dynamic") Object.assign(args, { maxModelLen: 8192, maxNumBatchedTokens: 8192, maxNumSeqs: 16, gpuMemoryUtilization: 0.99 });
  return args;
}

/** The engine generation of the run: its stated version, or the first V1 default release when only "V1" is known. */
function versionOf(pt: Point): string {
  const m = (pt.vllm_version ?? "").match(/^(\d+\.\d+(\.\d+)?)/);
  if (m) return m[1];
  if (/V1/.test(pt.vllm_version ?? "")) return "0.8.0";
  return "0.24.0";
}

function gpuId(name: string): string {
  const n = name.toUpperCase();
  if (n.includes("H100")) return "H100";
  if (n.includes("H200")) return "H200";
  if (n.includes("L40S")) return "L40S";
  if (n.includes("L4")) return "L4";
  if (n.includes("A100")) return n.includes("80") ? "A100-80G" : "A100-40G";
  if (n.includes("A10")) return "A10G";
  throw new Error(`bench: unknown GPU ${name}`);
}

const pct = (pred: number, actual: number) => ((pred - actual) / actual) * 100;
function quantile(xs: number[], q: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

interface Row {
  point: number;
  model: string;
  gpu: string;
  tp: number;
  replicas: number;
  load: string;
  outputTokS: { actual: number; predicted: number; errorPct: number };
  tpotMs: { actual: number; predicted: number; errorPct: number; basis: string } | null;
  itlMs: { actual: number; predicted: number; errorPct: number } | null;
  ttftMs: { actual: number; predicted: number; errorPct: number } | null;
  batch: number;
  preemptions: number;
  /** The server set the pace (all at once, a concurrency cap, or fewer completions than arrivals), not the client's rate. */
  serverBound: boolean;
}

const rows: Row[] = [];
const started = Date.now();
points.forEach((pt, i) => {
  const cfg = CONFIGS[pt.model];
  if (!cfg) throw new Error(`bench: no config for ${pt.model}`);
  const profile = profileFromConfig(JSON.parse(readFileSync(join(dataDir, cfg.file), "utf8")), pt.model);
  const version = versionOf(pt);
  const engine = engineFor(version);
  const catalogGpu = findGpu(gpuId(pt.gpu_model))!;
  const gpu = performanceGpu(catalogGpu)!;
  const tp = pt.tensor_parallel_size;
  // Replicas behind one load balancer (the KubeAI cluster points): the client's load splits evenly.
  const replicas = Math.max(1, Math.round(pt.gpu_count / tp));
  const args = serverArgs(pt);
  const inputTokens = pt.input_len ?? pt.mean_input_len_derived!;
  const outputTokens = pt.output_len ?? pt.mean_output_len_derived!;
  const kv = /fp8/.test(pt.kv_cache_dtype ?? "") ? "fp8" : "auto";
  const maxModelLen = args.maxModelLen ?? Math.min(profile.maxPositionEmbeddings, 8192);
  const sizing = size({
    profile,
    gpu: catalogGpu,
    engine,
    tensorParallel: tp,
    maxModelLen,
    path: pt.model,
    kvCacheDtype: kv as KvCacheDtype,
    ...(cfg.quantization ? { quantization: cfg.quantization } : {}),
    ...(args.gpuMemoryUtilization ? { gpuMemoryUtilization: args.gpuMemoryUtilization } : {}),
    ...(args.maxNumSeqs ? { maxNumSeqs: args.maxNumSeqs } : {}),
    ...(args.maxNumBatchedTokens ? { maxNumBatchedTokens: args.maxNumBatchedTokens } : {}),
  });
  const replica = replicaEngineOf({ profile, gpu, sizing, engine, ...(cfg.quantization ? { onlineQuantization: cfg.quantization } : {}) });
  // inference-perf's shared_prefix datasets repeat a system prompt of system_prompt_len tokens.
  const sharedPrefix = Number(pt.dataset.match(/system_prompt_len=(\d+)/)?.[1] ?? 0);
  // ...and cycle through a pool of pre-generated prompts (system prompts × users per system prompt).
  const poolMatch = pt.dataset.match(/(\d+) system prompts x (\d+) users/);
  const promptPool = poolMatch ? Number(poolMatch[1]) * Number(poolMatch[2]) : undefined;
  const inferencePerf = /inference-perf/.test(pt.source_type);
  const rate = pt.request_rate === null ? "inf" : pt.request_rate;
  const load: BenchmarkLoad = {
    inputTokens,
    outputTokens,
    sharedPrefixTokens: sharedPrefix,
    ...(promptPool ? { promptPool } : {}),
    requestRate: rate === "inf" ? "inf" : rate / replicas,
    ...(pt.concurrency ? { maxConcurrency: Math.max(1, Math.round(pt.concurrency / replicas)) } : {}),
    numPrompts: Math.max(1, Math.round(pt.num_prompts / replicas)),
    arrivals: inferencePerf ? "constant" : "poisson",
    // Conversation datasets have long-tailed lengths; the synthetic ones send the stated lengths.
    lengths: "fixed",
    maxModelLen,
  };
  const m = simulateRun(replica, load);
  const tpotActual = pt.tpot_mean_ms ?? pt.tpot_from_e2e_ms ?? null;
  rows.push({
    point: i,
    model: pt.model.split("/")[1],
    gpu: catalogGpu.id,
    tp,
    replicas,
    load: `${rate === "inf" ? "rate inf" : `${rate}/s`}${pt.concurrency ? ` c${pt.concurrency}` : ""} ${Math.round(inputTokens)}/${Math.round(outputTokens)}`,
    outputTokS: { actual: pt.output_tok_s, predicted: m.outputTokensPerSecond * replicas, errorPct: pct(m.outputTokensPerSecond * replicas, pt.output_tok_s) },
    tpotMs: tpotActual ? { actual: tpotActual, predicted: m.meanTpotMs, errorPct: pct(m.meanTpotMs, tpotActual), basis: pt.tpot_mean_ms ? "TPOT" : "(E2E−TTFT)/(out−1)" } : null,
    itlMs: pt.itl_mean_ms ? { actual: pt.itl_mean_ms, predicted: m.meanItlMs, errorPct: pct(m.meanItlMs, pt.itl_mean_ms) } : null,
    ttftMs: pt.ttft_mean_ms && rate !== "inf" ? { actual: pt.ttft_mean_ms, predicted: m.meanTtftMs, errorPct: pct(m.meanTtftMs, pt.ttft_mean_ms) } : null,
    batch: m.meanBatch,
    preemptions: m.preemptions,
    serverBound: rate === "inf" || !!pt.concurrency || (pt.req_s !== null && pt.req_s < 0.95 * rate),
  });
});

const abs = (xs: number[]) => xs.map(Math.abs);
const tpotErrs = rows.flatMap((r) => (r.tpotMs ? [r.tpotMs.errorPct] : []));
const itlErrs = rows.flatMap((r) => (r.itlMs ? [r.itlMs.errorPct] : []));
// TPOT/ITL target: one decode-latency figure per point (TPOT where printed, else the E2E-derived one; ITL when only it exists).
const decodeErrs = rows.flatMap((r) => (r.tpotMs ? [r.tpotMs.errorPct] : r.itlMs ? [r.itlMs.errorPct] : []));
const outErrs = rows.map((r) => r.outputTokS.errorPct);
const ttftErrs = rows.flatMap((r) => (r.ttftMs ? [r.ttftMs.errorPct] : []));
const summary = (name: string, xs: number[], targets?: { median: number; p90?: number }) => ({
  metric: name,
  points: xs.length,
  medianAbsPct: quantile(abs(xs), 0.5),
  p90AbsPct: quantile(abs(xs), 0.9),
  medianSignedPct: quantile(xs, 0.5),
  ...(targets ? { target: targets, met: quantile(abs(xs), 0.5) <= targets.median && (targets.p90 === undefined || quantile(abs(xs), 0.9) <= targets.p90) } : {}),
});
const summaries = [
  summary("TPOT/ITL", decodeErrs, { median: 12, p90: 40 }),
  summary("TPOT only", tpotErrs),
  summary("ITL only", itlErrs),
  summary("output tokens/s", outErrs, { median: 20, p90: 60 }),
  summary("  server-bound points", rows.filter((r) => r.serverBound).map((r) => r.outputTokS.errorPct)),
  summary("TTFT (not all at once)", ttftErrs, { median: 30 }),
];

if (process.argv.includes("--json")) {
  console.log(JSON.stringify({ points: rows, summary: summaries }, null, 2));
} else {
  const f = (x: number) => (x >= 0 ? "+" : "") + x.toFixed(1) + "%";
  const n = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  console.log("pt  model                                   GPU   TP×rep  load                     out tok/s (meas → pred, err)     TPOT ms (meas → pred, err)     ITL ms            TTFT ms (meas → pred, err)   batch");
  for (const r of rows) {
    const cells = [
      String(r.point).padEnd(3),
      r.model.slice(0, 38).padEnd(39),
      r.gpu.padEnd(5),
      `${r.tp}×${r.replicas}`.padEnd(7),
      r.load.padEnd(24),
      `${n(r.outputTokS.actual)} → ${n(r.outputTokS.predicted)} ${f(r.outputTokS.errorPct)}`.padEnd(32),
      (r.tpotMs ? `${n(r.tpotMs.actual)} → ${n(r.tpotMs.predicted)} ${f(r.tpotMs.errorPct)}` : "—").padEnd(30),
      (r.itlMs ? `${f(r.itlMs.errorPct)}` : "—").padEnd(17),
      (r.ttftMs ? `${n(r.ttftMs.actual)} → ${n(r.ttftMs.predicted)} ${f(r.ttftMs.errorPct)}` : "—").padEnd(28),
      r.batch.toFixed(0) + (r.preemptions ? ` (${r.preemptions} preempted)` : ""),
    ];
    console.log(cells.join(" "));
  }
  console.log("");
  for (const s of summaries) {
    const t = "target" in s && s.target ? `  target median ≤ ${s.target.median}%${s.target.p90 !== undefined ? `, p90 ≤ ${s.target.p90}%` : ""}: ${s.met ? "met" : "NOT met"}` : "";
    console.log(`${s.metric.padEnd(24)} n=${String(s.points).padEnd(3)} median |err| ${s.medianAbsPct.toFixed(1)}%  p90 |err| ${s.p90AbsPct.toFixed(1)}%  median signed ${f(s.medianSignedPct)}${t}`);
  }
  console.log(`(${points.length} points simulated in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
