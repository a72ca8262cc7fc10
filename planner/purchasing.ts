/**
 * How a pool's nodes are bought — On-Demand, Spot (with fallback instance types), an On-Demand
 * Capacity Reservation (by id or resource group) or an EC2 Capacity Block for ML — what each must
 * declare, what a node-hour and the commitment cost, and which quota each draws on. The facts come
 * from catalog/capacity.json, each with its source.
 */
import { CAPACITY_FACTS, findInstance, HOURS_PER_MONTH, INSTANCES, onDemandUsdPerHour, type InstanceSpec } from "../catalog";
import { error, round, warning, type Finding } from "./findings";
import { shortHash } from "./names";
import type { CapacityType, PoolCapacityPlan, PoolQuotaNeed, SpotPricing, UsdRange } from "./plan-types";

/** Nodes bought On-Demand at the region's list price (the default). */
export interface OnDemandCapacity {
  readonly type: "on-demand";
}

/** Spot nodes: up to 90 % cheaper, interrupted when EC2 needs the capacity back. */
export interface SpotCapacity {
  readonly type: "spot";
  /**
   * Instance types the node group may also launch when the pool's own type has no Spot capacity, in
   * order of preference. Each must carry the same GPUs (model and count) with at least the pool type's
   * vCPUs and memory, and be offered in the region. Single-node shapes only. @default - none
   */
  readonly fallbackInstanceTypes?: readonly string[];
  /**
   * The Spot price you see for the endpoint's `instanceType` in the cluster's region, USD per
   * instance-hour. @default - priced as a range: AWS's largest Spot discount … the On-Demand price
   */
  readonly spotPriceUsdPerHour?: number;
}

/** An On-Demand Capacity Reservation: capacity held for you, billed at On-Demand whether used or not. */
export interface ReservationCapacity {
  readonly type: "reservation";
  /** The reservation's id (`cr-…`). Give this or `resourceGroupArn`. */
  readonly reservationId?: string;
  /** The ARN of a Capacity Reservation resource group (several reservations; a full group overflows to On-Demand). */
  readonly resourceGroupArn?: string;
  /**
   * The reservation's Availability Zone: the pool's nodes launch only in the cluster's subnets there.
   * Required with `reservationId`. @default - every subnet of the cluster (resource groups only)
   */
  readonly availabilityZone?: string;
  /**
   * Instances the reservation holds. They are billed whether nodes run in them or not, so the plan
   * prices all of them. @default - only the nodes that run are priced (a warning says so)
   */
  readonly instances?: number;
}

/** An EC2 Capacity Block for ML: GPU instances reserved for a fixed period, paid up front at the block's rate. */
export interface CapacityBlockCapacity {
  readonly type: "capacity-block";
  /** The Capacity Block's reservation id (`cr-…`). */
  readonly reservationId: string;
  /** The block's Availability Zone: the pool's nodes launch only in the cluster's subnets there. */
  readonly availabilityZone: string;
  /** What the block costs, USD per instance-hour (its upfront fee ÷ instances ÷ hours). The plan never guesses it. */
  readonly usdPerInstanceHour: number;
  /** Instances in the block, all paid for whether used or not. @default - only the nodes that run are priced (a warning says so) */
  readonly instances?: number;
}

/** How an endpoint's nodes are bought. */
export type EndpointCapacity = OnDemandCapacity | SpotCapacity | ReservationCapacity | CapacityBlockCapacity;

/** What the planner reads of an endpoint's capacity: the `capacity` prop, or the older `capacityType` and `spotPriceUsdPerHour`. */
export interface CapacityDeclaration {
  readonly path: string;
  readonly capacity?: EndpointCapacity;
  readonly capacityType: CapacityType;
  readonly spotPriceUsdPerHour?: number;
  readonly instanceType?: string;
}

/** AWS's largest Spot discount: the floor of an undeclared Spot price range. */
export const SPOT_MAX_DISCOUNT = 0.9;
const SPOT_FLOOR_SOURCE = "Amazon EC2 Spot Instances (aws.amazon.com/ec2/spot): Spot runs 'at up to a 90% discount compared to On-Demand prices', and the default maximum Spot price is the On-Demand price";

const RESERVATION_ID = /^cr-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
const GROUP_ARN = /^arn:aws(?:-[a-z]+)*:resource-groups:([a-z0-9-]+):(\d{12}):group\/[A-Za-z0-9_.-]{1,128}$/;
const ZONE = /^([a-z]{2}-[a-z]+-\d)[a-z]$/;
const KINDS = ["on-demand", "spot", "reservation", "capacity-block"] as const;

