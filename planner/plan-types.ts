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

/** Traffic an endpoint must serve, and the latency it must serve it at (sizes shape and replicas). */
export interface ThroughputTarget {
  /** Requests per second at peak; give this or outputTokensPerSecond. */
  readonly requestsPerSecond?: number;
  /** Output tokens per second at peak; give this or requestsPerSecond. */
  readonly outputTokensPerSecond?: number;
  /**
   * Requests per second outside the peak (with requestsPerSecond): the autoscaling range runs from the
   * replicas this needs to the replicas the peak needs, both at the latency targets. 0 allows scale to
   * zero. @default - no baseline: replicas are sized for the peak
   */
  readonly baselineRequestsPerSecond?: number;
  /** Output tokens per second outside the peak (with outputTokensPerSecond), as baselineRequestsPerSecond. @default - no baseline */
  readonly baselineOutputTokensPerSecond?: number;
  /** Mean prompt tokens per request. */
  readonly inputTokens: number;
  /** Mean output tokens per request. */
  readonly outputTokens: number;
  /** 95th-percentile time to first token. @default - 2000 ms */
  readonly p95TtftMs?: number;
  /** 95th-percentile time per output token (after the first). @default - no target */
  readonly p95TpotMs?: number;
}

/** One replica at one load, as `vllm bench serve` would print it. */
export interface OperatingPoint {
  readonly requestsPerSecond: number;
  /** Null for embedding and rerank endpoints, which generate no tokens. */
  readonly outputTokensPerSecond: number | null;
  readonly totalTokensPerSecond: number;
  readonly meanTtftMs: number;
  readonly p95TtftMs: number;
  readonly meanTpotMs: number | null;
  readonly p95TpotMs: number | null;
  /** Requests in flight on the replica. */
  readonly concurrency: number;
}

/** One end of an autoscaling range: the traffic, the replicas set for it and the replicas it needs at the targets. */
export interface ReplicaRangeEnd {
  readonly requestsPerSecond: number;
  readonly replicas: number;
  readonly replicasNeeded: number;
  readonly headroom: number | null;
}

/** What a replica delivers and what a million tokens cost, from the performance model (planner/performance.ts). */
export interface EndpointPerformance {
  /** The request shape the figures are for: declared with `throughput`, or vLLM's benchmark default. */
  readonly workload: { readonly inputTokens: number; readonly outputTokens: number; readonly basis: "declared" | "assumed" };
  readonly targets: { readonly p95TtftMs: number; readonly p95TpotMs: number | null; readonly basis: "declared" | "default" };
  /** One replica at the largest request rate that meets the targets (null when none does). */
  readonly perReplicaAtTarget: OperatingPoint | null;
  /** One replica kept full: the most it can serve, latency aside. */
  readonly perReplicaAtSaturation: OperatingPoint;
  /** The declared traffic over the expected replicas; null without a throughput declaration. */
  readonly declaredLoad: {
    readonly requestsPerSecond: number;
    readonly outputTokensPerSecond: number | null;
    readonly totalTokensPerSecond: number;
    /** Replicas the declared traffic needs at the targets. */
    readonly replicasNeeded: number;
    /** Capacity of the expected replicas at the targets over the declared traffic, minus one (0.25 = 25 % spare). */
    readonly headroom: number;
  } | null;
  /**
   * With a baseline rate: the replica range and what each end serves at the targets — min replicas for
   * the baseline, max for the peak — with each end's headroom (capacity over traffic, minus one; null
   * for a baseline of 0). "derived": the planner set the range; "declared": autoscaling set it.
   */
  readonly replicaRange: {
    readonly basis: "derived" | "declared";
    readonly baseline: ReplicaRangeEnd;
    readonly peak: ReplicaRangeEnd;
  } | null;
  /** Always-on cost ÷ tokens served: at the declared load (null without one) and with every replica saturated. */
  readonly usdPer1MOutputTokens: { readonly atDeclaredLoad: number | null; readonly atSaturation: number | null };
  readonly usdPer1MTotalTokens: { readonly atDeclaredLoad: number | null; readonly atSaturation: number };
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
  /** Tokens/s and $ per 1M tokens per replica; absent where the GPU has no performance facts in the catalog. */
  readonly performance?: EndpointPerformance;
}

