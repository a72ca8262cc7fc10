/**
 * A model's profile: the numbers that size it, read from a real Hugging Face config.json (and its
 * quantization_config), refined by safetensors headers when the files are at hand.
 */
import { error, PlanningError } from "./findings";

export type Dtype = "float32" | "bfloat16" | "float16";
export type QuantMethod = "fp8" | "w8a8-int8" | "w8a8-fp8" | "w4a16" | "gptq" | "awq" | "mxfp4" | "nvfp4" | "modelopt-fp8" | "modelopt-mixed";

export interface Quantization {
  readonly method: QuantMethod;
  /** Bits per quantized Linear weight. */
  readonly weightBits: 4 | 8;
  /** Input channels sharing one scale (int4 formats); 0 = one scale per output channel. */
  readonly groupSize: number;
  /** Where it came from: the checkpoint's quantization_config or vLLM's online quantization. */
  readonly origin: "checkpoint" | "online";
  /** fp8 block-wise checkpoints (DeepSeek-V3, Qwen3-*-FP8): one float32 scale per [rows, cols] block. */
  readonly weightBlock?: readonly [number, number];
  /** Which Linear layers the format packs: all of them, or only the MoE experts (gpt-oss keeps attention and router in bf16). @default "all" */
  readonly scope?: "all" | "experts";
  /** The checkpoint quantizes lm_head too (ModelOpt lists it in quantized_layers); by default it stays in the model dtype. */
  readonly lmHead?: boolean;
}

export interface MoeSpec {
  readonly experts: number;
  readonly expertsPerToken: number;
  readonly expertIntermediateSize: number;
  readonly sharedExpertIntermediateSize: number;
  /** Leading layers with a dense MLP instead of experts (DeepSeek's first_k_dense_replace). */
  readonly denseLayers: number;
}

/**
 * The vision encoder and projector of a vision-language model, by family (vLLM's model file in brackets):
 * - "qwen2-vl" (qwen2_vl.py): LayerNorm blocks with a plain fc1/fc2 MLP, a patch merger;
 * - "qwen2.5-vl" (qwen2_5_vl.py): RMSNorm blocks with a gated MLP, a patch merger;
 * - "qwen3-vl" (qwen3_vl.py, also Qwen3.5/3.6): learned position embeddings, a patch merger and deepstack mergers;
 * - "siglip" (gemma3_mm.py): SigLIP + Gemma 3's pooling projector to mm_tokens_per_image tokens;
 * - "llama4" (mllama4.py): 336-pixel tiles, a pixel-shuffle adapter and a linear projector;
 * - "pixtral" (pixtral.py, mistral3.py, llava.py): RMSNorm blocks with a gated MLP, a patch merger (Mistral 3) and a two-layer projector.
 */
export type VisionKind = "qwen2-vl" | "qwen2.5-vl" | "qwen3-vl" | "siglip" | "llama4" | "pixtral";

export interface VisionTower {
  readonly kind: VisionKind;
  /** Patches per image (SigLIP: (image_size / patch_size)²; Llama 4: per 336-pixel tile). */
  readonly patchesPerImage: number;
  /** LLM tokens per image (Gemma 3: mm_tokens_per_image). */
  readonly tokensPerImage: number;
  /** LLM tokens of the largest image vLLM profiles (get_mm_max_tokens_per_item). */
  readonly maxTokensPerImage: number;
  /** ViT patches that image passes through the encoder. */
  readonly maxPatchesPerImage: number;
  readonly depth: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly patchSize: number;
  readonly temporalPatchSize: number;
  readonly inChannels: number;
  readonly spatialMergeSize: number;
  readonly outHiddenSize: number;
  /** Learned position embeddings (Qwen3-VL num_position_embeddings, Llama 4's tile grid + class token). */
  readonly positionEmbeddings: number;
  /** Qwen3-VL deepstack mergers: each feeds one more set of embeddings to the language model. */
  readonly deepstackLayers: number;
  /** Llama 4 adapter and projector widths; Mistral 3 / LLaVA projector bias. */
  readonly projectorInputDim: number;
  readonly projectorBias: boolean;
}