/** The endpoint's capacity, read from whichever form it was declared in. */
export function capacityOf(d: Pick<CapacityDeclaration, "capacity" | "capacityType" | "spotPriceUsdPerHour">): EndpointCapacity {
  if (d.capacity) return d.capacity;
  if (d.capacityType === "SPOT") return { type: "spot", ...(d.spotPriceUsdPerHour !== undefined ? { spotPriceUsdPerHour: d.spotPriceUsdPerHour } : {}) };
  return { type: "on-demand" };
}

/** The EKS managed node group's capacity_type for a capacity kind (a reservation is On-Demand capacity). */
export function nodeGroupCapacityType(c: EndpointCapacity): "ON_DEMAND" | "SPOT" | "CAPACITY_BLOCK" {
  return c.type === "spot" ? "SPOT" : c.type === "capacity-block" ? "CAPACITY_BLOCK" : "ON_DEMAND";
}

/** The older `capacityType` a capacity declaration stands for. */
export function legacyCapacityType(c: EndpointCapacity): CapacityType {
  return c.type === "spot" ? "SPOT" : "ON_DEMAND";
}

/** Pool-name suffix: each reservation or block is a pool of its own; Spot keeps its "-spot". */
export function capacitySuffix(c: EndpointCapacity | CapacityType): string {
  if (c === "SPOT") return "-spot";
  if (c === "ON_DEMAND") return "";
  const tail = (id: string) => id.replace(/^cr-/, "").slice(-8);
  switch (c.type) {
    case "spot":
      return "-spot";
    case "reservation":
      return c.reservationId ? `-cr-${tail(c.reservationId)}` : `-crg-${shortHash(c.resourceGroupArn ?? "")}`;
    case "capacity-block":
      return `-cb-${tail(c.reservationId)}`;
    default:
      return "";
  }
}

