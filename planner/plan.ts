/**
 * Build the ServingPlan from what the user declared: size and place every endpoint, pack replicas
 * into node pools, add up quota at the ceiling and the cost range, and collect every finding.
 */
import { capabilityOf } from "./import-validation";
import { DEFAULT_ENDPOINT_LIMIT_MM_PER_PROMPT } from "./multimodal";
import { findInstance, findQuota, HOURS_PER_MONTH, PRICES_CAPTURED_AT, REGION, REGIONAL_PRICES, SERVICE_PRICES, servicePriceIn, SHAPES, type RegionalServicePrice, type ServicePriceItem } from "../catalog";
import { chooseShape, candidateOf, declaredLayoutProblem, fitOnShape, MULTI_NODE_SPANS, spansNodes, type FitRequest, type ServingRequirements, type ShapeFit } from "./choose";
import { vllmRelease, type EngineProfile } from "./engine";
import { error, GiB, PlanningError, round, warning, type Finding } from "./findings";
import type { ModelProfile } from "./model-profile";
import type { Capability, CapacityType, CostLine, EndpointPlan, NodePoolPlan, QuotaPlan, ServingPlan, UsdRange } from "./plan-types";
import { DEFAULT_REGION, regionProblem } from "./region";
import { GpuShape, replicaResources } from "./shapes";
import { checkpointBytes } from "./weights";
import { checkAdapters, loraBytesPerGpu, loraSettings, type AdapterSpec } from "./lora";
import { baselineRequestsPerSecondOf, endpointPerformance, replicaCapacity, replicasForRate, requestsPerSecondOf, steadyCapacity, type ReplicaCapacity } from "./capacity";
import { checkThroughput, chooseForTraffic, replicaOf, workloadOf } from "./traffic";
import type { EndpointPerformance, ThroughputTarget } from "./plan-types";
import { capacityDeclarationProblems, capacityOf, capacityPlacementProblems, capacitySuffix, poolPurchase, type EndpointCapacity } from "./purchasing";

export interface ModelDeclaration {
  readonly name: string;
  readonly path: string;
  /** Hugging Face repo id or s3:// URI. */
  readonly modelId: string;
  readonly revision: string | null;
  readonly capability: Capability;
  readonly profile: ModelProfile;
  /** Bytes of the safetensors files (exact, from the lock), when known. */
  readonly checkpointBytes?: number;
  /** Whether the weights are kept in the S3 model store (priced as S3 storage). */
  readonly storedInS3: boolean;
}

export interface EndpointDeclaration extends ServingRequirements {
  readonly name: string;
  readonly path: string;
  readonly model: ModelDeclaration;
  /** The API this endpoint serves; must match the model's capability. */
  readonly capability: Capability;
  readonly shape?: string;
  readonly instanceType?: string;
  readonly tensorParallel?: number;
  readonly replicas: { readonly min: number; readonly max: number; readonly expected?: number };
  readonly capacityType: CapacityType;
  /**
   * How the endpoint's nodes are bought: On-Demand, Spot with fallbacks, an On-Demand Capacity
   * Reservation or a Capacity Block for ML. @default - from capacityType (and spotPriceUsdPerHour)
   */
  readonly capacity?: EndpointCapacity;
  /** LoRA adapters served on this endpoint's GPUs. */
  readonly adapters?: readonly AdapterSpec[];
  /** @default - the smallest vLLM rank that holds every adapter */
  readonly maxLoraRank?: number;
  /** Nodes one replica spans (with a full-node shape). @default - 1, or the fewest that fit when nothing fits in one node */
  readonly nodesPerReplica?: number;
  /** The vLLM release this endpoint runs (sizing, image and flags follow it). @default - the stack's release */
  readonly vllm?: string;
  /**
   * A Spot price the user has seen for `instanceType` in the plan's region, USD per instance-hour,
   * priced as declared. @default - Spot is priced as a range: AWS's maximum discount … the On-Demand ceiling
   */
  readonly spotPriceUsdPerHour?: number;
  /** Traffic and latency targets: the planner picks shape and replicas that serve it at the lowest cost. @default - sized by minConcurrency */
  readonly throughput?: ThroughputTarget;
  /** With throughput: replicas were not declared, so the planner sets them. @default false */
  readonly replicasFromThroughput?: boolean;
}

export interface PlanInput {
  readonly stackPath: string;
  readonly endpoints: readonly EndpointDeclaration[];
  /** Service Quotas limits the account really has, in vCPUs, by quota code. */
  readonly quotas: Readonly<Record<string, number>>;
  readonly budgetUsdPerMonth?: number;
  /** Whether the plan creates an EKS control plane (an imported cluster is paid elsewhere). */
  readonly createsCluster: boolean;
  readonly clusterExtendedSupport?: boolean;
  /** CPU nodes for cluster add-ons (CoreDNS, the smoke tests) when the plan creates the cluster. @default 0 */
  readonly systemNodes?: number;
  /** @default 40 */
  readonly systemNodeDiskGiB?: number;
  /** The vLLM release endpoints run unless they name their own. @default - the newest release read in full (catalog/vllm/releases.json) */
  readonly vllm?: string;
  /** The region the plan is priced and its shapes chosen in. @default "us-east-1" */
  readonly region?: string;
  /** NAT gateways the plan creates, each with one Elastic IP (a public IPv4 address). @default 0 */
  readonly natGateways?: number;
  /** GB a month those NAT gateways process (both directions). @default - not priced: the cost line says so */
  readonly natGatewayGbPerMonth?: number;
  /** Customer-managed KMS keys the plan creates, with automatic yearly rotation. @default 0 */
  readonly kmsKeys?: number;
  /** The CloudWatch log group of the control-plane logs, when the plan creates one. @default - none */
  readonly controlPlaneLogs?: { readonly retentionDays: number; readonly gbPerMonth?: number };
  /** The CloudWatch log group of the new VPC's flow logs, when the plan creates one. @default - none */
  readonly flowLogs?: { readonly retentionDays: number; readonly gbPerMonth?: number };
}

export { SPOT_MAX_DISCOUNT } from "./purchasing";
/** Below this spare capacity at the targets a traffic-sized endpoint gets a warning. */
export const THIN_HEADROOM = 0.1;

/** Root volume: OS and kubelet, the vLLM image unpacked, and the weights of every replica a node may run. */
export const ROOT_VOLUME_BASE_GIB = 80;
/** Bytes per second a replica reads weights at (S3 or the Hub into page cache, then to the GPU); sizes the startup probe. */
export const WEIGHT_LOAD_BYTES_PER_SECOND = 200 * 1024 ** 2;
/** Engine start after the weights: profiling, CUDA graph capture, warm-up. */
export const ENGINE_WARMUP_SECONDS = 180;
/** A GPU node from launch to Ready (EC2 boot, NVIDIA AMI, device plugin), for cold-start estimates. */
export const NODE_LAUNCH_SECONDS = 240;

