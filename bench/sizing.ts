/**
 * Sizing benchmark: replay published vLLM start-up logs (bench/data/kv-cache-public.json) through the
 * planner and compare predicted KV-cache tokens with what vLLM printed.
 *
 *   npm run bench:sizing            table + summary
 *   npm run bench:sizing -- --json  machine-readable
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { findGpu, findGpuByName } from "../catalog";
import { engineFor } from "../planner/engine";
import { profileFromConfig } from "../planner/model-profile";
import { size, type GpuFacts, type KvCacheDtype } from "../planner/sizing";

interface Point {
  source: string;
  model: string;
  gpu_model: string;
  tensor_parallel_size: number | null;
  pipeline_parallel_size: number | null;
  dtype: string | null;
  kv_cache_dtype: string | null;
  max_model_len: number;
  gpu_memory_utilization: number | null;
  vllm_version: string | null;
  engine: string;
  total_gpu_memory_gib: number | null;
  model_weights_gib: number | null;
  available_kv_cache_gib: number | null;
  gpu_kv_cache_tokens: number | null;
  num_gpu_blocks: number | null;
  kv_capacity_tokens_from_error: number | null;
  outcome: string;
  config: string;
}

const dataDir = join(__dirname, "data");
const points = JSON.parse(readFileSync(join(dataDir, "kv-cache-public.json"), "utf8")) as Point[];

/** The GPU as the log saw it: the catalog's entry, with the CUDA-visible total the log printed when it did. */
function gpuOf(pt: Point): GpuFacts {
  const name = pt.gpu_model.toUpperCase();
  const catalogId = name.includes("H100") ? "H100" : name.includes("A100") ? (name.includes("80") ? "A100-80G" : "A100-40G") : name.includes("L40S") ? "L40S" : name.includes("A10") ? "A10G" : undefined;
  const known = catalogId ? findGpu(catalogId) : undefined;
  if (known) return { ...known, cudaVisibleGiB: pt.total_gpu_memory_gib ?? known.cudaVisibleGiB };
  // Other GPUs by their catalog name: the leading words of the log's GPU ("RTX 4090 24GB (WSL2)" → "RTX 4090").
  const words = pt.gpu_model.replace(/\(.*$/, "").split(/\s+/).filter(Boolean);
  for (let n = words.length; n > 0; n--) {
    const g = findGpuByName(words.slice(0, n).join(" "));
    if (g) return { ...g, cudaVisibleGiB: pt.total_gpu_memory_gib ?? g.cudaVisibleGiB };
  }
  if (/GB10|Spark/i.test(pt.gpu_model)) return { ...findGpuByName("GB10")!, cudaVisibleGiB: pt.total_gpu_memory_gib ?? findGpuByName("GB10")!.cudaVisibleGiB };
  throw new Error(`bench: unknown GPU ${pt.gpu_model}`);
}

function batchFlags(pt: Point): { maxNumSeqs?: number; maxNumBatchedTokens?: number } {
  const notes = (pt as unknown as { notes?: string }).notes ?? "";
  const seqs = /--max-num-seqs[ =](\d+)/.exec(notes);
  const tokens = /--max-num-batched-tokens[ =](\d+)/.exec(notes);
  return { ...(seqs ? { maxNumSeqs: Number(seqs[1]) } : {}), ...(tokens ? { maxNumBatchedTokens: Number(tokens[1]) } : {}) };
}

const json = process.argv.includes("--json");
const rows: Array<Record<string, unknown>> = [];
const errs: number[] = [];
const denseErrs: number[] = [];
let failuresPredicted = 0;
let failures = 0;
for (const pt of points) {
  const config = JSON.parse(readFileSync(join(dataDir, pt.config), "utf8"));
  const profile = profileFromConfig(config, pt.model);
  const version = (pt.vllm_version ?? (pt.engine === "V0" ? "0.6.4" : "0.19.0")).replace(/(rc\d+)?(\.dev.*)?(\+.*)?$/, "");
  const engine = engineFor(version);
  const r = size({
    profile,
    gpu: gpuOf(pt),
    engine,
    tensorParallel: pt.tensor_parallel_size ?? 1,
    pipelineParallel: pt.pipeline_parallel_size ?? 1,
    maxModelLen: pt.max_model_len,
    gpuMemoryUtilization: pt.gpu_memory_utilization ?? engine.gpuMemoryUtilization,
    ...(pt.dtype ? { dtype: pt.dtype as "bfloat16" } : {}),
    // Flags the log's command line set (max_num_seqs / max_num_batched_tokens), parsed from its notes.
    ...batchFlags(pt),
    kvCacheDtype: (pt.kv_cache_dtype ?? "auto") as KvCacheDtype,
    path: pt.model,
  });
  const actual = pt.gpu_kv_cache_tokens ?? pt.kv_capacity_tokens_from_error ?? (pt.num_gpu_blocks ? pt.num_gpu_blocks * 16 : null);
  const failed = pt.outcome.startsWith("failed");
  // Predicted capacity, even when the planner says it does not fit (the KV that would be there).
  const predicted = r.kvCacheTokens;
  const signed = actual ? ((predicted - actual) / actual) * 100 : null;
  if (signed !== null) {
    errs.push(Math.abs(signed));
    if (!profile.moe && profile.slidingWindowLayers === 0 && !profile.quantization) denseErrs.push(Math.abs(signed));
  }
  if (failed) {
    failures++;
    if (!r.fits) failuresPredicted++;
  }
  rows.push({
    model: pt.model,
    gpu: pt.gpu_model,
    tp: pt.tensor_parallel_size ?? 1,
    pp: pt.pipeline_parallel_size ?? 1,
    kv: pt.kv_cache_dtype ?? "auto",
    maxLen: pt.max_model_len,
    vllm: version,
    weightsGiB: { predicted: r.weightsGiB, logged: pt.model_weights_gib },
    kvGiB: { predicted: r.kvCacheGiB, logged: pt.available_kv_cache_gib },
    tokens: { predicted, logged: actual },
    errorPct: signed === null ? null : Math.round(signed * 100) / 100,
    outcome: pt.outcome,
    predictedFits: r.fits,
  });
}

function pct(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return s[lo] + (s[hi] - s[lo]) * (i - lo);
}
const summary = {
  points: rows.length,
  withTokens: errs.length,
  medianAbsErrorPct: +pct(errs, 0.5).toFixed(2),
  p90AbsErrorPct: +pct(errs, 0.9).toFixed(2),
  maxAbsErrorPct: +Math.max(...errs).toFixed(2),
  meanAbsErrorPct: +(errs.reduce((a, b) => a + b, 0) / errs.length).toFixed(2),
  denseMaxAbsErrorPct: +Math.max(...denseErrs).toFixed(2),
  recordedFailures: failures,
  failuresPredictedNotFitting: failuresPredicted,
};
if (json) {
  console.log(JSON.stringify({ rows, summary }, null, 2));
} else {
  const line = (cells: unknown[]) => console.log(cells.map(String).join(" | "));
  line(["model", "gpu", "tp×pp", "kv", "maxLen", "vllm", "weights GiB pred/log", "KV GiB pred/log", "tokens pred/log", "error %", "outcome / predicted"]);
  for (const r of rows) {
    const w = r.weightsGiB as { predicted: number; logged: number | null };
    const k = r.kvGiB as { predicted: number; logged: number | null };
    const t = r.tokens as { predicted: number; logged: number | null };
    line([r.model, r.gpu, `${r.tp}×${r.pp}`, r.kv, r.maxLen, r.vllm, `${w.predicted}/${w.logged ?? "–"}`, `${k.predicted}/${k.logged ?? "–"}`, `${t.predicted}/${t.logged ?? "–"}`, r.errorPct === null ? "–" : (r.errorPct as number) > 0 ? `+${r.errorPct}` : r.errorPct, `${r.outcome} / ${r.predictedFits ? "fits" : "does not fit"}`]);
  }
  console.log("");
  console.log(`points ${summary.points}, with token counts ${summary.withTokens}`);
  console.log(`|error| median ${summary.medianAbsErrorPct}% (target ≤ 2), p90 ${summary.p90AbsErrorPct}% (≤ 5), max ${summary.maxAbsErrorPct}% (≤ 10), mean ${summary.meanAbsErrorPct}%; dense max ${summary.denseMaxAbsErrorPct}% (≤ 3)`);
  console.log(`recorded failures ${summary.recordedFailures}, predicted as not fitting ${summary.failuresPredictedNotFitting}`);
}