/** Problems a capacity declaration has on its own (before the endpoint is placed), as coded errors. */
export function capacityDeclarationProblems(d: CapacityDeclaration, region: string): Finding[] {
  const c = d.capacity;
  if (c === undefined) return [];
  const out: Finding[] = [];
  const bad = (code: string, field: string, problem: string, why: string, fix: string) => out.push(error(code, d.path, { field, problem, why, fix }));
  if (!c || typeof c !== "object" || !KINDS.includes((c as { type: string }).type as (typeof KINDS)[number])) {
    bad("CAPACITY_INVALID", "capacity.type", `capacity type ${JSON.stringify((c as { type?: unknown } | null)?.type)} is not one of ${KINDS.join(", ")}`, "the pool's node group, launch template, price and quota follow from how its nodes are bought", 'declare e.g. capacity: { type: "on-demand" } or { type: "reservation", reservationId: "cr-0123456789abcdef0", availabilityZone: "us-east-1a", instances: 2 }');
    return out;
  }
  if (d.capacityType !== legacyCapacityType(c) || d.spotPriceUsdPerHour !== undefined) {
    bad("CAPACITY_CONFLICT", d.spotPriceUsdPerHour !== undefined ? "spotPriceUsdPerHour" : "capacityType", `capacity ${c.type} is declared together with ${d.spotPriceUsdPerHour !== undefined ? `spotPriceUsdPerHour ${d.spotPriceUsdPerHour}` : `capacityType ${d.capacityType}`}`, "capacityType and spotPriceUsdPerHour are the short form of capacity; two declarations could disagree", 'keep capacity only (a Spot price goes in capacity: { type: "spot", spotPriceUsdPerHour })');
  }
  const zoneProblem = (zone: unknown, field: string) => {
    const m = typeof zone === "string" ? ZONE.exec(zone) : null;
    if (!m) bad("CAPACITY_ZONE_INVALID", field, `${JSON.stringify(zone)} is not an Availability Zone name`, "the reservation lives in one zone, and the pool's nodes must launch in the cluster's subnets there", 'give the zone the reservation shows, e.g. "us-east-1a"');
    else if (m[1] !== region) bad("CAPACITY_ZONE_INVALID", field, `${zone} is not in the cluster's region ${region}`, "a reservation can only be used by instances in its own region and zone", `give the reservation's zone in ${region}, or deploy the cluster in ${m[1]}`);
  };
  const countProblem = (n: unknown, max: number | undefined, field: string) => {
    if (n === undefined) return;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || (max !== undefined && n > max)) bad("CAPACITY_INSTANCES_INVALID", field, `instances must be an integer from 1${max !== undefined ? ` to ${max}` : ""} (got ${JSON.stringify(n)})`, max !== undefined ? `it is the number of instances the block holds; ${CAPACITY_FACTS.capacityBlocks.limitsSource}` : "it is the number of instances the reservation holds, all of them billed", "give the count the reservation shows (aws ec2 describe-capacity-reservations: TotalInstanceCount)");
  };
  const needsInstanceType = (what: string) => {
    if (!d.instanceType) bad("CAPACITY_NEEDS_INSTANCE_TYPE", "instanceType", `${what} is declared without an instanceType`, "a reservation holds capacity for one instance type; the planner must not choose another", `declare the instanceType the ${what} is for, e.g. instanceType: "p5.48xlarge" (the shape defaults to that instance's full GPU count)`);
  };
  if (c.type === "spot") {
    const f = c.fallbackInstanceTypes;
    if (f !== undefined && (!Array.isArray(f) || f.some((t) => typeof t !== "string"))) bad("SPOT_FALLBACK_INVALID", "capacity.fallbackInstanceTypes", "fallbackInstanceTypes must be a list of instance type names", "they become the Spot node group's further instance types", 'e.g. fallbackInstanceTypes: ["g5.2xlarge", "g5.4xlarge"]');
  }
  if (c.type === "reservation") {
    const targets = [c.reservationId, c.resourceGroupArn].filter((v) => v !== undefined);
    if (targets.length !== 1) bad("RESERVATION_TARGET_INVALID", "capacity.reservationId", `give exactly one of reservationId and resourceGroupArn (got ${targets.length})`, `the launch template targets one reservation or one group (${CAPACITY_FACTS.onDemandCapacityReservations.launchTemplateSource})`, 'e.g. reservationId: "cr-0123456789abcdef0"');
    if (c.reservationId !== undefined && !RESERVATION_ID.test(String(c.reservationId))) bad("RESERVATION_TARGET_INVALID", "capacity.reservationId", `${JSON.stringify(c.reservationId)} is not a Capacity Reservation id`, "EC2 names reservations cr- followed by 17 hex digits", "copy the id from aws ec2 describe-capacity-reservations");
    if (c.resourceGroupArn !== undefined) {
      const m = GROUP_ARN.exec(String(c.resourceGroupArn));
      if (!m) bad("RESERVATION_TARGET_INVALID", "capacity.resourceGroupArn", `${JSON.stringify(c.resourceGroupArn)} is not a resource group ARN`, "a Capacity Reservation group is an AWS Resource Groups group", 'e.g. "arn:aws:resource-groups:us-east-1:111122223333:group/gpu-reservations"');
      else if (m[1] !== region) bad("RESERVATION_TARGET_INVALID", "capacity.resourceGroupArn", `the group is in ${m[1]}, the cluster in ${region}`, "instances can only use reservations of their own region", `use a group in ${region}`);
    }
    if (c.reservationId !== undefined && c.availabilityZone === undefined) bad("CAPACITY_ZONE_REQUIRED", "capacity.availabilityZone", "a reservation targeted by id is declared without its availabilityZone", "a reservation holds capacity in one Availability Zone; nodes launched in a subnet of another zone fail to launch", "give the zone the reservation shows (aws ec2 describe-capacity-reservations: AvailabilityZone)");
    if (c.availabilityZone !== undefined) zoneProblem(c.availabilityZone, "capacity.availabilityZone");
    countProblem(c.instances, undefined, "capacity.instances");
    needsInstanceType("an On-Demand Capacity Reservation");
  }
  if (c.type === "capacity-block") {
    if (!RESERVATION_ID.test(String(c.reservationId))) bad("RESERVATION_TARGET_INVALID", "capacity.reservationId", `${JSON.stringify(c.reservationId)} is not a Capacity Block reservation id`, "a Capacity Block is used through its reservation id (cr- followed by 17 hex digits)", "copy the id from aws ec2 describe-capacity-reservations (or the console's Capacity Blocks page)");
    if (c.availabilityZone === undefined) bad("CAPACITY_ZONE_REQUIRED", "capacity.availabilityZone", "a Capacity Block is declared without its availabilityZone", "a Capacity Block is delivered in one Availability Zone and instances can't launch in a subnet of another zone (AWS EC2 User Guide, 'Launch instances using Capacity Blocks')", "give the zone the block shows");
    else zoneProblem(c.availabilityZone, "capacity.availabilityZone");
    const rate = c.usdPerInstanceHour;
    if (rate === undefined) bad("CAPACITY_BLOCK_PRICE_MISSING", "capacity.usdPerInstanceHour", "a Capacity Block is declared without its price", `Capacity Block prices are set per offering and change over time, so the plan has no catalog figure and never guesses one (${CAPACITY_FACTS.capacityBlocks.priceSource})`, "declare usdPerInstanceHour: the block's upfront fee ÷ its instances ÷ its hours (aws ec2 describe-capacity-block-offerings shows the fee)");
    else if (!(typeof rate === "number" && Number.isFinite(rate) && rate > 0)) bad("CAPACITY_BLOCK_PRICE_INVALID", "capacity.usdPerInstanceHour", `usdPerInstanceHour must be a positive price in USD per instance-hour (got ${JSON.stringify(rate)})`, "the plan never prices capacity at $0", "give the block's rate, e.g. 31.46");
    countProblem(c.instances, CAPACITY_FACTS.capacityBlocks.maxInstancesPerBlock, "capacity.instances");
    needsInstanceType("a Capacity Block");
  }
  return out;
}