/** Seconds a replica needs to start: weights read at the loading bandwidth, then engine warm-up. */
export function startupSeconds(weightsBytes: number): number {
  return Math.ceil(weightsBytes / WEIGHT_LOAD_BYTES_PER_SECOND + ENGINE_WARMUP_SECONDS);
}

const usd = (v: number) => round(v, 2);
const monthly = (hourly: number, count: number) => usd(hourly * HOURS_PER_MONTH * count);

export function checkpointBytesOf(m: ModelDeclaration): number {
  return m.checkpointBytes ?? checkpointBytes(m.profile);
}

export function poolName(shape: string, capacityType: CapacityType | EndpointCapacity, nodesPerReplica = 1): string {
  // Multi-node replicas get a pool of their own: its nodes come and go in whole groups; so does each reservation.
  return `${shape.toLowerCase().replace(/_/g, "-")}${nodesPerReplica > 1 ? `-${nodesPerReplica}n` : ""}${capacitySuffix(capacityType)}`;
}


export interface Placed {
  readonly decl: EndpointDeclaration;
  readonly fit: ShapeFit;
  readonly alternatives: EndpointPlan["alternatives"];
  /** Capacity of one replica at the declared traffic's targets, when sized by traffic. */
  readonly capacity?: ReplicaCapacity;
}

/**
 * Size and place one endpoint: on its declared shape (with the cheapest shapes that would fit when it
 * does not), or on the cheapest feasible shape in the catalog. Constructs call this while the tree is
 * built; planServing calls it again for the whole plan, so both always agree.
 */
export function placeEndpoint(declared: EndpointDeclaration, engine: EngineProfile = vllmRelease(declared.vllm, declared.path).engine, region = DEFAULT_REGION): { placed?: Placed; findings: Finding[] } {
  // The construct places an endpoint when it is added and planServing again for the whole plan: the
  // second time is the same answer unless adapters were appended since (the only later change).
  const key = `${engine.version}|${region}|${declared.adapters?.length ?? 0}`;
  const cached = placements.get(declared);
  if (cached?.key === key) return cached.result;
  const result = placeAnew(declared, engine, region);
  placements.set(declared, { key, result });
  return result;
}

const placements = new WeakMap<EndpointDeclaration, { key: string; result: { placed?: Placed; findings: Finding[] } }>();

function placeAnew(declared: EndpointDeclaration, engine: EngineProfile, region: string): { placed?: Placed; findings: Finding[] } {
  const badCapacity = capacityDeclarationProblems(declared, region);
  if (badCapacity.length) return { findings: badCapacity };
  const reserved = reservedShape(declared);
  if ("findings" in reserved) return { findings: reserved.findings };
  const e = reserved.decl;
  const r = placeByMemory(e, engine, region);
  const placed = e.throughput && r.placed ? placeByTraffic(e, engine, r.placed, r.findings, region) : r;
  const fit = placed.placed?.fit;
  const badPlacement = fit?.host ? capacityPlacementProblems(e, { instance: fit.host.instance, shapeName: fit.shape.name, nodesPerReplica: fit.nodesPerReplica }, region) : [];
  return badPlacement.length ? { findings: [...placed.findings, ...badPlacement] } : placed;
}

/**
 * A reservation or Capacity Block holds one instance type: without a declared shape the endpoint
 * gets that instance's whole node (p5.48xlarge → H100_X8), never a shape the planner picks elsewhere.
 */
function reservedShape(e: EndpointDeclaration): { decl: EndpointDeclaration } | { findings: Finding[] } {
  const c = capacityOf(e);
  if (e.shape || !e.instanceType || (c.type !== "reservation" && c.type !== "capacity-block")) return { decl: e };
  const inst = findInstance(e.instanceType);
  const shape = inst && SHAPES.find((s) => s.gpu === inst.gpu && s.gpus === inst.gpus);
  if (!shape) {
    return { findings: [error("INSTANCE_TYPE_UNKNOWN", e.path, { field: "instanceType", problem: `"${e.instanceType}" is not a GPU instance type in the catalog${inst ? ` with a ${inst.gpus} × ${inst.gpu} shape` : ""}`, why: "the reservation's instance type decides the shape and the price", fix: "give the instance type the reservation was made for, e.g. p5.48xlarge, or declare the shape" })] };
  }
  return { decl: { ...e, shape: shape.name } };
}

/**
 * With declared traffic: among the shapes that hold the model (or the declared one), the shape and
 * replica count that serve it at the targets for the least money.
 */