export type AttentionKind = "full" | "mla" | "encoder-only";

export interface ModelProfile {
  readonly architecture: string;
  readonly modelType: string;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly intermediateSize: number;
  readonly vocabSize: number;
  readonly maxPositionEmbeddings: number;
  readonly dtype: Dtype;
  readonly tiedEmbeddings: boolean;
  /** Gated (SwiGLU/GeGLU) MLP with a fused gate_up projection, or a plain fc1/fc2 MLP. */
  readonly gatedMlp: boolean;
  readonly attentionBias: boolean;
  readonly mlpBias: boolean;
  readonly attention: AttentionKind;
  /** Sliding-window size in tokens and how many layers use it (0 = none). */
  readonly slidingWindow: number;
  readonly slidingWindowLayers: number;
  readonly mla?: { readonly kvLoraRank: number; readonly qkRopeHeadDim: number };
  readonly moe?: MoeSpec;
  readonly quantization?: Quantization;
  readonly vision?: VisionTower;
  /** Extra per-layer norms beyond the two of a pre-norm block (gemma-2 has four). */
  readonly normsPerLayer: number;
  readonly classifierLabels: number;
  readonly rotaryDim: number;
  readonly ropeScaled: boolean;
  /** Linear-attention (Gated DeltaNet / mamba-style) layers of a hybrid model, which keep a fixed-size state instead of a KV cache. */
  readonly linearAttention?: LinearAttention;
  /** The type of each decoder layer, for models that mix types (sliding + full, linear + full); absent when all layers are alike. */
  readonly layerTypes?: readonly LayerType[];
  /** Gated attention (Qwen3-Next, Qwen3.5): q_proj also produces a sigmoid gate, twice the query width. */
  readonly attentionOutputGate?: boolean;
  /** Per-head RMSNorms on q and k (Qwen3 family). */
  readonly qkNorm?: boolean;
  /** A vision encoder of a family the planner does not lay out (its model_type): sized without it, with a warning. */
  readonly unsizedVisionTower?: string;
}

/** What a decoder layer keeps per request: a KV cache of every token, of the sliding window, or a fixed recurrent state. */
export type LayerType = "full" | "sliding" | "linear";

/** Gated DeltaNet layers (Qwen3-Next, Qwen3.5/3.6): vLLM keeps a conv state and a recurrent state per request instead of a KV cache. */
export interface LinearAttention {
  readonly layers: number;
  readonly numKeyHeads: number;
  readonly numValueHeads: number;
  readonly keyHeadDim: number;
  readonly valueHeadDim: number;
  readonly convKernel: number;
  /** dtype of the recurrent (temporal) state when the config names one (Qwen3.5's mamba_ssm_dtype); otherwise the model dtype. */
  readonly stateDtype?: Dtype;
}

type Json = Record<string, unknown>;

const num = (c: Json, ...keys: string[]): number | undefined => {
  for (const k of keys) {
    const v = c[k];
    if (typeof v === "number" && Number.isFinite(v)) return v;
  }
  return undefined;
};

const DTYPES: Record<string, Dtype> = {
  float32: "float32",
  float: "float32",
  bfloat16: "bfloat16",
  float16: "float16",
  half: "float16",
};

export const DTYPE_BYTES: Record<Dtype, number> = { float32: 4, bfloat16: 2, float16: 2 };

/** Gated DeltaNet hybrids: linear-attention layers with a full-attention layer every full_attention_interval. */
const GATED_DELTANET_TYPES = new Set(["qwen3_next", "qwen3_5", "qwen3_5_moe", "qwen3_5_text", "qwen3_5_moe_text"]);
/** Other recurrent hybrids whose state layouts (Mamba-1/2, short conv, MiniMax/Kimi linear attention) the planner does not size. */
const UNSIZED_HYBRID_TYPES = new Set(["jamba", "bamba", "nemotron_h", "falcon_h1", "granitemoehybrid", "zamba", "zamba2", "plamo2", "lfm2", "lfm2_moe", "mamba", "mamba2", "falcon_mamba", "minimax", "minimax_text_01", "minimax_m1", "kimi_linear"]);
/** The Qwen3 family normalises each query and key head (q_norm, k_norm). */
const QK_NORM_TYPES = new Set(["qwen3", "qwen3_moe", "qwen3_next", "qwen3_5_text", "qwen3_5_moe_text", "qwen3_vl_text", "qwen3_vl_moe_text", "gemma3", "gemma3_text"]);

