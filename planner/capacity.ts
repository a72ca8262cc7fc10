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

/**
 * The steady state of a full replica without simulating it: the fluid form of the same step-time model.
 * D requests decode each step and, to keep D in flight, D × input ÷ output prompt tokens are prefilled
 * alongside (within the step's token budget); a step then takes step(batch) and yields D tokens. Used for
 * the plan's figures at the assumed workload, where a simulation per endpoint would cost more than the
 * rest of synth; declared traffic is sized with the full simulation.
 */
export function steadyCapacity(engine: ReplicaEngine, w: Workload, step: StepTime = stepTimeModel(engine)): ReplicaCapacity {
  const generates = w.outputTokens > 0;
  const limit = batchLimit(engine, w);
  const I = w.inputTokens;
  const O = Math.max(1, w.outputTokens);
  const budget = engine.maxNumBatchedTokens;
  const frontend = 6; // ms, as the simulation's FRONTEND_SECONDS
  let perStep: { seconds: number; requests: number; outputTokens: number; decodes: number };
  if (!generates) {
    // Pooling: every step is prompts only, as many whole prompts as the budget holds.
    const n = Math.max(1, Math.min(limit, Math.floor(budget / I)));
    const seconds = step({ decodes: 0, decodeContext: 0, prefillTokens: n * I, prefillPairs: (n * I * I) / 2, samples: n, requests: n });
    perStep = { seconds, requests: n, outputTokens: 0, decodes: 0 };
  } else {
    const d = Math.max(1, Math.min(limit, Math.floor((budget * O) / (I + O))));
    const newPerStep = d / O;
    const prefillPerStep = newPerStep * I;
    const decode = { decodes: d, decodeContext: d * (I + O / 2), samples: d };
    let seconds: number;
    if (prefillPerStep >= I) {
      seconds = step({ ...decode, prefillTokens: prefillPerStep, prefillPairs: (newPerStep * I * I) / 2, requests: d + newPerStep });
    } else {
      // Less than a prompt per step: vLLM runs a whole prompt (or budget-sized chunk) in some steps and none in
      // the others, and a step that mixes in a prompt costs more than its share (the roofline is convex).
      const chunk = Math.min(I, Math.max(1, budget - d));
      const share = prefillPerStep / chunk;
      const withPrompt = step({ ...decode, prefillTokens: chunk, prefillPairs: chunk * (I - chunk / 2), requests: d + 1 });
      const without = step({ ...decode, prefillTokens: 0, prefillPairs: 0, requests: d });
      seconds = share * withPrompt + (1 - share) * without;
    }
    perStep = { seconds, requests: newPerStep, outputTokens: d, decodes: d };
  }
  const rps = perStep.requests / perStep.seconds;
  const lone = generates ? step({ decodes: 1, decodeContext: I + O / 2, prefillTokens: 0, prefillPairs: 0, samples: 1, requests: 1 }) : perStep.seconds;
  const firstToken = step({ decodes: 0, decodeContext: 0, prefillTokens: I, prefillPairs: (I * I) / 2, samples: 1, requests: 1 }) * (engine.asyncScheduling ? 2 : 1);
  const op = (rate: number, ttftMs: number, tpotMs: number | null, concurrency: number): OperatingPoint => ({
    requestsPerSecond: round(rate, 3),
    outputTokensPerSecond: generates ? round(rate * w.outputTokens, 1) : null,
    totalTokensPerSecond: round(rate * (w.inputTokens + w.outputTokens), 1),
    meanTtftMs: round(ttftMs, 1),
    p95TtftMs: round(ttftMs, 1),
    meanTpotMs: tpotMs === null ? null : round(tpotMs, 2),
    p95TpotMs: tpotMs === null ? null : round(tpotMs, 2),
    concurrency: round(concurrency, 1),
  });
  const tpot = generates ? perStep.seconds * 1e3 : null;
  const e2e = firstToken + (generates ? (O - 1) * perStep.seconds : 0);
  // Queueing at utilisation ρ of a batch server draining rps: W ≈ ρ ÷ (2 (1 − ρ) rps) (M/D/1); the default
  // TTFT target then holds up to the ρ where the wait uses what the prompt itself leaves of it.
  const slackMs = DEFAULT_P95_TTFT_MS - frontend - firstToken * 1e3;
  const x = Math.max(0, 2 * rps * (slackMs / 1e3));
  const rho = x / (1 + x);
  return {
    saturation: op(rps, frontend + firstToken * 1e3 + (0.2 * limit * 1e3) / rps, tpot, limit),
    atTarget: rho > 0 ? op(rps * rho, DEFAULT_P95_TTFT_MS, tpot, rps * rho * e2e) : null,
    unloaded: op(1 / Math.max(1e-9, e2e), frontend + firstToken * 1e3, generates ? lone * 1e3 : null, 1),
  };
}

/** Requests per second a declared throughput means. */
export function requestsPerSecondOf(t: ThroughputTarget): number {
  if (t.requestsPerSecond !== undefined) return t.requestsPerSecond;
  return (t.outputTokensPerSecond ?? 0) / Math.max(1, t.outputTokens);
}

/** Requests per second of a declared baseline rate, in the peak's unit; undefined without one. */
export function baselineRequestsPerSecondOf(t: ThroughputTarget): number | undefined {
  if (t.baselineRequestsPerSecond !== undefined) return t.baselineRequestsPerSecond;
  if (t.baselineOutputTokensPerSecond !== undefined) return t.baselineOutputTokensPerSecond / Math.max(1, t.outputTokens);
  return undefined;
}

/** Replicas a rate needs at one replica's capacity at the targets: 0 for no traffic (scale to zero). */
export function replicasForRate(rate: number, perReplica: number): number {
  return rate > 0 ? replicasFor(rate, perReplica) : 0;
}

/** Replicas the declared traffic needs at one replica's capacity at the targets. */
export function replicasFor(rate: number, perReplica: number): number {
  return Math.max(1, Math.ceil(rate / perReplica - 1e-9));
}

/** Each end of a baseline-to-peak range: its traffic, replicas, the replicas it needs, and its headroom. */
function rangeOf(t: ThroughputTarget | undefined, perReplica: number, r: { readonly min: number; readonly max: number; readonly basis: "derived" | "declared" } | undefined): EndpointPerformance["replicaRange"] {
  const baseline = t ? baselineRequestsPerSecondOf(t) : undefined;
  if (!t || baseline === undefined || !r || !(perReplica > 0)) return null;
  const end = (rate: number, replicas: number) => ({ requestsPerSecond: round(rate, 3), replicas, replicasNeeded: replicasForRate(rate, perReplica), headroom: rate > 0 ? round((replicas * perReplica) / rate - 1, 3) : null });
  return { basis: r.basis, baseline: end(baseline, r.min), peak: end(requestsPerSecondOf(t), r.max) };
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
  /** The endpoint's replica range and whether the planner derived it from a baseline rate. @default - no range reported */
  readonly replicas?: { readonly min: number; readonly max: number; readonly basis: "derived" | "declared" };
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
    replicaRange: rangeOf(o.throughput, perReplica, o.replicas),
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