function placeByTraffic(e: EndpointDeclaration, engine: EngineProfile, byMemory: Placed, findings: Finding[], region: string): { placed?: Placed; findings: Finding[] } {
  const t = e.throughput!;
  const bad = checkThroughput(t, e.maxModelLen, e.path);
  if (bad.length) return { findings: [...findings, ...bad] };
  const req = fitRequestOf(e, engine, region);
  const fits = e.shape ? [byMemory.fit] : chooseShape(req).ranked.filter((f) => f.feasible);
  const choice = chooseForTraffic({
    fits,
    profile: e.model.profile,
    engine,
    ...(e.quantization ? { quantization: e.quantization } : {}),
    throughput: t,
    ...(e.replicasFromThroughput ? {} : { maxReplicas: Math.max(1, e.replicas.max) }),
    path: e.path,
    modelId: e.model.modelId,
  });
  if (!choice.chosen) return { findings: [...findings, ...choice.findings] };
  const c = choice.chosen;
  const n = c.replicas;
  const rate = requestsPerSecondOf(t);
  const headroom = (Math.max(n, e.replicasFromThroughput ? n : (e.replicas.expected ?? e.replicas.min)) * c.capacity.atTarget!.requestsPerSecond) / rate - 1;
  if (headroom < THIN_HEADROOM) {
    findings.push(
      warning("THROUGHPUT_HEADROOM_THIN", e.path, {
        field: "throughput",
        problem: `${n} × ${c.fit.shape.name} serve ${round(n * c.capacity.atTarget!.requestsPerSecond, 2)} requests/s at the targets against ${round(rate, 2)} declared: ${Math.round(headroom * 100)} % headroom`,
        why: "the performance model is a prediction (its errors on published runs are printed by npm run bench:throughput), and traffic bursts above the mean",
        fix: "keep the plan and watch p95 latency after rollout, or add a replica (autoscaling.maxReplicas) for margin",
      }),
    );
  }
  // With a baseline rate the range runs from the replicas the baseline needs to those the peak needs.
  const baseline = baselineRequestsPerSecondOf(t);
  const perReplica = c.capacity.atTarget!.requestsPerSecond;
  const forBaseline = baseline === undefined ? undefined : replicasForRate(baseline, perReplica);
  if (forBaseline !== undefined && !e.replicasFromThroughput && e.replicas.min < forBaseline) {
    findings.push(
      warning("AUTOSCALING_MIN_BELOW_BASELINE", e.path, {
        field: "autoscaling.minReplicas",
        problem: `minReplicas ${e.replicas.min} serve ${round(e.replicas.min * perReplica, 2)} requests/s at the targets, and the baseline of ${round(baseline!, 2)} requests/s needs ${forBaseline} replica(s) on ${c.fit.shape.name}`,
        why: "the endpoint would scale up under its everyday load, and each new replica takes minutes to start",
        fix: `raise autoscaling.minReplicas to ${forBaseline}, or leave autoscaling out and let the planner derive the range from the baseline and the peak`,
      }),
    );
  }
  const derived = e.replicasFromThroughput ? (forBaseline !== undefined ? { min: forBaseline, max: n, expected: Math.ceil((forBaseline + n) / 2) } : { min: n, max: n, expected: n }) : undefined;
  const decl: EndpointDeclaration = derived ? { ...e, replicas: derived } : e;
  // Priced again for the replica count chosen: whole nodes, idle GPUs included.
  const fit = fitOnShape({ ...req, replicas: Math.max(1, decl.replicas.max) }, c.fit.shape, c.fit.host, e.tensorParallel, c.fit.nodesPerReplica);
  const alternatives = choice.options.map((o) =>
    candidateOf(o.fit, o === c ? `chosen: serves the traffic for the least ($${round(o.usdPerHour, 2)}/h for ${o.replicas} replica(s))` : o.replicas > 0 ? `fits; ${o.replicas} replica(s) at $${round(o.usdPerHour, 2)}/h` : "misses the latency targets"),
  );
  return { placed: { decl, fit, alternatives, capacity: c.capacity }, findings };
}

/** What one replica of an endpoint must hold: the request the shape fits are computed for. */
function fitRequestOf(e: EndpointDeclaration, engine: EngineProfile, region: string): FitRequest {
  const adapters = e.adapters ?? [];
  const lora = adapters.length ? loraSettings(adapters, e.maxLoraRank) : undefined;
  return {
    profile: e.model.profile,
    engine,
    replicas: Math.max(1, e.replicas.max),
    ...(lora ? { extraBytesPerGpu: (tp: number) => loraBytesPerGpu(e.model.profile, lora.maxLoras, lora.maxLoraRank, tp, e.model.profile.dtype) } : {}),
    path: e.path,
    region,
    ...pickRequirements(e),
    ...(e.model.checkpointBytes ? { checkpointBytes: e.model.checkpointBytes } : {}),
    ...(e.tensorParallel !== undefined ? { tensorParallel: e.tensorParallel } : {}),
    ...(e.instanceType ? { instanceType: e.instanceType } : {}),
  };
}

/** Size and place by memory: the declared shape, or the cheapest that holds the model at the requirements. */
function placeByMemory(e: EndpointDeclaration, engine: EngineProfile, region: string): { placed?: Placed; findings: Finding[] } {
  const findings: Finding[] = [];
  const unknownRegion = regionProblem(region, e.path);
  if (unknownRegion) return { findings: [unknownRegion] };
  if (e.capability !== e.model.capability) {
    findings.push(
      error("ENDPOINT_KIND_MISMATCH", e.path, {
        field: "kind",
        problem: `a ${e.capability} endpoint cannot serve ${e.model.modelId}, which is a ${e.model.capability} model (${e.model.profile.architecture})`,
        why: "vLLM exposes one API per model: chat/completions for text and vision models, /v1/embeddings for embedding models, /rerank and /score for cross-encoders",
        fix: `declare the endpoint as ${e.model.capability}, or serve a ${e.capability} model`,
      }),
    );
    return { findings };
  }
  // The endpoint's release must register the architecture (registries differ between releases: catalog/vllm/registry.json).
  const registered = capabilityOf(e.model.profile, e.path, engine.version);
  if (!registered.capability && registered.findings.some((f) => f.code === "ARCH_UNSUPPORTED")) return { findings: [...findings, ...registered.findings] };
  const adapters = e.adapters ?? [];
  if (adapters.length || e.maxLoraRank !== undefined) {
    const bad = checkAdapters(adapters, e.model.modelId, e.maxLoraRank, e.path);
    if (bad.length) return { findings: [...findings, ...bad] };
  }
  const req = fitRequestOf(e, engine, region);
  const layoutProblem = e.tensorParallel !== undefined ? declaredLayoutProblem(e.model.profile, e.tensorParallel, e.path) : undefined;
  if (layoutProblem) return { findings: [...findings, layoutProblem] };
  try {
    if (e.shape) {
      const shape = GpuShape.of(e.shape, e.path);
      const host = e.instanceType ? shape.hostOn(e.instanceType, e.path, region) : shape.defaultHost(region);
      let fit = fitOnShape(req, shape, host, e.tensorParallel, e.nodesPerReplica ?? 1);
      if (!fit.feasible && e.nodesPerReplica === undefined && fit.reason?.code === "MODEL_DOES_NOT_FIT" && host?.instance.gpus === shape.gpus && spansNodes(shape)) {
        // Too big for one node of a full-node shape: span the fewest nodes that fit.
        const span = MULTI_NODE_SPANS.map((k) => fitOnShape(req, shape, host, e.tensorParallel, k)).find((f) => f.feasible);
        if (span) fit = span;
      }
      findings.push(...fit.sizing.warnings, ...(fit.feasible ? fp8Hint(req, fit, e) : []));
      if (!fit.feasible) {
        const fitsElsewhere = chooseShape(req).ranked.filter((f) => f.feasible).slice(0, 4);
        const reason = fit.reason!;
        const alternatives = fitsElsewhere.length
          ? ` Shapes that fit, cheapest first: ${fitsElsewhere.map((f) => `${f.shape.name} (${f.host!.instance.instanceType}, $${round(f.usdPerReplicaHour, 3)}/h, ${f.sizing.maxConcurrency}× concurrency)`).join(", ")}.`
          : " No catalog shape fits it at this context length.";
        findings.push({ ...reason, message: reason.message + alternatives });
        return { findings };
      }
      return { placed: { decl: e, fit, alternatives: [candidateOf(fit, "chosen: declared shape")] }, findings };
    }
    const choice = chooseShape(req);
    if (!choice.chosen) {
      // A problem of the request itself (every shape fails the same way) is reported as itself.
      const codes = new Set(choice.ranked.map((f) => f.reason?.code));
      const only = choice.ranked[0]?.reason;
      if (codes.size === 1 && only && !["MODEL_DOES_NOT_FIT", "CONCURRENCY_TOO_LOW", "PRICE_UNKNOWN"].includes(only.code)) {
        findings.push(only);
        return { findings };
      }
      findings.push(nothingFits(e, choice.ranked));
      return { findings };
    }
    findings.push(...choice.chosen.sizing.warnings);
    findings.push(...fp8Hint(req, choice.chosen, e));
    return { placed: { decl: e, fit: choice.chosen, alternatives: choice.candidates }, findings };
  } catch (err) {
    if (err && typeof err === "object" && "findings" in err) return { findings: [...findings, ...(err as { findings: Finding[] }).findings] };
    throw err;
  }
}

