/**
 * Shape choice: for a model, a context length and a minimum concurrency, size every catalog shape and
 * pick the cheapest feasible one per replica-hour. Ties break on fewer GPUs, then more KV tokens, then
 * the shape name, so the same inputs always give the same answer — and every candidate is kept with
 * its verdict so a reviewer sees why.
 */
import { INSTANCES, findInstance } from "../catalog";
import { error, PlanningError, round, type Finding } from "./findings";
import type { LimitMmPerPrompt } from "./multimodal";
import type { EngineProfile } from "./engine";
import type { ModelProfile } from "./model-profile";
import type { ShapeCandidate } from "./plan-types";
import { DEFAULT_REGION } from "./region";
import { GpuShape, type Host } from "./shapes";
import { size, tensorParallelChoices, tensorParallelProblem, validTensorParallel, type KvCacheDtype, type OnlineQuantization, type SizingResult } from "./sizing";

/** What a user asks of one replica's serving: declared on an endpoint, passed unchanged to the fit. */
export interface ServingRequirements {
  /** Context length in tokens. */
  readonly maxModelLen: number;
  /** Requests of maxModelLen that must fit in the KV cache at once. @default 1 */
  readonly minConcurrency?: number;
  /** @default - the pinned vLLM release's default */
  readonly gpuMemoryUtilization?: number;
  /** @default "auto" */
  readonly kvCacheDtype?: KvCacheDtype;
  /** vLLM online quantization of an unquantized checkpoint. */
  readonly quantization?: OnlineQuantization;
  /** @default "auto" */
  readonly dtype?: "auto" | "bfloat16" | "float16" | "float32";
  /** `--limit-mm-per-prompt` of a vision-language model. @default vLLM's: 999 of each modality */
  readonly limitMmPerPrompt?: LimitMmPerPrompt;
  /** `--enable-prefix-caching`; for Gated DeltaNet hybrids it doubles the states per request. @default vLLM's (off for hybrid models) */
  readonly enablePrefixCaching?: boolean;
}

export interface FitRequest extends ServingRequirements {
  readonly profile: ModelProfile;
  readonly engine: EngineProfile;
  readonly checkpointBytes?: number;
  /**
   * Replicas the endpoint runs at most. Shapes are ranked by what those replicas really cost: the
   * nodes they occupy, idle GPUs included — not a packed price that only a full node would see. @default 1
   */
  readonly replicas?: number;
  /** Extra bytes each GPU must hold at a tensor-parallel size (LoRA adapter slots). */
  readonly extraBytesPerGpu?: (tensorParallel: number) => number;
  /**
   * A declared tensor-parallel size: the in-node layout of every shape considered, so only shapes
   * with exactly that many GPUs per node are candidates. @default - the largest the heads allow
   */
  readonly tensorParallel?: number;
  /**
   * A declared host instance type: only shapes of its GPU whose GPU count divides its own are
   * candidates, each placed on that instance. @default - the cheapest instance carrying each shape
   */
  readonly instanceType?: string;
  readonly path: string;
  /** The region shapes are priced and offered in. @default "us-east-1" */
  readonly region?: string;
}

export interface ShapeFit {
  readonly shape: GpuShape;
  readonly host: Host | undefined;
  readonly tensorParallel: number;
  readonly pipelineParallel: number;
  readonly sizing: SizingResult;
  readonly feasible: boolean;
  readonly reason: Finding | undefined;
  /** Nodes one replica spans: 1, or k for a model bigger than one node (TP inside, PP across). */
  readonly nodesPerReplica: number;
  /** Node cost per replica-hour at the request's replica count (whole nodes, idle GPUs included). */
  readonly usdPerReplicaHour: number;
}

/**
 * A declared tensorParallel the model or the catalog cannot honour, whatever the shape: the heads
 * (or KV heads) it does not divide, or a GPU count no shape offers in one node. Checked once, before
 * any shape is sized, so the answer names the real reason and the values that would work.
 */
