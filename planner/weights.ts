/**
 * Weights per GPU, the way vLLM lays them out: fused qkv and gate_up projections, vocabulary padded
 * to 64 rows and split across tensor-parallel ranks, KV heads replicated when TP exceeds them, layers
 * split across pipeline stages, and each tensor allocated through PyTorch's caching allocator (a large
 * block is not split when less than 1 MiB would remain, so that remainder is counted as used).
 */
import { MiB } from "./findings";
import { DTYPE_BYTES, type Dtype, type ModelProfile, type Quantization } from "./model-profile";

type Shard = "none" | "col" | "row" | "vocab";
/** "layer" repeats in every layer (every MoE layer, for MoE tensors); "dense" only in the leading dense layers. */
type Stage = "first" | "layer" | "dense" | "last" | "all";

interface Tensor {
  readonly name: string;
  readonly rows: number;
  readonly cols: number;
  /** Replicated tensors are whole on every rank; col/row/vocab are split across TP ranks. */
  readonly shard: Shard;
  readonly stage: Stage;
  /** A Linear weight that a weight-quantization format packs. */
  readonly quantizable: boolean;
  /** Number of identical copies (experts). */
  readonly copies?: number;
  /** In a hybrid model, which layers hold it: attention layers (full or sliding) or Gated DeltaNet layers. @default every layer */
  readonly only?: "attention" | "linear";
}

const VOCAB_PADDING = 64;
const padVocab = (v: number) => Math.ceil(v / VOCAB_PADDING) * VOCAB_PADDING;
const LAYER_NORM_TYPES = new Set(["phi", "falcon", "bert", "roberta", "xlm-roberta", "gpt2", "gpt_neox", "bloom", "gptj"]);