/**
 * "Nothing fits", explained by the shape that came closest: the largest KV cache among shapes that
 * hold the weights (then the shortfall is context or concurrency), else the one with the most memory
 * per replica (then it is the weights). Its own reason is quoted without its fix, which is replaced
 * by one for the whole request.
 */
function nothingFits(e: EndpointDeclaration, ranked: readonly ShapeFit[]): Finding {
  const memory = (f: ShapeFit) => f.shape.gpus * f.nodesPerReplica * f.shape.gpu.cudaVisibleGiB;
  const holding = ranked.filter((f) => f.sizing.fits);
  const closest = holding.length
    ? [...holding].sort((a, b) => b.sizing.maxConcurrency - a.sizing.maxConcurrency || memory(b) - memory(a))[0]
    : [...ranked].sort((a, b) => memory(b) - memory(a))[0];
  const concurrency = e.minConcurrency ?? 1;
  const where = closest ? `${closest.shape.name}${closest.nodesPerReplica > 1 ? ` × ${closest.nodesPerReplica} nodes` : ""}${closest.host ? ` (${closest.host.instance.instanceType})` : ""}` : "";
  const reason = closest?.reason?.message.replace(/^\[[A-Z_]+\] [^:]+: /, "").replace(/\s*Fix: [\s\S]*$/, "").trim();
  const shortOnWeights = !holding.length;
  return error("MODEL_DOES_NOT_FIT", e.path, {
    field: shortOnWeights ? "model" : "minConcurrency",
    problem: `no shape in the catalog serves ${e.model.modelId} at maxModelLen ${e.maxModelLen} with concurrency ≥ ${concurrency}`,
    why: closest
      ? shortOnWeights
        ? `even the largest, ${where}, cannot hold the weights: ${reason}`
        : `the weights fit, but the KV cache is too small: the closest, ${where}, holds ${closest.sizing.maxConcurrency} concurrent requests of ${e.maxModelLen} tokens (${closest.sizing.kvCacheTokens.toLocaleString("en-US")} KV tokens), and ${concurrency} were asked for`
      : "no shape could be sized",
    fix: shortOnWeights
      ? "use a quantized checkpoint (fp8, AWQ, GPTQ) or online fp8 quantization"
      : `lower minConcurrency to ${Math.max(0, closest!.sizing.maxConcurrency)} or below, lower maxModelLen, or use an fp8 KV cache (kvCacheDtype "fp8") or a quantized checkpoint`,
  });
}

/** The serving requirements of a declaration, with unset ones left out (not carried as undefined). */
function pickRequirements(e: ServingRequirements & { capability?: string }): ServingRequirements {
  const keys = ["minConcurrency", "gpuMemoryUtilization", "kvCacheDtype", "quantization", "dtype", "limitMmPerPrompt", "enablePrefixCaching"] as const;
  return Object.assign(
    { maxModelLen: e.maxModelLen },
    // Sized as rendered: vision endpoints pass their image limit, generative ones enable prefix caching (vllm-args.ts).
    e.capability === "IMAGE_TEXT_TO_TEXT" ? { limitMmPerPrompt: DEFAULT_ENDPOINT_LIMIT_MM_PER_PROMPT } : {},
    e.capability === "TEXT_TO_TEXT" || e.capability === "IMAGE_TEXT_TO_TEXT" ? { enablePrefixCaching: true } : {},
    ...keys.filter((k) => e[k] !== undefined).map((k) => ({ [k]: e[k] })),
  );
}

/** For a multi-node replica: would fp8 weights bring it back to one node, and what would that save? */
function fp8Hint(req: FitRequest, fit: ShapeFit, e: EndpointDeclaration): Finding[] {
  if (fit.nodesPerReplica === 1 || e.quantization || e.model.profile.quantization) return [];
  const sameGpu = fitOnShape({ ...req, quantization: "fp8" }, fit.shape, fit.shape.defaultHost(req.region), e.tensorParallel, 1);
  const fp8 = sameGpu.feasible ? sameGpu : chooseShape({ ...req, quantization: "fp8" }).chosen;
  if (!fp8 || fp8.nodesPerReplica !== 1) return [];
  const saved = (fit.usdPerReplicaHour - fp8.usdPerReplicaHour) * HOURS_PER_MONTH;
  return [
    warning("FP8_FITS_ONE_NODE", e.path, {
      field: "quantization",
      problem: `in ${fit.sizing.dtype} the model needs ${fit.nodesPerReplica} × ${fit.host!.instance.instanceType} per replica, but with fp8 weights it fits one ${fp8.host!.instance.instanceType} (${fp8.shape.name}, ${fp8.sizing.kvCacheTokens.toLocaleString("en-US")} KV tokens, ${fp8.sizing.maxConcurrency}× concurrency)`,
      why: `that saves $${round(saved, 0).toLocaleString("en-US")} per replica-month and the cross-node pipeline latency`,
      fix: 'set quantization: "fp8" after checking quality on your evaluation set',
    }),
  ];
}

/** Keep what a reviewer reads: the feasible top five in full, the rest grouped by why they failed. */
function compactAlternatives(all: EndpointPlan["alternatives"]): Pick<EndpointPlan, "alternatives" | "rejected"> {
  const fits = all.filter((c) => c.verdict.startsWith("chosen") || c.verdict.startsWith("fits"));
  const rejected: Record<string, string[]> = {};
  for (const c of all) if (!fits.includes(c)) (rejected[c.verdict] ??= []).push(c.shape);
  return { alternatives: fits.slice(0, 5), rejected };
}