/** What a placed endpoint's pool looks like, for the checks that need its instance and shape. */
export interface PlacedPool {
  readonly instance: InstanceSpec;
  readonly shapeName: string;
  readonly nodesPerReplica: number;
}

/** Problems of a capacity declaration on the instance the endpoint was placed on, as coded errors. */
export function capacityPlacementProblems(d: CapacityDeclaration, p: PlacedPool, region: string): Finding[] {
  const c = capacityOf(d);
  const out: Finding[] = [];
  if (c.type === "capacity-block" && !CAPACITY_FACTS.capacityBlocks.instanceTypes.includes(p.instance.instanceType)) {
    out.push(
      error("CAPACITY_BLOCK_INSTANCE_UNSUPPORTED", d.path, {
        field: "instanceType",
        problem: `Capacity Blocks for ML are not sold for ${p.instance.instanceType}`,
        why: `they are sold for ${CAPACITY_FACTS.capacityBlocks.instanceTypes.join(", ")} (${CAPACITY_FACTS.capacityBlocks.instanceTypesSource}; catalog ${CAPACITY_FACTS.capturedAt})`,
        fix: "serve the endpoint on one of those instance types, or use an On-Demand Capacity Reservation (capacity: { type: \"reservation\" })",
      }),
    );
  }
  if (c.type === "spot" && c.fallbackInstanceTypes?.length) {
    if (p.nodesPerReplica > 1) {
      out.push(error("SPOT_FALLBACK_MULTI_NODE", d.path, { field: "capacity.fallbackInstanceTypes", problem: `fallback instance types are declared for a replica that spans ${p.nodesPerReplica} nodes`, why: "the nodes of one replica run tensor and pipeline parallel ranks sized for one instance type; a group of mixed instances would not match the plan", fix: "drop fallbackInstanceTypes, or serve the model on a single-node shape" }));
      return out;
    }
    out.push(...fallbackProblems(d.path, p.instance, c.fallbackInstanceTypes, region));
  }
  return out;
}

/** Fallback types that can stand in for `primary` in `region`: same GPUs, at least its vCPUs and memory, offered there. */
export function fallbackCandidates(primary: InstanceSpec, region: string): InstanceSpec[] {
  return INSTANCES.filter((i) => i.instanceType !== primary.instanceType && i.gpu === primary.gpu && i.gpus === primary.gpus && i.vcpus >= primary.vcpus && i.memoryGiB >= primary.memoryGiB && onDemandUsdPerHour(region, i.instanceType) !== undefined);
}