/** The model's tensors, whole (before tensor-parallel splitting). Heads are kept per rank below. */
function tensors(p: ModelProfile, tp: number, pp = 1): Tensor[] {
  const h = p.hiddenSize;
  const out: Tensor[] = [];
  const layerNorm = LAYER_NORM_TYPES.has(p.modelType);
  const norm = (name: string, stage: Stage, n = h) => {
    out.push({ name, rows: 1, cols: n, shard: "none", stage, quantizable: false });
    if (layerNorm) out.push({ name: `${name}.bias`, rows: 1, cols: n, shard: "none", stage, quantizable: false });
  };
  const encoder = p.attention === "encoder-only";

  out.push({ name: "embed_tokens", rows: padVocab(p.vocabSize), cols: h, shard: "vocab", stage: "first", quantizable: false });
  if (encoder) {
    const positions = p.maxPositionEmbeddings;
    out.push({ name: "position_embeddings", rows: positions, cols: h, shard: "none", stage: "first", quantizable: false });
    out.push({ name: "token_type_embeddings", rows: p.modelType === "bert" ? 2 : 1, cols: h, shard: "none", stage: "first", quantizable: false });
    norm("embeddings.LayerNorm", "first");
  }

  // Per-rank head counts: KV heads are replicated when TP exceeds them (vLLM QKVParallelLinear).
  const qHeads = p.numHeads;
  const kvPerRank = Math.max(1, Math.floor(p.numKvHeads / tp));
  const oBias = p.mlpBias; // models with biased Linear layers bias the output projection too
  if (p.mla) {
    const ropeDim = p.mla.qkRopeHeadDim;
    const nope = p.headDim; // qk_nope_head_dim is carried as headDim for MLA models
    out.push({ name: "q_proj", rows: qHeads * (nope + ropeDim), cols: h, shard: "col", stage: "layer", quantizable: true });
    out.push({ name: "kv_a_proj_with_mqa", rows: p.mla.kvLoraRank + ropeDim, cols: h, shard: "none", stage: "layer", quantizable: true });
    out.push({ name: "kv_a_layernorm", rows: 1, cols: p.mla.kvLoraRank, shard: "none", stage: "layer", quantizable: false });
    out.push({ name: "kv_b_proj", rows: qHeads * (nope + nope), cols: p.mla.kvLoraRank, shard: "col", stage: "layer", quantizable: true });
    out.push({ name: "o_proj", rows: h, cols: qHeads * nope, shard: "row", stage: "layer", quantizable: true });
  } else {
    const attention = p.linearAttention ? ("attention" as const) : undefined;
    const at = attention ? { only: attention } : {};
    // Gated attention doubles q_proj: every query head also produces its output gate.
    const q = qHeads * (p.attentionOutputGate ? 2 : 1);
    // Stored per rank to express replication exactly: (q heads / tp + 2 × kv heads per rank) × head_dim.
    out.push({ name: "qkv_proj", rows: (q + 2 * kvPerRank * tp) * p.headDim, cols: h, shard: "col", stage: "layer", quantizable: true, ...at });
    if (p.attentionBias) out.push({ name: "qkv_proj.bias", rows: 1, cols: (q + 2 * kvPerRank * tp) * p.headDim, shard: "none", stage: "layer", quantizable: false, ...at });
    out.push({ name: "o_proj", rows: h, cols: qHeads * p.headDim, shard: "row", stage: "layer", quantizable: true, ...at });
    if (oBias) out.push({ name: "o_proj.bias", rows: 1, cols: h, shard: "none", stage: "layer", quantizable: false, ...at });
    if (p.qkNorm) out.push({ name: "qk_norm", rows: 2, cols: p.headDim, shard: "none", stage: "layer", quantizable: false, ...at });
  }
  if (p.linearAttention) {
    // Gated DeltaNet (vLLM Qwen3NextGatedDeltaNet): fused q/k/v/z and b/a input projections, a depthwise causal
    // conv over q/k/v, per-head A_log and dt_bias, a gated RMSNorm over the value head and the output projection.
    const la = p.linearAttention;
    const keyDim = la.numKeyHeads * la.keyHeadDim;
    const valueDim = la.numValueHeads * la.valueHeadDim;
    const lin = { stage: "layer" as const, only: "linear" as const };
    out.push({ name: "linear_attn.in_proj_qkvz", rows: 2 * keyDim + 2 * valueDim, cols: h, shard: "col", quantizable: true, ...lin });
    out.push({ name: "linear_attn.in_proj_ba", rows: 2 * la.numValueHeads, cols: h, shard: "col", quantizable: false, ...lin });
    out.push({ name: "linear_attn.conv1d", rows: 2 * keyDim + valueDim, cols: la.convKernel, shard: "col", quantizable: false, ...lin });
    out.push({ name: "linear_attn.A_log_dt_bias", rows: 2, cols: la.numValueHeads, shard: "row", quantizable: false, ...lin });
    out.push({ name: "linear_attn.norm", rows: 1, cols: la.valueHeadDim, shard: "none", quantizable: false, ...lin });
    out.push({ name: "linear_attn.out_proj", rows: h, cols: valueDim, shard: "row", quantizable: true, ...lin });
  }

  if (p.moe && p.moe.denseLayers > 0) {
    // DeepSeek-style leading dense layers: a gated MLP of intermediate_size instead of experts.
    out.push({ name: "dense.gate_up_proj", rows: 2 * p.intermediateSize, cols: h, shard: "col", stage: "dense", quantizable: true });
    out.push({ name: "dense.down_proj", rows: h, cols: p.intermediateSize, shard: "row", stage: "dense", quantizable: true });
  }
  if (p.modelType === "gpt_oss") {
    // gpt-oss: attention sinks (one logit per head), biased router and biased experts.
    out.push({ name: "sinks", rows: 1, cols: qHeads, shard: "none", stage: "layer", quantizable: false });
    if (!oBias) out.push({ name: "o_proj.bias", rows: 1, cols: h, shard: "none", stage: "layer", quantizable: false });
    if (p.moe) {
      out.push({ name: "router.bias", rows: 1, cols: p.moe.experts, shard: "none", stage: "layer", quantizable: false });
      out.push({ name: "experts.w13.bias", rows: 1, cols: 2 * p.moe.expertIntermediateSize, shard: "none", stage: "layer", quantizable: false, copies: p.moe.experts });
      out.push({ name: "experts.w2.bias", rows: 1, cols: h, shard: "none", stage: "layer", quantizable: false, copies: p.moe.experts });
    }
  }
  if (p.moe) {
    const e = p.moe;
    out.push({ name: "router", rows: e.experts, cols: h, shard: "none", stage: "layer", quantizable: false });
    out.push({ name: "experts.w13", rows: 2 * e.expertIntermediateSize, cols: h, shard: "col", stage: "layer", quantizable: true, copies: e.experts });
    out.push({ name: "experts.w2", rows: h, cols: e.expertIntermediateSize, shard: "row", stage: "layer", quantizable: true, copies: e.experts });
    if (e.sharedExpertIntermediateSize > 0) {
      out.push({ name: "shared_expert.gate_up", rows: 2 * e.sharedExpertIntermediateSize, cols: h, shard: "col", stage: "layer", quantizable: true });
      out.push({ name: "shared_expert.down", rows: h, cols: e.sharedExpertIntermediateSize, shard: "row", stage: "layer", quantizable: true });
      // Qwen2-MoE/Qwen3-Next scale the shared expert by a sigmoid gate, one [1, hidden] Linear per layer.
      if (p.modelType.startsWith("qwen")) out.push({ name: "shared_expert_gate", rows: 1, cols: h, shard: "none", stage: "layer", quantizable: false });
    }
  } else if (p.gatedMlp) {
    out.push({ name: "gate_up_proj", rows: 2 * p.intermediateSize, cols: h, shard: "col", stage: "layer", quantizable: true });
    out.push({ name: "down_proj", rows: h, cols: p.intermediateSize, shard: "row", stage: "layer", quantizable: true });
  } else {
    out.push({ name: "fc1", rows: p.intermediateSize, cols: h, shard: "col", stage: "layer", quantizable: true });
    out.push({ name: "fc2", rows: h, cols: p.intermediateSize, shard: "row", stage: "layer", quantizable: true });
  }
  if (p.mlpBias && !p.moe) {
    out.push({ name: "fc1.bias", rows: 1, cols: p.gatedMlp ? 2 * p.intermediateSize : p.intermediateSize, shard: "none", stage: "layer", quantizable: false });
    out.push({ name: "fc2.bias", rows: 1, cols: h, shard: "none", stage: "layer", quantizable: false });
  }
  for (let i = 0; i < p.normsPerLayer; i++) norm(`layer_norm_${i}`, "layer");

  if (!encoder) norm("final_norm", "last");
  const generative = !encoder && p.classifierLabels === 0;
  // With tied embeddings the last pipeline stage still needs the vocabulary matrix for lm_head.
  if (generative && (!p.tiedEmbeddings || pp > 1)) {
    out.push({ name: "lm_head", rows: padVocab(p.vocabSize), cols: h, shard: "vocab", stage: "last", quantizable: p.quantization?.lmHead === true });
    if (p.modelType === "phi") out.push({ name: "lm_head.bias", rows: 1, cols: padVocab(p.vocabSize), shard: "vocab", stage: "last", quantizable: false });
  }
  if (p.modelType === "bert" && p.classifierLabels === 0) {
    out.push({ name: "pooler.dense", rows: h, cols: h, shard: "none", stage: "last", quantizable: false });
    out.push({ name: "pooler.bias", rows: 1, cols: h, shard: "none", stage: "last", quantizable: false });
  }
  if (p.classifierLabels > 0) {
    out.push({ name: "classifier.dense", rows: h, cols: h, shard: "none", stage: "last", quantizable: false });
    out.push({ name: "classifier.dense.bias", rows: 1, cols: h, shard: "none", stage: "last", quantizable: false });
    out.push({ name: "classifier.out_proj", rows: p.classifierLabels, cols: h, shard: "none", stage: "last", quantizable: false });
    out.push({ name: "classifier.out_proj.bias", rows: 1, cols: p.classifierLabels, shard: "none", stage: "last", quantizable: false });
  }

  if (p.vision) visionTensors(p, out);
  return out;
}

