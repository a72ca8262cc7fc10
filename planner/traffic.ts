/**
 * Sizing by traffic: given requests (or output tokens) per second, request lengths and latency
 * targets, find the shape and replica count that serve it at the lowest cost — whole nodes priced,
 * idle GPUs included — and say how much headroom is left, or, when no shape meets a latency target,
 * what the best any shape can do.
 */
import { ASSUMED_POOLING_WORKLOAD, ASSUMED_WORKLOAD, replicaCapacity, replicasFor, requestsPerSecondOf, type ReplicaCapacity, type Workload } from "./capacity";
import type { ShapeFit } from "./choose";
import { error, round, type Finding } from "./findings";
import type { ModelProfile } from "./model-profile";
import { performanceGpu, replicaEngineOf, type ReplicaEngine } from "./performance";
import type { ThroughputTarget } from "./plan-types";
import type { EngineProfile } from "./engine";
import type { OnlineQuantization } from "./sizing";

/** The workload an endpoint's figures are for: its declared traffic, or vLLM's benchmark default. */
export function workloadOf(profile: ModelProfile, maxModelLen: number, throughput?: ThroughputTarget): { workload: Workload; basis: "declared" | "assumed" } {
  if (throughput) return { workload: { inputTokens: throughput.inputTokens, outputTokens: throughput.outputTokens }, basis: "declared" };
  const pooling = profile.attention === "encoder-only" || profile.classifierLabels > 0;
  const w = pooling ? ASSUMED_POOLING_WORKLOAD : ASSUMED_WORKLOAD;
  // Keep the assumed request inside the endpoint's context, output first.
  const outputTokens = Math.min(w.outputTokens, Math.max(0, Math.floor(maxModelLen / 8)));
  return { workload: { inputTokens: Math.max(1, Math.min(w.inputTokens, maxModelLen - outputTokens)), outputTokens }, basis: "assumed" };
}

/** The replica of a shape fit, as the performance model sees it; undefined when the GPU has no performance facts. */
export function replicaOf(fit: ShapeFit, profile: ModelProfile, engine: EngineProfile, quantization?: OnlineQuantization): ReplicaEngine | undefined {
  const gpu = performanceGpu(fit.shape.gpu);
  if (!gpu) return undefined;
  return replicaEngineOf({ profile, gpu, sizing: fit.sizing, engine, ...(quantization ? { onlineQuantization: quantization } : {}) });
}

/** What `replicas` replicas of this fit cost per hour: whole nodes, idle GPUs included. */
export function replicaSetUsdPerHour(fit: ShapeFit, replicas: number): number {
  const host = fit.host;
  if (!host) return Infinity;
  const price = host.instance.onDemandUsdPerHour ?? Infinity;
  const nodes = fit.nodesPerReplica > 1 ? replicas * fit.nodesPerReplica : Math.ceil(replicas / host.replicasPerNode);
  return nodes * price;
}

