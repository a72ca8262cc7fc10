/**
 * cdktf-model-serving: the package's one public entry point.
 *
 * Constructs and stacks to declare imported models, GPU clusters of a shape and vLLM endpoints;
 * value objects for where weights and secrets come from; and the pure planner (sizing, shape
 * choice, cost) for tools that want the same answers without synthesizing anything.
 */

// Stacks and the synth entry point
export { ModelServingStack, synthOrExit, type ModelServingStackProps } from "./stacks/model-serving-stack";

// Constructs
export {
  GpuCluster,
  GpuClusterBase,
  DEFAULT_KUBERNETES_VERSION,
  STANDARD_SUPPORT_VERSIONS,
  type ClusterAddons,
  type ExistingClusterProps,
  type GpuClusterProps,
  type ServingOptions,
} from "./constructs/gpu-cluster";
export { GpuNodePool, type GpuNodePoolProps } from "./constructs/gpu-node-pool";
export { ImportedModel, type ImportedModelProps, type ModelTags } from "./constructs/imported-model";
export { InferenceEndpoint, type AutoscalingOptions, type ExposureOptions, type InferenceEndpointProps } from "./constructs/inference-endpoint";
export { FineTunedModel, type FineTunedModelProps } from "./constructs/fine-tuned-model";
export { ModelStore, type ModelStoreProps } from "./constructs/model-store";
export { ModelGateway, BEDROCK_INVOKE_ACTIONS, type GatewayExternalModel, type ModelGatewayConsumer, type ModelGatewayExposure, type ModelGatewayProps } from "./constructs/model-gateway";
export type { ConsumerLimits, Rate, RateUnit } from "./constructs/manifests/gateway";
export { POLICY_RULES, type PolicyRule, type RuleResult, type Suppression } from "./constructs/policy";

// Value objects
export { ModelSource, SecretRef, type HuggingFaceOptions, type ModelSourceKind } from "./constructs/model-source";

// The planner: pure functions and the serving plan's types
export { planServing, placeEndpoint, type EndpointDeclaration, type ModelDeclaration, type PlanInput } from "./planner/plan";
export { chooseShape, fitOnShape, type FitRequest, type ServingRequirements, type ShapeChoice, type ShapeFit } from "./planner/choose";
export { size as sizeModel, type KvCacheDtype, type OnlineQuantization, type SizingInput, type SizingResult } from "./planner/sizing";
export { profileFromConfig, type Dtype, type ModelProfile, type Quantization } from "./planner/model-profile";
export { DEFAULT_ENDPOINT_LIMIT_MM_PER_PROMPT, type LimitMmPerPrompt, type MmLimit } from "./planner/multimodal";
export { GpuShape } from "./planner/shapes";
export { PlanningError, type Finding, type Severity } from "./planner/findings";
export type { AdapterPlan, Capability, CapacityType, EndpointPlan, LoraPlan, NodePoolPlan, QuotaPlan, ServingPlan, ShapeCandidate, UsdRange } from "./planner/plan-types";
export type { ExternalListPrice, GatewayConsumerPlan, GatewayPlan, GatewayRoutePlan } from "./planner/plan-types";
export type { PoolCapacityPlan, PoolQuotaNeed, SpotPricing } from "./planner/plan-types";
export type { CapacityBlockCapacity, EndpointCapacity, OnDemandCapacity, ReservationCapacity, SpotCapacity } from "./planner/purchasing";

// The catalog (dated data with sources)
export { GPUS, INSTANCES, SHAPES, findGpu, findInstance, findShape, type GpuSpec, type InstanceSpec, type ShapeSpec } from "./catalog";
export { catalogModelIds, findCatalogModel, type CatalogModel } from "./catalog/models";
export { VLLM_RELEASE } from "./catalog/vllm";