/** How a Spot pool is priced: a price the user declared, or a range — never a guessed figure. */
export interface SpotPricing {
  readonly basis: "declared" | "range";
  /** Lowest $/h per node: the declared price, or On-Demand less AWS's largest Spot discount. */
  readonly floorUsdPerHour: number;
  /** Highest $/h per node: the declared price, or the On-Demand price (the default maximum Spot price). */
  readonly ceilingUsdPerHour: number;
  readonly source: string;
  /** Fallback instance types the node group may launch, with the On-Demand price that caps their Spot price. */
  readonly fallbacks: ReadonlyArray<{ readonly instanceType: string; readonly onDemandUsdPerHour: number }>;
}

/** How a pool's nodes are bought, and what a node-hour costs on that basis. */
export interface PoolCapacityPlan {
  readonly kind: "on-demand" | "spot" | "reservation" | "capacity-block";
  /** The EKS managed node group's capacity_type (a reservation is On-Demand capacity). */
  readonly nodeGroupCapacityType: "ON_DEMAND" | "SPOT" | "CAPACITY_BLOCK";
  /** Instance types the node group may launch: the pool's own, then Spot fallbacks in the declared order. */
  readonly instanceTypes: readonly string[];
  /** The reservation or Capacity Block the nodes launch into. */
  readonly reservation: { readonly id: string | null; readonly resourceGroupArn: string | null; readonly availabilityZone: string | null; readonly instances: number | null } | null;
  /** USD per node-hour the pool's min, expected and max costs are priced at. */
  readonly usdPerNodeHour: UsdRange;
  /** Instances billed whether nodes run in them or not (a reservation's or block's declared size); 0 when none. */
  readonly committedInstances: number;
  /** What the price is and where it comes from, in words. */
  readonly priceBasis: string;
  readonly source: string;
}

/** One Service Quotas code a pool draws on at maximum scale, and why. */
export interface PoolQuotaNeed {
  readonly code: string;
  readonly vcpus: number;
  readonly detail: string;
}

