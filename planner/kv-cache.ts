/**
 * The KV cache as vLLM's V1 engine lays it out (vllm/v1/core/kv_cache_utils.py, vllm/v1/kv_cache_interface.py):
 *
 * - every layer gets a spec: full attention, sliding window, or a fixed recurrent state (MambaSpec, for Gated
 *   DeltaNet layers);
 * - layers of one spec are split into groups of `groupSize` layers (the smallest type count, or the largest when
 *   it is under 1.5 × the smallest), and all groups share one pool of blocks: a block id is one page in each of
 *   `groupSize` tensors, so one block costs `pageBytes × groupSize`;
 * - hybrids with recurrent state raise the attention block size until an attention page holds a state, and pad
 *   the state to the page (platforms/interface.py, "Setting attention block size to … tokens");
 * - a request needs, per group, cdiv(max_model_len, block) blocks (full), the window plus one scheduling chunk
 *   (sliding), or 1 / 2 / cdiv(max_model_len, block) states (mamba cache mode none / align / all).
 *
 * The start-up log prints capacity either as whole blocks ÷ groups × block size (≤ v0.22) or as
 * max concurrency × max_model_len (v0.23+, group-aware).
 */
import { DTYPE_BYTES, type Dtype, type LayerType, type ModelProfile } from "./model-profile";

/** vLLM's CacheConfig.DEFAULT_BLOCK_SIZE; also the FlashAttention kernel alignment a hybrid block size rounds to. */
export const BLOCK_SIZE = 16;

export type SpecKind = "full" | "sliding" | "mamba";

export interface KvCacheGroup {
  readonly kind: SpecKind;
  /** Layers of this group held by the GPU the layout is for. */
  readonly layers: number;
  /** Blocks one request of max_model_len holds in this group. */
  readonly blocksPerRequest: number;
}

export interface KvCacheLayout {
  /** Tokens per attention block: 16, or larger for recurrent hybrids. */
  readonly blockSize: number;
  /** Bytes of one block in one layer, the same for every group. */
  readonly pageBytes: number;
  /** Layers whose pages make up one block of the shared pool. */
  readonly groupSize: number;
  readonly groups: readonly KvCacheGroup[];
  /** Blocks one request of max_model_len holds across all groups. */
  readonly blocksPerRequest: number;
  /** Attention KV bytes per token on this GPU, over its full and sliding layers. */
  readonly attentionBytesPerToken: number;
  /** One request's recurrent state on this GPU (conv + temporal, unpadded), over its linear layers. */
  readonly stateBytesPerRequest: number;
}

export interface KvCacheOptions {
  readonly tp: number;
  /** First layer and number of layers on the pipeline stage the layout is for. */
  readonly firstLayer: number;
  readonly layers: number;
  /** Bytes per KV element (2 for bf16, 1 for an fp8 KV cache). */
  readonly kvBytes: number;
  /** The dtype the weights run in: the conv state and, unless the config names one, the recurrent state use it. */
  readonly modelDtype: Dtype;
  readonly maxModelLen: number;
  readonly maxNumBatchedTokens: number;
  /** vLLM's hybrid KV cache manager (v0.9.1+): without it, sliding-window layers are kept as full attention. */
  readonly hybridKvCacheManager: boolean;
  /** Prefix caching puts Gated DeltaNet states in "align" mode (two states per request instead of one). @default false */
  readonly prefixCaching?: boolean;
}

const cdiv = (a: number, b: number) => Math.ceil(a / b);

/** Each layer's KV cache spec kind, as vLLM assigns it. */
export function layerSpecs(p: ModelProfile, hybridKvCacheManager: boolean): SpecKind[] {
  const types: readonly LayerType[] = p.layerTypes ?? Array.from({ length: p.numLayers }, () => (p.slidingWindowLayers === p.numLayers ? "sliding" : "full"));
  const mixedAttention = types.includes("full") && types.includes("sliding");
  return types.map((t) => {
    if (t === "linear") return "mamba";
    // unify_hybrid_kv_cache_specs: without the hybrid manager, sliding layers next to full ones become full attention.
    if (t === "sliding" && mixedAttention && !hybridKvCacheManager) return "full";
    return t;
  });
}

/** Gated DeltaNet state per layer per request on one GPU: conv state (K−1 × conv dim) + temporal state (v heads × dv × dk). */
export function gatedDeltaNetStateBytes(p: ModelProfile, tp: number, modelDtype: Dtype): number {
  const la = p.linearAttention;
  if (!la) return 0;
  const convDim = (2 * la.numKeyHeads * la.keyHeadDim + la.numValueHeads * la.valueHeadDim) / tp;
  const conv = (la.convKernel - 1) * convDim * DTYPE_BYTES[modelDtype];
  const temporal = (la.numValueHeads / tp) * la.valueHeadDim * la.keyHeadDim * DTYPE_BYTES[la.stateDtype ?? modelDtype];
  return conv + temporal;
}

/** KV bytes per token per layer on one GPU: K and V of the KV heads this rank holds (MLA: one latent vector, not split). */
export function attentionBytesPerTokenPerLayer(p: ModelProfile, tp: number, kvBytes: number): number {
  if (p.attention === "encoder-only") return 0;
  if (p.mla) return (p.mla.kvLoraRank + p.mla.qkRopeHeadDim) * kvBytes;
  return 2 * Math.max(1, Math.floor(p.numKvHeads / tp)) * p.headDim * kvBytes;
}