/**
 * The vision encoder and projector, whole on the first pipeline stage. vLLM shards the Qwen-VL towers' qkv/MLP across
 * TP ranks (col/row); the other towers are counted replicated (a bound: vLLM splits some of their Linears too).
 */
function visionTensors(p: ModelProfile, out: Tensor[]): void {
  const v = p.vision!;
  const d = v.hiddenSize;
  const i = v.intermediateSize;
  const h = p.hiddenSize;
  const add = (name: string, rows: number, cols: number, copies = 1, shard: Shard = "none") => out.push({ name: `vision.${name}`, rows, cols, shard, stage: "first", quantizable: false, copies });
  /** A Linear [rows, cols], with its bias when `bias`. */
  const linear = (name: string, rows: number, cols: number, bias: boolean, copies = 1, shard: Shard = "none") => {
    add(name, rows, cols, copies, shard);
    if (bias) add(`${name}.bias`, 1, rows, copies);
  };
  const merged = d * v.spatialMergeSize * v.spatialMergeSize;
  const blocks = v.depth;
  switch (v.kind) {
    case "siglip":
      // SigLIP: conv patch embedding, learned positions, pre-norm blocks with biased q/k/v/o and fc1/fc2, a post-layernorm,
      // then Gemma 3's projector (soft-embedding RMSNorm + a [vision, text] projection).
      linear("patch_embedding", d, v.inChannels * v.patchSize * v.patchSize, true);
      add("position_embedding", v.positionEmbeddings, d);
      for (const [name, rows, cols] of [["q", d, d], ["k", d, d], ["v", d, d], ["o", d, d], ["fc1", i, d], ["fc2", d, i]] as const) linear(name, rows, cols, true, blocks);
      add("layer_norms", 4, d, blocks); // layer_norm1/2, weight and bias
      add("post_layernorm", 2, d);
      add("mm_soft_emb_norm", 1, d);
      add("mm_input_projection", d, h);
      return;
    case "llama4":
      // Llama 4: unfolded-conv patch embedding, class token and positions, pre/post LayerNorms, LayerNorm blocks with biased
      // attention and fc1/fc2, the pixel-shuffle adapter (fc1 [projector_input_dim, 4·hidden], fc2 square) and the projector.
      add("patch_embedding", d, v.inChannels * v.patchSize * v.patchSize);
      add("class_embedding", 1, d);
      add("positional_embedding_vlm", v.positionEmbeddings, d);
      add("layernorm_pre_post", 4, d);
      for (const [name, rows, cols] of [["q", d, d], ["k", d, d], ["v", d, d], ["o", d, d], ["fc1", i, d], ["fc2", d, i]] as const) linear(name, rows, cols, true, blocks);
      add("layer_norms", 4, d, blocks);
      add("adapter.fc1", v.projectorInputDim, merged);
      add("adapter.fc2", v.projectorInputDim, v.projectorInputDim);
      linear("projector", h, v.projectorInputDim, v.projectorBias);
      return;
    case "pixtral":
      // Pixtral: conv patch embedding, RMSNorm blocks with bias-free attention and a gated MLP; Mistral 3 adds an RMSNorm and a
      // patch merger before the two-layer projector.
      add("patch_conv", d, v.inChannels * v.patchSize * v.patchSize);
      add("ln_pre", 1, d);
      for (const [name, rows, cols] of [["q", d, d], ["k", d, d], ["v", d, d], ["o", d, d], ["gate", i, d], ["up", i, d], ["down", d, i]] as const) add(name, rows, cols, blocks);
      add("norms", 2, d, blocks);
      if (v.spatialMergeSize > 1) {
        add("projector.norm", 1, d);
        add("projector.patch_merger", d, merged);
      }
      linear("projector.linear_1", h, d, v.projectorBias);
      linear("projector.linear_2", h, h, v.projectorBias);
      return;
    default: {
      // Qwen-VL: Conv3d patch embedding over temporal_patch_size frames, blocks sharded like the LLM (qkv and the MLP's
      // up projections by column, proj and the down projection by row), then the patch merger(s).
      const qwen3 = v.kind === "qwen3-vl";
      linear("patch_embed", d, v.inChannels * v.temporalPatchSize * v.patchSize * v.patchSize, qwen3);
      if (v.positionEmbeddings > 0) add("pos_embed", v.positionEmbeddings, d);
      linear("qkv", 3 * d, d, true, blocks, "col");
      linear("proj", d, d, true, blocks, "row");
      if (v.kind === "qwen2.5-vl") {
        linear("gate_proj", i, d, true, blocks, "col");
        linear("up_proj", i, d, true, blocks, "col");
        linear("down_proj", d, i, true, blocks, "row");
        add("norms", 2, d, blocks); // RMSNorm norm1, norm2
        add("merger.ln_q", 1, d);
      } else {
        linear("fc1", i, d, true, blocks, "col");
        linear("fc2", d, i, true, blocks, "row");
        add("norms", 4, d, blocks); // LayerNorm norm1, norm2: weight and bias
        add("merger.norm", 2, d);
      }
      linear("merger.fc1", merged, merged, true, 1, "col");
      linear("merger.fc2", v.outHiddenSize, merged, true, 1, "row");
      // Qwen3-VL deepstack mergers: LayerNorm over the merged patch, then the same two Linears.
      if (v.deepstackLayers > 0) {
        add("deepstack.norm", 2, merged, v.deepstackLayers);
        linear("deepstack.fc1", merged, merged, true, v.deepstackLayers);
        linear("deepstack.fc2", v.outHiddenSize, merged, true, v.deepstackLayers);
      }
    }
  }
}

