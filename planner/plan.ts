/**
 * Build the ServingPlan from what the user declared: size and place every endpoint, pack replicas
 * into node pools, add up quota at the ceiling and the cost range, and collect every finding.
 */
import { findQuota, HOURS_PER_MONTH, PRICES_CAPTURED_AT, REGION, SERVICE_PRICES } from "../catalog";
import { VLLM_RELEASE } from "../catalog/vllm";
import { chooseShape, candidateOf, declaredLayoutProblem, fitOnShape, MULTI_NODE_SPANS, spansNodes, type FitRequest, type ServingRequirements, type ShapeFit } from "./choose";
import { engineFor } from "./engine";
import { error, GiB, round, warning, type Finding } from "./findings";
import type { ModelProfile } from "./model-profile";
import type { Capability, CapacityType, CostLine, EndpointPlan, NodePoolPlan, QuotaPlan, ServingPlan, UsdRange } from "./plan-types";
import { GpuShape, replicaResources } from "./shapes";
import { checkpointBytes } from "./weights";
import { checkAdapters, loraBytesPerGpu, loraSettings, type AdapterSpec } from "./lora";

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
  /** LoRA adapters served on this endpoint's GPUs. */
  readonly adapters?: readonly AdapterSpec[];
  /** @default - the smallest vLLM rank that holds every adapter */
  readonly maxLoraRank?: number;
  /** Nodes one replica spans (with a full-node shape). @default - 1, or the fewest that fit when nothing fits in one node */
  readonly nodesPerReplica?: number;
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
}

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

export function poolName(shape: string, capacityType: CapacityType, nodesPerReplica = 1): string {
  // Multi-node replicas get a pool of their own: its nodes come and go in whole groups.
  return `${shape.toLowerCase().replace(/_/g, "-")}${nodesPerReplica > 1 ? `-${nodesPerReplica}n` : ""}${capacityType === "SPOT" ? "-spot" : ""}`;
}


export interface Placed {
  readonly decl: EndpointDeclaration;
  readonly fit: ShapeFit;
  readonly alternatives: EndpointPlan["alternatives"];
}

/**
 * Size and place one endpoint: on its declared shape (with the cheapest shapes that would fit when it
 * does not), or on the cheapest feasible shape in the catalog. Constructs call this while the tree is
 * built; planServing calls it again for the whole plan, so both always agree.
 */
