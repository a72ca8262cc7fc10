/**
 * Performance model: what `vllm bench serve` would measure for a model on a shape, without running it.
 *
 * Two parts, both pure:
 *
 * - a step-time model: how long one engine step takes for a batch of decode tokens and prefill
 *   chunks — weights (active experts only) and the KV cache read through HBM, matrix multiplies and
 *   prefill attention on the tensor cores, two all-reduces per layer over the node's GPU link, and the
 *   fixed cost of every kernel;
 * - a simulation of the engine and the benchmark run: vLLM's scheduler step by step (running requests
 *   first, then waiting ones up to max_num_seqs, the token budget and the free KV blocks; chunked
 *   prefill or, for V0 engines, prefill-only steps; preemption when the cache runs out), fed by the
 *   benchmark client (Poisson or constant arrivals, all at once for rate `inf`, a concurrency cap),
 *   with ramp-up and drain included, exactly as the printed figures are averaged.
 *
 * Every constant below is one number for every GPU and model — nothing is fitted to a measurement
 * of a particular model or GPU — and each says where it comes from.
 */
import { DTYPE_BYTES, type Dtype, type ModelProfile, type Quantization } from "./model-profile";
import type { EngineProfile } from "./engine";
import { BLOCK_SIZE, type OnlineQuantization, type SizingResult } from "./sizing";

/** Share of peak HBM bandwidth a streaming kernel reaches (AIConfigurator `mem_bw_empirical_scaling_factor`, every system). */
export const HBM_EFFICIENCY = 0.8;
/** Fixed cost of one memory-bound kernel, launch and tail (AIConfigurator `mem_empirical_constant_latency`, 3 µs). */
export const KERNEL_SECONDS = 3e-6;
/** Latency of one small collective or point-to-point transfer between GPUs (AIConfigurator `p2p_latency`, 10 µs). */
export const LINK_LATENCY_SECONDS = 10e-6;
/** Share of dense tensor peak a large GEMM sustains (cuBLAS/CUTLASS on long prompts). */
export const GEMM_EFFICIENCY = 0.7;
/** Share of dense tensor peak FlashAttention sustains on prefill. */
export const ATTENTION_EFFICIENCY = 0.5;
/** Kernels in one decoder layer: two norms, QKV, rotary, cache write, attention, O, gate_up, activation, down. */
const KERNELS_PER_LAYER = 10;
/** Extra kernels of a mixture-of-experts layer: router GEMM, top-k, token sort/align, two grouped GEMMs, un-permute. */
const KERNELS_PER_MOE_LAYER = 6;
/** Per step: embedding, final norm, LM head, sampler, and the engine loop's own bookkeeping. */
const STEP_SECONDS = 150e-6;
/** Per scheduled request per step: input preparation, sampling and output processing. */
const REQUEST_STEP_SECONDS = 4e-6;
/** vLLM's API server and the benchmark client around one request: HTTP, tokenization, hand-off to the engine, streaming back. */
export const FRONTEND_SECONDS = 6e-3;

/** The hardware figures the model needs (catalog/gpus.json `performance`). */
export interface PerformanceGpu {
  readonly id: string;
  readonly computeCapability: number;
  readonly memoryBandwidthGBps: number;
  readonly bf16DenseTflops: number | null;
  readonly fp16DenseTflops: number;
  readonly fp8DenseTflops: number | null;
  readonly int8DenseTops: number | null;
  readonly gpuLink: "nvlink" | "pcie";
  readonly gpuLinkGBps: number;
  /** Share of peak tensor throughput a power-capped card sustains under continuous GEMM load. @default 1 */
  readonly sustainedTensorFraction?: number;
}

/** One replica as vLLM runs it: the layout and scheduler settings the sizing resolved. */
export interface ReplicaEngine {
  readonly profile: ModelProfile;
  readonly gpu: PerformanceGpu;
  readonly tensorParallel: number;
  readonly pipelineParallel: number;
  /** Weight dtype after `--dtype` resolution. */
  readonly dtype: Dtype;
  /** Checkpoint or online quantization of the Linear layers. */
  readonly quantization?: Quantization;
  /** KV cache bytes per token on one GPU of the fullest stage (the sizing's figure). */
  readonly kvBytesPerToken: number;
  /** KV cache tokens of the replica (the sizing's figure); 0 for encoder-only models. */
  readonly kvCacheTokens: number;
  readonly maxNumSeqs: number;
  readonly maxNumBatchedTokens: number;
  /** V1 engines split prompts into chunks that share steps with decodes; V0 runs prefill-only steps. */
  readonly chunkedPrefill: boolean;
  /** The scheduler plans step N+1 while step N runs, so a step's tokens reach clients one step later. */
  readonly asyncScheduling: boolean;
}