/**
 * Each layer's spec kind and the layers of each kind, by profile: the same for every context length the
 * sizing's search for vLLM's estimated maximum length tries.
 */
const groupings = new WeakMap<ModelProfile, Map<boolean, { readonly specs: readonly SpecKind[]; readonly byKind: ReadonlyMap<SpecKind, readonly number[]> }>>();

function layerGrouping(p: ModelProfile, hybridKvCacheManager: boolean) {
  let byManager = groupings.get(p);
  if (!byManager) groupings.set(p, (byManager = new Map()));
  let grouping = byManager.get(hybridKvCacheManager);
  if (!grouping) {
    const specs = layerSpecs(p, hybridKvCacheManager);
    const byKind = new Map<SpecKind, number[]>();
    specs.forEach((k, i) => {
      const layers = byKind.get(k);
      if (layers) layers.push(i);
      else byKind.set(k, [i]);
    });
    byManager.set(hybridKvCacheManager, (grouping = { specs, byKind }));
  }
  return grouping;
}

export function kvCacheLayout(p: ModelProfile, o: KvCacheOptions): KvCacheLayout {
  const { specs, byKind } = layerGrouping(p, o.hybridKvCacheManager);
  const perTokenLayer = attentionBytesPerTokenPerLayer(p, o.tp, o.kvBytes);
  const state = gatedDeltaNetStateBytes(p, o.tp, o.modelDtype);
  // Recurrent hybrids: the smallest multiple of 16 tokens whose attention page holds one state (mamba cache
  // modes "none"/"align"); the state is then padded to exactly that page.
  const blockSize = state > 0 && perTokenLayer > 0 ? BLOCK_SIZE * cdiv(state, BLOCK_SIZE * perTokenLayer) : BLOCK_SIZE;
  const pageBytes = perTokenLayer > 0 ? blockSize * perTokenLayer : state;

  // Layers grouped by spec over the whole model (layerGrouping); each group's layers on this stage are counted below.
  const counts = [...byKind.values()].map((l) => l.length);
  const min = Math.min(...counts);
  const max = Math.max(...counts);
  const globalGroupSize = max < 1.5 * min ? max : min;
  const onStage = (i: number) => i >= o.firstLayer && i < o.firstLayer + o.layers;
  const perRequest: Record<SpecKind, number> = {
    full: cdiv(o.maxModelLen, blockSize),
    // SlidingWindowSpec.max_admission_blocks_per_request: the window and one scheduling chunk, +1 for a window that
    // does not start on a block boundary.
    sliding: cdiv(Math.min(p.slidingWindow - 1 + o.maxNumBatchedTokens, o.maxModelLen), blockSize) + 1,
    mamba: o.prefixCaching ? 2 : 1,
  };
  const groups: KvCacheGroup[] = [];
  for (const [kind, layers] of byKind) {
    const n = cdiv(layers.length, globalGroupSize);
    // kv_cache_utils: group j takes layers[j::n], so every pipeline stage gets a share of each group.
    for (let j = 0; j < n; j++) groups.push({ kind, layers: layers.filter((_, idx) => idx % n === j && onStage(layers[idx])).length, blocksPerRequest: perRequest[kind] });
  }
  const groupSize = Math.max(...groups.map((g) => g.layers));
  const attentionLayers = specs.filter((k, i) => k !== "mamba" && onStage(i)).length;
  const linearLayers = specs.filter((k, i) => k === "mamba" && onStage(i)).length;
  return {
    blockSize,
    pageBytes,
    groupSize,
    groups,
    blocksPerRequest: groups.reduce((a, g) => a + g.blocksPerRequest, 0),
    attentionBytesPerToken: attentionLayers * perTokenLayer,
    stateBytesPerRequest: linearLayers * state,
  };
}

/** Whole blocks the pool holds (get_num_blocks: available // page_size // group_size). */
export function kvBlocks(layout: KvCacheLayout, availableBytes: number): number {
  if (layout.groupSize === 0 || layout.pageBytes === 0) return 0;
  return Math.max(0, Math.floor(Math.floor(availableBytes / layout.pageBytes) / layout.groupSize));
}

/** Bytes one request of max_model_len needs (_max_memory_usage_bytes_from_groups): what the start-up check compares. */
export function bytesPerRequest(layout: KvCacheLayout): number {
  return layout.groupSize * layout.pageBytes * layout.blocksPerRequest;
}

/** vLLM's "Maximum concurrency for N tokens per request". */
export function maxConcurrency(layout: KvCacheLayout, blocks: number): number {
  return layout.blocksPerRequest > 0 ? blocks / layout.blocksPerRequest : 0;
}

/** "GPU KV cache size: N tokens" as the release prints it. */
export function loggedKvTokens(layout: KvCacheLayout, blocks: number, maxModelLen: number, mode: "blocks" | "concurrency"): number {
  if (layout.groups.length === 0) return 0;
  // ≤ v0.22: num_blocks // len(kv_cache_groups) * min_block_size. v0.23+: int(max_concurrency * max_model_len).
  if (mode === "blocks") return Math.floor(blocks / layout.groups.length) * layout.blockSize;
  return Math.floor(maxConcurrency(layout, blocks) * maxModelLen);
}