/** Architectures that are encoders (no KV cache): BERT-style embedding and cross-encoder models. */
const ENCODER_MODEL_TYPES = new Set(["bert", "roberta", "xlm-roberta", "modernbert", "nomic_bert", "new"]);

export function parseQuantization(config: Json, path: string): Quantization | undefined {
  const q = config["quantization_config"] as Json | undefined;
  if (!q || typeof q !== "object") return undefined;
  const method = String(q["quant_method"] ?? "").toLowerCase();
  if (method === "fp8" || method === "fbgemm_fp8") {
    const block = q["weight_block_size"];
    const weightBlock = Array.isArray(block) && block.length === 2 && block.every((b) => typeof b === "number") ? ([block[0], block[1]] as const) : undefined;
    return { method: "fp8", weightBits: 8, groupSize: 0, origin: "checkpoint", ...(weightBlock ? { weightBlock } : {}) };
  }
  if (method === "mxfp4") {
    // gpt-oss: MXFP4 experts (uint8 blocks of two fp4 values + one uint8 E8M0 scale per 32), attention and router left in bf16.
    const skip = Array.isArray(q["modules_to_not_convert"]) ? (q["modules_to_not_convert"] as unknown[]).map(String) : [];
    return { method: "mxfp4", weightBits: 4, groupSize: 32, origin: "checkpoint", scope: skip.some((m) => m.includes("self_attn")) ? "experts" : "all" };
  }
  if (method === "modelopt" || method === "modelopt_fp4" || method === "modelopt_mixed") {
    // NVIDIA ModelOpt (hf_quant_config.json, mirrored as quantization_config): NVFP4 = fp4 weights, one fp8 scale per 16 values and a
    // float32 global scale; FP8 = per-tensor float32 scales; MIXED_PRECISION = NVFP4 MLPs and FP8 elsewhere.
    const algo = String(q["quant_algo"] ?? (method === "modelopt_fp4" ? "NVFP4" : method === "modelopt_mixed" ? "MIXED_PRECISION" : "")).toUpperCase();
    const layers = q["quantized_layers"];
    const lmHead = !!layers && typeof layers === "object" && "lm_head" in (layers as Json) ? { lmHead: true } : {};
    if (algo.includes("NVFP4")) return { method: "nvfp4", weightBits: 4, groupSize: num(q, "group_size") ?? 16, origin: "checkpoint", ...lmHead };
    if (algo === "FP8") return { method: "modelopt-fp8", weightBits: 8, groupSize: 0, origin: "checkpoint", ...lmHead };
    if (algo === "MIXED_PRECISION") return { method: "modelopt-mixed", weightBits: 4, groupSize: 16, origin: "checkpoint", ...lmHead };
  }
  if (method === "gptq") {
    const bits = num(q, "bits") ?? 4;
    return { method: "gptq", weightBits: bits === 8 ? 8 : 4, groupSize: num(q, "group_size") ?? 128, origin: "checkpoint" };
  }
  if (method === "awq") {
    const bits = num(q, "bits", "w_bit") ?? 4;
    return { method: "awq", weightBits: bits === 8 ? 8 : 4, groupSize: num(q, "group_size", "q_group_size") ?? 128, origin: "checkpoint" };
  }
  if (method === "compressed-tensors") {
    const groups = (q["config_groups"] ?? {}) as Record<string, Json>;
    const first = Object.values(groups)[0] ?? {};
    const weights = (first["weights"] ?? {}) as Json;
    const acts = first["input_activations"] as Json | null | undefined;
    const bits = num(weights, "num_bits") ?? 8;
    const type = String(weights["type"] ?? "int");
    // 4-bit floats are NVFP4 (fp4 with an fp8 scale per 16); 4-bit ints are the GPTQ-style W4A16 layout.
    if (bits === 4 && type === "float") return { method: "nvfp4", weightBits: 4, groupSize: num(weights, "group_size") ?? 16, origin: "checkpoint" };
    if (bits === 4) return { method: "w4a16", weightBits: 4, groupSize: num(weights, "group_size") ?? 128, origin: "checkpoint" };
    if (type === "float") return { method: "w8a8-fp8", weightBits: 8, groupSize: 0, origin: "checkpoint" };
    return { method: acts ? "w8a8-int8" : "w8a8-int8", weightBits: 8, groupSize: 0, origin: "checkpoint" };
  }
  throw new PlanningError([
    error("QUANTIZATION_UNSUPPORTED", path, {
      field: "quantization_config.quant_method",
      problem: `quant_method "${method}" is not one the planner can size`,
      why: "weight bytes per GPU depend on the packing of each format, and a guess could hide an out-of-memory start",
      fix: "use an fp8 (per-channel or block-wise), MXFP4, ModelOpt (NVFP4, FP8), compressed-tensors (w8a8, w4a16), GPTQ or AWQ checkpoint, or supply a lock file with safetensors byte counts",
    }),
  ]);
}