export function declaredLayoutProblem(profile: ModelProfile, tensorParallel: number, path: string, shapes: readonly GpuShape[] = GpuShape.all()): Finding | undefined {
  const counts = [...new Set(shapes.map((s) => s.gpus))].sort((a, b) => a - b);
  const valid = counts.filter((n) => validTensorParallel(profile, n));
  const fix = valid.length ? `use tensorParallel ${valid.join(", ")} (valid for this model and offered as a shape's GPU count), or leave it unset and the planner picks one` : "leave tensorParallel unset";
  const problem = tensorParallelProblem(profile, tensorParallel);
  if (problem) return error("TP_NOT_DIVISOR", path, { field: "tensorParallel", ...problem, fix });
  if (!counts.includes(tensorParallel)) {
    return error("TP_NO_SHAPE", path, {
      field: "tensorParallel",
      problem: `no GPU shape has ${tensorParallel} GPUs in one node (shapes have ${counts.join(", ")})`,
      why: "tensor-parallel ranks exchange activations every layer, so they share one node, and a replica holds exactly its shape's GPUs",
      fix,
    });
  }
  return undefined;
}

/** The parallel layout for `gpus` GPUs in one node: all tensor-parallel when the heads allow, else TP × PP. */
export function layoutFor(profile: ModelProfile, gpus: number, tensorParallel?: number): { tp: number; pp: number } {
  // A declared tensorParallel is taken as the whole layout: no pipeline stages are inferred behind the user's back.
  if (tensorParallel !== undefined) return { tp: tensorParallel, pp: 1 };
  if (validTensorParallel(profile, gpus)) return { tp: gpus, pp: 1 };
  const tp = Math.max(...tensorParallelChoices(profile, gpus).filter((t) => gpus % t === 0), 1);
  return { tp, pp: profile.attention === "encoder-only" ? 1 : gpus / tp };
}

/**
 * Sizing is pure and fleets repeat requests (the same model and context on many endpoints, and every
 * endpoint is placed once while the tree is built and again for the whole plan), so fits are cached
 * per profile, without the construct path, which is put back into the findings on the way out.
 */
const fitCache = new WeakMap<object, Map<string, ShapeFit>>();
const PATH_MARK = "\u0000path\u0000";

function withPath(f: Finding | undefined, path: string): Finding | undefined {
  return f && { ...f, path, message: f.message.split(PATH_MARK).join(path) };
}

export function fitOnShape(req: FitRequest, shape: GpuShape, host = req.instanceType ? shape.hostOn(req.instanceType, req.path, req.region) : shape.defaultHost(req.region), tensorParallel = req.tensorParallel, nodes = 1): ShapeFit {
  const tp = layoutFor(req.profile, shape.gpus, tensorParallel).tp;
  const key = JSON.stringify([
    req.engine.id, req.region ?? DEFAULT_REGION, shape.name, host?.instance.instanceType ?? null, tensorParallel ?? null, nodes, req.maxModelLen, req.minConcurrency ?? 1,
    req.gpuMemoryUtilization ?? null, req.kvCacheDtype ?? null, req.quantization ?? null, req.dtype ?? null, req.checkpointBytes ?? null, req.limitMmPerPrompt ?? null, req.enablePrefixCaching ?? null,
    req.replicas ?? 1, req.extraBytesPerGpu ? req.extraBytesPerGpu(tp) : 0,
  ]);
  let byProfile = fitCache.get(req.profile);
  if (!byProfile) fitCache.set(req.profile, (byProfile = new Map()));
  let fit = byProfile.get(key);
  if (!fit) {
    fit = computeFit({ ...req, path: PATH_MARK }, shape, host, tensorParallel, nodes);
    byProfile.set(key, fit);
  }
  const sizing = { ...fit.sizing, errors: fit.sizing.errors.map((f) => withPath(f, req.path)!), warnings: fit.sizing.warnings.map((f) => withPath(f, req.path)!) };
  return { ...fit, sizing, reason: withPath(fit.reason, req.path) };
}