/** What one step holds. */
export interface StepBatch {
  /** Requests generating one token this step. */
  readonly decodes: number;
  /** Sum of the context lengths those requests attend to. */
  readonly decodeContext: number;
  /** Prompt tokens computed this step (chunks). */
  readonly prefillTokens: number;
  /** Σ over prefill chunks of chunk × (earlier context + chunk/2): the causal attention work. */
  readonly prefillPairs: number;
  /** Requests sampling a token at the end of this step (decodes plus prefills that finish). */
  readonly samples: number;
  /** Requests scheduled this step. */
  readonly requests: number;
}

interface StepCoefficients {
  readonly stages: number;
  /** Bytes of non-expert weights one GPU reads per step (per stage), and of all its experts. */
  readonly denseBytes: number;
  readonly expertBytes: number;
  readonly experts: number;
  readonly expertsPerToken: number;
  /** FLOPs per token per GPU per stage in the Linear layers (routed experts at their top-k). */
  readonly linearFlopsPerToken: number;
  readonly headFlopsPerSample: number;
  readonly kvReadBytesPerContextToken: number;
  readonly kvWriteBytesPerToken: number;
  /** Bytes the element-wise kernels (norms, residual adds, rotary, activation, fp8 input quantization) move per token. */
  readonly activationBytesPerToken: number;
  /** Bytes the sampler moves per sampled token: float32 logits over the vocabulary, a few passes. */
  readonly samplerBytesPerSample: number;
  readonly attentionFlopsPerPair: number;
  readonly hbmBytesPerSecond: number;
  readonly gemmFlopsPerSecond: number;
  readonly attentionFlopsPerSecond: number;
  readonly layersPerStage: number;
  readonly kernelSecondsPerStage: number;
  readonly allReduceBytesPerToken: number;
  readonly linkBytesPerSecond: number;
  readonly tensorParallel: number;
  readonly encoderOnly: boolean;
}

/** Dense tensor throughput (FLOP/s) for the matrix multiplies as vLLM runs them on this GPU. */
export function gemmPeakFlops(gpu: PerformanceGpu, dtype: Dtype, q: Quantization | undefined): number {
  const sixteen = (dtype === "bfloat16" ? gpu.bf16DenseTflops : null) ?? gpu.fp16DenseTflops;
  // float32 runs without 16-bit tensor cores: a quarter of the 16-bit rate (TF32 is half, and not on by default).
  const base = (dtype === "float32" ? sixteen / 4 : sixteen) * 1e12;
  if (!q) return base;
  // W8A8 runs on 8-bit tensor cores where the GPU has them (fp8 from compute capability 8.9);
  // weight-only formats (and fp8 on Ampere, via Marlin) dequantize to 16 bits and compute there.
  if ((q.method === "fp8" || q.method === "w8a8-fp8") && gpu.fp8DenseTflops && gpu.computeCapability >= 8.9) return gpu.fp8DenseTflops * 1e12;
  if (q.method === "w8a8-int8" && gpu.int8DenseTops) return gpu.int8DenseTops * 1e12;
  return base;
}

/** Bytes per Linear weight as stored on the GPU: packed bits plus their scales. */
function linearWeightBytes(dtype: Dtype, q: Quantization | undefined): number {
  if (!q) return DTYPE_BYTES[dtype];
  const scales = q.groupSize > 0 ? DTYPE_BYTES[dtype] / q.groupSize : 0;
  return q.weightBits / 8 + scales;
}

/** Passes over the float32 logits of a sampled token: cast, temperature/penalties, softmax, top-k/top-p, sample. */
const SAMPLER_PASSES = 4;

/**
 * Bytes the memory-bound element-wise kernels of one decoder layer move per token on one GPU: two fused
 * residual-add + RMSNorm (read 2h, write 2h each, on the full hidden state every rank holds), rotary on
 * q and k (read and write), the gated activation (read 2I, write I, I split by TP), and for W8A8 formats
 * the per-token quantization of each GEMM input (read 16-bit, write 8-bit).
 */
export function activationBytesPerTokenPerLayer(p: ModelProfile, tp: number, actBytes: number, q: Quantization | undefined): number {
  const h = p.hiddenSize;
  const qk = ((p.numHeads + Math.max(1, p.numKvHeads)) * p.headDim) / tp;
  const inter = (p.moe ? p.moe.expertsPerToken * p.moe.expertIntermediateSize + p.moe.sharedExpertIntermediateSize : p.intermediateSize) / tp;
  const mlp = p.gatedMlp || p.moe ? 3 * inter : 2 * inter;
  let bytes = (8 * h + 2 * qk + mlp) * actBytes;
  if (q && q.weightBits === 8 && (q.method === "fp8" || q.method === "w8a8-fp8" || q.method === "w8a8-int8")) {
    // Inputs of QKV, O, gate_up and down: h, (heads·d)/tp, h, I.
    bytes += (2 * h + (p.numHeads * p.headDim) / tp + inter) * (actBytes + 1);
  }
  return bytes;
}