/** What a service price line calls the item, for the warning that lists prices taken by rule. */
const SERVICE_ITEM_NAMES: Record<ServicePriceItem, string> = {
  eksControlPlaneUsdPerHour: "EKS control plane",
  eksExtendedSupportUsdPerHour: "EKS extended support",
  ebsGp3UsdPerGbMonth: "gp3 volumes",
  s3StandardUsdPerGbMonth: "S3 Standard storage",
  systemNodeUsdPerHour: "system nodes",
  natGatewayUsdPerHour: "NAT gateway hours",
  natGatewayUsdPerGb: "NAT gateway data processing",
  publicIpv4UsdPerHour: "public IPv4 addresses",
  kmsKeyUsdPerMonth: "KMS keys",
  kmsKeyRotatedMaxUsdPerMonth: "KMS key rotation",
  cloudwatchLogsIngestUsdPerGb: "CloudWatch Logs ingestion",
  cloudwatchLogsStorageUsdPerGbMonth: "CloudWatch Logs storage",
};

/** Usage the user declares for usage-priced items: a volume, never negative or NaN. */
function usageFindings(input: PlanInput): Finding[] {
  const usage: Array<[string, number | undefined]> = [
    ["natGatewayGbPerMonth", input.natGatewayGbPerMonth],
    ["controlPlaneLogGbPerMonth", input.controlPlaneLogs?.gbPerMonth],
    ["flowLogGbPerMonth", input.flowLogs?.gbPerMonth],
  ];
  return usage
    .filter(([, v]) => v !== undefined && !(Number.isFinite(v) && v >= 0))
    .map(([field, v]) => error("USAGE_INVALID", input.stackPath, { field, problem: `${field} must be a number of GB ≥ 0 (got ${v})`, why: "it is the monthly volume the usage-priced line is charged for", fix: "give the volume your account shows, e.g. 50" }));
}

/** A declared Spot price must be a price, on a Spot endpoint, for one named instance type. */
function spotDeclarationProblem(e: EndpointDeclaration): Finding | undefined {
  const c = capacityOf(e);
  const v = c.type === "spot" ? c.spotPriceUsdPerHour : e.spotPriceUsdPerHour;
  const field = e.capacity ? "capacity.spotPriceUsdPerHour" : "spotPriceUsdPerHour";
  if (v === undefined) return undefined;
  if (!(Number.isFinite(v) && v > 0)) return error("SPOT_PRICE_INVALID", e.path, { field, problem: `spotPriceUsdPerHour must be a positive price in USD per instance-hour (got ${v})`, why: "the plan never prices capacity at $0", fix: "give the Spot price you see in the console for the instance type, e.g. 0.45" });
  if (c.type !== "spot") return error("SPOT_PRICE_WITHOUT_SPOT", e.path, { field, problem: `a Spot price is declared on a ${e.capacityType} endpoint`, why: "it would price nothing: the endpoint runs on On-Demand capacity", fix: 'set capacityType: "SPOT", or drop spotPriceUsdPerHour' });
  if (!e.instanceType) return error("SPOT_PRICE_NEEDS_INSTANCE_TYPE", e.path, { field, problem: "a Spot price is declared without an instanceType", why: "a Spot price belongs to one instance type in one region, and the planner may otherwise choose another instance", fix: "declare the instanceType the price was read for" });
  return undefined;
}

/** The endpoint's performance block: capacity per replica and $ per 1M tokens (none where the GPU lacks performance facts). */
function performanceOf(p: Placed, engine: EngineProfile, usdPerReplicaHour: number, expectedReplicas: number): { performance?: EndpointPerformance } {
  const profile = p.decl.model.profile;
  const t = p.decl.throughput;
  const { workload, basis } = workloadOf(profile, p.decl.maxModelLen, t);
  const targets = t ? { ...(t.p95TtftMs !== undefined ? { p95TtftMs: t.p95TtftMs } : {}), ...(t.p95TpotMs !== undefined ? { p95TpotMs: t.p95TpotMs } : {}) } : {};
  const replica = replicaOf(p.fit, profile, engine, p.decl.quantization);
  if (!replica) return {};
  // Declared traffic was sized with the full simulation; the assumed workload gets its steady state (cheap enough for every endpoint).
  const capacity = p.capacity ?? (t ? replicaCapacity(replica, workload, targets) : steadyCapacity(replica, workload));
  const replicas = { min: p.decl.replicas.min, max: p.decl.replicas.max, basis: p.decl.replicasFromThroughput ? ("derived" as const) : ("declared" as const) };
  return { performance: endpointPerformance({ capacity, workload, workloadBasis: basis, targets, ...(t ? { throughput: t } : {}), usdPerReplicaHour, expectedReplicas, replicas }) };
}

