/**
 * Sizing benchmark: replay published vLLM start-up logs (bench/data/kv-cache-public.json) through the
 * planner and compare predicted KV-cache tokens with what vLLM printed.
 *
 *   npm run bench:sizing            table + summary
 *   npm run bench:sizing -- --json  machine-readable
 */
import { logPoints, replay } from "./replay";

const points = logPoints();

const json = process.argv.includes("--json");
const rows: Array<Record<string, unknown>> = [];
const errs: number[] = [];
const denseErrs: number[] = [];
const layoutErrs: number[] = [];
let failuresPredicted = 0;
let failures = 0;
for (const pt of points) {
  const { profile, version, result: r, logged: actual, fromLoggedPool } = replay(pt);
  const failed = pt.outcome.startsWith("failed");
  // Predicted capacity, even when the planner says it does not fit (the KV that would be there).
  const predicted = r.kvCacheTokens;
  const signed = actual ? ((predicted - actual) / actual) * 100 : null;
  if (actual && fromLoggedPool !== null) layoutErrs.push(Math.abs((fromLoggedPool - actual) / actual) * 100);
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
    tokens: { predicted, logged: actual, fromLoggedPool },
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
  /** Tokens computed from the KV pool the log printed: the layout and the printed capacity alone, without the memory budget. */
  layoutMaxAbsErrorPct: +Math.max(...layoutErrs).toFixed(2),
  layoutPoints: layoutErrs.length,
  recordedFailures: failures,
  failuresPredictedNotFitting: failuresPredicted,
};
if (json) {
  console.log(JSON.stringify({ rows, summary }, null, 2));
} else {
  const line = (cells: unknown[]) => console.log(cells.map(String).join(" | "));
  line(["model", "gpu", "tp×pp", "kv", "maxLen", "vllm", "weights GiB pred/log", "KV GiB pred/log", "tokens pred/log", "error %", "tokens from logged pool", "outcome / predicted"]);
  for (const r of rows) {
    const w = r.weightsGiB as { predicted: number; logged: number | null };
    const k = r.kvGiB as { predicted: number; logged: number | null };
    const t = r.tokens as { predicted: number; logged: number | null; fromLoggedPool: number | null };
    line([r.model, r.gpu, `${r.tp}×${r.pp}`, r.kv, r.maxLen, r.vllm, `${w.predicted}/${w.logged ?? "–"}`, `${k.predicted}/${k.logged ?? "–"}`, `${t.predicted}/${t.logged ?? "–"}`, r.errorPct === null ? "–" : (r.errorPct as number) > 0 ? `+${r.errorPct}` : r.errorPct, t.fromLoggedPool ?? "–", `${r.outcome} / ${r.predictedFits ? "fits" : "does not fit"}`]);
  }
  console.log("");
  console.log(`points ${summary.points}, with token counts ${summary.withTokens}`);
  console.log(`|error| median ${summary.medianAbsErrorPct}% (target ≤ 2), p90 ${summary.p90AbsErrorPct}% (≤ 5), max ${summary.maxAbsErrorPct}% (≤ 10), mean ${summary.meanAbsErrorPct}%; dense max ${summary.denseMaxAbsErrorPct}% (≤ 3)`);
  console.log(`KV layout alone (tokens from the pool each log printed, ${summary.layoutPoints} points): max |error| ${summary.layoutMaxAbsErrorPct}%`);
  console.log(`recorded failures ${summary.recordedFailures}, predicted as not fitting ${summary.failuresPredictedNotFitting}`);
}
