/**
 * The vLLM engine behaviour that moves the memory budget: default utilisation, batch defaults (which
 * size the profile run), the sampler warm-up of each model runner, whether CUDA graphs are charged
 * to the budget. Data lives in catalog/engines.json; this module turns a row into functions.
 */
import enginesJson from "../catalog/engines.json";
import releasesJson from "../catalog/vllm/releases.json";
import flagsJson from "../catalog/vllm/flags.json";
import { error, GiB, PlanningError } from "./findings";
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
  /** The vLLM version this profile was asked for ("0.24.0"). */
  readonly version: string;
  /** How the start-up log prints "GPU KV cache size": whole blocks ÷ KV-cache groups (≤ v0.23) or max concurrency × max_model_len (v0.24+). */
  readonly kvTokensLogged: "blocks" | "concurrency";
  readonly engine: "V0" | "V1";
  /** Sliding-window and full layers in separate KV-cache groups sharing one block pool (v0.9.1+); before, sliding layers are kept as full attention. */
  readonly hybridKvCacheManager: boolean;
  readonly gpuMemoryUtilization: number;
  readonly nonTorchBaseGiB: number;
  readonly tensorParallelCommGiB: number;
  /** Whether the scheduler splits prompts into chunks that share steps with decodes (V1), or runs prefill-only steps (V0). */
  readonly chunkedPrefill: boolean;
  /** Whether the scheduler plans the next step while the GPU runs this one (outputs reach clients a step later). */
  readonly asyncScheduling: boolean;
  /**
   * Which model runner serves this architecture, and how it warms up. `flashInfer: false` (a pip install without
   * FlashInfer) selects the native sampler on releases whose default sampler is FlashInfer's.
   */
  runner(p: ModelProfile, env?: { flashInfer?: boolean }): RunnerBehaviour;
  batchDefaults(gpu: { id: string; cudaVisibleGiB: number }, maxModelLen: number): BatchDefaults;
  /** CUDA graph memory charged to the KV budget, per GPU. */
  cudaGraphBytes(p: ModelProfile, layersOnGpu: number, maxNumSeqs?: number): number;
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
  /** The native sampler of releases that default to FlashInfer's, used when FlashInfer is not installed. */
  nativeSampler?: Omit<RunnerBehaviour, "cudaGraphsInBudget">;
  /** Model Runner V2 serves these architectures, and from v0.25 every dense generative model too. */
  modelRunnerV2: { architectures: string[]; allDenseGenerative: boolean };
  kvTokensLogged: "blocks" | "concurrency";
  hybridKvCacheManager: boolean;
  cudaGraphGiBPerLayer: number;
  source: string;
}

const rows = (enginesJson as { engines: EngineRow[] }).engines;

function toProfile(r: EngineRow, version: string): EngineProfile {
  const v2 = (p: ModelProfile) => {
    const generative = p.attention !== "encoder-only" && p.classifierLabels === 0;
    if (!generative) return false;
    if (r.modelRunnerV2.architectures.includes(p.architecture)) return true;
    // v0.25+: VllmConfig._is_default_v2_model_runner_model — not MoE, not a hybrid (linear-attention/mamba) model.
    return r.modelRunnerV2.allDenseGenerative && !p.moe && !p.linearAttention;
  };
  const runner = (p: ModelProfile, env?: { flashInfer?: boolean }) => {
    const base = v2(p) ? r.runners.v2 : r.runners.v1;
    return env?.flashInfer === false && r.nativeSampler ? { ...base, ...r.nativeSampler } : base;
  };
  return {
    id: r.id,
    version,
    kvTokensLogged: r.kvTokensLogged,
    engine: r.engine,
    hybridKvCacheManager: r.hybridKvCacheManager,
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
    cudaGraphBytes(p, layersOnGpu, maxNumSeqs = 1024) {
      if (!runner(p).cudaGraphsInBudget || p.attention === "encoder-only") return 0;
      // Piecewise CUDA graphs are captured per layer and per capture size; the sizes are 1, 2, 4, then every 8
      // up to 256 and every 16 up to min(2 × max_num_seqs, 512) (config/vllm.py). cudaGraphGiBPerLayer is the
      // per-layer cost at the full 51-size list (0.84 GiB for 32-layer Llama-3.1-8B on H100, v0.19 log).
      return (r.cudaGraphGiBPerLayer * layersOnGpu * GiB * captureSizes(Math.min(2 * maxNumSeqs, 512))) / captureSizes(512);
    },
  };
}