export function planServing(input: PlanInput): ServingPlan {
  const findings: Finding[] = [];
  const stackRelease = vllmRelease(input.vllm, input.stackPath, "serve");
  const placed: Placed[] = [];
  const region = input.region ?? DEFAULT_REGION;
  const unknownRegion = regionProblem(region, input.stackPath);
  if (unknownRegion) findings.push(unknownRegion);
  findings.push(...usageFindings(input));
  // Service prices in the plan's region; the items priced at the us-east-1 rate are reported once.
  const byRule = new Set<string>();
  const rate = (item: ServicePriceItem): RegionalServicePrice => {
    const p = servicePriceIn(region, item);
    if (p.basis === "us-east-1-rule") byRule.add(SERVICE_ITEM_NAMES[item]);
    return p;
  };

  const seen = new Map<string, string>();
  // In a region the catalog does not cover nothing can be placed or priced: the region error says why.
  for (const e of unknownRegion ? [] : input.endpoints) {
    const other = seen.get(e.name);
    if (other) {
      findings.push(error("DUPLICATE_ENDPOINT", e.path, { field: "name", problem: `endpoint name "${e.name}" is already used by ${other}`, why: "Deployment, Service and served model names would collide", fix: "give each endpoint its own name" }));
      continue;
    }
    seen.set(e.name, e.path);
    // How the nodes are bought is checked first: a bad reservation or price plans nothing.
    const badCapacity = capacityDeclarationProblems(e, region);
    const badSpot = badCapacity.length ? undefined : spotDeclarationProblem(e);
    if (badCapacity.length || badSpot) {
      findings.push(...badCapacity, ...(badSpot ? [badSpot] : []));
      continue;
    }
    let release = stackRelease;
    try {
      release = vllmRelease(e.vllm ?? input.vllm, e.path, "serve");
    } catch (err) {
      if (!(err instanceof PlanningError)) throw err;
      findings.push(...err.findings);
      continue;
    }
    const r = placeEndpoint(e, release.engine, region);
    findings.push(...r.findings);
    // The placed declaration: replicas derived from traffic count, not the placeholder declared.
    if (r.placed && r.placed.decl.replicas.min === 0 && r.placed.decl.replicas.max > 0) {
      const weights = checkpointBytesOf(e.model);
      const load = startupSeconds(weights);
      findings.push(
        warning("SCALE_TO_ZERO_COLD_START", e.path, {
          field: "autoscaling.minReplicas",
          problem: `at zero replicas the first request waits for a GPU node (about ${NODE_LAUNCH_SECONDS} s when the pool is empty) and for ${round(weights / 1e9, 1)} GB of weights to load and the engine to warm up (about ${load} s)`,
          why: `a cold start of roughly ${Math.ceil((NODE_LAUNCH_SECONDS + load) / 60)} minutes; clients must tolerate it or retry`,
          fix: "keep minReplicas ≥ 1 for interactive traffic",
        }),
      );
    }
    if (e.capacityType === "SPOT" && e.replicas.min < 2) {
      findings.push(warning("SPOT_SINGLE_REPLICA", e.path, { field: "capacityType", problem: `a Spot endpoint with ${e.replicas.min} minimum replica(s)`, why: "one Spot interruption takes the endpoint down", fix: "run at least 2 replicas on Spot, or use ON_DEMAND" }));
    }
    if (r.placed) placed.push({ ...r.placed, decl: { ...r.placed.decl, vllm: release.version } });
  }

  // Pools: one per shape and capacity type.
  const poolOrder: string[] = [];
  const byPool = new Map<string, Placed[]>();
  for (const p of placed) {
    const key = poolName(p.fit.shape.name, capacityOf(p.decl), p.fit.nodesPerReplica);
    if (!byPool.has(key)) {
      byPool.set(key, []);
      poolOrder.push(key);
    }
    byPool.get(key)!.push(p);
  }
  for (const [key, members] of byPool) {
    const types = new Set(members.map((m) => m.fit.host!.instance.instanceType));
    if (types.size > 1) {
      findings.push(
        error("POOL_INSTANCE_CONFLICT", members[1].decl.path, {
          field: "instanceType",
          problem: `endpoints on pool ${key} ask for different instance types (${[...types].join(", ")})`,
          why: "one shape is one managed node group with one instance type",
          fix: "give them the same instanceType, or leave it to the planner",
        }),
      );
    }
  }

  const endpoints: EndpointPlan[] = [];
  const nodePools: NodePoolPlan[] = [];
  for (const key of poolOrder.sort()) {
    const members = byPool.get(key)!;
    const host = members[0].fit.host!;
    const inst = host.instance;
    const onDemand = host.usdPerNodeHour;
    const shape = members[0].fit.shape;
    const rpn = host.replicasPerNode;
    const span = members[0].fit.nodesPerReplica;
    const sum = (f: (p: Placed) => number) => members.reduce((a, p) => a + f(p), 0);
    const expectedOf = (p: Placed) => p.decl.replicas.expected ?? p.decl.replicas.min;
    // Single-node replicas pack rpn to a node; a multi-node replica takes `span` whole nodes.
    const nodesFor = (replicas: number) => (span > 1 ? replicas * span : Math.ceil(replicas / rpn));
    const nodes = {
      min: nodesFor(sum((p) => p.decl.replicas.min)),
      expected: nodesFor(sum(expectedOf)),
      max: nodesFor(sum((p) => p.decl.replicas.max)),
    };
    // How the nodes are bought: Spot is min at the floor, expected and max at the ceiling (a declared
    // price makes them one figure); a reservation or block is billed for its declared size whether used or not.
    const purchase = poolPurchase({ key, members: members.map((m) => m.decl), instance: inst, onDemandUsdPerHour: onDemand, nodes, nodesPerReplica: span, region });
    findings.push(...purchase.findings);
    const spot = purchase.spot;
    const price = purchase.rates.max;
    const floor = purchase.rates.min;
    const committed = purchase.capacity.committedInstances;
    const gpusFree = nodes.max * inst.gpus - sum((p) => p.decl.replicas.max) * shape.gpus * span;
    const largestWeightsGiB = Math.max(...members.map((p) => checkpointBytesOf(p.decl.model) / GiB));
    const rootVolumeGiB = Math.ceil((ROOT_VOLUME_BASE_GIB + rpn * largestWeightsGiB * 1.1) / 10) * 10;
    const ebsMonthlyPerNode = rootVolumeGiB * (GiB / 1e9) * rate("ebsGp3UsdPerGbMonth").value;
    // Reserved instances are billed whether nodes run in them or not; root volumes only on running nodes.
    const range = (count: number, hourly: number) => usd(monthly(hourly, Math.max(count, committed)) + ebsMonthlyPerNode * count);
    nodePools.push({
      name: key,
      shape: shape.name,
      instanceType: inst.instanceType,
      capacityType: purchase.capacity.nodeGroupCapacityType,
      capacity: purchase.capacity,
      gpusPerNode: inst.gpus,
      vcpusPerNode: inst.vcpus,
      replicasPerNode: rpn,
      nodesPerReplica: span,
      endpoints: members.map((m) => m.decl.name),
      nodes,
      gpusFree,
      strandedUsdPerHour: round((gpusFree * price) / inst.gpus, 4),
      rootVolumeGiB,
      hourlyUsdPerNode: price,
      spot,
      monthlyUsd: { min: range(nodes.min, floor), expected: range(nodes.expected, purchase.rates.expected), max: range(nodes.max, price) },
      quotaCode: purchase.quota[0]?.code ?? null,
      quota: purchase.quota,
    });
    if (gpusFree > 0) {
      findings.push(
        warning("GPUS_STRANDED", members[0].decl.path, {
          field: "shape",
          problem: `pool ${key} runs ${shape.name} replicas on ${inst.instanceType} (${inst.gpus} GPUs); at maximum scale ${gpusFree} GPU(s) stay idle, costing $${round((gpusFree * price) / inst.gpus, 2)}/h`,
          why: `no instance has exactly ${shape.gpus} × ${shape.gpu.id}, or the replica count does not fill the last node`,
          fix: `run replicas in multiples of ${rpn}, or choose a shape that fills ${inst.instanceType}`,
        }),
      );
    }
    for (const p of members) {
      const s = p.fit.sizing;
      // A declared Spot price scales the replica-hour; a Spot range prices min at its floor.
      const hourly = round((host.usdPerReplicaHour * purchase.rates.expected) / onDemand, 4);
      const hourlyAtFloor = round((host.usdPerReplicaHour * floor) / onDemand, 4);
      const expected = expectedOf(p);
      const weightsBytes = checkpointBytesOf(p.decl.model);
      endpoints.push({
        name: p.decl.name,
        path: p.decl.path,
        model: p.decl.model.modelId,
        revision: p.decl.model.revision,
        vllm: p.decl.vllm ?? stackRelease.version,
        capability: p.decl.model.capability,
        shape: shape.name,
        instanceType: inst.instanceType,
        gpu: shape.gpu.id,
        gpusPerReplica: shape.gpus * p.fit.nodesPerReplica,
        nodesPerReplica: p.fit.nodesPerReplica,
        tensorParallel: p.fit.tensorParallel,
        pipelineParallel: p.fit.pipelineParallel,
        maxModelLen: p.decl.maxModelLen,
        gpuMemoryUtilization: s.gpuMemoryUtilization,
        dtype: s.dtype,
        kvCacheDtype: s.kvCacheDtype,
        ...(p.decl.capability === "IMAGE_TEXT_TO_TEXT" ? { limitMmPerPrompt: p.decl.limitMmPerPrompt ?? DEFAULT_ENDPOINT_LIMIT_MM_PER_PROMPT } : {}),
        quantization: p.decl.quantization ?? p.decl.model.profile.quantization?.method ?? null,
        maxNumSeqs: s.maxNumSeqs,
        maxNumBatchedTokens: s.maxNumBatchedTokens,
        weightsGiB: s.weightsGiB,
        overheadGiB: s.overheadGiB,
        kvCacheGiB: s.kvCacheGiB,
        kvCacheTokens: s.kvCacheTokens,
        maxConcurrency: s.maxConcurrency,
        replicas: { min: p.decl.replicas.min, expected, max: p.decl.replicas.max },
        pool: key,
        resources: replicaResources(inst, shape.gpus),
        startupSeconds: startupSeconds(weightsBytes),
        hourlyUsd: hourly,
        monthlyUsd: { min: monthly(hourlyAtFloor, p.decl.replicas.min), expected: monthly(hourly, expected), max: monthly(hourly, p.decl.replicas.max) },
        adapters: (p.decl.adapters ?? []).map((a) => ({ name: a.name, repoId: a.repoId, rank: a.rank })),
        lora: (() => {
          const adapters = p.decl.adapters ?? [];
          if (!adapters.length) return null;
          const l = loraSettings(adapters, p.decl.maxLoraRank);
          return { ...l, slotsGiB: round(loraBytesPerGpu(p.decl.model.profile, l.maxLoras, l.maxLoraRank, p.fit.tensorParallel, p.decl.model.profile.dtype) / GiB), monthlyUsdPerAdapter: usd(monthly(hourly, expected) / adapters.length) };
        })(),
        ...compactAlternatives(p.alternatives),
        ...performanceOf(p, vllmRelease(p.decl.vllm ?? input.vllm, p.decl.path, "serve").engine, hourly, expected),
      });
    }
  }
  endpoints.sort((a, b) => a.name.localeCompare(b.name));

  // Quota at the ceiling: every pool at max nodes plus the surge node(s) of a rolling node-group update,
  // a reservation at least its reserved size; a Capacity Block draws on no vCPU quota (purchasing.ts).
  const quotaNeeds = new Map<string, number>();
  for (const pool of nodePools) for (const q of pool.quota) quotaNeeds.set(q.code, (quotaNeeds.get(q.code) ?? 0) + q.vcpus);
  const quotas: QuotaPlan[] = [...quotaNeeds.keys()].sort().map((code) => {
    const needed = quotaNeeds.get(code)!;
    const limit = input.quotas[code];
    const name = findQuota(code)?.name ?? code;
    const detail = nodePools.flatMap((p) => p.quota.filter((q) => q.code === code).map((q) => q.detail)).join(" + ");
    if (limit === undefined) {
      findings.push(
        warning("QUOTA_UNDECLARED", input.stackPath, {
          field: `quotas["${code}"]`,
          problem: `no limit declared for ${code} "${name}"; the pools need ${needed} vCPUs of it at maximum scale (${detail})`,
          why: "new AWS accounts often have 0 vCPUs of G and P instances, and node groups then never get nodes",
          fix: `read the applied value (aws service-quotas get-service-quota --service-code ec2 --quota-code ${code}) and declare it in quotas`,
        }),
      );
      return { code, name, neededVcpus: needed, limit: null, status: "undeclared", ok: false };
    }
    if (needed > limit) {
      findings.push(
        error("QUOTA_EXCEEDED", input.stackPath, {
          field: `quotas["${code}"]`,
          problem: `the pools need ${needed} vCPUs of ${code} "${name}" at maximum scale (${detail}, including one surge node per pool for rolling updates), but the limit is ${limit}`,
          why: "EC2 refuses to launch instances past the vCPU quota, so the node group would stay short of nodes",
          fix: `request an increase to at least ${needed} vCPUs in Service Quotas, or lower the endpoints' maximum replicas`,
        }),
      );
      return { code, name, neededVcpus: needed, limit, status: "exceeded", ok: false };
    }
    return { code, name, neededVcpus: needed, limit, status: "ok", ok: true };
  });

  // Costs: control plane, pools (nodes and root volumes), S3 storage of the weights, and what the
  // cluster creates around them: the NAT gateway and its public address, the KMS key, control-plane logs.
  const costs: CostLine[] = [];
  const flat = (m: number): UsdRange => ({ min: m, expected: m, max: m });
  // Nothing is priced in a region the catalog does not cover: the region error says why.
  if (!unknownRegion) {
    if (input.createsCluster) {
      const p = rate(input.clusterExtendedSupport ? "eksExtendedSupportUsdPerHour" : "eksControlPlaneUsdPerHour");
      costs.push({ item: "EKS control plane", monthlyUsd: flat(monthly(p.value, 1)), source: p.source });
    }
    if (input.systemNodes) {
      const sys = rate("systemNodeUsdPerHour");
      const disk = input.systemNodeDiskGiB ?? 40;
      const m = usd(monthly(sys.value, input.systemNodes) + input.systemNodes * disk * (GiB / 1e9) * rate("ebsGp3UsdPerGbMonth").value);
      costs.push({ item: `system node pool (${input.systemNodes} × ${SERVICE_PRICES.systemNodeUsdPerHour.instanceType}, ${disk} GiB gp3 root)`, monthlyUsd: flat(m), source: sys.source });
    }
    for (const pool of nodePools) {
      const spot = pool.spot;
      const capacity = pool.capacity.kind === "on-demand" ? "" : `, ${pool.capacity.priceBasis}`;
      const source = `catalog/regions.json (${region} On-Demand, captured ${REGIONAL_PRICES.capturedAt}); ${rate("ebsGp3UsdPerGbMonth").source}${spot ? `; Spot: ${spot.source}` : pool.capacity.kind === "on-demand" ? "" : `; ${pool.capacity.source}`}`;
      costs.push({ item: `node pool ${pool.name} (${pool.instanceType}${capacity}, ${pool.rootVolumeGiB} GiB gp3 root)`, monthlyUsd: pool.monthlyUsd, source });
    }
    const stored = new Map<string, number>();
    for (const e of input.endpoints) if (e.model.storedInS3) stored.set(e.model.modelId + "@" + (e.model.revision ?? ""), checkpointBytesOf(e.model));
    if (stored.size) {
      const bytes = [...stored.values()].reduce((a, b) => a + b, 0);
      const s3 = rate("s3StandardUsdPerGbMonth");
      costs.push({ item: `S3 model store (${round(bytes / 1e9, 1)} GB of weights)`, monthlyUsd: flat(usd((bytes / 1e9) * s3.value)), source: s3.source });
    }
    const nat = input.natGateways ?? 0;
    if (nat > 0) {
      const hours = rate("natGatewayUsdPerHour");
      const gb = input.natGatewayGbPerMonth;
      const perGb = gb !== undefined ? rate("natGatewayUsdPerGb") : undefined;
      const item = perGb ? `NAT gateway (${nat} × ${HOURS_PER_MONTH} h, ${gb} GB/month processed)` : `NAT gateway (${nat} × ${HOURS_PER_MONTH} h; the GB it processes — weights from the Hub, image pulls — are not priced: declare natGatewayGbPerMonth)`;
      costs.push({ item, monthlyUsd: flat(usd(monthly(hours.value, nat) + (gb ?? 0) * (perGb?.value ?? 0))), source: perGb ? `${hours.source}; ${perGb.source}` : hours.source });
      const ip = rate("publicIpv4UsdPerHour");
      costs.push({ item: `public IPv4 address of the NAT gateway (${nat} Elastic IP)`, monthlyUsd: flat(monthly(ip.value, nat)), source: ip.source });
    }
    const keys = input.kmsKeys ?? 0;
    if (keys > 0) {
      const key = rate("kmsKeyUsdPerMonth");
      const rotated = rate("kmsKeyRotatedMaxUsdPerMonth");
      costs.push({
        item: `KMS key for EKS secrets (${keys}; $${key.value}/month the first year, each yearly rotation adds $${key.value} up to $${rotated.value}/month)`,
        monthlyUsd: { min: usd(keys * key.value), expected: usd(keys * key.value), max: usd(keys * rotated.value) },
        source: `${key.source}; ${rotated.source}`,
      });
    }
    // Usage-priced log groups: priced when their volume is declared, else a line that says it is not.
    const logGroups: Array<[string, string, PlanInput["controlPlaneLogs"]]> = [
      ["control-plane logs", "controlPlaneLogGbPerMonth", input.controlPlaneLogs],
      ["VPC flow logs", "flowLogGbPerMonth", input.flowLogs],
    ];
    for (const [what, field, logs] of logGroups) {
      if (!logs) continue;
      if (logs.gbPerMonth === undefined) {
        costs.push({ item: `CloudWatch Logs: ${what} (${logs.retentionDays}-day retention; volume not declared, so not priced: declare ${field} from the log group's IncomingBytes)`, monthlyUsd: flat(0), source: "no volume declared: ingestion and storage are charged per GB" });
      } else {
        const ingest = rate("cloudwatchLogsIngestUsdPerGb");
        const storage = rate("cloudwatchLogsStorageUsdPerGbMonth");
        // Steady state: a retention window of logs is stored (an upper bound: CloudWatch bills it compressed).
        const storedGb = (logs.gbPerMonth * logs.retentionDays) / (365 / 12);
        costs.push({
          item: `CloudWatch Logs: ${what} (${logs.gbPerMonth} GB/month ingested, ${logs.retentionDays}-day retention ≈ ${round(storedGb, 1)} GB stored)`,
          monthlyUsd: flat(usd(logs.gbPerMonth * ingest.value + storedGb * storage.value)),
          source: `${ingest.source}; ${storage.source}`,
        });
      }
    }
    if (byRule.size) {
      findings.push(
        warning("REGION_PRICE_BY_RULE", input.stackPath, {
          field: "region",
          problem: `${region} has no captured price for ${[...byRule].join(", ")}; those lines are priced at the ${REGION} rate`,
          why: "the price snapshots hold these services for us-east-1 only, and most regions charge more than us-east-1",
          fix: `read them as estimates (their cost lines say RULE), or check the ${region} rates on the AWS pricing pages`,
        }),
      );
    }
  }
  const total: UsdRange = {
    min: usd(costs.reduce((a, c) => a + c.monthlyUsd.min, 0)),
    expected: usd(costs.reduce((a, c) => a + c.monthlyUsd.expected, 0)),
    max: usd(costs.reduce((a, c) => a + c.monthlyUsd.max, 0)),
  };
  if (input.budgetUsdPerMonth !== undefined) {
    const largest = [...costs].sort((a, b) => b.monthlyUsd.max - a.monthlyUsd.max)[0];
    if (total.max > input.budgetUsdPerMonth) {
      findings.push(
        error("BUDGET_EXCEEDED", input.stackPath, {
          field: "budgetUsdPerMonth",
          problem: `the plan costs up to $${total.max.toLocaleString("en-US")}/month at maximum scale (expected $${total.expected.toLocaleString("en-US")}), over the budget of $${input.budgetUsdPerMonth.toLocaleString("en-US")}`,
          why: `the largest item is ${largest.item} at up to $${largest.monthlyUsd.max.toLocaleString("en-US")}/month (${region} list prices, ${HOURS_PER_MONTH} h/month)`,
          fix: "lower maximum replicas, choose a cheaper shape, or raise budgetUsdPerMonth",
        }),
      );
    } else if (total.expected > 0.8 * input.budgetUsdPerMonth) {
      findings.push(warning("BUDGET_NEAR", input.stackPath, { field: "budgetUsdPerMonth", problem: `the expected cost $${total.expected.toLocaleString("en-US")}/month is over 80% of the budget $${input.budgetUsdPerMonth.toLocaleString("en-US")}`, why: "one more replica or endpoint would break it", fix: "review the largest pools, or raise the budget" }));
    }
  }

  return {
    schemaVersion: 1,
    // us-east-1's row of the regional table equals Karpenter's newer us-east-1 snapshot (a test keeps them equal).
    catalog: { pricesCapturedAt: region === REGION ? PRICES_CAPTURED_AT : REGIONAL_PRICES.capturedAt, region, vllmImage: stackRelease.imageTag },
    endpoints,
    nodePools,
    quotas,
    costs,
    totals: { monthlyUsd: total, budgetUsdPerMonth: input.budgetUsdPerMonth ?? null },
    findings: findings.sort((a, b) => (a.severity === b.severity ? a.path.localeCompare(b.path) || a.code.localeCompare(b.code) : a.severity === "error" ? -1 : 1)),
  };
}