const MOE_LAYER_TENSORS = new Set(["router", "router.bias", "experts.w13", "experts.w2", "experts.w13.bias", "experts.w2.bias", "shared_expert.gate_up", "shared_expert.down", "shared_expert_gate"]);

/** How many times a tensor occurs in a stage that holds `layers` layers starting at layer `firstLayer`. */
function layerCount(p: ModelProfile, t: Tensor, layers: number, firstLayer: number): number {
  if (t.stage !== "layer" && t.stage !== "dense") return 1;
  if (t.only && p.layerTypes) {
    const inStage = p.layerTypes.slice(firstLayer, firstLayer + layers);
    return inStage.filter((k) => (t.only === "linear" ? k === "linear" : k !== "linear")).length;
  }
  const dense = p.moe ? Math.max(0, Math.min(p.moe.denseLayers, firstLayer + layers) - firstLayer) : 0;
  if (t.stage === "dense") return dense;
  return MOE_LAYER_TENSORS.has(t.name) ? layers - dense : layers;
}

/** Parameters of the checkpoint, unpadded and unsplit: what safetensors headers would sum to. */
export function parameterCount(p: ModelProfile): number {
  let total = 0;
  for (const t of tensors(p, 1)) {
    const rows = t.name === "embed_tokens" || t.name === "lm_head" ? p.vocabSize : t.rows;
    const cols = t.name === "lm_head.bias" ? p.vocabSize : t.cols;
    total += rows * cols * (t.copies ?? 1) * layerCount(p, t, p.numLayers, 0);
  }
  return total;
}

