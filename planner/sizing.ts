/**
 * Memory fit exactly as vLLM budgets it at start-up (V1 Worker.determine_available_memory):
 *
 *   requested = CUDA-visible total × gpu_memory_utilization
 *   KV budget = requested − weights − activation peak of the profile run − non-torch memory [− CUDA graphs]
 *   blocks    = KV budget ÷ (16 tokens × KV bytes per token per GPU), tokens = blocks × 16
 *
 * computed per pipeline stage; the fullest stage bounds the whole replica.
 */
import { error, GiB, round, warning, type Finding } from "./findings";
import { DTYPE_BYTES, type Dtype, type ModelProfile, type Quantization } from "./model-profile";
import { estimateWeights, layersPerStage } from "./weights";
import type { EngineProfile } from "./engine";
import { GPUS } from "../catalog";
import { quantFindings } from "./quant-support";
import { checkLimitMmPerPrompt, encoderProfile, type LimitMmPerPrompt } from "./multimodal";
import { attentionBytesPerTokenPerLayer, BLOCK_SIZE, bytesPerRequest, kvBlocks, kvCacheLayout, loggedKvTokens, maxConcurrency as concurrencyOf, type KvCacheLayout } from "./kv-cache";

export { BLOCK_SIZE } from "./kv-cache";

export interface GpuFacts {
  readonly id: string;
  readonly deviceName: string;
  readonly cudaVisibleGiB: number;
  readonly computeCapability: number;
  readonly smCount: number;
  /** Memory shared with the CPU (GB10). @default false */
  readonly unifiedMemory?: boolean;
}

export type KvCacheDtype = "auto" | "fp8" | "fp8_e4m3" | "fp8_e5m2";
export type OnlineQuantization = "fp8";

export interface SizingInput {
  readonly profile: ModelProfile;
  readonly gpu: GpuFacts;
  readonly engine: EngineProfile;
  readonly tensorParallel: number;
  readonly pipelineParallel?: number;
  readonly maxModelLen: number;
  /** @default the engine's default (0.9 or 0.92 depending on the release) */
  readonly gpuMemoryUtilization?: number;
  /** `--dtype`; "auto" follows vLLM's resolution from the config. @default "auto" */
  readonly dtype?: Dtype | "auto";
  /** @default "auto" (the model dtype) */
  readonly kvCacheDtype?: KvCacheDtype;
  /** vLLM online quantization of an unquantized checkpoint (`--quantization fp8`). */
  readonly quantization?: OnlineQuantization;
  readonly maxNumSeqs?: number;
  readonly maxNumBatchedTokens?: number;
  /** Exact checkpoint bytes from safetensors headers, when known (replaces the config estimate's raw bytes). */
  readonly checkpointBytes?: number;
  /** GPUs one replica may use inside one node (for TP_EXCEEDS_NODE_GPUS). */
  readonly gpusPerNode?: number;
  /** Extra GPU memory each GPU must hold (LoRA adapters), in bytes. */
  readonly extraBytesPerGpu?: number;
  /**
   * `--enable-prefix-caching`. It changes the sizing only for Gated DeltaNet hybrids, whose states then take two
   * blocks per request ("align" mode). @default vLLM's: off for hybrid models, on for the rest
   */
  readonly enablePrefixCaching?: boolean;
  /**
   * `--kv-cache-memory-bytes`: the KV pool per GPU, fixed; vLLM then skips the memory profile and ignores
   * gpu_memory_utilization for the pool.
   */
  readonly kvCacheMemoryBytes?: number;
  /** `--limit-mm-per-prompt`: bounds the images vLLM profiles the vision encoder with. @default vLLM's: 999 of each modality */
  readonly limitMmPerPrompt?: LimitMmPerPrompt;
  /** FlashInfer is installed (it is in the vllm/vllm-openai images); without it some releases sample natively, which peaks higher. @default true */
  readonly flashInferInstalled?: boolean;
  /** Where findings point. */
  readonly path: string;
}