/** Parameters per layer by kind (whole model, before tensor-parallel splitting). */
export function layerParameters(p: ModelProfile): { attention: number; mlp: number; expert: number; sharedExpert: number; router: number; moeLayers: number } {
  const h = p.hiddenSize;
  let attention: number;
  if (p.mla) {
    const rope = p.mla.qkRopeHeadDim;
    const nope = p.headDim;
    attention = h * p.numHeads * (nope + rope) + h * (p.mla.kvLoraRank + rope) + p.mla.kvLoraRank * p.numHeads * 2 * nope + p.numHeads * nope * h;
  } else {
    attention = h * (p.numHeads + 2 * p.numKvHeads) * p.headDim + p.numHeads * p.headDim * h;
  }
  const mlp = (p.gatedMlp ? 3 : 2) * h * p.intermediateSize;
  if (!p.moe) return { attention, mlp, expert: 0, sharedExpert: 0, router: 0, moeLayers: 0 };
  const e = p.moe;
  return {
    attention,
    mlp,
    expert: 3 * h * e.expertIntermediateSize,
    sharedExpert: 3 * h * e.sharedExpertIntermediateSize,
    router: h * e.experts,
    moeLayers: p.numLayers - e.denseLayers,
  };
}

function coefficients(r: ReplicaEngine): StepCoefficients {
  const p = r.profile;
  const tp = r.tensorParallel;
  const pp = r.pipelineParallel;
  const layers = p.numLayers / pp;
  const lp = layerParameters(p);
  const wBytes = linearWeightBytes(r.dtype, r.quantization);
  const actBytes = DTYPE_BYTES[r.dtype];
  const moeLayers = lp.moeLayers / pp;
  const denseLayers = layers - moeLayers;
  const encoderOnly = p.attention === "encoder-only";
  const generative = !encoderOnly && p.classifierLabels === 0;
  // The LM head runs on the last stage only; spread over the stages because stage times add up.
  const headParams = generative ? (p.vocabSize * p.hiddenSize) / pp : 0;
  const denseParams = layers * lp.attention + denseLayers * lp.mlp + moeLayers * (lp.sharedExpert + lp.router);
  const expertParamsAll = moeLayers * lp.expert * (p.moe?.experts ?? 0);
  const activeExpertParams = moeLayers * lp.expert * (p.moe?.expertsPerToken ?? 0);
  const perf = r.gpu;
  const gemmPeak = gemmPeakFlops(perf, r.dtype, r.quantization);
  // Attention runs in the activation dtype (16-bit) whatever the weight format.
  const attentionPeak = ((r.dtype === "bfloat16" ? perf.bf16DenseTflops : null) ?? perf.fp16DenseTflops) * 1e12;
  const headDim = p.mla ? p.mla.kvLoraRank + p.mla.qkRopeHeadDim : p.headDim;
  const kvPerToken = r.kvBytesPerToken; // already per GPU for this stage's layers
  return {
    stages: pp,
    denseBytes: (denseParams * wBytes) / tp + (headParams * actBytes) / tp,
    expertBytes: (expertParamsAll * wBytes) / tp,
    experts: p.moe?.experts ?? 0,
    expertsPerToken: p.moe?.expertsPerToken ?? 0,
    linearFlopsPerToken: (2 * (denseParams + activeExpertParams)) / tp,
    headFlopsPerSample: (2 * headParams) / tp,
    kvReadBytesPerContextToken: kvPerToken,
    kvWriteBytesPerToken: kvPerToken,
    activationBytesPerToken: layers * activationBytesPerTokenPerLayer(p, tp, actBytes, r.quantization),
    samplerBytesPerSample: generative ? (p.vocabSize * 4 * SAMPLER_PASSES) / pp : 0,
    // QKᵀ and PV: 2 multiply-adds (4 FLOPs) per (query, key) pair per head dimension, per layer.
    attentionFlopsPerPair: (4 * (p.numHeads / tp) * headDim * layers) * (encoderOnly ? 2 : 1),
    hbmBytesPerSecond: perf.memoryBandwidthGBps * 1e9 * HBM_EFFICIENCY,
    // A power-capped card clocks down under continuous matrix load: it sustains the lower of the two shares.
    gemmFlopsPerSecond: gemmPeak * Math.min(GEMM_EFFICIENCY, perf.sustainedTensorFraction ?? 1),
    attentionFlopsPerSecond: attentionPeak * Math.min(ATTENTION_EFFICIENCY, perf.sustainedTensorFraction ?? 1),
    layersPerStage: layers,
    kernelSecondsPerStage: KERNEL_SECONDS * (layers * KERNELS_PER_LAYER + moeLayers * KERNELS_PER_MOE_LAYER),
    allReduceBytesPerToken: p.hiddenSize * actBytes,
    linkBytesPerSecond: perf.gpuLinkGBps * 1e9,
    tensorParallel: tp,
    encoderOnly,
  };
}

