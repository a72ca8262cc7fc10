/**
 * GPU shapes: a GPU model and a GPU count per replica (A10_X1, H100_X8), as the managed services sell
 * them. A shape is hosted on the cheapest instance that carries at least that many of its GPUs; when
 * no instance has exactly that count (A10_X2, H100_X4) the plan says how many GPUs stay free.
 */
import { findGpu, findShape, INSTANCES, onDemandUsdPerHour, REGIONAL_PRICES, regionsOffering, SHAPES, type GpuSpec, type InstanceSpec, type ShapeSpec } from "../catalog";
import { error, PlanningError } from "./findings";
import { DEFAULT_REGION, offeringRegionsText } from "./region";

/** Share of a node's vCPUs and memory that pods may request (the rest: kubelet, system daemons). */
export const ALLOCATABLE_FRACTION = 0.85;

export interface Host {
  readonly instance: InstanceSpec;
  readonly replicasPerNode: number;
  /** Price of one replica-hour when nodes are full, USD; Infinity when the region does not offer the instance On-Demand. */
  readonly usdPerReplicaHour: number;
  /** On-Demand price of one node in `region`, USD per hour; Infinity when not offered there. */
  readonly usdPerNodeHour: number;
  /** The region the prices are for. */
  readonly region: string;
}

function hostIn(instance: InstanceSpec, replicasPerNode: number, region: string): Host {
  const price = onDemandUsdPerHour(region, instance.instanceType) ?? Infinity;
  return { instance, replicasPerNode, usdPerReplicaHour: price / replicasPerNode, usdPerNodeHour: price, region };
}

export class GpuShape {
  /** A catalog shape by name, e.g. `GpuShape.of("H100_X8")`. */
  static of(name: string, path = "GpuShape.of"): GpuShape {
    const spec = findShape(name) ?? SHAPES.find((s) => shapeAliases(s).includes(aliasKey(name)));
    if (!spec) {
      const key = aliasKey(name);
      const gpuPart = key.replace(/_X\d+$/, "");
      const sameGpu = SHAPES.filter((s) => shapeAliases(s).some((a) => a.replace(/_X\d+$/, "") === gpuPart)).map((s) => s.name);
      const nearest = [...SHAPES].sort((a, b) => Math.min(...shapeAliases(a).map((x) => editDistance(x, key))) - Math.min(...shapeAliases(b).map((x) => editDistance(x, key))) || a.name.localeCompare(b.name))[0];
      throw new PlanningError([
        error("SHAPE_UNKNOWN", path, {
          field: "shape",
          problem: `"${name}" is not a GPU shape in the catalog`,
          why: "a shape names a GPU model and a GPU count per replica, e.g. A10_X1 (A10G_X1 and a10_x1 are accepted too)",
          fix: sameGpu.length ? `use one of ${sameGpu.join(", ")}` : `did you mean ${nearest.name}? The shapes are ${SHAPES.map((s) => s.name).join(", ")}`,
        }),
      ]);
    }
    return new GpuShape(spec);
  }

  static all(): GpuShape[] {
    return SHAPES.map((s) => new GpuShape(s));
  }

  readonly name: string;
  readonly gpus: number;
  readonly gpu: GpuSpec;

  private constructor(spec: ShapeSpec) {
    this.name = spec.name;
    this.gpus = spec.gpus;
    this.gpu = findGpu(spec.gpu)!;
  }

  /**
   * Instances that can host one replica of this shape, cheapest per replica-hour in `region` first;
   * those the region does not offer On-Demand last.
   */
  hosts(region = DEFAULT_REGION): Host[] {
    return INSTANCES.filter((i) => i.gpu === this.gpu.id && i.gpus >= this.gpus)
      .map((instance) => hostIn(instance, Math.floor(instance.gpus / this.gpus), region))
      .sort((a, b) => a.usdPerReplicaHour - b.usdPerReplicaHour || a.instance.vcpus - b.instance.vcpus || a.instance.instanceType.localeCompare(b.instance.instanceType));
  }

  /** The default host in `region`: cheapest per replica-hour among the instances offered there. */
  defaultHost(region = DEFAULT_REGION): Host | undefined {
    return this.hosts(region).find((h) => Number.isFinite(h.usdPerReplicaHour));
  }

  /** The regions where some instance hosting this shape is offered On-Demand, as text. */
  offeredIn(): string {
    return offeringRegionsText(this.hosts().map((h) => h.instance.instanceType));
  }