export interface SizingResult {
  readonly fits: boolean;
  readonly weightsGiB: number;
  readonly activationGiB: number;
  readonly nonTorchGiB: number;
  readonly cudaGraphGiB: number;
  readonly overheadGiB: number;
  readonly requestedGiB: number;
  readonly kvCacheGiB: number;
  /** "GPU KV cache size" as the release prints it. */
  readonly kvCacheTokens: number;
  /** Blocks in the KV pool, and tokens per attention block (16, or larger for recurrent hybrids). */
  readonly kvCacheBlocks: number;
  readonly kvBlockSize: number;
  /** Attention KV bytes per token per GPU (full and sliding layers). */
  readonly kvBytesPerToken: number;
  /** Recurrent state of one request per GPU (Gated DeltaNet layers), before padding to the block page. */
  readonly stateBytesPerRequest: number;
  readonly maxConcurrency: number;
  readonly tensorParallel: number;
  readonly pipelineParallel: number;
  readonly gpuMemoryUtilization: number;
  readonly dtype: Dtype;
  readonly kvCacheDtype: KvCacheDtype;
  readonly maxNumSeqs: number;
  readonly maxNumBatchedTokens: number;
  /** The longest context that would fit with this memory, in tokens (vLLM's "estimated maximum model length"). */
  readonly estimatedMaxModelLen: number;
  readonly errors: readonly Finding[];
  readonly warnings: readonly Finding[];
}

/** vLLM's derived max_model_len: max_position_embeddings, less the 2 padding positions of RoBERTa-style encoders. */
export function derivedMaxModelLen(p: ModelProfile): number {
  return p.modelType === "xlm-roberta" || p.modelType === "roberta" ? p.maxPositionEmbeddings - 2 : p.maxPositionEmbeddings;
}

/**
 * Why vLLM refuses a tensor-parallel size for this model, or undefined when it accepts it. The
 * attention heads are split across ranks (ModelConfig.verify_with_parallel_config), and so are the KV
 * heads: fewer ranks than KV heads must divide them, more ranks must be a whole multiple of them,
 * each KV head then replicated on TP ÷ KV-heads ranks (QKVParallelLinear, `divide()` asserts
 * "<a> is not divisible by <b>"). MLA models have one latent KV head shared by every rank.
 */
export function tensorParallelProblem(p: ModelProfile, tp: number): { problem: string; why: string } | undefined {
  if (!Number.isInteger(tp) || tp < 1) return { problem: `tensorParallel ${JSON.stringify(tp)} is not a whole number of GPUs`, why: "it is how many GPUs share each layer" };
  if (p.numHeads % tp !== 0) {
    return { problem: `tensorParallel ${tp} does not divide the model's ${p.numHeads} attention heads`, why: `vLLM: "Total number of attention heads (${p.numHeads}) must be divisible by tensor parallel size (${tp})."` };
  }
  if (p.attention === "mla") return undefined;
  const kv = p.numKvHeads;
  if (tp < kv && kv % tp !== 0) {
    return { problem: `tensorParallel ${tp} does not divide the model's ${kv} KV heads (its ${p.numHeads} attention heads are fine)`, why: `vLLM splits the KV heads evenly across tensor-parallel ranks and stops with "${kv} is not divisible by ${tp}"` };
  }
  if (tp > kv && tp % kv !== 0) {
    return { problem: `tensorParallel ${tp} is not a multiple of the model's ${kv} KV heads (its ${p.numHeads} attention heads are fine)`, why: `with more ranks than KV heads vLLM gives each KV head to TP ÷ ${kv} ranks, which must be whole, and stops with "${tp} is not divisible by ${kv}"` };
  }
  return undefined;
}

/** Valid tensor-parallel sizes for a model: divide the attention heads and fit vLLM's KV-head split. */
export function validTensorParallel(p: ModelProfile, tp: number): boolean {
  return tensorParallelProblem(p, tp) === undefined;
}

export function tensorParallelChoices(p: ModelProfile, upTo = 8): number[] {
  return [1, 2, 4, 8].filter((tp) => tp <= upTo && validTensorParallel(p, tp));
}