/** Seconds one engine step takes for this batch. */
export type StepTime = (b: StepBatch) => number;

export function stepTimeModel(r: ReplicaEngine): StepTime {
  const c = coefficients(r);
  const tp = c.tensorParallel;
  return (b) => {
    // Pipeline stages each run their layers on the batch; with micro-batches in flight a stage
    // sees 1/pp of the tokens, and a token crosses every stage.
    const share = 1 / c.stages;
    const tokens = (b.decodes + b.prefillTokens) * share;
    if (tokens <= 0) return STEP_SECONDS;
    // Experts touched by `tokens` routed picks of top-k among E (expected distinct experts).
    const touched = c.experts > 0 ? 1 - Math.pow(1 - c.expertsPerToken / c.experts, tokens) : 0;
    const weightBytes = c.denseBytes + c.expertBytes * touched;
    const linearFlops = tokens * c.linearFlopsPerToken + b.samples * share * c.headFlopsPerSample;
    // A Linear layer streams its weights and multiplies; it takes the longer of the two.
    const gemm = Math.max(weightBytes / c.hbmBytesPerSecond, linearFlops / c.gemmFlopsPerSecond);
    const kv = ((b.decodeContext * c.kvReadBytesPerContextToken + tokens * c.kvWriteBytesPerToken) * share) / c.hbmBytesPerSecond;
    // Element-wise kernels stream every token's activations; they run between the GEMMs, not under them.
    const elementwise = (tokens * c.activationBytesPerToken + b.samples * share * c.samplerBytesPerSample) / c.hbmBytesPerSecond;
    const attention = (b.prefillPairs * share * c.attentionFlopsPerPair) / c.attentionFlopsPerSecond;
    // Two all-reduces per layer (after attention and after the MLP), ring over the GPU link.
    const comm = tp > 1 ? 2 * c.layersPerStage * (LINK_LATENCY_SECONDS + (2 * (tp - 1)) / tp * (tokens * c.allReduceBytesPerToken) / c.linkBytesPerSecond) : 0;
    const stage = gemm + kv + elementwise + attention + comm + c.kernelSecondsPerStage;
    const handoff = (c.stages - 1) * LINK_LATENCY_SECONDS;
    return c.stages * stage + handoff + STEP_SECONDS + b.requests * REQUEST_STEP_SECONDS;
  };
}

/** How the benchmark client sends requests. */
export interface BenchmarkLoad {
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Prompt tokens every request shares with earlier ones (a system prompt): served from the prefix cache. @default 0 */
  readonly sharedPrefixTokens?: number;
  /**
   * Distinct prompts the requests cycle through (inference-perf's shared-prefix datasets pre-generate a
   * pool and send it over and over): a prompt sent before is a prefix-cache hit. @default - every prompt is new
   */
  readonly promptPool?: number;
  /** Requests per second, or "inf" to release every prompt at once (`vllm bench serve`'s default). */
  readonly requestRate: number | "inf";
  /** At most this many requests in flight (`--max-concurrency`). @default - no cap */
  readonly maxConcurrency?: number;
  readonly numPrompts: number;
  /** Inter-arrival times: exponential (`vllm bench serve`, burstiness 1) or fixed (inference-perf "constant"). @default "poisson" */
  readonly arrivals?: "poisson" | "constant";
  /**
   * How prompt and output lengths vary around their means: all equal (random-token datasets), or
   * exponential like conversation datasets (ShareGPT), where a few long requests dominate the tail. @default "fixed"
   */
  readonly lengths?: "fixed" | "exponential";
  /** Longest sequence the server accepts (prompt + output): exponential lengths are clipped to it. @default - no limit */
  readonly maxModelLen?: number;
  /** Seed of the arrival process and the lengths. @default 1 */
  readonly seed?: number;
}