function fallbackProblems(path: string, primary: InstanceSpec, fallbacks: readonly string[], region: string): Finding[] {
  const out: Finding[] = [];
  const candidates = fallbackCandidates(primary, region).map((i) => i.instanceType);
  const fix = candidates.length ? `use ${candidates.slice(0, 4).join(", ")}${candidates.length > 4 ? ", …" : ""} (same GPUs, at least ${primary.vcpus} vCPUs and ${primary.memoryGiB} GiB, offered in ${region})` : `no other catalog instance carries ${primary.gpus} × ${primary.gpu} with ${primary.vcpus}+ vCPUs in ${region}: drop fallbackInstanceTypes`;
  const seen = new Set<string>();
  for (const t of fallbacks) {
    const bad = (problem: string, why: string) => out.push(error("SPOT_FALLBACK_INVALID", path, { field: "capacity.fallbackInstanceTypes", problem: `fallback ${t}: ${problem}`, why, fix }));
    if (seen.has(t)) {
      bad("it is listed twice", "each instance type is one override of the node group");
      continue;
    }
    seen.add(t);
    const i = findInstance(t);
    if (!i) bad("not a GPU instance type in the catalog", "the planner needs its GPUs, vCPUs, memory, price and quota");
    else if (t === primary.instanceType) bad("it is already the pool's instance type", "a fallback is another type EKS may launch when this one has no Spot capacity");
    else if (i.gpu !== primary.gpu || i.gpus !== primary.gpus) bad(`it has ${i.gpus} × ${i.gpu}, the pool's ${primary.instanceType} has ${primary.gpus} × ${primary.gpu}`, "every node of the pool must carry the replicas' GPUs, and the plan packs the same number of replicas onto each node");
    else if (i.vcpus < primary.vcpus || i.memoryGiB < primary.memoryGiB) bad(`it has ${i.vcpus} vCPUs and ${i.memoryGiB} GiB, fewer than ${primary.instanceType}'s ${primary.vcpus} vCPUs and ${primary.memoryGiB} GiB`, "the replicas request CPU and memory sized for the pool's instance type, and would not fit");
    else if (onDemandUsdPerHour(region, t) === undefined) bad(`it is not offered in ${region}`, "the catalog's regional price table (the offering it knows) has no price for it there");
  }
  return out;
}

/** One quota a pool draws on, and why. */
export type QuotaNeed = PoolQuotaNeed;

export interface PoolPurchaseInput {
  readonly key: string;
  /** The pool members' declarations (the first one's capacity is the pool's). */
  readonly members: readonly CapacityDeclaration[];
  readonly instance: InstanceSpec;
  /** On-Demand $/h of the pool's instance type in the region. */
  readonly onDemandUsdPerHour: number;
  readonly nodes: { readonly min: number; readonly expected: number; readonly max: number };
  readonly nodesPerReplica: number;
  readonly region: string;
}

export interface PoolPurchase {
  readonly capacity: PoolCapacityPlan;
  /** $/node-hour the pool's min, expected and max costs are priced at. */
  readonly rates: UsdRange;
  readonly spot: SpotPricing | null;
  readonly quota: readonly QuotaNeed[];
  readonly findings: readonly Finding[];
}

/** A rolling node-group update surges one node, or one whole group for multi-node replicas. */
export function surgeNodes(nodesMax: number, nodesPerReplica: number): number {
  return nodesMax > 0 ? Math.max(1, nodesPerReplica) : 0;
}