function resolveDtype(p: ModelProfile, requested: Dtype | "auto", gpu: GpuFacts, path: string, errors: Finding[], warnings: Finding[]): Dtype {
  const bf16 = gpu.computeCapability >= 8.0;
  if (requested !== "auto") {
    if (requested === "bfloat16" && !bf16) {
      errors.push(
        error("DTYPE_UNSUPPORTED_ON_GPU", path, {
          field: "dtype",
          problem: `dtype "bfloat16" on ${gpu.id} (compute capability ${gpu.computeCapability.toFixed(1)})`,
          why: `vLLM: "Bfloat16 is only supported on GPUs with compute capability of at least 8.0. Your ${gpu.deviceName} GPU has compute capability ${gpu.computeCapability.toFixed(1)}"`,
          fix: 'set dtype "float16", or choose an Ampere or newer GPU (A10G, L4, L40S, A100, H100, H200, B200)',
        }),
      );
    }
    return requested;
  }
  const encoder = p.attention === "encoder-only";
  // vLLM keeps float32 for pooling models and serves float32 generative checkpoints in 16-bit.
  if (p.dtype === "float32") return encoder ? "float32" : bf16 ? "bfloat16" : "float16";
  if (p.dtype === "bfloat16" && !bf16) {
    warnings.push(
      warning("DTYPE_DOWNCAST", path, {
        field: "dtype",
        problem: `${gpu.id} has no bfloat16, so vLLM serves this bfloat16 checkpoint in float16`,
        why: "float16 has a narrower range; a few models overflow in it",
        fix: "check output quality, or choose an Ampere or newer GPU",
      }),
    );
    return "float16";
  }
  return p.dtype;
}

function onlineQuantization(q: OnlineQuantization | undefined, p: ModelProfile, path: string, errors: Finding[]): Quantization | undefined {
  if (!q) return p.quantization;
  if (p.quantization) {
    errors.push(
      error("QUANTIZATION_CONFLICT", path, {
        field: "quantization",
        problem: `--quantization ${q} was asked for a checkpoint that is already ${p.quantization.method}`,
        why: "vLLM reads the checkpoint's own quantization_config and refuses a different online method",
        fix: "drop the quantization option, or start from the unquantized checkpoint",
      }),
    );
    return p.quantization;
  }
  return { method: "fp8", weightBits: 8, groupSize: 0, origin: "online" };
}