export interface NodePoolPlan {
  readonly name: string;
  readonly shape: string;
  readonly instanceType: string;
  /** The node group's capacity type: ON_DEMAND (reservations too), SPOT or CAPACITY_BLOCK. */
  readonly capacityType: CapacityType | "CAPACITY_BLOCK";
  /** How the nodes are bought: the kind, the reservation, the instance types and the price basis. */
  readonly capacity: PoolCapacityPlan;
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
  /** Price of a node-hour at maximum scale: On-Demand (reservations too), the Spot ceiling or declared price, or the Capacity Block's rate. */
  readonly hourlyUsdPerNode: number;
  /** Spot pools only: how the Spot price was taken. */
  readonly spot: SpotPricing | null;
  readonly monthlyUsd: UsdRange;
  /** The pool's main vCPU quota code; null on a Capacity Block, which draws on none. */
  readonly quotaCode: string | null;
  /** Every quota the pool draws on at maximum scale (Spot fallbacks may add codes). */
  readonly quota: readonly PoolQuotaNeed[];
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

/** A cluster add-on as the serving plan lists it. */
export interface AddonPlan {
  readonly name: string;
  readonly chart: string;
  readonly version: string;
  readonly namespace: string;
  readonly why: string;
  /** Installed by this app (in `stack`), or required to be in the existing cluster already. */
  readonly status: "installed" | "must exist";
  readonly stack: string;
}

/** One deploy phase: a stack, applied in `order`, and what it creates. */
export interface PhasePlan {
  readonly order: number;
  readonly stack: string;
  /** Terraform resource types the library creates in this stack, with counts ("aws_eks_node_group ×3"). */
  readonly creates: readonly string[];
}

/** A hosted model's list price per 1M tokens, as catalog/external-models.json records it (source and date). */
export interface ExternalListPrice {
  readonly inputUsdPer1M: number;
  readonly outputUsdPer1M: number;
  readonly source: string;
  readonly sourceKind: "vendor" | "third-party";
  /** The date the source states for the price, when it states one. */
  readonly asOf: string | null;
  readonly capturedAt: string;
  readonly note?: string;
}

/** One model name the gateway routes. */
export interface GatewayRoutePlan {
  readonly model: string;
  /** The endpoint or traffic group that serves it, or "external". */
  readonly backend: string;
  readonly provider: "self-hosted" | "openai" | "anthropic" | "bedrock" | "azure-openai";
  /** External: the provider's model id (Bedrock model or inference profile, Azure deployment); self-hosted: the model served. */
  readonly providerModelId: string;
  /**
   * How a request reaches a replica: the endpoint picker of an InferencePool (queue depth, KV-cache,
   * prefix cache, LoRA affinity), the endpoint's Service (round robin), the group members' Services
   * by exact weights, or the provider's API.
   */
  readonly balancing: "endpoint-picker" | "service" | "weighted-services" | "provider";
  /** The path clients call for it on the gateway. */
  readonly path: string;
  /** Consumers allowed to call it; everyone else gets the gateway's 404. */
  readonly consumers: readonly string[];
  /** External models: the list price; null when the catalog has no sourced figure (never a guess). */
  readonly listPrice?: ExternalListPrice | null;
  /**
   * Self-hosted: what a million tokens cost on the serving endpoint (adapters share their base's GPUs;
   * a traffic group shows its members'); null where the plan has no performance figures.
   */
  readonly selfHostedUsdPer1M?: ReadonlyArray<{
    readonly endpoint: string;
    readonly output: { readonly atDeclaredLoad: number | null; readonly atSaturation: number | null };
    readonly total: { readonly atDeclaredLoad: number | null; readonly atSaturation: number };
  }> | null;
}

export interface GatewayRate {
  readonly limit: number;
  readonly per: string;
}

export interface GatewayConsumerPlan {
  readonly name: string;
  /** Model names it may call, or "*" for every route. */
  readonly models: readonly string[] | "*";
  readonly limits: { readonly requests?: GatewayRate; readonly totalTokens?: GatewayRate; readonly inputTokens?: GatewayRate; readonly outputTokens?: GatewayRate };
  /** Secrets Manager ARN of its API key (synced into the gateway's key Secret; the value never passes through Terraform). */
  readonly apiKeySecret: string;
}

/** The model gateway: one OpenAI-compatible entry point, its routes, consumers and what it runs on. */
export interface GatewayPlan {
  readonly name: string;
  readonly implementation: { readonly aiGateway: string; readonly envoyGateway: string; readonly inferenceExtension: string | null };
  readonly entryPoint: {
    readonly loadBalancer: string;
    readonly scheme: "internet-facing" | "internal";
    readonly port: number;
    readonly certificateArn: string;
    readonly tlsPolicy: string;
    readonly allowedCidrs: readonly string[];
    readonly inClusterUrl: string;
    readonly paths: readonly string[];
    /** What a model name nobody routes (or a consumer may not call) gets. */
    readonly unknownModel: string;
  };
  readonly routes: readonly GatewayRoutePlan[];
  readonly consumers: readonly GatewayConsumerPlan[];
  /** Tokens per consumer per model, as Prometheus scrapes them from the AI Gateway; null when not collected. */
  readonly usageMetrics: { readonly prometheus: string; readonly metric: string; readonly labels: readonly string[]; readonly query: string } | null;
  /** The Envoy pods' Pod Identity role for Bedrock: exactly these actions on the declared models. */
  readonly bedrock: { readonly role: string; readonly actions: readonly string[]; readonly resources: readonly string[] } | null;
  /** The Job that calls every self-hosted model name through the gateway after each rollout. */
  readonly smokeTest: { readonly job: string; readonly models: readonly string[] } | null;
}
