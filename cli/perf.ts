/**
 * The performance commands of `model-serving`: `perf` (what `vllm bench serve` would print), the
 * traffic flags of `size` and `shapes`, and `plan --compare` (a cost review against a base plan).
 */
import { findGpu, GPUS, type GpuSpec } from "../catalog";
import { replicaCapacity, requestsPerSecondOf } from "../planner/capacity";
import { chooseShape, type FitRequest } from "../planner/choose";
import type { EngineProfile } from "../planner/engine";
import { error, PlanningError, round } from "../planner/findings";
import type { ModelProfile } from "../planner/model-profile";
import { performanceGpu, replicaEngineOf, simulateRun, type RunMetrics } from "../planner/performance";
import { diffPlans, type PlanDiff } from "../planner/plan-diff";
import type { ServingPlan, ThroughputTarget } from "../planner/plan-types";
import type { SizingResult } from "../planner/sizing";
import { replicaOf, replicaSetUsdPerHour } from "../planner/traffic";

/** Bad command-line use (exit 2), as opposed to a model that does not fit (exit 1). */
export class PerfUsageError extends Error {}

type Values = Record<string, string | boolean | undefined>;

function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}
function intArg(values: Values, name: string, min: number): number | undefined {
  const v = str(values, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min) throw new PerfUsageError(`--${name} must be an integer ≥ ${min} (got "${v}")`);
  return Number(v);
}
function numArg(values: Values, name: string): number | undefined {
  const v = str(values, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new PerfUsageError(`--${name} must be a positive number (got "${v}")`);
  return n;
}

/** The load flags shared by perf and size: request lengths, and a concurrency cap and/or a request rate. */
export interface LoadFlags {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly requestRate: number | "inf";
  readonly maxConcurrency?: number;
  readonly numPrompts: number;
}

export function hasLoadFlags(values: Values): boolean {
  return ["input", "output", "concurrency", "request-rate", "num-prompts"].some((k) => values[k] !== undefined);
}

export function loadFlags(values: Values, command: string): LoadFlags {
  const inputTokens = intArg(values, "input", 1);
  const outputTokens = intArg(values, "output", 0);
  if (inputTokens === undefined || outputTokens === undefined) throw new PerfUsageError(`${command} needs --input N and --output N (mean prompt and completion tokens)`);
  const concurrency = intArg(values, "concurrency", 1);
  const rateArg = str(values, "request-rate");
  let requestRate: number | "inf" | undefined;
  if (rateArg !== undefined) requestRate = rateArg === "inf" ? "inf" : numArg(values, "request-rate");
  if (concurrency === undefined && requestRate === undefined) throw new PerfUsageError(`${command} needs --concurrency N or --request-rate R|inf (or both, as vllm bench serve takes them)`);
  return { inputTokens, outputTokens, requestRate: requestRate ?? "inf", ...(concurrency !== undefined ? { maxConcurrency: concurrency } : {}), numPrompts: intArg(values, "num-prompts", 1) ?? 1000 };
}

/** A catalog GPU with performance facts, or a coded error. */
export function performanceGpuOf(id: string | undefined, path: string) {
  if (!id) throw new PerfUsageError(`perf needs --gpu <${GPUS.map((g) => g.id).join("|")}>`);
  const gpu: GpuSpec | undefined = findGpu(id) ?? GPUS.find((g) => g.id.toLowerCase() === id.toLowerCase());
  if (!gpu) throw new PerfUsageError(`--gpu must be one of ${GPUS.map((g) => g.id).join(", ")} (got "${id}")`);
  const perf = performanceGpu(gpu);
  if (!perf) {
    throw new PlanningError([
      error("PERFORMANCE_FACTS_MISSING", path, { field: "--gpu", problem: `catalog/gpus.json has no performance facts for ${gpu.id}`, why: "the prediction needs the GPU's memory bandwidth, dense tensor throughput and interconnect", fix: "add its performance block with sources to catalog/gpus.json, or pick another --gpu" }),
    ]);
  }
  return { gpu, perf };
}

/** The prediction as `vllm bench serve` prints it, plus the engine settings it assumed. */
export function predictionJson(m: RunMetrics, load: LoadFlags) {
  const r = (v: number, d = 2) => (Number.isFinite(v) ? round(v, d) : null);
  return {
    completed: m.completed,
    durationSeconds: r(m.durationSeconds),
    requestsPerSecond: r(m.requestsPerSecond, 3),
    outputTokensPerSecond: r(m.outputTokensPerSecond, 1),
    totalTokensPerSecond: r(m.totalTokensPerSecond, 1),
    meanTtftMs: r(m.meanTtftMs),
    medianTtftMs: r(m.medianTtftMs),
    p95TtftMs: r(m.p95TtftMs),
    meanTpotMs: load.outputTokens > 1 ? r(m.meanTpotMs) : null,
    p95TpotMs: load.outputTokens > 1 ? r(m.p95TpotMs) : null,
    meanItlMs: load.outputTokens > 1 ? r(m.meanItlMs) : null,
    meanE2eMs: r(m.meanE2eMs),
    meanBatch: r(m.meanBatch, 1),
    preemptions: m.preemptions,
  };
}

/** Simulate the benchmark run on a sized replica. */
export function predictRun(o: { profile: ModelProfile; gpu: GpuSpec; sizing: SizingResult; engine: EngineProfile; quantization?: "fp8"; load: LoadFlags; path: string }): RunMetrics {
  const perf = performanceGpu(o.gpu);
  if (!perf) throw new PlanningError([error("PERFORMANCE_FACTS_MISSING", o.path, { field: "--gpu", problem: `catalog/gpus.json has no performance facts for ${o.gpu.id}`, why: "the prediction needs the GPU's memory bandwidth, dense tensor throughput and interconnect", fix: "add its performance block with sources to catalog/gpus.json" })]);
  const l = o.load;
  if (l.inputTokens + l.outputTokens > o.sizing.estimatedMaxModelLen && o.profile.attention !== "encoder-only") {
    throw new PlanningError([
      error("REQUEST_EXCEEDS_CONTEXT", o.path, { field: "--input", problem: `requests of ${l.inputTokens} + ${l.outputTokens} tokens are longer than the KV cache can hold (${o.sizing.kvCacheTokens} tokens)`, why: "vLLM cannot schedule a request whose tokens do not fit in the cache", fix: "shorten --input/--output, or use more or larger GPUs" }),
    ]);
  }
  const replica = replicaEngineOf({ profile: o.profile, gpu: perf, sizing: o.sizing, engine: o.engine, ...(o.quantization ? { onlineQuantization: o.quantization } : {}) });
  return simulateRun(replica, { inputTokens: l.inputTokens, outputTokens: l.outputTokens, requestRate: l.requestRate, ...(l.maxConcurrency !== undefined ? { maxConcurrency: l.maxConcurrency } : {}), numPrompts: l.numPrompts });
}

/** The traffic flags of `shapes`: request lengths, an optional rate and latency targets. */
export function hasTrafficFlags(values: Values): boolean {
  return ["input", "output", "request-rate", "output-tokens-per-second", "p95-ttft-ms", "p95-tpot-ms"].some((k) => values[k] !== undefined);
}

export function trafficFlags(values: Values): ThroughputTarget & { readonly rateGiven: boolean } {
  const inputTokens = intArg(values, "input", 1);
  const outputTokens = intArg(values, "output", 0);
  if (inputTokens === undefined || outputTokens === undefined) throw new PerfUsageError("ranking by $ per 1M tokens needs --input N and --output N");
  const rate = str(values, "request-rate") === "inf" ? undefined : numArg(values, "request-rate");
  const ots = numArg(values, "output-tokens-per-second");
  if (rate !== undefined && ots !== undefined) throw new PerfUsageError("give --request-rate or --output-tokens-per-second, not both");
  const ttft = numArg(values, "p95-ttft-ms");
  const tpot = numArg(values, "p95-tpot-ms");
  return {
    inputTokens,
    outputTokens,
    ...(rate !== undefined ? { requestsPerSecond: rate } : ots !== undefined ? { outputTokensPerSecond: ots } : { requestsPerSecond: 1 }),
    ...(ttft !== undefined ? { p95TtftMs: ttft } : {}),
    ...(tpot !== undefined ? { p95TpotMs: tpot } : {}),
    rateGiven: rate !== undefined || ots !== undefined,
  };
}

export interface RankedShape {
  readonly shape: string;
  readonly instanceType: string | null;
  readonly tensorParallel: number;
  readonly pipelineParallel: number;
  readonly usdPerReplicaHour: number;
  /** Requests/s and output tokens/s one replica serves at the targets (null: it cannot meet them). */
  readonly perReplicaRequestsPerSecond: number | null;
  readonly perReplicaOutputTokensPerSecond: number | null;
  readonly p95TtftMs: number | null;
  readonly p95TpotMs: number | null;
  /** With a declared rate: replicas needed and what they cost per hour. */
  readonly replicas: number | null;
  readonly usdPerHour: number | null;
  readonly usdPer1MOutputTokens: number | null;
  readonly usdPer1MTotalTokens: number | null;
  readonly verdict: string;
}

/** Every shape that holds the model, ranked by $ per 1M tokens for the traffic (cheapest first; those missing the targets last). */
export function rankShapesByTokenCost(req: FitRequest, traffic: ThroughputTarget & { rateGiven: boolean }): RankedShape[] {
  const fits = chooseShape(req).ranked.filter((f) => f.feasible);
  const w = { inputTokens: traffic.inputTokens, outputTokens: traffic.outputTokens };
  const targets = { ...(traffic.p95TtftMs !== undefined ? { p95TtftMs: traffic.p95TtftMs } : {}), ...(traffic.p95TpotMs !== undefined ? { p95TpotMs: traffic.p95TpotMs } : {}) };
  const rate = requestsPerSecondOf(traffic);
  const rows: RankedShape[] = [];
  for (const fit of fits) {
    const replica = replicaOf(fit, req.profile, req.engine, req.quantization);
    if (!replica) continue;
    const c = replicaCapacity(replica, w, targets);
    const at = c.atTarget;
    const replicas = at && traffic.rateGiven ? Math.max(1, Math.ceil(rate / at.requestsPerSecond - 1e-9)) : null;
    const usdPerHour = replicas ? replicaSetUsdPerHour(fit, replicas) : null;
    // $ per 1M tokens: the replicas the rate needs over the tokens it brings, or one replica at its capacity.
    const [hourly, reqPerS] = usdPerHour !== null ? [usdPerHour, rate] : at ? [fit.usdPerReplicaHour, at.requestsPerSecond] : [null, null];
    const perM = (tokens: number) => (hourly !== null && reqPerS && tokens > 0 ? round((hourly / (reqPerS * tokens * 3600)) * 1e6, 4) : null);
    rows.push({
      shape: fit.nodesPerReplica > 1 ? `${fit.shape.name} × ${fit.nodesPerReplica} nodes` : fit.shape.name,
      instanceType: fit.host?.instance.instanceType ?? null,
      tensorParallel: fit.tensorParallel,
      pipelineParallel: fit.pipelineParallel,
      usdPerReplicaHour: round(fit.usdPerReplicaHour, 4),
      perReplicaRequestsPerSecond: at?.requestsPerSecond ?? null,
      perReplicaOutputTokensPerSecond: at?.outputTokensPerSecond ?? null,
      p95TtftMs: at?.p95TtftMs ?? null,
      p95TpotMs: at?.p95TpotMs ?? null,
      replicas,
      usdPerHour: usdPerHour !== null ? round(usdPerHour, 4) : null,
      usdPer1MOutputTokens: perM(traffic.outputTokens),
      usdPer1MTotalTokens: perM(traffic.inputTokens + traffic.outputTokens),
      verdict: at ? "meets the targets" : `misses the targets (alone: p95 TTFT ${c.unloaded.p95TtftMs} ms, p95 TPOT ${c.unloaded.p95TpotMs ?? "—"} ms)`,
    });
  }
  const key = (r: RankedShape) => r.usdPer1MOutputTokens ?? r.usdPer1MTotalTokens ?? Infinity;
  return rows.sort((a, b) => key(a) - key(b) || a.usdPerReplicaHour - b.usdPerReplicaHour || a.shape.localeCompare(b.shape));
}

/** A base plan as `plan --json` prints it ({ stacks }) or one stack's serving-plan.json. */
export function basePlans(base: unknown, current: Readonly<Record<string, ServingPlan>>, file: string): Record<string, ServingPlan> {
  if (base && typeof base === "object" && "stacks" in base) return (base as { stacks: Record<string, ServingPlan> }).stacks;
  if (base && typeof base === "object" && "endpoints" in base && "schemaVersion" in base) {
    const names = Object.keys(current);
    if (names.length !== 1) throw new PerfUsageError(`${file} is one stack's serving-plan.json but the app has ${names.length} stacks (${names.join(", ")}); pass the output of \`model-serving plan --json\` instead`);
    return { [names[0]]: base as ServingPlan };
  }
  throw new PerfUsageError(`${file} is neither a serving-plan.json nor the output of \`model-serving plan --json\``);
}

export function comparePlans(base: Record<string, ServingPlan>, current: Record<string, ServingPlan>): PlanDiff {
  return diffPlans(base, current);
}