/** Peak transient memory of the profile run on one GPU of stage `stage`, in bytes. */
export function activationPeakBytes(
  p: ModelProfile,
  o: { tp: number; pp: number; stage: number; tokens: number; seqs: number; dtype: Dtype; engine: EngineProfile; smCount: number; maxModelLen?: number; limits?: LimitMmPerPrompt; flashInfer?: boolean },
): number {
  const b = DTYPE_BYTES[o.dtype];
  const h = p.hiddenSize;
  const n = o.tokens;
  const tp = o.tp;
  const residual = 2 * n * h * b; // hidden states and residual stream, alive across every layer
  const qHeads = p.numHeads * (p.attentionOutputGate ? 2 : 1);
  const qkvOut = ((qHeads / tp) * p.headDim + 2 * Math.max(1, Math.floor(p.numKvHeads / tp)) * p.headDim) * n * b;
  const attnOut = ((p.numHeads / tp) * p.headDim) * n * b;
  const attention = residual + qkvOut + attnOut;
  let linear = 0;
  if (p.linearAttention) {
    // Gated DeltaNet in the profile run: the recurrent kernels are skipped (no attention metadata), so the peak is the
    // fused q/k/v/z projection, the b/a gates and the core output buffer with its gated-norm copy.
    const la = p.linearAttention;
    const keyDim = (la.numKeyHeads * la.keyHeadDim) / tp;
    const valueDim = (la.numValueHeads * la.valueHeadDim) / tp;
    linear = residual + n * b * (2 * keyDim + 2 * valueDim + (2 * la.numValueHeads) / tp + 2 * valueDim);
  }
  let mlp: number;
  if (p.moe) {
    // fused_moe: w13 output and the activated output for every routed (token, expert) pair, then the weighted sum.
    const k = p.moe.expertsPerToken;
    const i = p.moe.expertIntermediateSize / tp;
    mlp = residual + n * k * (2 * i + i) * b + n * k * h * b + n * h * b;
  } else {
    // vLLM's MLP keeps the gate_up output referenced while down_proj writes its result:
    // gate_up (2I) + activated (I) + down output (h), on top of the residual stream.
    const i = p.intermediateSize / tp;
    mlp = residual + (p.gatedMlp ? 3 * i : 2 * i) * n * b + n * h * b;
  }
  let peak = Math.max(attention, linear, mlp);
  if (o.pp > 1 && o.stage < o.pp - 1) peak += 2 * n * h * b; // buffers sent to the next stage
  const lastStage = o.stage === o.pp - 1;
  const generative = p.attention !== "encoder-only" && p.classifierLabels === 0;
  if (generative && lastStage) {
    // Sampler warm-up over R = min(tokens, max_num_seqs) requests and the full (all-gathered) vocabulary:
    // logits in the model dtype, float32 copies (logits, probs, exponential noise), the top-k/top-p
    // kernel's per-SM rows, while the dummy run's hidden states are still referenced.
    const requests = Math.min(n, o.seqs);
    const runner = o.engine.runner(p, { flashInfer: o.flashInfer ?? true });
    const perSm = runner.samplerTopKTopPBufferPerSm ? Math.min(o.smCount, requests) * p.vocabSize * 4 : 0;
    const sampler = requests * p.vocabSize * (b + 4 * runner.samplerFloat32CopiesPerLogit) + perSm + n * h * b;
    peak = Math.max(peak, sampler);
  }
  const enc = p.vision && o.stage === 0 ? encoderProfile(p, { maxNumBatchedTokens: n, maxNumSeqs: o.seqs, maxModelLen: o.maxModelLen ?? n, ...(o.limits ? { limits: o.limits } : {}) }) : undefined;
  if (p.vision && enc) {
    const v = p.vision;
    const tokens = enc.items * enc.tokensPerItem;
    // The dummy images' embeddings stay in the encoder cache during the language model's dummy run (Qwen3-VL also keeps
    // one set per deepstack layer).
    const embeddings = tokens * h * b * (1 + v.deepstackLayers);
    peak += embeddings;
    // The encoder forward itself: every patch of every image through the ViT (hidden + residual, the MLP's
    // up-projection and activation), with the pixel values as input.
    const patches = enc.items * enc.patchesPerItem;
    const pixels = patches * v.inChannels * v.temporalPatchSize * v.patchSize * v.patchSize * b;
    const vision = pixels + patches * b * (2 * v.hiddenSize + (2 * v.intermediateSize) / tp) + embeddings;
    peak = Math.max(peak, vision);
  }
  return peak;
}

/** Memory outside PyTorch's allocator that grows after vLLM's baseline snapshot: cuBLAS workspaces, NCCL communicators. */
export function nonTorchBytes(engine: EngineProfile, tp: number): number {
  return (engine.nonTorchBaseGiB + (tp > 1 ? engine.tensorParallelCommGiB : 0)) * GiB;
}

/** KV bytes per token per GPU over `layers` attention layers (MLA's latent is replicated, not split by TP). */
export function kvBytesPerTokenPerGpu(p: ModelProfile, tp: number, layers: number, kvBytes: number): number {
  return layers * attentionBytesPerTokenPerLayer(p, tp, kvBytes);
}

