/**
 * Replaying a published vLLM start-up log through the planner: the GPU as the log saw it, the release that
 * printed it, and the flags its command line and environment set. Shared by the sizing benchmark and its tests.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { findGpu, findGpuByName } from "../catalog";
import { engineFor } from "../planner/engine";
import { GiB } from "../planner/findings";
import { parseConfigJson } from "../planner/config-json";
import { profileFromConfig, type ModelProfile } from "../planner/model-profile";
import { size, type GpuFacts, type KvCacheDtype, type SizingInput, type SizingResult } from "../planner/sizing";

/** One point of bench/data/kv-cache-public.json (the fields the replay reads). */
export interface LogPoint {
  readonly source: string;
  readonly model: string;
  readonly gpu_model: string;
  readonly tensor_parallel_size: number | null;
  readonly pipeline_parallel_size: number | null;
  readonly dtype: string | null;
  readonly kv_cache_dtype: string | null;
  readonly max_model_len: number;
  readonly gpu_memory_utilization: number | null;
  readonly vllm_version: string | null;
  readonly engine: "V0" | "V1";
  readonly total_gpu_memory_gib: number | null;
  readonly model_weights_gib: number | null;
  readonly available_kv_cache_gib: number | null;
  readonly gpu_kv_cache_tokens: number | null;
  readonly num_gpu_blocks: number | null;
  readonly kv_capacity_tokens_from_error: number | null;
  readonly outcome: string;
  readonly notes?: string;
  readonly config: string;
}

export const BENCH_DATA = join(__dirname, "data");

export function logPoints(): LogPoint[] {
  return JSON.parse(readFileSync(join(BENCH_DATA, "kv-cache-public.json"), "utf8")) as LogPoint[];
}

export function logConfig(p: LogPoint): Record<string, unknown> {
  return parseConfigJson(readFileSync(join(BENCH_DATA, p.config), "utf8")) as Record<string, unknown>;
}

/** The vLLM release that printed a log; unversioned V0 logs ran a release before 0.8.0, unversioned V1 ones v0.19.0. */
export function versionOf(p: LogPoint): string {
  return (p.vllm_version ?? (p.engine === "V0" ? "0.6.4" : "0.19.0")).replace(/(rc\d+)?(\.dev.*)?(\+.*)?$/, "");
}

/** The GPU as the log saw it: the catalog's entry, with the CUDA-visible total the log printed when it did. */
export function gpuOf(p: LogPoint): GpuFacts {
  const name = p.gpu_model.toUpperCase();
  // GCP a2-highgpu-* machines carry A100 40GB GPUs.
  const catalogId = name.includes("H100") ? "H100" : name.includes("H200") ? "H200" : name.includes("A100") ? (name.includes("80") ? "A100-80G" : "A100-40G") : name.includes("L40S") ? "L40S" : name.includes("A10") ? "A10G" : undefined;
  const withTotal = (g: GpuFacts): GpuFacts => ({ ...g, cudaVisibleGiB: p.total_gpu_memory_gib ?? g.cudaVisibleGiB });
  const known = catalogId ? findGpu(catalogId) : undefined;
  if (known) return withTotal(known);
  // Other GPUs by their catalog name: the leading words of the log's GPU ("RTX 4090 24GB (WSL2)" → "RTX 4090").
  const words = p.gpu_model.replace(/\(.*$/, "").split(/\s+/).filter(Boolean);
  for (let n = words.length; n > 0; n--) {
    const g = findGpuByName(words.slice(0, n).join(" "));
    if (g) return withTotal(g);
  }
  if (/GB10|Spark/i.test(p.gpu_model)) return withTotal(findGpuByName("GB10")!);
  throw new Error(`bench: unknown GPU ${p.gpu_model}`);
}

/** What the log's command line and environment set, read from its notes: batch flags, prefix caching, a missing FlashInfer. */
export function logFlags(p: LogPoint): Pick<SizingInput, "maxNumSeqs" | "maxNumBatchedTokens" | "enablePrefixCaching" | "flashInferInstalled"> {
  const notes = p.notes ?? "";
  const seqs = /--max-num-seqs[ =](\d+)/.exec(notes);
  const tokens = /--max-num-batched-tokens[ =](\d+)/.exec(notes);
  return {
    ...(seqs ? { maxNumSeqs: Number(seqs[1]) } : {}),
    ...(tokens ? { maxNumBatchedTokens: Number(tokens[1]) } : {}),
    ...(/--enable-prefix-caching|prefix caching \(mamba 'align'\)/.test(notes) ? { enablePrefixCaching: true } : {}),
    ...(/FlashInfer is not available/.test(notes) ? { flashInferInstalled: false } : {}),
  };
}

export interface Replay {
  readonly profile: ModelProfile;
  readonly version: string;
  readonly input: SizingInput;
  readonly result: SizingResult;
  /** What the log printed: "GPU KV cache size", else the capacity in its error, else its block count × 16. */
  readonly logged: number | null;
  /** Tokens computed from the KV pool the log printed: the layout and the printed capacity alone, without the memory budget. */
  readonly fromLoggedPool: number | null;
}

export function replay(p: LogPoint): Replay {
  const profile = profileFromConfig(logConfig(p), p.model);
  const version = versionOf(p);
  const engine = engineFor(version);
  const input: SizingInput = {
    profile,
    gpu: gpuOf(p),
    engine,
    tensorParallel: p.tensor_parallel_size ?? 1,
    pipelineParallel: p.pipeline_parallel_size ?? 1,
    maxModelLen: p.max_model_len,
    gpuMemoryUtilization: p.gpu_memory_utilization ?? engine.gpuMemoryUtilization,
    ...(p.dtype ? { dtype: p.dtype as "bfloat16" | "float16" } : {}),
    kvCacheDtype: (p.kv_cache_dtype ?? "auto") as KvCacheDtype,
    ...logFlags(p),
    path: p.model,
  };
  const result = size(input);
  const logged = p.gpu_kv_cache_tokens ?? p.kv_capacity_tokens_from_error ?? (p.num_gpu_blocks ? p.num_gpu_blocks * 16 : null);
  const fromLoggedPool = p.available_kv_cache_gib ? size({ ...input, kvCacheMemoryBytes: p.available_kv_cache_gib * GiB }).kvCacheTokens : null;
  return { profile, version, input, result, logged, fromLoggedPool };
}