function computeFit(req: FitRequest, shape: GpuShape, host: Host | undefined, tensorParallel: number | undefined, nodes: number): ShapeFit {
  const inNode = layoutFor(req.profile, shape.gpus, tensorParallel);
  const tp = inNode.tp;
  const pp = inNode.pp * nodes;
  // A multi-node replica owns whole nodes: it pays for all of them.
  if (host && nodes > 1) host = { ...host, replicasPerNode: 1, usdPerReplicaHour: host.usdPerNodeHour * nodes };
  const sizing = size({
    profile: req.profile,
    gpu: shape.gpu,
    engine: req.engine,
    tensorParallel: tp,
    pipelineParallel: pp,
    maxModelLen: req.maxModelLen,
    path: req.path,
    ...(req.gpuMemoryUtilization !== undefined ? { gpuMemoryUtilization: req.gpuMemoryUtilization } : {}),
    ...(req.kvCacheDtype ? { kvCacheDtype: req.kvCacheDtype } : {}),
    ...(req.quantization ? { quantization: req.quantization } : {}),
    ...(req.dtype ? { dtype: req.dtype } : {}),
    ...(req.limitMmPerPrompt ? { limitMmPerPrompt: req.limitMmPerPrompt } : {}),
    ...(req.enablePrefixCaching !== undefined ? { enablePrefixCaching: req.enablePrefixCaching } : {}),
    ...(req.checkpointBytes ? { checkpointBytes: req.checkpointBytes } : {}),
    ...(req.extraBytesPerGpu ? { extraBytesPerGpu: req.extraBytesPerGpu(tp) } : {}),
    ...(host ? { gpusPerNode: host.instance.gpus } : {}),
  });
  const minConcurrency = req.minConcurrency ?? 1;
  let reason = sizing.errors[0];
  if (!reason && nodes > 1 && (!host || host.instance.gpus !== shape.gpus)) {
    reason = error("MULTI_NODE_NEEDS_FULL_NODES", req.path, {
      field: "shape",
      problem: `a replica spanning ${nodes} nodes must use every GPU of each node, but ${shape.name} is ${shape.gpus} of ${host?.instance.gpus ?? "?"}`,
      why: "pipeline stages on shared nodes would contend for the interconnect and strand GPUs",
      fix: `use the full-node shape ${shape.gpu.id.replace("-", "_").replace("A10G", "A10")}_X${host?.instance.gpus ?? 8}`,
    });
  }
  if (!reason && tp * pp !== shape.gpus * nodes) {
    reason = error("GPU_LAYOUT_MISMATCH", req.path, {
      field: "tensorParallel",
      problem: `tensorParallel ${tensorParallel} does not fill shape ${shape.name}: TP × PP = ${tp} × ${pp}, but a replica has ${shape.gpus} GPU(s)`,
      why: "GPUs a replica holds but vLLM does not use sit idle while billed, and vLLM cannot use more GPUs than the pod has",
      fix: `use a tensorParallel that divides ${shape.gpus} (${tensorParallelChoices(req.profile, shape.gpus).filter((t) => shape.gpus % t === 0).join(", ")}), or a shape with ${tensorParallel} GPUs`,
    });
  }
  if (!reason && sizing.maxConcurrency < minConcurrency) {
    reason = {
      code: "CONCURRENCY_TOO_LOW",
      severity: "error",
      path: req.path,
      field: "minConcurrency",
      message: `[CONCURRENCY_TOO_LOW] ${req.path}: ${shape.name} holds ${sizing.maxConcurrency} concurrent requests of ${req.maxModelLen} tokens, fewer than the ${minConcurrency} asked for. The KV cache left after the weights is ${sizing.kvCacheGiB} GiB per GPU. Fix: choose a shape with more GPU memory, lower maxModelLen, or lower minConcurrency.`,
    };
  }
  if (!reason && !host) {
    const region = req.region ?? DEFAULT_REGION;
    const offered = shape.offeredIn();
    reason = offered.startsWith("no region")
      ? error("PRICE_UNKNOWN", req.path, { field: "shape", problem: `no instance hosting ${shape.name} has a published On-Demand price in any region`, why: "the planner never prices capacity at $0", fix: "choose another shape" })
      : error("SHAPE_NOT_OFFERED_IN_REGION", req.path, { field: "shape", problem: `no instance hosting ${shape.name} is offered On-Demand in ${region}`, why: `${shape.name} is offered in ${offered}`, fix: `deploy in one of those regions, or choose a shape offered in ${region}` });
  }
  const replicas = Math.max(1, req.replicas ?? 1);
  const nodesNeeded = nodes > 1 ? replicas * nodes : Math.ceil(replicas / (host?.replicasPerNode ?? 1));
  const usdPerReplicaHour = host ? (nodesNeeded * host.usdPerNodeHour) / replicas : Infinity;
  return { shape, host, tensorParallel: tp, pipelineParallel: pp, sizing, feasible: !reason, reason, nodesPerReplica: nodes, usdPerReplicaHour };
}