export interface RunMetrics {
  /** Requests finished and the seconds from the first send to the last token (the run's duration). */
  readonly completed: number;
  readonly durationSeconds: number;
  readonly requestsPerSecond: number;
  readonly outputTokensPerSecond: number;
  readonly totalTokensPerSecond: number;
  readonly meanTtftMs: number;
  readonly medianTtftMs: number;
  readonly p95TtftMs: number;
  /** Per request (E2E − TTFT) ÷ (output − 1), averaged over requests. */
  readonly meanTpotMs: number;
  readonly p95TpotMs: number;
  /** Every gap between two tokens of a request, averaged over gaps. */
  readonly meanItlMs: number;
  readonly meanE2eMs: number;
  /**
   * Throughput while the run is in full swing: requests completing between the first and last quarter of
   * all completions, over the time they took (ramp-up and drain left out).
   */
  readonly steadyRequestsPerSecond: number;
  readonly steadyOutputTokensPerSecond: number;
  readonly steadyTotalTokensPerSecond: number;
  /** Mean requests in the running batch per step, and preemptions (recomputed requests). */
  readonly meanBatch: number;
  readonly preemptions: number;
}

/** A small deterministic PRNG (mulberry32), so a run is the same every time. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Send times as the benchmark schedules them (before any concurrency cap). */
export function sendSchedule(load: BenchmarkLoad): number[] {
  const n = load.numPrompts;
  if (load.requestRate === "inf") return new Array<number>(n).fill(0);
  const rate = load.requestRate;
  if ((load.arrivals ?? "poisson") === "constant") return Array.from({ length: n }, (_, i) => i / rate);
  const rnd = random(load.seed ?? 1);
  const out: number[] = [0];
  // vllm bench serve: exponential gaps, then rescaled so the last send lands at n ÷ rate.
  for (let i = 1; i < n; i++) out.push(out[i - 1] + -Math.log(1 - rnd()) / rate);
  const last = out[n - 1];
  if (last > 0) {
    const k = n / rate / last;
    for (let i = 0; i < n; i++) out[i] *= k;
  }
  return out;
}

/** Per-prompt (input, output) lengths with the load's means. */
function lengths(load: BenchmarkLoad, meanInput: number, meanOutput: number): (id: number) => [number, number] {
  if ((load.lengths ?? "fixed") === "fixed") {
    const fixed: [number, number] = [Math.max(1, Math.round(meanInput)), Math.max(0, Math.round(meanOutput))];
    return () => fixed;
  }
  const limit = load.maxModelLen ?? Infinity;
  return (id) => {
    const rnd = random(((load.seed ?? 1) * 2654435761 + id * 40503) >>> 0);
    const draw = (mean: number) => -mean * Math.log(1 - rnd());
    const output = meanOutput > 0 ? Math.max(1, Math.round(draw(meanOutput))) : 0;
    const input = Math.max(1, Math.min(Math.round(draw(meanInput)), limit - output));
    return [input, Math.min(output, limit - 1)];
  };
}

interface SimRequest {
  readonly index: number;
  readonly input: number;
  readonly output: number;
  cached: number;
  send: number;
  engineArrival: number;
  computed: number;
  generated: number;
  blocks: number;
  /** Tokens scheduled for it in the step being planned. */
  chunk: number;
  first: number;
  last: number;
  done: boolean;
}

function percentile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

export interface SimulationOptions {
  /** Only requests with index in [from, to) count in the latency figures (steady-state windows). @default all */
  readonly measureFrom?: number;
  readonly measureTo?: number;
  /** Stop after this many simulated seconds (a guard for overloaded what-ifs). @default 1e7 */
  readonly maxSeconds?: number;
}

/**
 * Simulate one benchmark run against one replica: the client's schedule and concurrency cap, the
 * engine's scheduler and KV cache, step by step.
 */
