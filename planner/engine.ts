/**
 * The vLLM engine behaviour that moves the memory budget: default utilisation, batch defaults (which
 * size the profile run), whether CUDA graphs are charged to the budget. Data lives in
 * catalog/engines.json; this module turns a row into functions.
 */
import enginesJson from "../catalog/engines.json";
import type { ModelProfile } from "./model-profile";

interface BatchDefaults {
  readonly maxNumBatchedTokens: number;
  readonly maxNumSeqs: number;
}

export interface EngineProfile {
  readonly id: string;
  readonly engine: "V0" | "V1";
  readonly gpuMemoryUtilization: number;
  readonly cudaGraphsInBudget: boolean;
  /** Bytes per (request × vocabulary entry) alive at the sampler warm-up peak. */
  readonly samplerBytesPerLogit: number;
  readonly nonTorchBaseGiB: number;
  readonly tensorParallelCommGiB: number;
  batchDefaults(gpu: { id: string; cudaVisibleGiB: number }, maxModelLen: number): BatchDefaults;
  /** Dummy tokens of the profile run. */
  profileTokens(maxNumBatchedTokens: number, maxModelLen: number): number;
  cudaGraphBytes(p: ModelProfile, tp: number): number;
}

interface EngineRow {
  id: string;
  appliesTo: string;
  engine: "V0" | "V1";
  chunkedPrefill: boolean;
  gpuMemoryUtilization: number;
  batchDefaults: { largeGpuMinGiB: number; large: BatchDefaults; other: BatchDefaults; a100IsOther: boolean };
  cudaGraphsInBudget: boolean;
  samplerBytesPerLogit: number;
  nonTorchBaseGiB: number;
  tensorParallelCommGiB: number;
  source: string;
}

const rows = (enginesJson as { engines: EngineRow[] }).engines;

function toProfile(r: EngineRow): EngineProfile {
  return {
    id: r.id,
    engine: r.engine,
    gpuMemoryUtilization: r.gpuMemoryUtilization,
    cudaGraphsInBudget: r.cudaGraphsInBudget,
    samplerBytesPerLogit: r.samplerBytesPerLogit,
    nonTorchBaseGiB: r.nonTorchBaseGiB,
    tensorParallelCommGiB: r.tensorParallelCommGiB,
    batchDefaults(gpu, maxModelLen) {
      const large = gpu.cudaVisibleGiB >= r.batchDefaults.largeGpuMinGiB && !(r.batchDefaults.a100IsOther && gpu.id.startsWith("A100"));
      const d = large ? r.batchDefaults.large : r.batchDefaults.other;
      // Without chunked prefill a whole prompt of max_model_len must fit in one batch.
      return r.chunkedPrefill ? d : { maxNumSeqs: d.maxNumSeqs, maxNumBatchedTokens: Math.max(maxModelLen, d.maxNumBatchedTokens) };
    },
    profileTokens(maxNumBatchedTokens) {
      return maxNumBatchedTokens;
    },
    cudaGraphBytes() {
      return 0;
    },
  };
}

function parse(v: string): number[] {
  return v.replace(/^v/, "").split(".").map((x) => parseInt(x, 10) || 0);
}
function cmp(a: string, b: string): number {
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

/** The engine profile for a vLLM version ("0.19.0", "v0.6.4"). */
export function engineFor(version: string): EngineProfile {
  for (const r of rows) {
    const m = /^(>=|<)(.+)$/.exec(r.appliesTo);
    if (!m) continue;
    if (m[1] === ">=" ? cmp(version, m[2]) >= 0 : cmp(version, m[2]) < 0) return toProfile(r);
  }
  throw new Error(`no engine profile in catalog/engines.json covers vLLM ${version}`);
}

export function engineById(id: string): EngineProfile {
  const r = rows.find((x) => x.id === id);
  if (!r) throw new Error(`no engine profile "${id}" in catalog/engines.json`);
  return toProfile(r);
}