/**
 * Values Transformers fills from the config class when config.json omits them (`PretrainedConfig` subclasses'
 * __init__ defaults), by model_type — so a config that loads in Transformers is sized, not refused.
 * Sources: transformers v4.56 src/transformers/models/<type>/configuration_<type>.py.
 */
const TRANSFORMERS_DEFAULTS: Record<string, Json> = {
  gemma3_text: { vocab_size: 262208, hidden_size: 2304, intermediate_size: 9216, num_hidden_layers: 26, num_attention_heads: 8, num_key_value_heads: 4, head_dim: 256, max_position_embeddings: 131072, sliding_window: 4096, sliding_window_pattern: 6, tie_word_embeddings: true, attention_bias: false },
  gemma3: { mm_tokens_per_image: 256 },
  siglip_vision_model: { hidden_size: 768, intermediate_size: 3072, num_hidden_layers: 12, num_attention_heads: 12, num_channels: 3, image_size: 224, patch_size: 16 },
  gemma2: { vocab_size: 256000, hidden_size: 2304, intermediate_size: 9216, num_hidden_layers: 26, num_attention_heads: 8, num_key_value_heads: 4, head_dim: 256, max_position_embeddings: 8192, sliding_window: 4096, tie_word_embeddings: true },
  llama: { vocab_size: 32000, hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32, num_attention_heads: 32, max_position_embeddings: 2048, tie_word_embeddings: false },
  mistral: { vocab_size: 32000, hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 8, max_position_embeddings: 131072, sliding_window: 4096, tie_word_embeddings: false },
  qwen2: { vocab_size: 151936, hidden_size: 4096, intermediate_size: 22016, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 32, max_position_embeddings: 32768, tie_word_embeddings: false },
  qwen3: { vocab_size: 151936, hidden_size: 4096, intermediate_size: 22016, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 32, head_dim: 128, max_position_embeddings: 32768, tie_word_embeddings: false },
  gpt_oss: { vocab_size: 201088, hidden_size: 2880, intermediate_size: 2880, num_hidden_layers: 36, num_attention_heads: 64, num_key_value_heads: 8, head_dim: 64, num_local_experts: 128, num_experts_per_tok: 4, sliding_window: 128, max_position_embeddings: 131072, attention_bias: true, tie_word_embeddings: false },
};

/** config.json with the Transformers class defaults of its model_type under what it omits. */
function withDefaults(c: Json): Json {
  const d = TRANSFORMERS_DEFAULTS[String(c["model_type"] ?? "")];
  return d ? { ...d, ...Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) } : c;
}

/** The largest image Qwen-VL processors keep: Qwen2/2.5-VL max_pixels 12,845,056 = 16,384 × 28²; Qwen3-VL/3.5 longest_edge 16,777,216 = 16,384 × 32². */
const QWEN_VL_MAX_TOKENS_PER_IMAGE = 16_384;
/** Llama 4's image processor tiles an image into at most max_patches 336-pixel chunks (plus one global tile). */
const LLAMA4_MAX_TILES = 16;