/** How a pool is bought: its node-hour rates, commitment, quota and findings. */
export function poolPurchase(o: PoolPurchaseInput): PoolPurchase {
  const c = capacityOf(o.members[0]);
  const findings: Finding[] = [];
  const first = o.members[0].path;
  const inst = o.instance;
  const od = o.onDemandUsdPerHour;
  const surge = surgeNodes(o.nodes.max, o.nodesPerReplica);
  const type = inst.instanceType;
  const base = { nodeGroupCapacityType: nodeGroupCapacityType(c), kind: c.type } as const;
  const odSource = `catalog/regions.json (${o.region} On-Demand ${type} $${od}/h)`;
  const odQuota = (count: number, detail: string): QuotaNeed[] => [{ code: inst.quota.onDemand, vcpus: inst.vcpus * count, detail }];

  if (c.type === "on-demand") {
    if (CAPACITY_FACTS.scarceOnDemand.instanceTypes.includes(type)) {
      findings.push(
        warning("ON_DEMAND_CAPACITY_SCARCE", first, {
          field: "capacity",
          problem: `pool ${o.key} asks EC2 for ${o.nodes.max} × ${type} On-Demand, without a reservation`,
          why: `${CAPACITY_FACTS.scarceOnDemand.why} (${CAPACITY_FACTS.scarceOnDemand.source})`,
          fix: `declare instanceType: "${type}" with capacity: { type: "reservation", reservationId: "cr-…", availabilityZone: "<its zone>", instances: ${o.nodes.max + surge} } for an On-Demand Capacity Reservation, or capacity: { type: "capacity-block", reservationId: "cr-…", availabilityZone: "<its zone>", usdPerInstanceHour: <the block's rate>, instances: ${o.nodes.max} } for a Capacity Block for ML`,
        }),
      );
    }
    return {
      capacity: { ...base, instanceTypes: [type], reservation: null, usdPerNodeHour: { min: od, expected: od, max: od }, committedInstances: 0, priceBasis: `On-Demand $${od}/h`, source: odSource },
      rates: { min: od, expected: od, max: od },
      spot: null,
      quota: odQuota(o.nodes.max + surge, `${o.nodes.max}+${surge} × ${type} (${inst.vcpus} vCPUs)`),
      findings,
    };
  }

  if (c.type === "spot") {
    const lists = [...new Set(o.members.map((m) => JSON.stringify((capacityOf(m) as SpotCapacity).fallbackInstanceTypes ?? [])))];
    if (lists.length > 1) findings.push(error("SPOT_FALLBACK_CONFLICT", o.members[1].path, { field: "capacity.fallbackInstanceTypes", problem: `endpoints sharing Spot pool ${o.key} declare different fallback lists (${lists.join(" vs ")})`, why: "they run on one node group, which has one list of instance types", fix: "declare the same fallbackInstanceTypes on each endpoint of the pool" }));
    const fallbacks = ((c.fallbackInstanceTypes ?? []).map(findInstance).filter((i): i is InstanceSpec => i !== undefined && i.instanceType !== type)).map((i) => ({ instanceType: i.instanceType, onDemandUsdPerHour: onDemandUsdPerHour(o.region, i.instanceType) ?? od, vcpus: i.vcpus, spotQuota: i.quota.spot }));
    const spot = spotPricing(o.members, type, od, fallbacks, o.region, findings);
    // Expected at the pool's own type (its declared price, or its On-Demand price as the default maximum
    // Spot price); max at the ceiling, which a fallback's On-Demand price may raise.
    const rates = { min: spot.floorUsdPerHour, expected: spot.basis === "declared" ? spot.floorUsdPerHour : od, max: spot.ceilingUsdPerHour };
    // Any of the listed types may fill the whole pool: each Spot quota is sized for its largest type.
    const byCode = new Map<string, { vcpus: number; types: string[] }>();
    for (const t of [{ instanceType: type, vcpus: inst.vcpus, spotQuota: inst.quota.spot }, ...fallbacks]) {
      const q = byCode.get(t.spotQuota) ?? { vcpus: 0, types: [] };
      byCode.set(t.spotQuota, { vcpus: Math.max(q.vcpus, t.vcpus), types: [...q.types, t.instanceType] });
    }
    const quota = [...byCode].map(([code, q]) => ({ code, vcpus: q.vcpus * (o.nodes.max + surge), detail: q.types.length > 1 ? `${o.nodes.max}+${surge} × the largest of ${q.types.join(", ")} (${q.vcpus} vCPUs)` : `${o.nodes.max}+${surge} × ${q.types[0]} (${q.vcpus} vCPUs)` }));
    const fb = fallbacks.length ? `; fallbacks ${fallbacks.map((f) => f.instanceType).join(", ")} (EKS picks among the types by Spot capacity, not in this order), max at their highest On-Demand ceiling $${spot.ceilingUsdPerHour}/h` : "";
    const priceBasis =
      spot.basis === "declared"
        ? `Spot at the declared $${spot.floorUsdPerHour}/h${fb}`
        : fallbacks.length
          ? `Spot $${spot.floorUsdPerHour}–$${spot.ceilingUsdPerHour}/h: min at the floor, expected at ${type}'s On-Demand ceiling $${od}/h${fb}`
          : `Spot $${spot.floorUsdPerHour}–$${spot.ceilingUsdPerHour}/h: min at the floor, expected and max at the On-Demand ceiling`;
    return {
      capacity: { ...base, instanceTypes: [type, ...fallbacks.map((f) => f.instanceType)], reservation: null, usdPerNodeHour: rates, committedInstances: 0, priceBasis, source: `${odSource}; Spot: ${spot.source}${fallbacks.length ? `; ${CAPACITY_FACTS.spot.allocation} (${CAPACITY_FACTS.spot.allocationSource})` : ""}` },
      rates,
      spot,
      quota,
      findings,
    };
  }

  // Reservations and Capacity Blocks: one target, one size, one rate for the whole pool.
  const declared = o.members.map((m) => capacityOf(m));
  const describe = (x: EndpointCapacity) => JSON.stringify(x);
  const differing = declared.find((x) => describe(x) !== describe(c));
  if (differing) findings.push(error("RESERVATION_CONFLICT", o.members[declared.indexOf(differing)].path, { field: "capacity", problem: `endpoints sharing pool ${o.key} declare the reservation differently (${describe(c)} vs ${describe(differing)})`, why: "one reservation has one zone, one size and one price", fix: "declare the same capacity on every endpoint that uses this reservation" }));
  const block = c.type === "capacity-block";
  const id = c.type === "capacity-block" ? c.reservationId : (c.reservationId ?? null);
  const group = c.type === "reservation" ? (c.resourceGroupArn ?? null) : null;
  const what = block ? `Capacity Block ${id}` : id ? `Capacity Reservation ${id}` : `Capacity Reservation group ${group}`;
  const instances = c.instances;
  const rate = block ? c.usdPerInstanceHour : od;
  const targeted = block || id !== null;
  if (instances === undefined) {
    findings.push(
      warning("RESERVATION_SIZE_UNDECLARED", first, {
        field: "capacity.instances",
        problem: `${what} is priced only for the nodes that run (${o.nodes.min}–${o.nodes.max} × ${type})`,
        why: block ? "a Capacity Block is paid up front for every instance in it, used or not" : `${CAPACITY_FACTS.onDemandCapacityReservations.billing} (${CAPACITY_FACTS.onDemandCapacityReservations.billingSource})`,
        fix: "declare capacity.instances (the reservation's instance count) so the plan prices what is billed",
      }),
    );
  } else if (o.nodes.max > instances) {
    if (targeted) {
      findings.push(
        error("RESERVATION_TOO_SMALL", first, {
          field: "capacity.instances",
          problem: `pool ${o.key} needs up to ${o.nodes.max} × ${type} at maximum scale, but ${what} holds ${instances}`,
          why: block ? "instances launch only into the block; there is no On-Demand fallback" : CAPACITY_FACTS.onDemandCapacityReservations.targetedFull,
          fix: `lower the endpoints' maximum replicas to fit ${instances} node(s), or reserve at least ${o.nodes.max} (${o.nodes.max + surge} to leave room for a rolling update's surge node)`,
        }),
      );
    } else {
      findings.push(warning("RESERVATION_OVERFLOW", first, { field: "capacity.instances", problem: `pool ${o.key} may run ${o.nodes.max - instances} node(s) beyond the ${instances} reserved in ${group}`, why: `${CAPACITY_FACTS.onDemandCapacityReservations.groupOverflow} (${CAPACITY_FACTS.onDemandCapacityReservations.groupOverflowSource}); the plan prices them On-Demand, and EC2 may not have them`, fix: `reserve ${o.nodes.max} instances in the group, or lower the endpoints' maximum replicas` }));
    }
  } else {
    if (targeted && o.nodes.max + surge > instances) {
      findings.push(warning("RESERVATION_NO_SURGE_ROOM", first, { field: "capacity.instances", problem: `${what} holds ${instances} × ${type} and the pool runs up to ${o.nodes.max}: a rolling node-group update has no room for its ${surge} surge node(s)`, why: block ? "EKS updates a Capacity Block node group only at desired size 0 (Amazon EKS User Guide, 'Create a managed node group with Capacity Blocks for ML')" : "EKS launches the surge node before draining an old one, and a full targeted reservation refuses the launch", fix: block ? "scale the endpoints to zero before updating the node group, or buy a block with one more instance" : `reserve ${o.nodes.max + surge} instances, or scale the pool down by ${surge} node(s) before node-group updates` }));
    }
    if (instances > o.nodes.max) {
      const idle = instances - o.nodes.max;
      findings.push(warning("RESERVATION_UNUSED", first, { field: "capacity.instances", problem: `${idle} of the ${instances} instances in ${what} stay idle even at maximum scale, costing $${round(idle * rate * HOURS_PER_MONTH, 2).toLocaleString("en-US")}/month`, why: block ? "a Capacity Block is paid for every instance in it" : "a reservation is billed for every reserved instance, used or not", fix: "raise the endpoints' maximum replicas to use them, or reduce the reservation" }));
    }
  }
  if (block) {
    findings.push(
      warning("CAPACITY_BLOCK_ENDS", first, {
        field: "capacity",
        problem: `pool ${o.key} runs on ${what}, which ends on a fixed date`,
        why: `EC2 terminates a block's instances ${CAPACITY_FACTS.capacityBlocks.terminatesMinutesBeforeEnd} minutes before it ends (${CAPACITY_FACTS.capacityBlocks.endSource}); the endpoint then has no nodes`,
        fix: "extend the block or buy the next one before it ends (blocks run up to 182 days), and move the endpoint to a reservation for serving that must not stop",
      }),
    );
  }
  const committed = instances ?? 0;
  const reservation = { id, resourceGroupArn: group, availabilityZone: c.availabilityZone ?? null, instances: instances ?? null };
  const priceBasis = block
    ? `Capacity Block ${id} at the declared $${rate}/instance-hour${instances !== undefined ? `, ${instances} instance(s) prepaid whether used or not` : ""} (On-Demand would be $${od}/h)`
    : `On-Demand Capacity Reservation ${id ?? group} at the On-Demand $${od}/h${instances !== undefined ? `, ${instances} reserved instance(s) billed whether used or not` : ", billed for every reserved instance whether used or not (size not declared: only running nodes priced)"}${!targeted ? "; nodes beyond the group's capacity run On-Demand at the same price" : ""}`;
  const source = block
    ? `declared by ${first} (capacity.usdPerInstanceHour); ${CAPACITY_FACTS.capacityBlocks.priceSource}`
    : `${odSource}; ${CAPACITY_FACTS.onDemandCapacityReservations.billingSource}`;
  // A reservation takes its size from the On-Demand quota whether used or not; a Capacity Block takes none.
  const quota = block
    ? []
    : odQuota(Math.max(committed, o.nodes.max + surge), instances !== undefined && instances >= o.nodes.max + surge ? `${instances} × ${type} reserved in ${id ?? group} (${inst.vcpus} vCPUs)` : `${o.nodes.max}+${surge} × ${type} (${inst.vcpus} vCPUs)${instances !== undefined ? `, ${instances} reserved in ${id ?? group}` : ""}`);
  return {
    capacity: { ...base, instanceTypes: [type], reservation, usdPerNodeHour: { min: rate, expected: rate, max: rate }, committedInstances: committed, priceBasis, source },
    rates: { min: rate, expected: rate, max: rate },
    spot: null,
    quota,
    findings,
  };
}