export function placeEndpoint(e: EndpointDeclaration, engine = engineFor(VLLM_RELEASE.version)): { placed?: Placed; findings: Finding[] } {
  const findings: Finding[] = [];
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
  const adapters = e.adapters ?? [];
  if (adapters.length || e.maxLoraRank !== undefined) {
    const bad = checkAdapters(adapters, e.model.modelId, e.maxLoraRank, e.path);
    if (bad.length) return { findings: [...findings, ...bad] };
  }
  const lora = adapters.length ? loraSettings(adapters, e.maxLoraRank) : undefined;
  const req: FitRequest = {
    profile: e.model.profile,
    engine,
    replicas: Math.max(1, e.replicas.max),
    ...(lora ? { extraBytesPerGpu: (tp: number) => loraBytesPerGpu(e.model.profile, lora.maxLoras, lora.maxLoraRank, tp, e.model.profile.dtype) } : {}),
    path: e.path,
    ...pickRequirements(e),
    ...(e.model.checkpointBytes ? { checkpointBytes: e.model.checkpointBytes } : {}),
    ...(e.tensorParallel !== undefined ? { tensorParallel: e.tensorParallel } : {}),
  };
  const layoutProblem = e.tensorParallel !== undefined ? declaredLayoutProblem(e.model.profile, e.tensorParallel, e.path) : undefined;
  if (layoutProblem) return { findings: [...findings, layoutProblem] };
  try {
    if (e.shape) {
      const shape = GpuShape.of(e.shape, e.path);
      const host = e.instanceType ? shape.hostOn(e.instanceType, e.path) : shape.defaultHost();
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
function pickRequirements(e: ServingRequirements): ServingRequirements {
  const keys = ["minConcurrency", "gpuMemoryUtilization", "kvCacheDtype", "quantization", "dtype"] as const;
  return Object.assign({ maxModelLen: e.maxModelLen }, ...keys.filter((k) => e[k] !== undefined).map((k) => ({ [k]: e[k] })));
}

/** For a multi-node replica: would fp8 weights bring it back to one node, and what would that save? */
function fp8Hint(req: FitRequest, fit: ShapeFit, e: EndpointDeclaration): Finding[] {
  if (fit.nodesPerReplica === 1 || e.quantization || e.model.profile.quantization) return [];
  const sameGpu = fitOnShape({ ...req, quantization: "fp8" }, fit.shape, fit.shape.defaultHost(), e.tensorParallel, 1);
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

export function planServing(input: PlanInput): ServingPlan {
  const findings: Finding[] = [];
  const engine = engineFor(VLLM_RELEASE.version);
  const placed: Placed[] = [];

  const seen = new Map<string, string>();
  for (const e of input.endpoints) {
    const other = seen.get(e.name);
    if (other) {
      findings.push(error("DUPLICATE_ENDPOINT", e.path, { field: "name", problem: `endpoint name "${e.name}" is already used by ${other}`, why: "Deployment, Service and served model names would collide", fix: "give each endpoint its own name" }));
      continue;
    }
    seen.set(e.name, e.path);
    const r = placeEndpoint(e, engine);
    findings.push(...r.findings);
    if (r.placed && e.replicas.min === 0 && e.replicas.max > 0) {
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
    if (r.placed) placed.push(r.placed);
  }

  // Pools: one per shape and capacity type.
  const poolOrder: string[] = [];
  const byPool = new Map<string, Placed[]>();
  for (const p of placed) {
    const key = poolName(p.fit.shape.name, p.decl.capacityType, p.fit.nodesPerReplica);
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
    const price = inst.onDemandUsdPerHour!;
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
    const gpusFree = nodes.max * inst.gpus - sum((p) => p.decl.replicas.max) * shape.gpus * span;
    const largestWeightsGiB = Math.max(...members.map((p) => checkpointBytesOf(p.decl.model) / GiB));
    const rootVolumeGiB = Math.ceil((ROOT_VOLUME_BASE_GIB + rpn * largestWeightsGiB * 1.1) / 10) * 10;
    const ebsMonthlyPerNode = rootVolumeGiB * (GiB / 1e9) * SERVICE_PRICES.ebsGp3UsdPerGbMonth.value;
    const range = (count: number) => usd(monthly(price, count) + ebsMonthlyPerNode * count);
    nodePools.push({
      name: key,
      shape: shape.name,
      instanceType: inst.instanceType,
      capacityType: members[0].decl.capacityType,
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
      monthlyUsd: { min: range(nodes.min), expected: range(nodes.expected), max: range(nodes.max) },
      quotaCode: members[0].decl.capacityType === "SPOT" ? inst.quota.spot : inst.quota.onDemand,
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
      const hourly = round(host.usdPerReplicaHour, 4);
      const expected = expectedOf(p);
      const weightsBytes = checkpointBytesOf(p.decl.model);
      endpoints.push({
        name: p.decl.name,
        path: p.decl.path,
        model: p.decl.model.modelId,
        revision: p.decl.model.revision,
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
        monthlyUsd: { min: monthly(hourly, p.decl.replicas.min), expected: monthly(hourly, expected), max: monthly(hourly, p.decl.replicas.max) },
        adapters: (p.decl.adapters ?? []).map((a) => ({ name: a.name, repoId: a.repoId, rank: a.rank })),
        lora: (() => {
          const adapters = p.decl.adapters ?? [];
          if (!adapters.length) return null;
          const l = loraSettings(adapters, p.decl.maxLoraRank);
          return { ...l, slotsGiB: round(loraBytesPerGpu(p.decl.model.profile, l.maxLoras, l.maxLoraRank, p.fit.tensorParallel, p.decl.model.profile.dtype) / GiB), monthlyUsdPerAdapter: usd(monthly(hourly, expected) / adapters.length) };
        })(),
        ...compactAlternatives(p.alternatives),
      });
    }
  }
  endpoints.sort((a, b) => a.name.localeCompare(b.name));

  // Quota at the ceiling: every pool at max nodes plus the surge node of a rolling node-group update.
  const quotaNeeds = new Map<string, number>();
  for (const pool of nodePools) {
    // A rolling update surges one node, or one whole group for multi-node replicas.
    const surge = pool.nodes.max > 0 ? Math.max(1, pool.nodesPerReplica) : 0;
    quotaNeeds.set(pool.quotaCode, (quotaNeeds.get(pool.quotaCode) ?? 0) + pool.vcpusPerNode * (pool.nodes.max + surge));
  }
  const quotas: QuotaPlan[] = [...quotaNeeds.keys()].sort().map((code) => {
    const needed = quotaNeeds.get(code)!;
    const limit = input.quotas[code];
    const name = findQuota(code)?.name ?? code;
    const pools = nodePools.filter((p) => p.quotaCode === code);
    const detail = pools.map((p) => `${p.nodes.max}+1 × ${p.instanceType} (${p.vcpusPerNode} vCPUs)`).join(" + ");
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

  // Costs: control plane, pools (nodes and root volumes), and S3 storage of the weights.
  const costs: CostLine[] = [];
  if (input.createsCluster) {
    const p = input.clusterExtendedSupport ? SERVICE_PRICES.eksExtendedSupportUsdPerHour : SERVICE_PRICES.eksControlPlaneUsdPerHour;
    const m = monthly(p.value, 1);
    costs.push({ item: "EKS control plane", monthlyUsd: { min: m, expected: m, max: m }, source: p.source });
  }
  if (input.systemNodes) {
    const sys = SERVICE_PRICES.systemNodeUsdPerHour;
    const disk = input.systemNodeDiskGiB ?? 40;
    const m = usd(monthly(sys.value, input.systemNodes) + input.systemNodes * disk * (GiB / 1e9) * SERVICE_PRICES.ebsGp3UsdPerGbMonth.value);
    costs.push({ item: `system node pool (${input.systemNodes} × ${sys.instanceType}, ${disk} GiB gp3 root)`, monthlyUsd: { min: m, expected: m, max: m }, source: sys.source });
  }
  for (const pool of nodePools) {
    costs.push({ item: `node pool ${pool.name} (${pool.instanceType}, ${pool.rootVolumeGiB} GiB gp3 root)`, monthlyUsd: pool.monthlyUsd, source: "catalog/instances.json, catalog/services.json" });
  }
  const stored = new Map<string, number>();
  for (const e of input.endpoints) if (e.model.storedInS3) stored.set(e.model.modelId + "@" + (e.model.revision ?? ""), checkpointBytesOf(e.model));
  if (stored.size) {
    const bytes = [...stored.values()].reduce((a, b) => a + b, 0);
    const m = usd((bytes / 1e9) * SERVICE_PRICES.s3StandardUsdPerGbMonth.value);
    costs.push({ item: `S3 model store (${round(bytes / 1e9, 1)} GB of weights)`, monthlyUsd: { min: m, expected: m, max: m }, source: SERVICE_PRICES.s3StandardUsdPerGbMonth.source });
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
          why: `the largest item is ${largest.item} at up to $${largest.monthlyUsd.max.toLocaleString("en-US")}/month (On-Demand list prices, ${HOURS_PER_MONTH} h/month)`,
          fix: "lower maximum replicas, choose a cheaper shape, or raise budgetUsdPerMonth",
        }),
      );
    } else if (total.expected > 0.8 * input.budgetUsdPerMonth) {
      findings.push(warning("BUDGET_NEAR", input.stackPath, { field: "budgetUsdPerMonth", problem: `the expected cost $${total.expected.toLocaleString("en-US")}/month is over 80% of the budget $${input.budgetUsdPerMonth.toLocaleString("en-US")}`, why: "one more replica or endpoint would break it", fix: "review the largest pools, or raise the budget" }));
    }
  }

  return {
    schemaVersion: 1,
    catalog: { pricesCapturedAt: PRICES_CAPTURED_AT, region: REGION, vllmImage: VLLM_RELEASE.image },
    endpoints,
    nodePools,
    quotas,
    costs,
    totals: { monthlyUsd: total, budgetUsdPerMonth: input.budgetUsdPerMonth ?? null },
    findings: findings.sort((a, b) => (a.severity === b.severity ? a.path.localeCompare(b.path) || a.code.localeCompare(b.code) : a.severity === "error" ? -1 : 1)),
  };
}