export function simulateRun(engine: ReplicaEngine, load: BenchmarkLoad, step: StepTime = stepTimeModel(engine), opts: SimulationOptions = {}): RunMetrics {
  const meanInput = Math.max(1, load.inputTokens);
  const meanOutput = Math.max(0, load.outputTokens);
  const encoderOnly = engine.profile.attention === "encoder-only";
  // Prefix-cache hits are whole 16-token blocks, and the last prompt token is always recomputed for its logits.
  const hitTokens = (tokens: number, input: number) => Math.floor(Math.min(tokens, input - 1) / BLOCK_SIZE) * BLOCK_SIZE;
  const shared = load.sharedPrefixTokens ?? 0;
  const pool = load.promptPool;
  const promptCached = new Set<number>();
  let prefixSeen = false;
  const schedule = sendSchedule(load);
  const n = schedule.length;
  const lengthOf = lengths(load, meanInput, meanOutput);
  // Sliding-window layers read at most the window of KV per decode step; the rest read the whole context.
  const p = engine.profile;
  const windowShare = p.slidingWindowLayers > 0 ? p.slidingWindowLayers / p.numLayers : 0;
  const attendedContext = (c: number) => (windowShare > 0 ? (1 - windowShare) * c + windowShare * Math.min(c, p.slidingWindow) : c);
  const reqs: SimRequest[] = schedule.map((s, index) => {
    // A prompt of the pool has the same length every time it is sent.
    const [input, output] = lengthOf(pool ? index % pool : index);
    return { index, input, output, cached: 0, send: s, engineArrival: Infinity, computed: 0, generated: 0, blocks: 0, chunk: 0, first: NaN, last: NaN, done: false };
  });
  const limit = load.maxConcurrency ?? Infinity;
  const totalBlocks = encoderOnly ? Infinity : Math.floor(engine.kvCacheTokens / BLOCK_SIZE);
  let freeBlocks = totalBlocks;
  const budgetTokens = engine.maxNumBatchedTokens;
  const maxSeqs = engine.maxNumSeqs;
  const frontendIn = FRONTEND_SECONDS / 2;
  const frontendOut = FRONTEND_SECONDS / 2;

  const running: SimRequest[] = [];
  const waiting: SimRequest[] = []; // engine queue, FCFS; preempted requests go back to its front
  let waitHead = 0;
  const preemptedFront: SimRequest[] = [];
  let nextSend = 0;
  let inFlight = 0;
  let arrivedUpTo = 0; // reqs sent, in send order, not yet handed to the engine
  const sentOrder: SimRequest[] = [];
  let t = 0;
  let lastBoundary = -Infinity;
  let finished = 0;
  let steps = 0;
  let batchSum = 0;
  let preemptions = 0;
  const maxSeconds = opts.maxSeconds ?? 1e7;
  const blocksFor = (tokens: number) => Math.ceil(tokens / BLOCK_SIZE);
  const tokensOf = (r: SimRequest) => r.input + r.generated;

  const release = (now: number) => {
    while (nextSend < n && inFlight < limit && reqs[nextSend].send <= now) {
      const r = reqs[nextSend++];
      // Blocked by the cap since an earlier boundary: sent when a slot freed, now.
      if (r.send <= lastBoundary) r.send = now;
      r.engineArrival = r.send + frontendIn;
      sentOrder.push(r);
      inFlight++;
    }
  };
  const admitArrivals = (now: number) => {
    while (arrivedUpTo < sentOrder.length && sentOrder[arrivedUpTo].engineArrival <= now) waiting.push(sentOrder[arrivedUpTo++]);
  };
  const nextEvent = (): number => {
    let next = Infinity;
    if (arrivedUpTo < sentOrder.length) next = Math.min(next, sentOrder[arrivedUpTo].engineArrival);
    if (nextSend < n && inFlight < limit) next = Math.min(next, reqs[nextSend].send);
    return next;
  };
  const freeRequest = (r: SimRequest) => {
    freeBlocks += r.blocks;
    r.blocks = 0;
  };

  while (finished < n && t < maxSeconds) {
    release(t);
    admitArrivals(t);
    lastBoundary = t;
    const queued = waiting.length - waitHead + preemptedFront.length;
    if (running.length === 0 && queued === 0) {
      const next = nextEvent();
      if (!Number.isFinite(next)) break;
      t = Math.max(t, next);
      continue;
    }

    // ---- schedule one step ----
    let budget = budgetTokens;
    const planned: SimRequest[] = [];
    let preemptedNow = false;
    let prefillOnly = false;
    const peekWaiting = (): SimRequest | undefined => (preemptedFront.length ? preemptedFront[preemptedFront.length - 1] : waitHead < waiting.length ? waiting[waitHead] : undefined);
    const popWaiting = () => (preemptedFront.length ? preemptedFront.pop() : waiting[waitHead++]);

    const admit = (): void => {
      while (budget > 0 && running.length < maxSeqs) {
        const r = peekWaiting();
        if (!r) break;
        if (r.computed === 0 && r.generated === 0) {
          // What the prefix cache already holds: the whole prompt when it was sent before, else the shared prefix.
          r.cached = pool && promptCached.has(r.index % pool) ? hitTokens(r.input, r.input) : prefixSeen ? hitTokens(shared, r.input) : 0;
          r.computed = r.cached;
        }
        const need = tokensOf(r) - r.computed;
        if (!engine.chunkedPrefill && need > budget) break;
        const chunk = Math.min(need, budget);
        // v0.24: the whole prompt must fit in the free blocks before a request is admitted.
        const fullBlocks = encoderOnly ? 0 : blocksFor(tokensOf(r)) - r.blocks;
        if (fullBlocks > freeBlocks) {
          if (r.generated === 0 && r.computed === r.cached) r.computed = 0;
          break;
        }
        popWaiting();
        const add = encoderOnly ? 0 : blocksFor(r.computed + chunk) - r.blocks;
        freeBlocks -= add;
        r.blocks += add;
        running.push(r);
        r.chunk = chunk;
        planned.push(r);
        budget -= chunk;
      }
    };

    if (!engine.chunkedPrefill && (preemptedFront.length || waitHead < waiting.length)) {
      // V0: a step of prompts only, when any waiting prompt can start.
      const before = planned.length;
      admit();
      prefillOnly = planned.length > before;
    }
    if (!prefillOnly) {
      for (let i = 0; i < running.length && budget > 0; i++) {
        const r = running[i];
        const need = tokensOf(r) - r.computed;
        const chunk = Math.min(need, budget);
        if (!engine.chunkedPrefill && need > budget) continue;
        let add = encoderOnly ? 0 : blocksFor(r.computed + chunk) - r.blocks;
        let selfPreempted = false;
        while (add > freeBlocks) {
          // Out of KV blocks: preempt the newest running request (recomputed later).
          const victim = running.pop()!;
          const planIdx = planned.indexOf(victim);
          if (planIdx >= 0) {
            budget += victim.chunk;
            planned.splice(planIdx, 1);
          }
          freeRequest(victim);
          victim.computed = 0;
          preemptedFront.push(victim);
          preemptions++;
          preemptedNow = true;
          if (victim === r) {
            selfPreempted = true;
            break;
          }
          add = blocksFor(r.computed + chunk) - r.blocks;
        }
        if (selfPreempted) break;
        freeBlocks -= add;
        r.blocks += add;
        r.chunk = chunk;
        planned.push(r);
        budget -= chunk;
      }
      if (!preemptedNow) admit();
    }
    if (!planned.length) {
      // Nothing fits (should not happen when one request fits the cache): wait for the next arrival.
      const next = nextEvent();
      if (!Number.isFinite(next)) break;
      t = Math.max(t + STEP_SECONDS, next);
      continue;
    }

    // ---- cost of the step ----
    let decodes = 0;
    let decodeContext = 0;
    let prefillTokens = 0;
    let prefillPairs = 0;
    let samples = 0;
    for (const r of planned) {
      const chunk = r.chunk;
      const total = tokensOf(r);
      if (chunk === 1 && r.computed === total - 1 && r.generated > 0) {
        decodes++;
        decodeContext += attendedContext(r.computed);
      } else {
        prefillTokens += chunk;
        prefillPairs += chunk * (r.computed + chunk / 2);
      }
      if (r.computed + chunk === total) samples++;
    }
    const dt = step({ decodes, decodeContext, prefillTokens, prefillPairs, samples, requests: planned.length });
    t += dt;
    steps++;
    batchSum += planned.length;

    // ---- results of the step ----
    // With async scheduling the outputs of this step are processed while the next one runs.
    const delivered = engine.asyncScheduling ? t + dt : t;
    let anyDone = false;
    for (const r of planned) {
      r.computed += r.chunk;
      if (r.computed < tokensOf(r)) continue;
      // The prompt (or the recomputed sequence) is complete: a token is sampled, and its blocks are cached.
      if (pool) promptCached.add(r.index % pool);
      prefixSeen = true;
      if (r.output === 0) {
        r.first = delivered;
        r.last = delivered;
        r.done = true;
        anyDone = true;
      } else {
        r.generated++;
        if (r.generated === 1) r.first = delivered;
        r.last = delivered;
        if (r.generated >= r.output) {
          r.done = true;
          anyDone = true;
        }
      }
    }
    if (anyDone) {
      let keep = 0;
      for (let i = 0; i < running.length; i++) {
        const r = running[i];
        if (r.done) {
          freeRequest(r);
          finished++;
          inFlight--;
        } else running[keep++] = r;
      }
      running.length = keep;
    }
  }

  // ---- what the benchmark prints ----
  const from = opts.measureFrom ?? 0;
  const to = opts.measureTo ?? n;
  const ttft: number[] = [];
  const tpot: number[] = [];
  let gapSum = 0;
  let gapCount = 0;
  let e2eSum = 0;
  let endTime = 0;
  let outTokens = 0;
  let inTokens = 0;
  let completed = 0;
  for (const r of reqs) {
    if (!r.done) continue;
    completed++;
    outTokens += r.output;
    inTokens += r.input;
    endTime = Math.max(endTime, r.last + frontendOut);
    if (r.index < from || r.index >= to) continue;
    ttft.push(r.first + frontendOut - r.send);
    e2eSum += r.last + frontendOut - r.send;
    if (r.output > 1) {
      tpot.push((r.last - r.first) / (r.output - 1));
      gapSum += r.last - r.first;
      gapCount += r.output - 1;
    }
  }
  const byEnd = reqs.filter((r) => r.done).sort((a, b) => a.last - b.last);
  const q1 = Math.floor(byEnd.length / 4);
  const q3 = Math.max(q1 + 1, Math.floor((3 * byEnd.length) / 4));
  let steadyOut = 0;
  let steadyTotal = 0;
  for (let i = q1 + 1; i <= q3 && i < byEnd.length; i++) {
    steadyOut += byEnd[i].output;
    steadyTotal += byEnd[i].output + byEnd[i].input;
  }
  const steadySpan = byEnd.length > q3 ? byEnd[q3].last - byEnd[q1].last : 0;
  const steadyCount = Math.min(q3, byEnd.length - 1) - q1;
  const start = n ? reqs[0].send : 0;
  const duration = Math.max(1e-9, endTime - Math.min(start, 0));
  const sortedTtft = [...ttft].sort((a, b) => a - b);
  const sortedTpot = [...tpot].sort((a, b) => a - b);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  return {
    completed,
    durationSeconds: duration,
    requestsPerSecond: completed / duration,
    outputTokensPerSecond: outTokens / duration,
    totalTokensPerSecond: (outTokens + inTokens) / duration,
    meanTtftMs: mean(ttft) * 1e3,
    medianTtftMs: percentile(sortedTtft, 0.5) * 1e3,
    p95TtftMs: percentile(sortedTtft, 0.95) * 1e3,
    meanTpotMs: mean(tpot) * 1e3,
    p95TpotMs: percentile(sortedTpot, 0.95) * 1e3,
    meanItlMs: gapCount ? (gapSum / gapCount) * 1e3 : NaN,
    meanE2eMs: ttft.length ? (e2eSum / ttft.length) * 1e3 : NaN,
    steadyRequestsPerSecond: steadySpan > 0 ? steadyCount / steadySpan : completed / duration,
    steadyOutputTokensPerSecond: steadySpan > 0 ? steadyOut / steadySpan : outTokens / duration,
    steadyTotalTokensPerSecond: steadySpan > 0 ? steadyTotal / steadySpan : (outTokens + inTokens) / duration,
    meanBatch: steps ? batchSum / steps : 0,
    preemptions,
  };
}