/** Layers held by each pipeline stage, as vLLM's get_pp_indices splits them (extra layers go to the stages before the last). */
export function layersPerStage(numLayers: number, pp: number): number[] {
  const parts = Array.from({ length: pp }, () => Math.floor(numLayers / pp));
  const remaining = numLayers % pp;
  for (let i = 2; i < remaining + 2; i++) parts[pp - i] += 1;
  return parts;
}

/** Bytes PyTorch's caching allocator counts as allocated for one tensor of `size` bytes. */
export function allocatedBytes(size: number): number {
  const rounded = Math.max(512, Math.ceil(size / 512) * 512);
  if (rounded < 10 * MiB) return rounded; // carved from shared 2 MiB / 20 MiB segments
  const segment = Math.ceil(rounded / (2 * MiB)) * (2 * MiB);
  return segment - rounded > MiB ? rounded : segment; // the remainder is split off only when > 1 MiB
}

function quantizedBytes(rows: number, cols: number, q: Quantization, dtypeBytes: number, expert: boolean): number {
  const numel = rows * cols;
  if (q.scope === "experts" && !expert) return numel * dtypeBytes;
  if (q.method === "mxfp4") return numel / 2 + numel / 32; // two fp4 per byte + a uint8 E8M0 scale per 32
  if (q.method === "nvfp4" || (q.method === "modelopt-mixed" && expert)) return numel / 2 + numel / q.groupSize + 8; // fp8 scale per 16, fp32 global + input scale
  if (q.method === "modelopt-fp8" || q.method === "modelopt-mixed") return numel + 8; // per-tensor fp32 weight and input scales
  if (q.weightBlock) return numel + Math.ceil(rows / q.weightBlock[0]) * Math.ceil(cols / q.weightBlock[1]) * 4; // fp32 scale_inv per block
  if (q.weightBits === 8) return numel + rows * 4; // int8/fp8 weight + one fp32 scale per output channel
  const group = q.groupSize > 0 ? q.groupSize : cols;
  const groups = Math.ceil(cols / group) * rows;
  const zeros = q.method === "awq" || q.method === "gptq" ? groups / 2 : 0; // packed 4-bit zero points
  const gIdx = q.method === "gptq" ? cols * 4 : 0;
  return numel / 2 + groups * dtypeBytes + zeros + gIdx;
}