/** Problems with a throughput declaration, as coded errors. */
export function checkThroughput(t: ThroughputTarget, maxModelLen: number, path: string): Finding[] {
  const out: Finding[] = [];
  const bad = (problem: string, fix: string, field = "throughput") => out.push(error("THROUGHPUT_INVALID", path, { field, problem, why: "the planner sizes shape and replicas from the request rate, the request lengths and the latency targets", fix }));
  const rates = [t.requestsPerSecond, t.outputTokensPerSecond].filter((v) => v !== undefined);
  if (rates.length !== 1) bad(`give exactly one of requestsPerSecond and outputTokensPerSecond (got ${rates.length})`, "for example throughput: { requestsPerSecond: 5, inputTokens: 1000, outputTokens: 200 }");
  for (const [k, v] of Object.entries({ requestsPerSecond: t.requestsPerSecond, outputTokensPerSecond: t.outputTokensPerSecond, p95TtftMs: t.p95TtftMs, p95TpotMs: t.p95TpotMs })) {
    if (v !== undefined && !(Number.isFinite(v) && v > 0)) bad(`${k} must be a positive number (got ${JSON.stringify(v)})`, `set ${k} > 0, or leave it out`, `throughput.${k}`);
  }
  if (!Number.isInteger(t.inputTokens) || t.inputTokens < 1) bad(`inputTokens must be a positive integer (got ${JSON.stringify(t.inputTokens)})`, "the mean prompt length in tokens, e.g. 1000", "throughput.inputTokens");
  if (!Number.isInteger(t.outputTokens) || t.outputTokens < 0) bad(`outputTokens must be an integer ≥ 0 (got ${JSON.stringify(t.outputTokens)})`, "the mean completion length in tokens, e.g. 200 (0 for embeddings)", "throughput.outputTokens");
  if (t.outputTokensPerSecond !== undefined && t.outputTokens === 0) bad("outputTokensPerSecond with outputTokens 0", "give requestsPerSecond for embedding and rerank traffic");
  // A baseline is in the peak's unit, a rate ≥ 0, and no more than the peak.
  for (const [k, peakKey] of [["baselineRequestsPerSecond", "requestsPerSecond"], ["baselineOutputTokensPerSecond", "outputTokensPerSecond"]] as const) {
    const v = t[k];
    if (v === undefined) continue;
    const peak = t[peakKey];
    if (peak === undefined) bad(`${k} is declared with a peak in ${peakKey === "requestsPerSecond" ? "outputTokensPerSecond" : "requestsPerSecond"}`, `give the baseline in the peak's unit: ${k === "baselineRequestsPerSecond" ? "baselineOutputTokensPerSecond" : "baselineRequestsPerSecond"}`, `throughput.${k}`);
    else if (!(typeof v === "number" && Number.isFinite(v) && v >= 0)) bad(`${k} must be a number ≥ 0 (got ${JSON.stringify(v)})`, "the traffic outside the peak, e.g. 1 (0 allows scale to zero)", `throughput.${k}`);
    else if (Number.isFinite(peak) && v > peak) bad(`${k} ${v} is above the peak ${peakKey} ${peak}`, `a baseline is the traffic outside the peak: give at most ${peak}`, `throughput.${k}`);
  }
  if (out.length === 0 && t.inputTokens + t.outputTokens > maxModelLen) {
    out.push(
      error("THROUGHPUT_EXCEEDS_CONTEXT", path, {
        field: "throughput.inputTokens",
        problem: `requests of ${t.inputTokens} + ${t.outputTokens} tokens do not fit maxModelLen ${maxModelLen}`,
        why: "vLLM rejects a request whose prompt and completion exceed max_model_len",
        fix: `raise maxModelLen to at least ${t.inputTokens + t.outputTokens}, or shorten the requests`,
      }),
    );
  }
  return out;
}

export interface TrafficOption {
  readonly fit: ShapeFit;
  readonly capacity: ReplicaCapacity;
  /** Replicas the traffic needs on this shape at the targets (0 when the targets cannot be met). */
  readonly replicas: number;
  readonly usdPerHour: number;
}

export interface TrafficChoice {
  readonly chosen?: TrafficOption;
  /** Every shape evaluated, cheapest first (unmeetable last). */
  readonly options: readonly TrafficOption[];
  readonly findings: Finding[];
}

/**
 * The cheapest feasible shape and replica count for the traffic. `maxReplicas` caps the count when
 * the user declared replicas; `fits` are the shapes that hold the model (cheapest per replica first).
 */