/** How many CUDA-graph batch sizes vLLM captures up to `max`: [1, 2, 4] + range(8, 256, 8) + range(256, max + 1, 16). */
export function captureSizes(max: number): number {
  const sizes = [1, 2, 4].filter((x) => x <= max).length;
  let n = sizes;
  for (let x = 8; x < 256 && x <= max; x += 8) n++;
  for (let x = 256; x <= max; x += 16) n++;
  return n;
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
  return toProfile(r, version.replace(/^v/, ""));
}

interface ReleaseRow {
  version: string;
  commit: string;
  releasedAt: string;
  servable: boolean;
  digest: { value: string; seenAt: string } | null;
  digestWhy?: string;
  source: string;
}
const releaseData = releasesJson as { default: string; repository: string; sizingSeries: { from: string; below: string }; releases: ReleaseRow[] };
const flagData = flagsJson as { releases: Record<string, { source: string; exists: string[]; absent: string[] }> };

/** A vLLM release as the planner uses it: the engine that sizes it and, for releases read in full, what a stack renders. */
export interface VllmRelease {
  readonly version: string;
  readonly engine: EngineProfile;
  /** Read at its tag commit, with a flag set: a stack may serve it. */
  readonly servable: boolean;
  readonly commit: string | null;
  /** The image repository and tag, e.g. vllm/vllm-openai:v0.24.0. */
  readonly imageTag: string;
  /** The published multi-arch index digest, when one was found (and where). */
  readonly digest: { readonly value: string; readonly seenAt: string } | null;
  /** The `vllm serve` flags this release's parser defines (servable releases only). */
  readonly flags: ReadonlySet<string> | null;
}

/** The release sized and served when none is named (the newest read in full). */
export const DEFAULT_VLLM_VERSION = releaseData.default;

/** Releases a stack can serve, newest first. */
export function servableVllmVersions(): string[] {
  return releaseData.releases.filter((r) => r.servable).map((r) => r.version);
}

function normalise(version: string): string | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:\.post\d+)?$/.exec(version.trim());
  return m ? `${Number(m[1])}.${Number(m[2])}.${Number(m[3])}` : undefined;
}

/**
 * The release for a version string. Sizing accepts every version an engine profile covers (v0.6–v0.29);
 * `purpose: "serve"` accepts only releases read at their tag with a flag set. Anything else is a coded error
 * that lists what is supported.
 */
export function vllmRelease(version: string | undefined, path: string, purpose: "size" | "serve" = "size"): VllmRelease {
  const wanted = version ?? DEFAULT_VLLM_VERSION;
  const v = normalise(wanted);
  const row = v ? releaseData.releases.find((r) => r.version === v) : undefined;
  const inSeries = v !== undefined && cmp(v, releaseData.sizingSeries.from) >= 0 && cmp(v, releaseData.sizingSeries.below) < 0;
  const servable = servableVllmVersions();
  if (!v || (purpose === "size" && !inSeries && !row) || (purpose === "serve" && !row?.servable)) {
    const sizing = `v${releaseData.sizingSeries.from.replace(/\.0$/, "")}–v0.29 for sizing`;
    throw new PlanningError([
      error("VLLM_VERSION_UNSUPPORTED", path, {
        field: "vllm",
        problem: `vLLM "${wanted}" is not a release this library can ${purpose === "serve" ? "serve" : "size"}`,
        why:
          purpose === "serve"
            ? `a stack renders only releases whose engine profile and \`vllm serve\` flag set were read at their tag commit (catalog/vllm/releases.json); ${v && inSeries ? `${v} can be sized (model-serving size --vllm ${v}) but was not read at its tag` : "other versions are unknown"}`
            : "each release budgets memory differently (default utilisation, CUDA-graph accounting, model runner), and no engine profile covers this version",
        fix: `use one of ${servable.join(", ")} (served), or any of ${sizing}`,
      }),
    ]);
  }
  const flags = row?.servable ? flagData.releases[row.version] : undefined;
  if (row?.servable && !flags) throw new Error(`catalog/vllm/flags.json has no flag set for servable vLLM ${row.version}`);
  return {
    version: v,
    engine: engineFor(v),
    servable: !!row?.servable,
    commit: row?.commit ?? null,
    imageTag: `${releaseData.repository}:v${v}`,
    digest: row?.digest ?? null,
    flags: flags ? new Set(flags.exists) : null,
  };
}
