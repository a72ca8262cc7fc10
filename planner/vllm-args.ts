/**
 * The `vllm serve` command line for an endpoint. Every value comes from the plan; every flag is one
 * that the served release's argument parser defines (catalog/vllm/flags.json), checked here so a
 * typo or a removed flag fails the build, not a pod at 3 a.m.
 */
import { vllmRelease, type VllmRelease } from "./engine";
import { DEFAULT_ENDPOINT_LIMIT_MM_PER_PROMPT, limitMmPerPromptArg } from "./multimodal";
import type { EndpointPlan } from "./plan-types";

export const VLLM_PORT = 8000;

export interface ServeOptions {
  /** Where the weights are: a local directory (S3 sources) or the repo id (Hub sources). */
  readonly model: string;
  /** Hub revision to load (Hub sources only). */
  readonly revision?: string | null;
  readonly downloadDir?: string;
  readonly enablePrefixCaching?: boolean;
  /** LoRA settings and the adapters as name → local directory. */
  /** Stable public name shared by the endpoints of a traffic group (blue/green, canary). */
  readonly trafficGroup?: string;
  readonly lora?: { readonly maxLoraRank: number; readonly maxLoras: number; readonly maxCpuLoras: number; readonly modules: ReadonlyArray<{ name: string; path: string }> };
}

export function vllmArgs(
  e: Pick<EndpointPlan, "name" | "capability" | "tensorParallel" | "pipelineParallel" | "maxModelLen" | "gpuMemoryUtilization" | "maxNumSeqs" | "maxNumBatchedTokens" | "kvCacheDtype" | "quantization" | "dtype" | "limitMmPerPrompt">,
  o: ServeOptions,
  checkpointQuantized: boolean,
  release: VllmRelease = vllmRelease(undefined, e.name, "serve"),
): string[] {
  const args: string[] = [];
  const known = release.flags;
  if (!known) throw new Error(`vLLM ${release.version} has no flag set (catalog/vllm/flags.json); only servable releases render a command`);
  const add = (flag: string, ...values: Array<string | number>) => {
    if (!known.has(flag)) throw new Error(`vLLM ${release.version} has no ${flag} flag (catalog/vllm/flags.json)`);
    args.push(flag, ...values.map(String));
  };
  add("--model", o.model);
  if (o.revision) add("--revision", o.revision);
  if (o.downloadDir) add("--download-dir", o.downloadDir);
  // In a traffic group the stable name comes first: it is the name clients use and responses carry.
  add("--served-model-name", ...(o.trafficGroup && o.trafficGroup !== e.name ? [o.trafficGroup, e.name] : [e.name]));
  add("--host", "0.0.0.0");
  add("--port", VLLM_PORT);
  add("--tensor-parallel-size", e.tensorParallel);
  if (e.pipelineParallel > 1) add("--pipeline-parallel-size", e.pipelineParallel);
  add("--max-model-len", e.maxModelLen);
  add("--gpu-memory-utilization", e.gpuMemoryUtilization);
  // Pinned so the KV budget the planner computed does not move with vLLM's GPU-name heuristics.
  add("--max-num-seqs", e.maxNumSeqs);
  add("--max-num-batched-tokens", e.maxNumBatchedTokens);
  add("--dtype", e.dtype);
  if (e.kvCacheDtype !== "auto") add("--kv-cache-dtype", e.kvCacheDtype);
  if (e.quantization && !checkpointQuantized) add("--quantization", e.quantization);
  const pooling = e.capability === "EMBEDDING" || e.capability === "RERANK";
  if (pooling) add("--runner", "pooling");
  else add(o.enablePrefixCaching === false ? "--no-enable-prefix-caching" : "--enable-prefix-caching");
  if (e.capability === "IMAGE_TEXT_TO_TEXT") add("--limit-mm-per-prompt", limitMmPerPromptArg(e.limitMmPerPrompt ?? DEFAULT_ENDPOINT_LIMIT_MM_PER_PROMPT));
  if (o.lora && o.lora.modules.length) {
    add("--enable-lora");
    add("--max-lora-rank", o.lora.maxLoraRank);
    add("--max-loras", o.lora.maxLoras);
    add("--max-cpu-loras", o.lora.maxCpuLoras);
    add("--lora-modules");
    args.push(...o.lora.modules.map((m) => `${m.name}=${m.path}`));
  }
  add("--uvicorn-log-level", "warning");
  add("--no-enable-log-requests");
  return args;
}