export function chooseForTraffic(o: {
  readonly fits: readonly ShapeFit[];
  readonly profile: ModelProfile;
  readonly engine: EngineProfile;
  readonly quantization?: OnlineQuantization;
  readonly throughput: ThroughputTarget;
  readonly maxReplicas?: number;
  readonly path: string;
  readonly modelId: string;
}): TrafficChoice {
  const t = o.throughput;
  const rate = requestsPerSecondOf(t);
  const workload: Workload = { inputTokens: t.inputTokens, outputTokens: t.outputTokens };
  const targets = { ...(t.p95TtftMs !== undefined ? { p95TtftMs: t.p95TtftMs } : {}), ...(t.p95TpotMs !== undefined ? { p95TpotMs: t.p95TpotMs } : {}) };
  const options: TrafficOption[] = [];
  for (const fit of o.fits) {
    const replica = replicaOf(fit, o.profile, o.engine, o.quantization);
    if (!replica) continue;
    // A shape whose cheapest conceivable replica count already costs more than the best found is not simulated further.
    const best = options.filter((x) => x.replicas > 0).reduce((m, x) => Math.min(m, x.usdPerHour), Infinity);
    if (replicaSetUsdPerHour(fit, 1) >= best) continue;
    const capacity = replicaCapacity(replica, workload, targets);
    const perReplica = capacity.atTarget?.requestsPerSecond ?? 0;
    const replicas = perReplica > 0 ? replicasFor(rate, perReplica) : 0;
    options.push({ fit, capacity, replicas, usdPerHour: replicas > 0 ? replicaSetUsdPerHour(fit, replicas) : Infinity });
  }
  const meets = options.filter((x) => x.replicas > 0 && (o.maxReplicas === undefined || x.replicas <= o.maxReplicas));
  const ranked = [...options].sort((a, b) => a.usdPerHour - b.usdPerHour || a.replicas - b.replicas || a.fit.shape.name.localeCompare(b.fit.shape.name));
  const chosen = [...meets].sort((a, b) => a.usdPerHour - b.usdPerHour || a.replicas - b.replicas || a.fit.shape.name.localeCompare(b.fit.shape.name))[0];
  const findings: Finding[] = [];
  if (!chosen) {
    const reachable = options.filter((x) => x.replicas > 0);
    if (options.length && !reachable.length) {
      // Nothing meets the latency targets even one request at a time: say how close the best shape gets.
      const bestTpot = [...options].sort((a, b) => (a.capacity.unloaded.p95TpotMs ?? 0) - (b.capacity.unloaded.p95TpotMs ?? 0))[0];
      const bestTtft = [...options].sort((a, b) => a.capacity.unloaded.p95TtftMs - b.capacity.unloaded.p95TtftMs)[0];
      const parts = [
        t.p95TpotMs !== undefined ? `p95 TPOT ${round(bestTpot.capacity.unloaded.p95TpotMs ?? 0, 1)} ms on ${bestTpot.fit.shape.name} (target ${t.p95TpotMs} ms)` : undefined,
        `p95 TTFT ${round(bestTtft.capacity.unloaded.p95TtftMs, 1)} ms on ${bestTtft.fit.shape.name} (target ${t.p95TtftMs ?? "2000 (default)"} ms)`,
      ].filter(Boolean);
      findings.push(
        error("LATENCY_TARGET_UNREACHABLE", o.path, {
          field: t.p95TpotMs !== undefined ? "throughput.p95TpotMs" : "throughput.p95TtftMs",
          problem: `no shape serves ${o.modelId} at the declared latency for ${t.inputTokens}-token prompts and ${t.outputTokens}-token completions; the best achievable, one request at a time, is ${parts.join(" and ")}`,
          why: "decode time per token is bound by reading the weights and KV cache once per step, and the first token by the prompt's prefill; more replicas do not shorten either",
          fix: "relax the latency target, shorten the requests, use a quantized checkpoint (fp8 halves the bytes read per token), or a shape with faster GPUs or more tensor parallelism",
        }),
      );
    } else if (reachable.length && o.maxReplicas !== undefined) {
      const cheapest = [...reachable].sort((a, b) => a.replicas - b.replicas)[0];
      findings.push(
        error("THROUGHPUT_NOT_MET", o.path, {
          field: "replicas",
          problem: `${round(rate, 2)} requests/s need ${cheapest.replicas} replicas even on ${cheapest.fit.shape.name} (${cheapest.capacity.atTarget!.requestsPerSecond} requests/s each at the targets), but at most ${o.maxReplicas} are declared`,
          why: "each replica serves a bounded rate before the latency targets or its batch limit give way",
          fix: `raise the replicas (or autoscaling.maxReplicas) to ${cheapest.replicas}, or leave replicas out and let the planner size them`,
        }),
      );
    } else if (!options.length) {
      findings.push(
        error("PERFORMANCE_FACTS_MISSING", o.path, {
          field: "throughput",
          problem: "no shape that holds the model has GPU performance facts in the catalog",
          why: "sizing by traffic needs each GPU's memory bandwidth, tensor throughput and interconnect",
          fix: "add the GPU's performance block with sources to catalog/gpus.json, or size the endpoint with minConcurrency",
        }),
      );
    }
  }
  return { ...(chosen ? { chosen } : {}), options: ranked, findings };
}