/** How a Spot pool is priced: the declared price, or AWS's largest discount … the On-Demand ceiling; fallbacks widen it. */
function spotPricing(members: readonly CapacityDeclaration[], instanceType: string, onDemand: number, fallbacks: ReadonlyArray<{ instanceType: string; onDemandUsdPerHour: number }>, region: string, findings: Finding[]): SpotPricing {
  const declared = members.map((m) => ({ m, price: (capacityOf(m) as SpotCapacity).spotPriceUsdPerHour })).filter((x) => x.price !== undefined);
  const prices = [...new Set(declared.map((x) => x.price!))];
  const field = (m: CapacityDeclaration) => (m.capacity ? "capacity.spotPriceUsdPerHour" : "spotPriceUsdPerHour");
  if (prices.length > 1) {
    findings.push(error("SPOT_PRICE_CONFLICT", declared[1].m.path, { field: field(declared[1].m), problem: `endpoints sharing the ${instanceType} Spot pool declare different prices (${prices.map((p) => `$${p}`).join(", ")})`, why: "they run on the same nodes, which have one price", fix: "declare the same spotPriceUsdPerHour on each, or on one of them" }));
  }
  const highestFallback = fallbacks.reduce((m, f) => Math.max(m, f.onDemandUsdPerHour), 0);
  const list = fallbacks.map((f) => ({ instanceType: f.instanceType, onDemandUsdPerHour: f.onDemandUsdPerHour }));
  const price = prices[0];
  if (price === undefined) {
    const floor = Math.min(onDemand, ...fallbacks.map((f) => f.onDemandUsdPerHour));
    return { basis: "range", floorUsdPerHour: round(floor * (1 - SPOT_MAX_DISCOUNT), 4), ceilingUsdPerHour: Math.max(onDemand, highestFallback), source: SPOT_FLOOR_SOURCE, fallbacks: list };
  }
  if (price > onDemand) {
    findings.push(error("SPOT_PRICE_ABOVE_ON_DEMAND", declared[0].m.path, { field: field(declared[0].m), problem: `the declared Spot price $${price}/h is above the On-Demand price of ${instanceType} in ${region} ($${onDemand}/h)`, why: "EC2 does not launch Spot capacity above the maximum price, which defaults to the On-Demand price", fix: `check the price and region, or run the endpoint On-Demand` }));
  }
  // A declared price is for the pool's own type: a fallback may launch at up to its On-Demand price.
  return { basis: "declared", floorUsdPerHour: price, ceilingUsdPerHour: Math.max(price, highestFallback), source: `declared by ${declared[0].m.path} (${field(declared[0].m)}) for ${instanceType} in ${region}`, fallbacks: list };
}