export function candidateOf(f: ShapeFit, verdict: string): ShapeCandidate {
  return {
    shape: f.nodesPerReplica > 1 ? `${f.shape.name} × ${f.nodesPerReplica} nodes` : f.shape.name,
    instanceType: f.host?.instance.instanceType ?? null,
    tensorParallel: f.tensorParallel,
    pipelineParallel: f.pipelineParallel,
    fits: f.sizing.fits,
    kvCacheTokens: f.sizing.kvCacheTokens,
    maxConcurrency: f.sizing.maxConcurrency,
    usdPerReplicaHour: Number.isFinite(f.usdPerReplicaHour) ? round(f.usdPerReplicaHour, 4) : null,
    verdict,
  };
}

function compareFeasible(a: ShapeFit, b: ShapeFit): number {
  return (
    a.usdPerReplicaHour - b.usdPerReplicaHour ||
    a.shape.gpus - b.shape.gpus ||
    b.sizing.kvCacheTokens - a.sizing.kvCacheTokens ||
    a.shape.name.localeCompare(b.shape.name)
  );
}

export interface ShapeChoice {
  readonly chosen: ShapeFit | undefined;
  /** Feasible shapes cheapest first, then the infeasible ones in catalog order. */
  readonly ranked: readonly ShapeFit[];
  readonly candidates: readonly ShapeCandidate[];
}

/**
 * Shapes a replica may span several nodes of, unasked: full 8-GPU nodes with ≥ 400 Gbps networking
 * (p4d, p4de, p5, p5en, p6, g6e.48xlarge), where pipeline stages talk over EFA. Anything slower is
 * refused rather than silently turned into a crawl; nodesPerReplica can still ask for it.
 */
export function spansNodes(s: GpuShape, region = DEFAULT_REGION): boolean {
  const host = s.defaultHost(region)?.instance;
  return !!host && host.gpus === s.gpus && s.gpus >= 8 && host.networkGbps >= 400;
}

/** Nodes a replica may span when the model is bigger than one node. */
export const MULTI_NODE_SPANS = [2, 3, 4] as const;

export function chooseShape(req: FitRequest, all: readonly GpuShape[] = GpuShape.all()): ShapeChoice {
  // A declared tensorParallel is the in-node layout: only shapes with that many GPUs can honour it.
  // A declared instance type carries only the shapes of its GPU that divide its GPUs.
  const onInstance = req.instanceType ? shapesOnInstance(req.instanceType, req.path, all) : all;
  const shapes = req.tensorParallel === undefined ? onInstance : onInstance.filter((s) => s.gpus === req.tensorParallel);
  let fits = shapes.map((s) => fitOnShape(req, s));
  if (!fits.some((f) => f.feasible)) {
    // Bigger than any one node: tensor parallel inside each node, pipeline parallel across nodes.
    const fullNode = shapes.filter((s) => spansNodes(s, req.region));
    fits = [...fits, ...fullNode.flatMap((s) => MULTI_NODE_SPANS.map((k) => fitOnShape(req, s, undefined, req.tensorParallel, k)))];
  }
  const feasible = fits.filter((f) => f.feasible).sort(compareFeasible);
  const infeasible = fits.filter((f) => !f.feasible);
  const chosen = feasible[0];
  const candidates = [
    ...feasible.map((f, i) => candidateOf(f, i === 0 ? "chosen: cheapest feasible" : `fits; $${round(f.usdPerReplicaHour - chosen!.usdPerReplicaHour, 4)}/replica-hour more`)),
    ...infeasible.map((f) => candidateOf(f, f.reason?.code ?? "infeasible")),
  ];
  return { chosen, ranked: [...feasible, ...infeasible], candidates };
}

/** The shapes a declared instance type carries: its GPU model, in counts that divide its GPUs (p4d.24xlarge: A100_40G × 1, 2, 4, 8). */
function shapesOnInstance(instanceType: string, path: string, all: readonly GpuShape[]): GpuShape[] {
  const inst = findInstance(instanceType);
  if (!inst) {
    throw new PlanningError([error("INSTANCE_TYPE_UNKNOWN", path, { field: "instanceType", problem: `"${instanceType}" is not a GPU instance type in the catalog`, why: "the instance decides which GPUs a replica gets and what it costs", fix: `use one of ${INSTANCES.map((i) => i.instanceType).slice(0, 12).join(", ")}, …, or leave instanceType to the planner` })]);
  }
  return all.filter((s) => s.gpu.id === inst.gpu && inst.gpus % s.gpus === 0);
}