export interface WeightsEstimate {
  /** Bytes allocated on the fullest GPU (the stage and rank that hold the most). */
  readonly bytesPerGpu: number;
  /** Bytes per pipeline stage, per GPU. */
  readonly bytesPerStage: readonly number[];
  /** Parameters in the checkpoint. */
  readonly parameters: number;
}

export interface WeightsOptions {
  readonly tp: number;
  readonly pp: number;
  /** Weight dtype after vLLM resolves `--dtype`. */
  readonly dtype: Dtype;
  /** Checkpoint or online quantization of the Linear layers. */
  readonly quantization?: Quantization;
  /** Count GPU allocations (caching-allocator rounding, rotary cache), not just the tensors' bytes. @default true */
  readonly onGpu?: boolean;
}

/** Bytes of the checkpoint's tensors: what S3 stores and a pod downloads. */
export function checkpointBytes(p: ModelProfile): number {
  return estimateWeights(p, { tp: 1, pp: 1, dtype: p.dtype, onGpu: false, ...(p.quantization ? { quantization: p.quantization } : {}) }).bytesPerGpu;
}

/** Estimates by profile and options: sizing asks again for every shape with the same layout and dtype. */
const estimates = new WeakMap<ModelProfile, Map<string, WeightsEstimate>>();

export function estimateWeights(p: ModelProfile, o: WeightsOptions): WeightsEstimate {
  const key = JSON.stringify([o.tp, o.pp, o.dtype, o.quantization ?? null, o.onGpu ?? true]);
  let byOptions = estimates.get(p);
  if (!byOptions) estimates.set(p, (byOptions = new Map()));
  let estimate = byOptions.get(key);
  if (!estimate) byOptions.set(key, (estimate = computeWeights(p, o)));
  return estimate;
}

function computeWeights(p: ModelProfile, o: WeightsOptions): WeightsEstimate {
  const bytes = DTYPE_BYTES[o.dtype];
  const stages = layersPerStage(p.numLayers, o.pp);
  const all = tensors(p, o.tp, o.pp);
  const perStage = stages.map((layers, s) => {
    const firstLayer = stages.slice(0, s).reduce((a, b) => a + b, 0);
    let sum = 0;
    for (const t of all) {
      const inStage = t.stage === "all" || t.stage === "layer" || t.stage === "dense" || (t.stage === "first" && s === 0) || (t.stage === "last" && s === o.pp - 1);
      if (!inStage) continue;
      let rows = t.rows;
      let cols = t.cols;
      if (t.shard === "col" || t.shard === "vocab") rows = rows / o.tp;
      if (t.shard === "row") cols = cols / o.tp;
      const expert = t.name.startsWith("experts.") || t.name.startsWith("shared_expert.") || (!p.moe && (t.name === "gate_up_proj" || t.name === "down_proj")) || t.name === "lm_head"; // lm_head is only quantizable when the checkpoint packs it (NVFP4 in ModelOpt mixed)
      const one = t.quantizable && o.quantization ? quantizedBytes(rows, cols, o.quantization, bytes, expert) : rows * cols * bytes;
      const copies = t.copies ?? 1;
      // Experts are one fused parameter per layer; other repeated tensors are separate allocations.
      const alloc = o.onGpu === false ? (b: number) => b : allocatedBytes;
      const perLayer = t.name.startsWith("experts.") ? alloc(one * copies) : alloc(one) * copies;
      sum += perLayer * layerCount(p, t, layers, firstLayer);
    }
    // Rotary embedding cos/sin cache: one shared buffer of max_position × rotary_dim in the model dtype.
    if (o.onGpu !== false && p.attention !== "encoder-only" && p.rotaryDim > 0) sum += allocatedBytes(p.maxPositionEmbeddings * p.rotaryDim * bytes);
    return sum;
  });
  return { bytesPerGpu: Math.max(...perStage), bytesPerStage: perStage, parameters: parameterCount(p) };
}
