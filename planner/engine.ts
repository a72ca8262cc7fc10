/**
 * The vLLM engine behaviour that moves the memory budget: default utilisation, batch defaults (which
 * size the profile run), the sampler warm-up of each model runner, whether CUDA graphs are charged
 * to the budget. Data lives in catalog/engines.json; this module turns a row into functions.
 */
import enginesJson from "../catalog/engines.json";
import { GiB } from "./findings";
import type { ModelProfile } from "./model-profile";

interface BatchDefaults {
  readonly maxNumBatchedTokens: number;
  readonly maxNumSeqs: number;
}

export interface RunnerBehaviour {
  /** float32 vocabulary rows per request alive at the sampler warm-up peak (fp32 logits, probs, noise). */
  readonly samplerFloat32CopiesPerLogit: number;
  /** The Triton top-k/top-p kernel keeps one float32 vocabulary row per SM (capped at the request count). */
  readonly samplerTopKTopPBufferPerSm: boolean;
  readonly cudaGraphsInBudget: boolean;
}

export interface EngineProfile {
  readonly id: string;
  readonly engine: "V0" | "V1";
  readonly gpuMemoryUtilization: number;
  readonly nonTorchBaseGiB: number;
  readonly tensorParallelCommGiB: number;
  /** Whether the scheduler splits prompts into chunks that share steps with decodes (V1), or runs prefill-only steps (V0). */
  readonly chunkedPrefill: boolean;
  /** Whether the scheduler plans the next step while the GPU runs this one (outputs reach clients a step later). */
  readonly asyncScheduling: boolean;
  /** Which model runner serves this architecture, and how it warms up. */
  runner(p: ModelProfile): RunnerBehaviour;
  batchDefaults(gpu: { id: string; cudaVisibleGiB: number }, maxModelLen: number): BatchDefaults;
  /** CUDA graph memory charged to the KV budget, per GPU. */
  cudaGraphBytes(p: ModelProfile, layersOnGpu: number): number;
}

interface EngineRow {
  id: string;
  minVersion: string;
  belowVersion: string | null;
  engine: "V0" | "V1";
  chunkedPrefill: boolean;
  asyncScheduling?: boolean;
  gpuMemoryUtilization: number;
  batchDefaults: { largeGpuMinGiB: number; large: BatchDefaults; other: BatchDefaults; a100IsOther: boolean };
  nonTorchBaseGiB: number;
  tensorParallelCommGiB: number;
  runners: { v1: RunnerBehaviour; v2: RunnerBehaviour };
  modelRunnerV2Architectures: string[];
  cudaGraphGiBPerLayer: number;
  source: string;
}

const rows = (enginesJson as { engines: EngineRow[] }).engines;

function toProfile(r: EngineRow): EngineProfile {
  const runner = (p: ModelProfile) => (r.modelRunnerV2Architectures.includes(p.architecture) ? r.runners.v2 : r.runners.v1);
  return {
    id: r.id,
    engine: r.engine,
    gpuMemoryUtilization: r.gpuMemoryUtilization,
    nonTorchBaseGiB: r.nonTorchBaseGiB,
    tensorParallelCommGiB: r.tensorParallelCommGiB,
    chunkedPrefill: r.chunkedPrefill,
    // Rows written before the field existed: V1 engines schedule asynchronously by default.
    asyncScheduling: r.asyncScheduling ?? r.engine === "V1",
    runner,
    batchDefaults(gpu, maxModelLen) {
      const large = gpu.cudaVisibleGiB >= r.batchDefaults.largeGpuMinGiB && !(r.batchDefaults.a100IsOther && gpu.id.startsWith("A100"));
      const d = large ? r.batchDefaults.large : r.batchDefaults.other;
      // Without chunked prefill a whole prompt of max_model_len must fit in one batch.
      const tokens = r.chunkedPrefill ? d.maxNumBatchedTokens : Math.max(maxModelLen, d.maxNumBatchedTokens);
      // vLLM caps the batch at what max_num_seqs requests of max_model_len could ever need.
      const capped = Math.min(tokens, d.maxNumSeqs * Math.max(1, maxModelLen));
      return { maxNumBatchedTokens: capped, maxNumSeqs: Math.min(d.maxNumSeqs, capped) };
    },
    cudaGraphBytes(p, layersOnGpu) {
      if (!runner(p).cudaGraphsInBudget || p.attention === "encoder-only") return 0;
      // Piecewise CUDA graphs are captured per layer; the estimate scales with the layers a GPU runs.
      return r.cudaGraphGiBPerLayer * layersOnGpu * GiB;
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
  const r = rows.find((x) => cmp(version, x.minVersion) >= 0 && (x.belowVersion === null || cmp(version, x.belowVersion) < 0));
  if (!r) throw new Error(`no engine profile in catalog/engines.json covers vLLM ${version}`);
  return toProfile(r);
}
