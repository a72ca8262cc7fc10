/**
 * LoRA adapters on a shared base model. vLLM (`--enable-lora`) preallocates, on every GPU, A and B
 * buffers of max_lora_rank for max_loras adapter slots on every LoRA-wrapped Linear layer
 * (qkv, o, gate_up, down), split across tensor-parallel ranks like the layers themselves. That memory
 * comes out of the KV budget, so the planner charges it there.
 */
import { error, type Finding } from "./findings";
import { DTYPE_BYTES, type Dtype, type ModelProfile } from "./model-profile";

/** `--max-lora-rank` values vLLM v0.24.0 accepts (vllm/config/lora.py). */
export const MAX_LORA_RANKS = [1, 8, 16, 32, 64, 128, 256, 320, 512] as const;
/** Adapters one endpoint may host, as the managed services allow (OCI: up to 50 per hosting cluster). */
export const MAX_ADAPTERS_PER_ENDPOINT = 50;
/** Adapter slots resident on the GPU at once; the rest wait in CPU memory (`--max-cpu-loras`). */
export const DEFAULT_GPU_LORA_SLOTS = 4;

export interface AdapterSpec {
  readonly name: string;
  readonly repoId: string;
  readonly baseModel: string;
  readonly rank: number;
  readonly path: string;
}

export interface LoraSettings {
  readonly maxLoraRank: number;
  readonly maxLoras: number;
  readonly maxCpuLoras: number;
}

/** Bytes one GPU holds for `slots` adapter slots of `rank`. */
export function loraBytesPerGpu(p: ModelProfile, slots: number, rank: number, tp: number, dtype: Dtype): number {
  const h = p.hiddenSize;
  const qkvOut = (p.numHeads + 2 * p.numKvHeads) * p.headDim;
  const inter = p.moe ? 0 : p.intermediateSize; // vLLM does not wrap fused MoE experts
  // A: rank × in, B: out × rank; column-parallel layers split B, row-parallel layers split A.
  const perLayer = rank * (h + qkvOut / tp) + rank * ((p.numHeads * p.headDim) / tp + h) + rank * (h + (2 * inter) / tp) + rank * (inter / tp + h);
  return slots * perLayer * p.numLayers * DTYPE_BYTES[dtype];
}

export function loraSettings(adapters: readonly AdapterSpec[], maxLoraRank?: number): LoraSettings {
  const needed = Math.max(...adapters.map((a) => a.rank), 1);
  const rank = maxLoraRank ?? MAX_LORA_RANKS.find((r) => r >= needed) ?? 512;
  return { maxLoraRank: rank, maxLoras: Math.min(adapters.length, DEFAULT_GPU_LORA_SLOTS), maxCpuLoras: adapters.length };
}

const normalize = (id: string) => id.replace(/^https:\/\/huggingface\.co\//, "").replace(/\/+$/, "").toLowerCase();

/** Checks for attaching adapters to an endpoint serving `baseModelId`. */
export function checkAdapters(adapters: readonly AdapterSpec[], baseModelId: string, maxLoraRank: number | undefined, endpointPath: string): Finding[] {
  const out: Finding[] = [];
  if (maxLoraRank !== undefined && !(MAX_LORA_RANKS as readonly number[]).includes(maxLoraRank)) {
    out.push(error("MAX_LORA_RANK_INVALID", endpointPath, { field: "maxLoraRank", problem: `maxLoraRank ${maxLoraRank} is not a value vLLM accepts`, why: `--max-lora-rank takes one of ${MAX_LORA_RANKS.join(", ")}`, fix: `use ${MAX_LORA_RANKS.find((r) => r >= maxLoraRank) ?? 512}` }));
  }
  if (adapters.length > MAX_ADAPTERS_PER_ENDPOINT) {
    out.push(error("TOO_MANY_ADAPTERS", adapters[MAX_ADAPTERS_PER_ENDPOINT].path, { field: "adapters", problem: `adapter ${adapters.length} ("${adapters[MAX_ADAPTERS_PER_ENDPOINT].name}") exceeds the ${MAX_ADAPTERS_PER_ENDPOINT} one endpoint may host`, why: "every adapter is kept in CPU memory and swapped onto the GPU; past 50 the swap traffic dominates, and the managed services set the same limit", fix: "put the next adapters on a second endpoint of the same base model" }));
  }
  const names = new Set<string>();
  for (const a of adapters) {
    if (normalize(a.baseModel) !== normalize(baseModelId)) {
      out.push(error("ADAPTER_BASE_MISMATCH", a.path, { field: "adapter_config.json base_model_name_or_path", problem: `adapter "${a.name}" was trained on ${a.baseModel}, but the endpoint serves ${baseModelId}`, why: "LoRA weights only make sense on the exact base they were trained on; vLLM would load them and answer with garbage", fix: `attach it to an endpoint of ${a.baseModel}` }));
    }
    const limit = maxLoraRank ?? 512;
    if (a.rank > limit) {
      out.push(error("LORA_RANK_EXCEEDED", a.path, { field: "adapter_config.json r", problem: `adapter "${a.name}" has rank ${a.rank}, above the endpoint's max-lora-rank ${limit}`, why: "vLLM refuses to load a LoRA whose rank exceeds --max-lora-rank", fix: `raise the endpoint's maxLoraRank to ${MAX_LORA_RANKS.find((r) => r >= a.rank) ?? 512} (it costs GPU memory), or retrain at rank ≤ ${limit}` }));
    }
    if (!Number.isInteger(a.rank) || a.rank < 1) {
      out.push(error("ADAPTER_CONFIG_INVALID", a.path, { field: "adapter_config.json r", problem: `adapter "${a.name}" has rank ${a.rank}`, why: "a LoRA rank is a positive integer", fix: "use the adapter's real adapter_config.json" }));
    }
    if (names.has(a.name)) out.push(error("DUPLICATE_ADAPTER", a.path, { field: "name", problem: `adapter name "${a.name}" is used twice on this endpoint`, why: "clients select an adapter by its served model name", fix: "give each adapter its own name" }));
    names.add(a.name);
  }
  return out;
}