  /** A given instance as host in `region`, or a coded error if it cannot host this shape there. */
  hostOn(instanceType: string, path: string, region = DEFAULT_REGION): Host {
    const instance = INSTANCES.find((i) => i.instanceType === instanceType);
    if (!instance) {
      const similar = INSTANCES.map((i) => i.instanceType)
        .filter((t) => t.startsWith(instanceType.split(".")[0] ?? ""))
        .sort((a, b) => editDistance(a, instanceType) - editDistance(b, instanceType) || a.localeCompare(b));
      throw new PlanningError([
        error("INSTANCE_TYPE_UNKNOWN", path, {
          field: "instanceType",
          problem: `"${instanceType}" is not a GPU instance type in the catalog`,
          why: "the planner needs its GPUs, vCPUs, memory and price",
          fix: similar.length ? `did you mean ${similar.slice(0, 4).join(", ")}?` : `use a g4dn, g5, g6, g6e, p4d, p4de, p5, p5e, p5en or p6-b200 size`,
        }),
      ]);
    }
    if (instance.gpu !== this.gpu.id || instance.gpus < this.gpus) {
      const offered = [...new Set(INSTANCES.filter((i) => i.family === instance.family).map((i) => i.gpus))].sort((a, b) => a - b);
      const fits = this.hosts().map((h) => h.instance.instanceType);
      throw new PlanningError([
        error("GPU_COUNT_NOT_OFFERED", path, {
          field: "instanceType",
          problem: `${instanceType} has ${instance.gpus} × ${instance.gpu}, but shape ${this.name} needs ${this.gpus} × ${this.gpu.id} in one node`,
          why: `the ${instance.family} family offers ${offered.join(", ")} GPU(s) per instance`,
          fix: fits.length ? `use ${fits.slice(0, 3).join(", ")}` : `choose another shape`,
        }),
      ]);
    }
    const host = hostIn(instance, Math.floor(instance.gpus / this.gpus), region);
    if (!Number.isFinite(host.usdPerNodeHour)) {
      const here = this.hosts(region).filter((h) => Number.isFinite(h.usdPerReplicaHour)).map((h) => h.instance.instanceType);
      throw new PlanningError([
        error("INSTANCE_NOT_OFFERED_IN_REGION", path, {
          field: "instanceType",
          problem: `${instanceType} is not offered On-Demand in ${region}`,
          why: regionsOffering(instanceType).length
            ? `the per-region price snapshot (${REGIONAL_PRICES.capturedAt}) offers it in ${offeringRegionsText([instanceType])}`
            : `no region of the per-region price snapshot (${REGIONAL_PRICES.capturedAt}) offers it On-Demand${instance.priceNote ? `: ${instance.priceNote.replace(/\.$/, "")}` : ""}`,
          fix: here.length ? `use ${here.slice(0, 3).join(", ")}, which can host ${this.name} in ${region}, or deploy where ${instanceType} is offered` : `deploy where ${instanceType} is offered, or choose a shape offered in ${region}`,
        }),
      ]);
    }
    return host;
  }

  toString(): string {
    return this.name;
  }
}

/** A shape name as typed, normalised for alias matching: upper case, "-" and spaces as "_". */
function aliasKey(name: string): string {
  return String(name).trim().toUpperCase().replace(/[-\s]+/g, "_");
}

/** The names a shape answers to: its own, and its GPU's catalog id with the count (A10G_X1 for A10_X1, as the CLI's --gpu says). */
function shapeAliases(s: ShapeSpec): string[] {
  return [...new Set([aliasKey(s.name), aliasKey(`${s.gpu}_X${s.gpus}`)])];
}

/** Levenshtein distance, to suggest the instance type a typo meant. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** vCPU and memory a replica of `gpus` GPUs requests on a node: its share of what the node can give pods. */
export function replicaResources(instance: InstanceSpec, gpus: number): { cpu: number; memoryGiB: number; shmGiB: number } {
  const share = gpus / instance.gpus;
  const cpu = Math.max(1, Math.floor(instance.vcpus * share * ALLOCATABLE_FRACTION));
  const memoryGiB = Math.max(4, Math.floor(instance.memoryGiB * share * ALLOCATABLE_FRACTION));
  // /dev/shm for NCCL and vLLM's shared-memory broadcast between workers: more ranks, more buffers.
  const shmGiB = Math.min(Math.max(2, 2 * gpus), Math.floor(memoryGiB / 4));
  return { cpu, memoryGiB, shmGiB };
}