function visionTower(top: Json, textHidden: number): VisionTower | undefined {
  const raw = top["vision_config"] as Json | undefined;
  if (!raw || typeof raw !== "object") return undefined;
  const vc = withDefaults(raw);
  const type = String(vc["model_type"] ?? "");
  const topType = String(top["model_type"] ?? "");
  const kind: VisionKind | undefined =
    type === "siglip_vision_model"
      ? "siglip"
      : type === "llama4_vision_model"
        ? "llama4"
        : type === "pixtral"
          ? "pixtral"
          : type.startsWith("qwen3") || topType.startsWith("qwen3")
            ? "qwen3-vl"
            : type.startsWith("qwen2_5") || topType.startsWith("qwen2_5")
              ? "qwen2.5-vl"
              : topType.startsWith("qwen2_vl") || "embed_dim" in vc
                ? "qwen2-vl"
                : undefined;
  if (!kind) return undefined; // the profile records it as an unsized tower (ModelProfile.unsizedVisionTower)
  const d = num(vc, "embed_dim", "hidden_size") ?? 0;
  const patch = num(vc, "patch_size") ?? 14;
  const imageSize = num(vc, "image_size") ?? 224;
  const merge = kind === "pixtral" ? (num(top, "spatial_merge_size") ?? 1) : (num(vc, "spatial_merge_size") ?? 1);
  const base = {
    kind,
    depth: num(vc, "depth", "num_hidden_layers") ?? 0,
    hiddenSize: d,
    intermediateSize: num(vc, "intermediate_size") ?? d * (num(vc, "mlp_ratio") ?? 4),
    patchSize: patch,
    temporalPatchSize: num(vc, "temporal_patch_size") ?? 1,
    inChannels: num(vc, "in_chans", "in_channels", "num_channels") ?? 3,
    deepstackLayers: Array.isArray(vc["deepstack_visual_indexes"]) ? (vc["deepstack_visual_indexes"] as unknown[]).length : 0,
    projectorInputDim: num(vc, "projector_input_dim") ?? 0,
    projectorBias: top["multimodal_projector_bias"] !== false && vc["multi_modal_projector_bias"] !== false,
  };
  if (kind === "siglip") {
    // SigLIP + Gemma 3 projector: the patches pool into mm_tokens_per_image tokens (4096 → 256 = a 4×4 merge); pan-and-scan is off by default.
    const patches = (imageSize / patch) ** 2;
    const tokens = num(top, "mm_tokens_per_image") ?? patches;
    return { ...base, patchesPerImage: patches, tokensPerImage: tokens, maxTokensPerImage: tokens, maxPatchesPerImage: patches, spatialMergeSize: Math.sqrt(patches / tokens), outHiddenSize: textHidden, positionEmbeddings: patches };
  }
  if (kind === "llama4") {
    // Each 336-pixel tile: (336/14)² = 576 patches, pixel-shuffled by ratio 0.5 to 144 tokens; the largest image has 16 tiles and a global one.
    const perTile = (imageSize / patch) ** 2;
    const ratio = num(vc, "pixel_shuffle_ratio") ?? 0.5;
    const tokens = perTile * ratio * ratio;
    return { ...base, patchesPerImage: perTile, tokensPerImage: tokens, maxTokensPerImage: (LLAMA4_MAX_TILES + 1) * tokens, maxPatchesPerImage: (LLAMA4_MAX_TILES + 1) * (perTile + 1), spatialMergeSize: 1 / ratio, outHiddenSize: textHidden, positionEmbeddings: perTile + 1 };
  }
  if (kind === "pixtral") {
    // The largest image is image_size² pixels: (image_size / patch)² patches, merged spatial_merge_size² to one token (Mistral 3).
    const patches = (imageSize / patch) ** 2;
    return { ...base, patchesPerImage: patches, tokensPerImage: patches / (merge * merge), maxTokensPerImage: patches / (merge * merge), maxPatchesPerImage: patches, spatialMergeSize: merge, outHiddenSize: textHidden, positionEmbeddings: 0 };
  }
  // Qwen-VL: dynamic resolution; Qwen2.5-VL/Qwen3-VL name the projection width out_hidden_size, Qwen2-VL calls it hidden_size (its ViT width is embed_dim).
  const out = num(vc, "out_hidden_size") ?? (num(vc, "embed_dim") !== undefined ? num(vc, "hidden_size") : undefined) ?? textHidden;
  return {
    ...base,
    patchesPerImage: 0,
    tokensPerImage: 0,
    maxTokensPerImage: QWEN_VL_MAX_TOKENS_PER_IMAGE,
    maxPatchesPerImage: QWEN_VL_MAX_TOKENS_PER_IMAGE * merge * merge,
    spatialMergeSize: merge,
    outHiddenSize: out,
    positionEmbeddings: kind === "qwen3-vl" ? (num(vc, "num_position_embeddings") ?? 0) : 0,
  };
}

