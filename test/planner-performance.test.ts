/**
 * The performance model: step time from bytes and FLOPs, and the simulation of vLLM's scheduler and
 * the benchmark client. Behaviour, not figures copied from the model: physical bounds, what moves a
 * prediction in which direction, what the scheduler limits, and agreement with published runs.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { findGpu } from "../catalog";
import { engineFor } from "../planner/engine";
import { profileFromConfig, type ModelProfile } from "../planner/model-profile";
import { HBM_EFFICIENCY, layerParameters, performanceGpu, replicaEngineOf, sendSchedule, simulateRun, stepTimeModel, type BenchmarkLoad, type ReplicaEngine } from "../planner/performance";
import { parameterCount } from "../planner/weights";
import { size, type KvCacheDtype } from "../planner/sizing";
import { replicaCapacity, steadyCapacity } from "../planner/capacity";
import { BENCH_DATA, benchConfig, catalogProfile } from "./fixtures/models";

const V024 = engineFor("0.24.0");

function replica(profile: ModelProfile, gpuId: string, o: { tp?: number; maxModelLen?: number; quantization?: "fp8"; kv?: KvCacheDtype; maxNumSeqs?: number; maxNumBatchedTokens?: number; version?: string; util?: number } = {}): ReplicaEngine {
  const gpu = findGpu(gpuId)!;
  const engine = engineFor(o.version ?? "0.24.0");
  const sizing = size({
    profile,
    gpu,
    engine,
    tensorParallel: o.tp ?? 1,
    maxModelLen: o.maxModelLen ?? 4096,
    path: "test",
    ...(o.quantization ? { quantization: o.quantization } : {}),
    ...(o.kv ? { kvCacheDtype: o.kv } : {}),
    ...(o.maxNumSeqs ? { maxNumSeqs: o.maxNumSeqs } : {}),
    ...(o.maxNumBatchedTokens ? { maxNumBatchedTokens: o.maxNumBatchedTokens } : {}),
    ...(o.util ? { gpuMemoryUtilization: o.util } : {}),
  });
  expect(sizing.errors).toEqual([]);
  return replicaEngineOf({ profile, gpu: performanceGpu(gpu)!, sizing, engine, ...(o.quantization ? { onlineQuantization: o.quantization } : {}) });
}

const llama8b = catalogProfile("meta-llama/Llama-3.1-8B-Instruct");
const llama70b = catalogProfile("meta-llama/Llama-3.1-70B-Instruct");
const mixtral = catalogProfile("mistralai/Mixtral-8x7B-Instruct-v0.1");
const decodeOnly = (decodes: number, context: number) => ({ decodes, decodeContext: decodes * context, prefillTokens: 0, prefillPairs: 0, samples: decodes, requests: decodes });

describe("step time", () => {
  it("cannot decode one token of Llama-3.1-8B on an H100 faster than its 16 GB of weights stream at peak HBM bandwidth, nor take twice that", () => {
    const step = stepTimeModel(replica(llama8b, "H100"))(decodeOnly(1, 1000));
    const weightsSeconds = (parameterCount(llama8b) * 2) / 3350e9;
    expect(step).toBeGreaterThan(weightsSeconds);
    expect(step).toBeLessThan(2 * weightsSeconds);
  });

  it("grows with the KV cache it reads: more requests in the batch and longer contexts each make a decode step slower", () => {
    const step = stepTimeModel(replica(llama8b, "H100"));
    expect(step(decodeOnly(64, 1000))).toBeGreaterThan(step(decodeOnly(8, 1000)));
    expect(step(decodeOnly(64, 4000))).toBeGreaterThan(step(decodeOnly(64, 1000)));
    // The extra time of a longer context is the extra KV bytes at the HBM efficiency.
    const r = replica(llama8b, "H100");
    const extra = stepTimeModel(r)(decodeOnly(64, 4000)) - stepTimeModel(r)(decodeOnly(64, 1000));
    expect(extra).toBeCloseTo((64 * 3000 * r.kvBytesPerToken) / (3350e9 * HBM_EFFICIENCY), 4);
  });

  it("turns compute-bound for a long prompt: a 4096-token prefill takes longer than streaming the weights once", () => {
    const r = replica(llama8b, "H100");
    const prefill = stepTimeModel(r)({ decodes: 0, decodeContext: 0, prefillTokens: 4096, prefillPairs: 4096 * 2048, samples: 1, requests: 1 });
    expect(prefill).toBeGreaterThan(3 * stepTimeModel(r)(decodeOnly(1, 1)));
  });

  it("splits the weights over tensor-parallel ranks: Llama-3.1-70B decodes faster on 8 H100s than on 4, but not 2× faster (all-reduces and fixed kernel costs)", () => {
    const tp4 = stepTimeModel(replica(llama70b, "H100", { tp: 4 }))(decodeOnly(1, 1000));
    const tp8 = stepTimeModel(replica(llama70b, "H100", { tp: 8 }))(decodeOnly(1, 1000));
    expect(tp8).toBeLessThan(tp4);
    expect(tp8).toBeGreaterThan(tp4 / 2);
  });

  it("reads only the experts a batch routes to: one Mixtral token touches 2 of 8 experts, a large batch all of them", () => {
    const r = replica(mixtral, "H100", { tp: 2 });
    const step = stepTimeModel(r);
    const lp = layerParameters(mixtral);
    const allExperts = (mixtral.numLayers * lp.expert * 8 * 2) / 2 / (3350e9 * HBM_EFFICIENCY);
    const one = step(decodeOnly(1, 100));
    const many = step(decodeOnly(128, 100));
    expect(many - one).toBeGreaterThan(0.5 * allExperts * (1 - 2 / 8));
  });

  it("decodes faster with fp8 weights on an H100 (half the bytes per token) and prefills faster there, but an A100 without fp8 tensor cores gains only on decode", () => {
    const prefill = { decodes: 0, decodeContext: 0, prefillTokens: 8192, prefillPairs: 8192 * 4096, samples: 1, requests: 1 };
    const h100 = stepTimeModel(replica(llama8b, "H100"));
    const h100fp8 = stepTimeModel(replica(llama8b, "H100", { quantization: "fp8" }));
    expect(h100fp8(decodeOnly(1, 1000))).toBeLessThan(0.75 * h100(decodeOnly(1, 1000)));
    expect(h100fp8(prefill)).toBeLessThan(0.75 * h100(prefill));
    const a100 = stepTimeModel(replica(llama8b, "A100-80G"));
    const a100fp8 = stepTimeModel(replica(llama8b, "A100-80G", { quantization: "fp8" }));
    expect(a100fp8(decodeOnly(1, 1000))).toBeLessThan(0.75 * a100(decodeOnly(1, 1000)));
    expect(a100fp8(prefill)).toBeGreaterThan(0.9 * a100(prefill));
  });

  it("holds a power-capped T4 to the tensor throughput it sustains under continuous load: a long prompt takes about 0.7/0.37 times longer than at its datasheet share", () => {
    const t4 = findGpu("T4")!;
    const cap = t4.performance!.sustainedTensorFraction!;
    expect(cap).toBeLessThan(0.5);
    const phi = profileFromConfig(benchConfig("configs/microsoft__phi-2.json"), "microsoft/phi-2");
    const capped = replica(phi, "T4", { maxModelLen: 2048 });
    const uncapped: ReplicaEngine = { ...capped, gpu: { ...capped.gpu, sustainedTensorFraction: 1 } };
    const prefill = { decodes: 0, decodeContext: 0, prefillTokens: 2048, prefillPairs: 2048 * 1024, samples: 1, requests: 1 };
    const ratio = stepTimeModel(capped)(prefill) / stepTimeModel(uncapped)(prefill);
    expect(ratio).toBeGreaterThan(1.5);
    expect(ratio).toBeLessThan(0.7 / cap + 0.01);
  });
});

describe("the benchmark client", () => {
  it("sends all prompts at t = 0 for request rate inf, and spreads a Poisson rate so the last send lands at n ÷ rate, as vllm bench serve rescales it", () => {
    expect(new Set(sendSchedule({ inputTokens: 1, outputTokens: 1, requestRate: "inf", numPrompts: 50 }))).toEqual(new Set([0]));
    const s = sendSchedule({ inputTokens: 1, outputTokens: 1, requestRate: 4, numPrompts: 400 });
    expect(s[399]).toBeCloseTo(100, 6);
    const gaps = s.slice(1).map((t, i) => t - s[i]);
    // Exponential gaps: the standard deviation is about the mean (a constant rate would have none).
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length);
    expect(sd / mean).toBeGreaterThan(0.7);
    expect(sendSchedule({ inputTokens: 1, outputTokens: 1, requestRate: 4, numPrompts: 400, arrivals: "constant" })[1]).toBeCloseTo(0.25, 9);
  });

  it("is deterministic: the same run predicts the same figures twice", () => {
    const r = replica(llama8b, "L40S");
    const load: BenchmarkLoad = { inputTokens: 800, outputTokens: 150, requestRate: 3, numPrompts: 200 };
    expect(simulateRun(r, load)).toEqual(simulateRun(r, load));
  });
});

describe("the engine and the run", () => {
  const r = replica(llama8b, "H100");

  it("never runs more requests at once than --max-concurrency allows", () => {
    const m = simulateRun(r, { inputTokens: 512, outputTokens: 128, requestRate: "inf", maxConcurrency: 8, numPrompts: 100 });
    expect(m.completed).toBe(100);
    expect(m.meanBatch).toBeLessThanOrEqual(8);
  });

  it("never runs more sequences than max_num_seqs, however many requests wait", () => {
    const capped = replica(llama8b, "H100", { maxNumSeqs: 16 });
    const m = simulateRun(capped, { inputTokens: 256, outputTokens: 64, requestRate: "inf", numPrompts: 200 });
    expect(m.meanBatch).toBeLessThanOrEqual(16);
  });

  it("preempts and recomputes when the KV cache is too small for the batch it admitted", () => {
    // Enough KV for a handful of 4096-token requests only: growing outputs run it dry.
    const small = replica(llama8b, "A10G", { maxModelLen: 4096, util: 0.92 });
    const m = simulateRun(small, { inputTokens: 1500, outputTokens: 2000, requestRate: "inf", numPrompts: 40 });
    expect(m.completed).toBe(40);
    expect(m.preemptions).toBeGreaterThan(0);
  });

  it("queues when arrivals near capacity: p95 TTFT at 95 % of the saturated rate is far above a light load's", () => {
    const load = { inputTokens: 2000, outputTokens: 200 };
    const sat = simulateRun(r, { ...load, requestRate: "inf", maxConcurrency: 600, numPrompts: 1500 });
    const light = simulateRun(r, { ...load, requestRate: 0.1 * sat.steadyRequestsPerSecond, numPrompts: 300 });
    const heavy = simulateRun(r, { ...load, requestRate: 0.97 * sat.steadyRequestsPerSecond, numPrompts: 1500 });
    expect(heavy.p95TtftMs).toBeGreaterThan(3 * light.p95TtftMs);
    expect(heavy.meanTpotMs).toBeGreaterThan(light.meanTpotMs);
  });

  it("averages a rate-inf run over its whole duration, drain included: with long-tailed lengths the last requests finish at a small batch, below the steady rate", () => {
    const capped = replica(llama8b, "H100", { maxNumSeqs: 64 });
    const m = simulateRun(capped, { inputTokens: 600, outputTokens: 300, lengths: "exponential", maxModelLen: 4096, requestRate: "inf", numPrompts: 1000 });
    expect(m.completed).toBe(1000);
    expect(m.outputTokensPerSecond).toBeLessThan(0.97 * m.steadyOutputTokensPerSecond);
    // Release at once: the mean TTFT is mostly the wait for a batch slot, many times one request's own.
    const alone = simulateRun(capped, { inputTokens: 600, outputTokens: 300, requestRate: "inf", maxConcurrency: 1, numPrompts: 3 });
    expect(m.meanTtftMs).toBeGreaterThan(20 * alone.meanTtftMs);
  });

  it("serves a prompt it has seen before from the prefix cache: a small pool of repeated prompts has a shorter TTFT than fresh ones", () => {
    const load = { inputTokens: 3000, outputTokens: 100, requestRate: 4, numPrompts: 300 };
    const fresh = simulateRun(r, load);
    const pooled = simulateRun(r, { ...load, promptPool: 20 });
    expect(pooled.meanTtftMs).toBeLessThan(0.7 * fresh.meanTtftMs);
  });

  it("stalls decodes behind whole prompts on a V0 engine (no chunked prefill): the same load has a longer TPOT than on V1", () => {
    const v0 = replica(llama8b, "H100", { version: "0.6.4", maxNumBatchedTokens: 8192 });
    const v1 = replica(llama8b, "H100", { version: "0.15.1", maxNumBatchedTokens: 8192 });
    expect(v0.chunkedPrefill).toBe(false);
    const load = { inputTokens: 4000, outputTokens: 200, requestRate: 6, numPrompts: 400 };
    expect(simulateRun(v0, load).p95TpotMs).toBeGreaterThan(simulateRun(v1, load).p95TpotMs);
  });

  it("reads only the window on sliding-window layers: gemma-2's local layers make long-context decoding cheaper than if every layer were global", () => {
    const gemma = catalogProfile("google/gemma-2-9b-it");
    expect(gemma.slidingWindowLayers).toBeGreaterThan(0);
    const windowed = replica(gemma, "H100", { maxModelLen: 8192 });
    const global: ReplicaEngine = { ...windowed, profile: { ...gemma, slidingWindowLayers: 0, slidingWindow: 0 } };
    const load = { inputTokens: 7000, outputTokens: 500, requestRate: "inf" as const, maxConcurrency: 16, numPrompts: 32 };
    expect(simulateRun(windowed, load).meanTpotMs).toBeLessThan(simulateRun(global, load).meanTpotMs);
  });

  it("delivers tokens a step later with async scheduling: TTFT grows, the token rate does not", () => {
    const sync = { ...r, asyncScheduling: false };
    const load = { inputTokens: 500, outputTokens: 100, requestRate: 2, numPrompts: 100 };
    const a = simulateRun(r, load);
    const b = simulateRun(sync, load);
    expect(a.meanTtftMs).toBeGreaterThan(b.meanTtftMs);
    expect(a.meanTpotMs).toBeCloseTo(b.meanTpotMs, 0);
  });
});

describe("agreement with published runs (bench/data/throughput-public.json)", () => {
  interface Point {
    model: string;
    tensor_parallel_size: number;
    input_len: number;
    output_len: number;
    request_rate: number;
    num_prompts: number;
    tpot_from_e2e_ms: number;
    ttft_mean_ms: number;
    notes: string;
  }
  const points = JSON.parse(readFileSync(join(BENCH_DATA, "throughput-public.json"), "utf8")) as Point[];
  const point = points.find((p) => p.model === "meta-llama/Llama-2-70b-hf" && p.request_rate === 5)!;

  it("predicts the decode time per token of Llama-2-70B on 4 H100s at 5 req/s (inference-perf, vLLM 0.15.1) within a quarter of what was measured", () => {
    const profile = profileFromConfig(benchConfig("configs/meta-llama__Llama-2-70b-hf.json"), point.model);
    const r = replica(profile, "H100", { tp: 4, version: "0.15.1", maxNumSeqs: 128, maxNumBatchedTokens: 2048 });
    const m = simulateRun(r, { inputTokens: point.input_len, outputTokens: point.output_len, requestRate: point.request_rate, numPrompts: point.num_prompts, arrivals: "constant", sharedPrefixTokens: 100, promptPool: 45 });
    expect(Math.abs(m.meanTpotMs / point.tpot_from_e2e_ms - 1)).toBeLessThan(0.25);
    expect(Math.abs(m.meanTtftMs / point.ttft_mean_ms - 1)).toBeLessThan(0.5);
  });
});

it("the engine profile carries the scheduler behaviour of its release: V1 rows chunk prefills and schedule asynchronously, V0 does neither", () => {
  expect(V024).toMatchObject({ chunkedPrefill: true, asyncScheduling: true });
  expect(engineFor("0.6.2")).toMatchObject({ chunkedPrefill: false, asyncScheduling: false });
});

describe("the steady-state shortcut the plan uses for undeclared traffic", () => {
  it.each([
    ["meta-llama/Llama-3.1-8B-Instruct", "A10G", 1],
    ["meta-llama/Llama-3.1-8B-Instruct", "H100", 1],
    ["meta-llama/Llama-3.1-70B-Instruct", "H100", 4],
    ["mistralai/Mixtral-8x7B-Instruct-v0.1", "H100", 2],
  ] as const)("agrees with the full simulation of %s on %s × %i within a quarter on saturated throughput and decode time", (id, gpu, tp) => {
    const r = replica(catalogProfile(id), gpu, { tp, maxModelLen: 8192 });
    const w = { inputTokens: 1024, outputTokens: 128 };
    const sim = replicaCapacity(r, w, {});
    const fluid = steadyCapacity(r, w);
    expect(Math.abs(fluid.saturation.totalTokensPerSecond / sim.saturation.totalTokensPerSecond - 1)).toBeLessThan(0.25);
    expect(Math.abs(fluid.saturation.meanTpotMs! / sim.saturation.meanTpotMs! - 1)).toBeLessThan(0.25);
    expect(fluid.unloaded.meanTtftMs).toBeCloseTo(sim.unloaded.meanTtftMs, 0);
  });
});
