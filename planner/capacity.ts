/**
 * What one replica can serve: flat out, at the latency targets, and alone — from the engine and
 * benchmark simulation in performance.ts — and what that makes a million tokens cost.
 */
import { round } from "./findings";
import type { EndpointPerformance, OperatingPoint, ThroughputTarget } from "./plan-types";
import { simulateRun, stepTimeModel, type ReplicaEngine, type RunMetrics, type StepTime } from "./performance";

export interface Workload {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

export interface LatencyTargets {
  readonly p95TtftMs?: number;
  readonly p95TpotMs?: number;
}

/** The p95 time to first token an interactive endpoint is held to when none is declared. */
export const DEFAULT_P95_TTFT_MS = 2000;
/** `vllm bench serve`'s random dataset: 1024 prompt tokens, 128 output tokens (vllm/benchmarks/datasets/datasets.py). */
export const ASSUMED_WORKLOAD: Workload = { inputTokens: 1024, outputTokens: 128 };
/** Embedding and rerank requests: a passage, no generated tokens. */
export const ASSUMED_POOLING_WORKLOAD: Workload = { inputTokens: 512, outputTokens: 0 };

export interface ReplicaCapacity {
  /** The replica kept full (its batch limit of requests in flight). */
  readonly saturation: OperatingPoint;
  /** The largest Poisson request rate whose p95 TTFT and TPOT meet the targets; null when even a trickle misses them. */
  readonly atTarget: OperatingPoint | null;
  /** One request at a time: the best latency any load can get. */
  readonly unloaded: OperatingPoint;
}

function point(m: RunMetrics, concurrency: number, generates: boolean): OperatingPoint {
  return {
    requestsPerSecond: round(m.steadyRequestsPerSecond, 3),
    outputTokensPerSecond: generates ? round(m.steadyOutputTokensPerSecond, 1) : null,
    totalTokensPerSecond: round(m.steadyTotalTokensPerSecond, 1),
    meanTtftMs: round(m.meanTtftMs, 1),
    p95TtftMs: round(m.p95TtftMs, 1),
    meanTpotMs: generates && Number.isFinite(m.meanTpotMs) ? round(m.meanTpotMs, 2) : null,
    p95TpotMs: generates && Number.isFinite(m.p95TpotMs) ? round(m.p95TpotMs, 2) : null,
    concurrency: round(concurrency, 1),
  };
}

const cache = new WeakMap<object, Map<string, ReplicaCapacity>>();

/** Requests the replica can hold at once: max_num_seqs, or fewer when the KV cache runs out first. */
export function batchLimit(engine: ReplicaEngine, w: Workload): number {
  const perRequest = w.inputTokens + w.outputTokens;
  const kv = engine.kvCacheTokens > 0 ? Math.floor(engine.kvCacheTokens / Math.max(1, perRequest)) : Infinity;
  return Math.max(1, Math.min(engine.maxNumSeqs, kv));
}

/**
 * Capacity of one replica for a workload and latency targets. Searches the request rate by bisection
 * over steady-state simulations (the first fifth and the last tenth of the requests are left out, so
 * neither the empty start nor the drain flatter the figures).
 */
export function replicaCapacity(engine: ReplicaEngine, w: Workload, t: LatencyTargets = {}): ReplicaCapacity {
  const key = JSON.stringify([engine.gpu, engine.tensorParallel, engine.pipelineParallel, engine.dtype, engine.quantization ?? null, engine.kvBytesPerToken, engine.kvCacheTokens, engine.maxNumSeqs, engine.maxNumBatchedTokens, engine.chunkedPrefill, engine.asyncScheduling, w, t]);
  let byProfile = cache.get(engine.profile);
  if (!byProfile) cache.set(engine.profile, (byProfile = new Map()));
  const hit = byProfile.get(key);
  if (hit) return hit;

  const step: StepTime = stepTimeModel(engine);
  const generates = w.outputTokens > 0;
  const limit = batchLimit(engine, w);
  const base = { inputTokens: w.inputTokens, outputTokens: w.outputTokens };

  // Flat out: a closed loop that always has a few more requests waiting than the engine can run.
  const satPrompts = Math.min(4000, Math.max(200, 4 * limit));
  const sat = simulateRun(engine, { ...base, requestRate: "inf", maxConcurrency: Math.ceil(limit * 1.2) + 2, numPrompts: satPrompts }, step);
  const saturation = point(sat, limit, generates);

  const alone = simulateRun(engine, { ...base, requestRate: "inf", maxConcurrency: 1, numPrompts: 6 }, step);
  const unloaded = point({ ...alone, steadyRequestsPerSecond: alone.requestsPerSecond, steadyOutputTokensPerSecond: alone.outputTokensPerSecond, steadyTotalTokensPerSecond: alone.totalTokensPerSecond }, 1, generates);

  const ttftTarget = t.p95TtftMs ?? DEFAULT_P95_TTFT_MS;
  const tpotTarget = t.p95TpotMs ?? Infinity;
  const e2eSeconds = Math.max(1e-3, alone.meanE2eMs / 1e3);
  const trial = (rate: number): { ok: boolean; m: RunMetrics; inFlight: number } => {
    // Enough requests that the measured window sees many lifetimes of a request at this rate.
    const n = Math.min(5000, Math.max(300, Math.ceil(rate * e2eSeconds * 12), Math.ceil(rate * 60)));
    const m = simulateRun(engine, { ...base, requestRate: rate, numPrompts: n, arrivals: "poisson" }, step, { measureFrom: Math.floor(n / 5), measureTo: Math.floor(n * 0.9) });
    const stable = m.steadyRequestsPerSecond >= 0.9 * rate;
    const ok = stable && m.p95TtftMs <= ttftTarget && (!generates || !(m.p95TpotMs > tpotTarget));
    return { ok, m, inFlight: rate * (m.meanE2eMs / 1e3) };
  };
  const ceiling = Math.max(1e-6, sat.steadyRequestsPerSecond);
  let lo = ceiling / 100;
  // A lone request that already misses the targets settles it: no load can do better.
  const hopeless = alone.p95TtftMs > ttftTarget || (generates && alone.p95TpotMs > tpotTarget);
  let best = hopeless ? { ok: false, m: alone, inFlight: 1 } : trial(lo);
  let atTarget: OperatingPoint | null = null;
  if (best.ok) {
    let hi = ceiling;
    // Often the targets hold right up to saturation: one trial settles it.
    const near = trial(ceiling * 0.97);
    if (near.ok) {
      lo = ceiling * 0.97;
      best = near;
    } else hi = ceiling * 0.97;
    for (let i = 0; i < 8 && !near.ok; i++) {
      const mid = (lo + hi) / 2;
      const r = trial(mid);
      if (r.ok) {
        lo = mid;
        best = r;
      } else hi = mid;
    }
    atTarget = point({ ...best.m, steadyRequestsPerSecond: lo, steadyOutputTokensPerSecond: lo * w.outputTokens, steadyTotalTokensPerSecond: lo * (w.inputTokens + w.outputTokens) }, best.inFlight, generates);
  }
  const result = { saturation, atTarget, unloaded };
  byProfile.set(key, result);
  return result;
}

/** Requests per second a declared throughput means. */
export function requestsPerSecondOf(t: ThroughputTarget): number {
  if (t.requestsPerSecond !== undefined) return t.requestsPerSecond;
  return (t.outputTokensPerSecond ?? 0) / Math.max(1, t.outputTokens);
}

/** Replicas the declared traffic needs at one replica's capacity at the targets. */
export function replicasFor(rate: number, perReplica: number): number {
  return Math.max(1, Math.ceil(rate / perReplica - 1e-9));
}

const perMillion = (usdPerHour: number, tokensPerSecond: number | null) => (tokensPerSecond && tokensPerSecond > 0 ? round((usdPerHour / (tokensPerSecond * 3600)) * 1e6, 4) : null);

/**
 * The plan's performance block: capacity per replica and $ per 1M tokens, at the declared load
 * (what the expected replicas cost ÷ the tokens the traffic brings) and with every replica saturated.
 */
export function endpointPerformance(o: {
  readonly capacity: ReplicaCapacity;
  readonly workload: Workload;
  readonly workloadBasis: "declared" | "assumed";
  readonly targets: LatencyTargets;
  readonly throughput?: ThroughputTarget;
  readonly usdPerReplicaHour: number;
  readonly expectedReplicas: number;
}): EndpointPerformance {
  const c = o.capacity;
  const generates = o.workload.outputTokens > 0;
  const declared = o.throughput ? requestsPerSecondOf(o.throughput) : undefined;
  const perReplica = c.atTarget?.requestsPerSecond ?? 0;
  const hourly = o.usdPerReplicaHour * Math.max(0, o.expectedReplicas);
  const declaredLoad =
    declared !== undefined
      ? {
          requestsPerSecond: round(declared, 3),
          outputTokensPerSecond: generates ? round(declared * o.workload.outputTokens, 1) : null,
          totalTokensPerSecond: round(declared * (o.workload.inputTokens + o.workload.outputTokens), 1),
          replicasNeeded: perReplica > 0 ? replicasFor(declared, perReplica) : 0,
          headroom: perReplica > 0 && declared > 0 ? round((o.expectedReplicas * perReplica) / declared - 1, 3) : 0,
        }
      : null;
  return {
    workload: { inputTokens: o.workload.inputTokens, outputTokens: o.workload.outputTokens, basis: o.workloadBasis },
    targets: {
      p95TtftMs: o.targets.p95TtftMs ?? DEFAULT_P95_TTFT_MS,
      p95TpotMs: o.targets.p95TpotMs ?? null,
      basis: o.targets.p95TtftMs !== undefined || o.targets.p95TpotMs !== undefined ? "declared" : "default",
    },
    perReplicaAtTarget: c.atTarget,
    perReplicaAtSaturation: c.saturation,
    declaredLoad,
    usdPer1MOutputTokens: {
      atDeclaredLoad: declaredLoad && generates ? perMillion(hourly, declaredLoad.outputTokensPerSecond) : null,
      atSaturation: generates ? perMillion(o.usdPerReplicaHour, c.saturation.outputTokensPerSecond) : null,
    },
    usdPer1MTotalTokens: {
      atDeclaredLoad: declaredLoad ? perMillion(hourly, declaredLoad.totalTokensPerSecond) : null,
      atSaturation: perMillion(o.usdPerReplicaHour, c.saturation.totalTokensPerSecond) ?? 0,
    },
  };
}