/** Read a config.json (already parsed) into a profile. `path` names the model in error messages. */
export function profileFromConfig(raw: unknown, path: string): ModelProfile {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    throw new PlanningError([
      error("CONFIG_INVALID", path, { field: "config.json", problem: "config.json is not a JSON object", why: "vLLM reads the architecture and sizes from it", fix: "point at the model's real config.json" }),
    ]);
  }
  const top = withDefaults(raw as Json);
  if (top["model_type"] === "tinytimemixer" || "tsfm_config" in top) {
    throw new PlanningError([
      error("MODEL_NOT_SERVABLE", path, {
        field: "config.json model_type",
        problem: `model_type "tinytimemixer" is a time-series forecaster (granite-timeseries TTM), not a language model`,
        why: "vLLM serves text, vision-language, embedding and reranking models only; TTM needs the watsonx tsfm runtime with its tsfm_config.json",
        fix: "serve it with a time-series runtime, outside this library",
      }),
    ]);
  }
  const architectures = top["architectures"];
  const architecture = Array.isArray(architectures) && typeof architectures[0] === "string" ? architectures[0] : undefined;
  if (!architecture) {
    throw new PlanningError([
      error("CONFIG_INVALID", path, { field: "config.json architectures", problem: "config.json has no architectures list", why: "vLLM picks the model class from architectures[0]", fix: "use a config.json saved by transformers (it writes architectures)" }),
    ]);
  }
  // Vision-language configs keep the language model's numbers under text_config (newer transformers).
  const text = (typeof top["text_config"] === "object" && top["text_config"] ? { ...top, ...withDefaults(top["text_config"] as Json) } : top) as Json;
  // Gemma 3 configs saved before layer_types existed give sliding_window_pattern: every Nth layer is global.
  const pattern = num(text, "sliding_window_pattern");
  const modelType = String(top["model_type"] ?? "");
  const hiddenSize = num(text, "hidden_size", "n_embd", "d_model");
  const numLayers = num(text, "num_hidden_layers", "n_layer", "num_layers");
  const numHeads = num(text, "num_attention_heads", "n_head", "num_heads");
  const missing = [
    hiddenSize === undefined && "hidden_size",
    numLayers === undefined && "num_hidden_layers",
    numHeads === undefined && "num_attention_heads",
  ].filter(Boolean);
  if (missing.length) {
    throw new PlanningError([
      error("CONFIG_INVALID", path, { field: `config.json ${missing.join(", ")}`, problem: `config.json lacks ${missing.join(", ")}`, why: "the KV cache and weights cannot be sized without them", fix: "use the model's complete config.json" }),
    ]);
  }
  const h = hiddenSize!;
  const heads = numHeads!;
  const multiQuery = text["multi_query"] === true && text["new_decoder_architecture"] !== true;
  const kvHeads = multiQuery ? 1 : (num(text, "num_key_value_heads", "num_kv_heads", "n_head_kv") ?? heads);
  const headDim = num(text, "head_dim") ?? h / heads;
  const encoder = ENCODER_MODEL_TYPES.has(modelType);
  const gated = !["phi", "falcon", "gpt2", "gpt_neox", "gpt_bigcode", "bloom", "gptj", "mpt", "opt"].includes(modelType) && !encoder;
  const intermediateSize = num(text, "intermediate_size", "ffn_hidden_size", "n_inner") ?? 4 * h;
  // No dtype in config.json: Transformers loads float32, but a quantized checkpoint keeps its unconverted tensors in
  // bfloat16 (gpt-oss's safetensors are BF16 besides the MXFP4 experts).
  const quantized = typeof (top["quantization_config"] ?? text["quantization_config"]) === "object";
  const dtypeName = String(top["torch_dtype"] ?? top["dtype"] ?? text["torch_dtype"] ?? text["dtype"] ?? (quantized ? "bfloat16" : "float32"));
  const dtype = DTYPES[dtypeName] ?? "float32";

  const experts = num(text, "num_local_experts", "num_experts", "n_routed_experts");
  const moe: MoeSpec | undefined = experts
    ? {
        experts,
        expertsPerToken: num(text, "num_experts_per_tok", "moe_topk", "top_k") ?? 2,
        expertIntermediateSize: num(text, "moe_intermediate_size") ?? intermediateSize,
        // Llama-4 adds one shared expert of intermediate_size to every MoE layer.
        sharedExpertIntermediateSize:
          num(text, "shared_expert_intermediate_size") ?? (modelType.startsWith("llama4") ? intermediateSize : (num(text, "n_shared_experts") ?? 0) * (num(text, "moe_intermediate_size") ?? 0)),
        denseLayers: num(text, "first_k_dense_replace") ?? 0,
      }
    : undefined;

  const kvLoraRank = num(text, "kv_lora_rank");
  const mla = kvLoraRank ? { kvLoraRank, qkRopeHeadDim: num(text, "qk_rope_head_dim") ?? 64 } : undefined;

  const textModelType = String(text["model_type"] ?? modelType);
  const declaredTypes = Array.isArray(text["layer_types"]) ? (text["layer_types"] as unknown[]).map(String) : undefined;
  const unknownLayerType = declaredTypes?.find((t) => !["full_attention", "sliding_attention", "linear_attention"].includes(t));
  if (UNSIZED_HYBRID_TYPES.has(modelType) || UNSIZED_HYBRID_TYPES.has(textModelType) || unknownLayerType !== undefined) {
    throw new PlanningError([
      error("MODEL_NOT_SIZABLE", path, {
        field: "config.json model_type",
        problem: `model_type "${textModelType}"${unknownLayerType ? ` has "${unknownLayerType}" layers` : ""} is a recurrent hybrid (Mamba, short-convolution or linear-attention state) whose per-request state the planner does not size`,
        why: "vLLM keeps a fixed-size state per request for those layers in the same block pool as the KV cache, so counting them as attention layers would misstate the memory fit",
        fix: "size it on a GPU by hand with `vllm serve` and its start-up log, or use a Gated DeltaNet hybrid (Qwen3-Next, Qwen3.5/3.6) or an attention model",
      }),
    ]);
  }

  // Sliding window: gemma-2 alternates local/global layers; Mistral-v0.1/Phi-3 put every layer on it;
  // Qwen2 configures a window but turns it off with use_sliding_window=false.
  let slidingWindow = num(text, "sliding_window") ?? 0;
  if (text["use_sliding_window"] === false) slidingWindow = 0;
  const maxPositionEmbeddings = num(text, "max_position_embeddings", "n_positions", "max_seq_len", "seq_length") ?? 2048;
  if (slidingWindow >= maxPositionEmbeddings) slidingWindow = 0;
  const n = numLayers!;
  // Each layer's type, as Transformers' config classes derive it (layer_types, else the model's pattern).
  const interval = num(text, "full_attention_interval");
  const gdn = GATED_DELTANET_TYPES.has(textModelType) || GATED_DELTANET_TYPES.has(modelType) || !!declaredTypes?.includes("linear_attention");
  const types: LayerType[] = Array.from({ length: n }, (_, i) => {
    const declared = declaredTypes?.[i];
    if (declared === "linear_attention") return "linear";
    if (declared === "sliding_attention") return slidingWindow > 0 ? "sliding" : "full";
    if (declared === "full_attention") return "full";
    // Qwen3NextConfig: layer i is full attention when (i + 1) % full_attention_interval == 0.
    if (gdn) return (i + 1) % (interval ?? 4) === 0 ? "full" : "linear";
    if (slidingWindow <= 0) return "full";
    // Gemma 3 before layer_types: every sliding_window_pattern-th layer is global; Gemma 2: even layers slide.
    if (pattern && pattern > 1) return (i + 1) % pattern === 0 ? "full" : "sliding";
    if (modelType === "gemma2" || modelType === "gemma3") return i % 2 === 0 ? "sliding" : "full";
    return "sliding";
  });
  const slidingWindowLayers = types.filter((t) => t === "sliding").length;
  const linearLayers = types.filter((t) => t === "linear").length;
  const mixed = new Set(types).size > 1;
  const stateDtype = DTYPES[String(text["mamba_ssm_dtype"] ?? "")];
  const linearAttention: LinearAttention | undefined =
    linearLayers > 0
      ? {
          layers: linearLayers,
          numKeyHeads: num(text, "linear_num_key_heads") ?? 16,
          numValueHeads: num(text, "linear_num_value_heads") ?? 32,
          keyHeadDim: num(text, "linear_key_head_dim") ?? 128,
          valueHeadDim: num(text, "linear_value_head_dim") ?? 128,
          convKernel: num(text, "linear_conv_kernel_dim") ?? 4,
          ...(stateDtype ? { stateDtype } : {}),
        }
      : undefined;

  const vision = visionTower(top, h);
  const vcType = top["vision_config"] && typeof top["vision_config"] === "object" ? String((top["vision_config"] as Json)["model_type"] ?? modelType) : undefined;

  const labels = top["id2label"] && typeof top["id2label"] === "object" ? Object.keys(top["id2label"] as Json).length : num(top, "num_labels") ?? 1;
  const partialRotary = num(text, "partial_rotary_factor") ?? 1;
  const ropeScaling = text["rope_scaling"];

  return {
    architecture,
    modelType,
    hiddenSize: h,
    numLayers: numLayers!,
    numHeads: heads,
    numKvHeads: kvHeads,
    headDim,
    intermediateSize,
    vocabSize: num(text, "vocab_size", "padded_vocab_size") ?? 32000,
    maxPositionEmbeddings,
    dtype,
    tiedEmbeddings: typeof text["tie_word_embeddings"] === "boolean" ? (text["tie_word_embeddings"] as boolean) : ["gemma", "gemma2", "falcon"].includes(modelType),
    gatedMlp: gated,
    attentionBias: text["attention_bias"] === true || ["qwen2", "qwen2_vl", "qwen2_5_vl", "phi", "bert", "xlm-roberta", "roberta"].includes(modelType) || text["bias"] === true,
    mlpBias: text["mlp_bias"] === true || ["phi", "bert", "xlm-roberta", "roberta"].includes(modelType),
    attention: encoder ? "encoder-only" : mla ? "mla" : "full",
    slidingWindow: slidingWindowLayers > 0 ? slidingWindow : 0,
    slidingWindowLayers,
    ...(linearAttention ? { linearAttention } : {}),
    ...(mixed ? { layerTypes: types } : {}),
    // Qwen3NextAttention: attn_output_gate defaults to true (vllm/model_executor/models/qwen3_next.py).
    ...(gdn && text["attn_output_gate"] !== false ? { attentionOutputGate: true } : {}),
    ...(QK_NORM_TYPES.has(textModelType) || QK_NORM_TYPES.has(modelType) ? { qkNorm: true } : {}),
    ...(mla ? { mla } : {}),
    ...(moe ? { moe } : {}),
    ...(() => {
      const q = parseQuantization(top["quantization_config"] ? top : text, path);
      return q ? { quantization: q } : {};
    })(),
    ...(vision ? { vision } : vcType !== undefined ? { unsizedVisionTower: vcType } : {}),
    normsPerLayer: modelType === "gemma2" || modelType === "gemma3" ? 4 : modelType === "falcon" || modelType === "phi" ? 1 : 2, // parallel attention/MLP blocks share one norm
    classifierLabels: architecture.endsWith("ForSequenceClassification") ? labels : 0,
    rotaryDim: Math.round(headDim * partialRotary),
    ropeScaled: !!ropeScaling && typeof ropeScaling === "object",
  };
}