/** The performance facts of a catalog GPU, or undefined when the catalog has none for it. */
export function performanceGpu(g: { id: string; computeCapability: number; memoryBandwidthGBps: number; performance?: Omit<PerformanceGpu, "id" | "computeCapability" | "memoryBandwidthGBps"> & { source?: string } }): PerformanceGpu | undefined {
  if (!g.performance) return undefined;
  const p = g.performance;
  return {
    id: g.id,
    computeCapability: g.computeCapability,
    memoryBandwidthGBps: g.memoryBandwidthGBps,
    bf16DenseTflops: p.bf16DenseTflops,
    fp16DenseTflops: p.fp16DenseTflops,
    fp8DenseTflops: p.fp8DenseTflops,
    int8DenseTops: p.int8DenseTops,
    gpuLink: p.gpuLink,
    gpuLinkGBps: p.gpuLinkGBps,
    ...(p.sustainedTensorFraction !== undefined ? { sustainedTensorFraction: p.sustainedTensorFraction } : {}),
  };
}

/** The replica as the sizing resolved it: dtype, quantization, KV cache and scheduler limits. */
export function replicaEngineOf(o: {
  readonly profile: ModelProfile;
  readonly gpu: PerformanceGpu;
  readonly sizing: Pick<SizingResult, "tensorParallel" | "pipelineParallel" | "dtype" | "kvBytesPerToken" | "kvCacheTokens" | "maxNumSeqs" | "maxNumBatchedTokens">;
  readonly engine: Pick<EngineProfile, "chunkedPrefill" | "asyncScheduling">;
  /** vLLM online quantization asked for an unquantized checkpoint. */
  readonly onlineQuantization?: OnlineQuantization;
}): ReplicaEngine {
  const s = o.sizing;
  const quantization: Quantization | undefined = o.profile.quantization ?? (o.onlineQuantization ? { method: "fp8", weightBits: 8, groupSize: 0, origin: "online" } : undefined);
  return {
    profile: o.profile,
    gpu: o.gpu,
    tensorParallel: s.tensorParallel,
    pipelineParallel: s.pipelineParallel,
    dtype: s.dtype,
    ...(quantization ? { quantization } : {}),
    kvBytesPerToken: s.kvBytesPerToken,
    kvCacheTokens: s.kvCacheTokens,
    maxNumSeqs: s.maxNumSeqs,
    maxNumBatchedTokens: s.maxNumBatchedTokens,
    chunkedPrefill: o.engine.chunkedPrefill,
    asyncScheduling: o.engine.asyncScheduling,
  };
}