export function size(input: SizingInput): SizingResult {
  const p = input.profile;
  const path = input.path;
  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  const tp = input.tensorParallel;
  const pp = input.pipelineParallel ?? 1;
  const engine = input.engine;
  const util = input.gpuMemoryUtilization ?? engine.gpuMemoryUtilization;
  const maxLen = input.maxModelLen;

  if (!(util > 0 && util <= 1)) {
    errors.push(error("GPU_MEM_UTIL_RANGE", path, { field: "gpuMemoryUtilization", problem: `gpuMemoryUtilization ${util} is outside (0, 1]`, why: "it is the fraction of each GPU's memory vLLM may use", fix: "use 0.85–0.95; 0.9 is vLLM's default" }));
  }
  if (!Number.isInteger(maxLen) || maxLen <= 0) {
    errors.push(error("MAX_MODEL_LEN_INVALID", path, { field: "maxModelLen", problem: `maxModelLen must be a positive integer number of tokens (got ${JSON.stringify(maxLen)})`, why: "vLLM sizes the KV cache for one request of this length", fix: "for example 8192" }));
  }
  const derived = derivedMaxModelLen(p);
  if (Number.isInteger(maxLen) && maxLen > derived) {
    errors.push(
      error("MAX_MODEL_LEN_EXCEEDS_MODEL", path, {
        field: "maxModelLen",
        problem: `maxModelLen ${maxLen} is greater than the model's ${derived} (max_position_embeddings in config.json)`,
        why: `vLLM refuses: "User-specified max_model_len (${maxLen}) is greater than the derived max_model_len" unless VLLM_ALLOW_LONG_MAX_MODEL_LEN=1, and outputs past the trained length are unreliable`,
        fix: `set maxModelLen ≤ ${derived}`,
      }),
    );
  }
  const tpProblem = tensorParallelProblem(p, tp);
  if (tpProblem) {
    const valid = tensorParallelChoices(p, 64);
    errors.push(error("TP_NOT_DIVISOR", path, { field: "tensorParallel", ...tpProblem, fix: `use one of: ${valid.join(", ") || "1"}` }));
  }
  if (!Number.isInteger(pp) || pp < 1 || pp > p.numLayers) {
    errors.push(error("PP_INVALID", path, { field: "pipelineParallel", problem: `pipeline parallel size ${pp} is not between 1 and the model's ${p.numLayers} layers`, why: "each stage must hold at least one layer", fix: "use 1, or the number of nodes of a multi-node replica" }));
  }
  if (input.gpusPerNode !== undefined && tp > input.gpusPerNode) {
    errors.push(
      error("TP_EXCEEDS_NODE_GPUS", path, {
        field: "tensorParallel",
        problem: `tensor parallel size ${tp} needs ${tp} GPUs in one node but the node has ${input.gpusPerNode}`,
        why: "tensor-parallel ranks exchange activations every layer and must share a node",
        fix: `use tensorParallel ≤ ${input.gpusPerNode}, or a larger node`,
      }),
    );
  }
  const kvDtype = input.kvCacheDtype ?? "auto";
  if (kvDtype !== "auto" && input.gpu.computeCapability < 8.0) {
    errors.push(error("KV_CACHE_DTYPE_UNSUPPORTED_ON_GPU", path, { field: "kvCacheDtype", problem: `kvCacheDtype "${kvDtype}" on ${input.gpu.id} (compute capability ${input.gpu.computeCapability.toFixed(1)})`, why: "vLLM's fp8 KV-cache kernels need compute capability 8.0 or newer", fix: 'use kvCacheDtype "auto"' }));
  }
  errors.push(...checkLimitMmPerPrompt(input.limitMmPerPrompt, p, path));
  if (p.unsizedVisionTower) {
    warnings.push(
      warning("VISION_TOWER_NOT_SIZED", path, {
        field: "config.json vision_config",
        problem: `the vision encoder "${p.unsizedVisionTower}" is not one the planner lays out, so its weights and vLLM's start-up image profile are not counted`,
        why: "the planner knows the Qwen-VL, Gemma 3 SigLIP, Llama 4 and Pixtral towers; others typically add 0.4–1 B parameters and a profile of a few GiB",
        fix: "leave headroom (a lower gpuMemoryUtilization), or set limitMmPerPrompt to { image: 0 } if you serve text only",
      }),
    );
  }
  const dtype = resolveDtype(p, input.dtype ?? "auto", input.gpu, path, errors, warnings);
  const quant = onlineQuantization(input.quantization, p, path, errors);
  // The release decides which GPUs run the format: refused below its minimum capability, Marlin-emulated in between.
  for (const f of quantFindings(quant, input.gpu, engine.version, GPUS, path)) (f.severity === "error" ? errors : warnings).push(f);

  const batch = engine.batchDefaults(input.gpu, maxLen);
  const maxNumSeqs = input.maxNumSeqs ?? batch.maxNumSeqs;
  const maxNumBatchedTokens = input.maxNumBatchedTokens ?? batch.maxNumBatchedTokens;
  const safeTp = errors.some((e) => e.code === "TP_NOT_DIVISOR") ? 1 : tp;
  const safePp = Number.isInteger(pp) && pp >= 1 && pp <= p.numLayers ? pp : 1;

  const weights = estimateWeights(p, { tp: safeTp, pp: safePp, dtype, ...(quant ? { quantization: quant } : {}) });
  // With exact checkpoint bytes (safetensors headers), scale the layout estimate to them: the layout
  // still decides how the bytes split across ranks and stages.
  const rawEstimate = estimateWeights(p, { tp: 1, pp: 1, dtype, onGpu: false, ...(quant ? { quantization: quant } : {}) }).bytesPerGpu;
  const scale = input.checkpointBytes && !input.quantization && dtype === p.dtype ? input.checkpointBytes / rawEstimate : 1;

  const requested = input.gpu.cudaVisibleGiB * GiB * util;
  const kvBytes = kvDtype === "auto" ? DTYPE_BYTES[dtype] : 1;
  const stageLayers = layersPerStage(p.numLayers, safePp);
  const tokens = maxNumBatchedTokens;
  const nonTorch = nonTorchBytes(engine, safeTp);
  const encoderOnly = p.attention === "encoder-only";
  const safeLen = Number.isInteger(maxLen) && maxLen > 0 ? maxLen : 1;
  const prefixCaching = input.enablePrefixCaching ?? !p.linearAttention;
  const layoutFor = (firstLayer: number, layers: number, len: number): KvCacheLayout =>
    kvCacheLayout(p, { tp: safeTp, firstLayer, layers, kvBytes, modelDtype: dtype, maxModelLen: len, maxNumBatchedTokens, hybridKvCacheManager: engine.hybridKvCacheManager, prefixCaching });

  let firstLayer = 0;
  const stageFacts = stageLayers.map((layers, s) => {
    const w = weights.bytesPerStage[s] * scale + (input.extraBytesPerGpu ?? 0);
    const graphs = engine.cudaGraphBytes(p, layers, maxNumSeqs);
    const act = activationPeakBytes(p, { tp: safeTp, pp: safePp, stage: s, tokens, seqs: maxNumSeqs, dtype, engine, smCount: input.gpu.smCount, maxModelLen: safeLen, ...(input.limitMmPerPrompt ? { limits: input.limitMmPerPrompt } : {}), flashInfer: input.flashInferInstalled ?? true });
    const available = input.kvCacheMemoryBytes ?? requested - w - act - nonTorch - graphs;
    const layout = layoutFor(firstLayer, layers, safeLen);
    const first = firstLayer;
    firstLayer += layers;
    // Encoder-only models have no KV cache: any memory left over just goes unused.
    const blocks = encoderOnly ? (available > 0 ? Infinity : 0) : kvBlocks(layout, available);
    return { w, act, available, layout, graphs, blocks, first, layers };
  });
  // The stage with the fewest blocks bounds the replica (vLLM takes the minimum over workers).
  let bottleneck = 0;
  stageFacts.forEach((f, s) => {
    const best = stageFacts[bottleneck];
    if (f.blocks < best.blocks || (f.blocks === best.blocks && f.available < best.available)) bottleneck = s;
  });
  const b = stageFacts[bottleneck];
  const minBlocks = b.blocks;
  const kvTokens = encoderOnly || !Number.isFinite(minBlocks) ? 0 : loggedKvTokens(b.layout, minBlocks, safeLen, engine.kvTokensLogged);
  // vLLM's "estimated maximum model length": the longest request whose blocks fit what every stage has left.
  const fitsLen = (len: number) => stageFacts.every((f) => bytesPerRequest(layoutFor(f.first, f.layers, len)) <= f.available);
  let estimatedMaxModelLen = derived;
  if (!encoderOnly && !fitsLen(derived)) {
    let lo = 0;
    let hi = derived;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (fitsLen(mid)) lo = mid;
      else hi = mid;
    }
    estimatedMaxModelLen = lo;
  }

  const maxConcurrency = encoderOnly ? (b.available > 0 ? maxNumSeqs : 0) : Number.isFinite(minBlocks) ? concurrencyOf(b.layout, minBlocks) : 0;
  if (input.gpu.unifiedMemory) {
    warnings.push(
      warning("KV_BUDGET_SHARED_WITH_HOST", path, {
        field: "gpu",
        problem: `${input.gpu.id} shares its memory with the CPU, so the KV cache vLLM allocates depends on what the host uses while it starts`,
        why: "on an integrated GPU vLLM takes free memory from the host's available RAM (vllm/utils/mem_utils.py), so RAM the host and the start-up itself use counts as non-torch memory; published DGX Spark logs show the pool moving by tens of percent between boots with the same flags",
        fix: "leave headroom below this estimate, or pin the pool with --kv-cache-memory-bytes after reading one start-up log",
      }),
    );
  }
  const weightsGiB = b.w / GiB;
  if (errors.length === 0) {
    const short = stageFacts.find((f) => !encoderOnly && f.available > 0 && bytesPerRequest(f.layout) > f.available);
    if (b.available <= 0) {
      errors.push(
        error("MODEL_DOES_NOT_FIT", path, {
          problem: `the weights alone need ${round(weightsGiB)} GiB per GPU and the start-up peaks ${round((b.act + nonTorch + b.graphs) / GiB)} GiB more, but ${tp * pp} × ${input.gpu.id} at ${util} utilisation give ${round(requested / GiB)} GiB per GPU`,
          why: 'vLLM: "No available memory for the cache blocks. Try increasing `gpu_memory_utilization` when initializing the engine."',
          fix: "use more or larger GPUs (a higher tensor parallel size), or a quantized checkpoint (fp8, AWQ, GPTQ)",
        }),
      );
    } else if (short) {
      const neededGiB = bytesPerRequest(short.layout) / GiB;
      const left = round(Math.max(0, short.available) / GiB);
      errors.push(
        error("MODEL_DOES_NOT_FIT", path, {
          field: "maxModelLen",
          problem: `one request of maxModelLen ${maxLen} tokens needs ${round(neededGiB)} GiB of KV cache per GPU, but only ${left} GiB is left after the weights (${round(short.w / GiB)} GiB)`,
          why: `vLLM refuses to start: "To serve at least one request with the models's max seq len (${maxLen}), (${round(neededGiB)} GiB KV cache is needed, which is larger than the available KV cache memory (${left} GiB). Based on the available memory, the estimated maximum model length is ${estimatedMaxModelLen}."`,
          fix: `lower maxModelLen to ≤ ${Math.floor(estimatedMaxModelLen / BLOCK_SIZE) * BLOCK_SIZE}, raise gpuMemoryUtilization, use kvCacheDtype "fp8", or more or larger GPUs`,
        }),
      );
    }
  }
  return {
    fits: errors.length === 0,
    weightsGiB: round(weightsGiB),
    activationGiB: round(b.act / GiB),
    nonTorchGiB: round(nonTorch / GiB),
    cudaGraphGiB: round(b.graphs / GiB),
    overheadGiB: round((b.act + nonTorch + b.graphs) / GiB),
    requestedGiB: round(requested / GiB),
    kvCacheGiB: round(Math.max(0, b.available) / GiB),
    kvCacheTokens: kvTokens,
    kvCacheBlocks: encoderOnly || !Number.isFinite(minBlocks) ? 0 : minBlocks,
    kvBlockSize: b.layout.blockSize,
    kvBytesPerToken: encoderOnly ? 0 : b.layout.attentionBytesPerToken,
    stateBytesPerRequest: b.layout.stateBytesPerRequest,
    maxConcurrency: round(maxConcurrency),
    tensorParallel: tp,
    pipelineParallel: pp,
    gpuMemoryUtilization: util,
    dtype,
    kvCacheDtype: kvDtype,
    maxNumSeqs,
    maxNumBatchedTokens,
    estimatedMaxModelLen,
    errors,
    warnings,
  };
}

/**
 * KV tokens one request of maxModelLen occupies. Sliding-window layers keep only the window (plus one
 * scheduling chunk) of it, so a model whose layers are all windowed needs less than maxModelLen.
 */
export function perRequestKvTokens(p: ModelProfile, maxLen: number, batchedTokens: number): number {
  if (p.attention === "encoder-only") return 0;
  if (p.slidingWindowLayers === 0) return maxLen;
  const windowTokens = Math.min(maxLen, (Math.ceil(Math.min(p.slidingWindow - 1 + batchedTokens, maxLen) / BLOCK_SIZE) + 1) * BLOCK_SIZE);
  const full = p.numLayers - p.slidingWindowLayers;
  return (full * maxLen + p.slidingWindowLayers * windowTokens) / p.numLayers;
}
