/** The ServingPlan: the planner's one JSON-serialisable output (shape documented in DESIGN.md). */
import type { LimitMmPerPrompt } from "./multimodal";
import type { Finding } from "./findings";

export type Capability = "TEXT_TO_TEXT" | "IMAGE_TEXT_TO_TEXT" | "EMBEDDING" | "RERANK";
export type CapacityType = "ON_DEMAND" | "SPOT";

export interface UsdRange {
  readonly min: number;
  readonly expected: number;
  readonly max: number;
}

export interface ShapeCandidate {
  readonly shape: string;
  readonly instanceType: string | null;
  readonly tensorParallel: number;
  readonly pipelineParallel: number;
  readonly fits: boolean;
  readonly kvCacheTokens: number;
  readonly maxConcurrency: number;
  readonly usdPerReplicaHour: number | null;
  /** Why it was not chosen: the first error, or "more expensive". */
  readonly verdict: string;
}

export interface AdapterPlan {
  readonly name: string;
  readonly repoId: string;
  readonly rank: number;
}

export interface LoraPlan {
  readonly maxLoraRank: number;
  readonly maxLoras: number;
  readonly maxCpuLoras: number;
  /** GPU memory the adapter slots take from the KV cache, per GPU. */
  readonly slotsGiB: number;
  /** The endpoint's expected monthly cost shared over base and adapters. */
  readonly monthlyUsdPerAdapter: number;
}

export interface EndpointPlan {
  readonly name: string;
  readonly path: string;
  readonly model: string;
  readonly revision: string | null;
  /** The vLLM release the endpoint runs; its image is catalog.vllmImage's repository at this tag. */
  readonly vllm: string;
  readonly capability: Capability;
  readonly shape: string;
  readonly instanceType: string;
  readonly gpu: string;
  readonly gpusPerReplica: number;
  /** Nodes one replica spans (LeaderWorkerSet group size when > 1). */
  readonly nodesPerReplica: number;
  readonly tensorParallel: number;
  readonly pipelineParallel: number;
  readonly maxModelLen: number;
  readonly gpuMemoryUtilization: number;
  readonly dtype: string;
  readonly kvCacheDtype: string;
  /** `--limit-mm-per-prompt` of a vision endpoint, as rendered; the encoder profile is sized with it. */
  readonly limitMmPerPrompt?: LimitMmPerPrompt;
  readonly quantization: string | null;
  readonly maxNumSeqs: number;
  readonly maxNumBatchedTokens: number;
  readonly weightsGiB: number;
  readonly overheadGiB: number;
  readonly kvCacheGiB: number;
  readonly kvCacheTokens: number;
  readonly maxConcurrency: number;
  readonly replicas: { readonly min: number; readonly expected: number; readonly max: number };
  readonly pool: string;
  readonly resources: { readonly cpu: number; readonly memoryGiB: number; readonly shmGiB: number };
  /** Seconds to budget for start-up: weights read at the loading bandwidth plus engine warm-up. */
  readonly startupSeconds: number;
  readonly hourlyUsd: number;
  readonly monthlyUsd: UsdRange;
  readonly adapters: readonly AdapterPlan[];
  readonly lora: LoraPlan | null;
  /** The chosen shape and up to 4 runners-up that also fit, cheapest first. */
  readonly alternatives: readonly ShapeCandidate[];
  /** The shapes that did not fit, by the code of their first error. */
  readonly rejected: Readonly<Record<string, readonly string[]>>;
}

/** How a Spot pool is priced: a price the user declared, or a range — never a guessed figure. */
export interface SpotPricing {
  readonly basis: "declared" | "range";
  /** Lowest $/h per node: the declared price, or On-Demand less AWS's largest Spot discount. */
  readonly floorUsdPerHour: number;
  /** Highest $/h per node: the declared price, or the On-Demand price (the default maximum Spot price). */
  readonly ceilingUsdPerHour: number;
  readonly source: string;
}

export interface NodePoolPlan {
  readonly name: string;
  readonly shape: string;
  readonly instanceType: string;
  readonly capacityType: CapacityType;
  readonly gpusPerNode: number;
  readonly vcpusPerNode: number;
  readonly replicasPerNode: number;
  /** Nodes one replica spans: a multi-node pool grows and surges in whole groups. */
  readonly nodesPerReplica: number;
  readonly endpoints: readonly string[];
  readonly nodes: { readonly min: number; readonly expected: number; readonly max: number };
  /** GPUs left idle when every endpoint runs its maximum replicas. */
  readonly gpusFree: number;
  readonly strandedUsdPerHour: number;
  readonly rootVolumeGiB: number;
  /** On-Demand price of a node in the plan's region; for Spot, the declared price or the On-Demand ceiling. */
  readonly hourlyUsdPerNode: number;
  /** Spot pools only: how the Spot price was taken. */
  readonly spot: SpotPricing | null;
  readonly monthlyUsd: UsdRange;
  readonly quotaCode: string;
}

export interface QuotaPlan {
  readonly code: string;
  readonly name: string;
  readonly neededVcpus: number;
  readonly limit: number | null;
  readonly status: "ok" | "exceeded" | "undeclared";
  readonly ok: boolean;
}

export interface CostLine {
  readonly item: string;
  readonly monthlyUsd: UsdRange;
  readonly source: string;
}

export interface ServingPlan {
  readonly schemaVersion: 1;
  readonly catalog: { readonly pricesCapturedAt: string; readonly region: string; readonly vllmImage: string };
  readonly endpoints: readonly EndpointPlan[];
  readonly nodePools: readonly NodePoolPlan[];
  readonly quotas: readonly QuotaPlan[];
  readonly costs: readonly CostLine[];
  readonly totals: { readonly monthlyUsd: UsdRange; readonly budgetUsdPerMonth: number | null };
  readonly findings: readonly Finding[];
}
