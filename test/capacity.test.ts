/**
 * Capacity that can be had: On-Demand Capacity Reservations, Capacity Blocks for ML and Spot with
 * fallback instance types — rendered into the node group and launch template, priced on their own
 * basis and counted against the quota each really draws on.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Testing } from "cdktf";
import { CAPACITY_FACTS, HOURS_PER_MONTH, findInstance, onDemandUsdPerHour } from "../catalog";
import { ModelSource, SecretRef } from "../constructs/model-source";
import type { InferenceEndpointProps } from "../constructs/inference-endpoint";
import { ModelServingStack } from "../stacks/model-serving-stack";
import type { GpuClusterProps } from "../constructs/gpu-cluster";
import { SPOT_MAX_DISCOUNT } from "../planner/purchasing";
import { synthPhases, DEPLOYER_CIDRS } from "./fixtures/phases";
import { synthAttempt } from "./fixtures/errors";

process.env.MODEL_SERVING_QUIET = "1";

const L405 = () => ModelSource.huggingFace("meta-llama/Llama-3.1-405B-Instruct", { revision: "be673f326cab4cd22ccfef76109faf68e41aa5f1", token: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:hf-token") });
const LLAMA8 = () => ModelSource.huggingFace("meta-llama/Llama-3.1-8B-Instruct", { revision: "0e9e39f249a16976918f6564b8830bc894c89659", token: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:hf-token") });
const QUOTAS = { "L-DB2E81BA": 10000, "L-417A185B": 10000, "L-3819A6DF": 10000, "L-C4BD4855": 10000 };
const RESERVATION = "cr-0123456789abcdef0";
const BLOCK = "cr-0fedcba9876543210";
const GROUP = "arn:aws:resource-groups:us-east-1:111122223333:group/gpu-reservations";
const P5 = "p5.48xlarge";
const P5_OD = onDemandUsdPerHour("us-east-1", P5)!;
/** A Capacity Block rate a user read from DescribeCapacityBlockOfferings (any positive figure; the plan must take it as given). */
const BLOCK_RATE = 31.464;

type EndpointProps = Omit<InferenceEndpointProps, "cluster" | "model">;

function stackWith(endpoints: Record<string, Partial<EndpointProps>>, cluster: Partial<GpuClusterProps> = {}, region?: string): ModelServingStack {
  const app = Testing.app();
  const stack = new ModelServingStack(app, "s", { ...(region ? { region } : {}), cluster: { create: { publicAccessCidrs: DEPLOYER_CIDRS, clusterName: "c", quotas: QUOTAS, ...cluster } } });
  const model = stack.importModel("llama", { source: LLAMA8() });
  for (const [id, props] of Object.entries(endpoints)) stack.addEndpoint(id, { model, maxModelLen: 8192, ...props });
  return stack;
}

const pool = (stack: ModelServingStack, prefix: string) => stack.cluster.plan().nodePools.find((p) => p.name.startsWith(prefix))!;
const findings = (stack: ModelServingStack, code: string) => stack.cluster.allFindings().filter((f) => f.code === code);
const nodeGroup = (tf: any, poolName: string) => Object.values(tf.resource.aws_eks_node_group as Record<string, any>).find((g) => g.node_group_name === poolName)!;
const launchTemplate = (tf: any, ng: any) => {
  const ref = String(ng.launch_template.id).replace(/^\$\{aws_launch_template\.|\.id\}$/g, "");
  return tf.resource.aws_launch_template[ref];
};

function appWith(props: Partial<EndpointProps>, source = LLAMA8, addons = {}): (app: App) => void {
  return (app) => {
    const stack = new ModelServingStack(app, "s", { cluster: { create: { publicAccessCidrs: DEPLOYER_CIDRS, clusterName: "c", quotas: QUOTAS, addons } } });
    stack.addEndpoint("chat", { model: stack.importModel("m", { source: source() }), maxModelLen: 8192, ...props });
  };
}

describe("an On-Demand Capacity Reservation", () => {
  const reserved = (instances?: number, replicas = 1) => ({ instanceType: P5, replicas, capacity: { type: "reservation" as const, reservationId: RESERVATION, availabilityZone: "us-east-1a", ...(instances !== undefined ? { instances } : {}) } });

  test("is targeted from the launch template, launches On-Demand capacity, and keeps the nodes in the reservation's zone", () => {
    const stack = stackWith({ chat: reserved(2) });
    const p = pool(stack, "h100-x8");
    expect(p).toMatchObject({ name: "h100-x8-cr-9abcdef0", capacityType: "ON_DEMAND", capacity: { kind: "reservation", reservation: { id: RESERVATION, availabilityZone: "us-east-1a", instances: 2 } } });
    const tf = synthPhases(stack);
    const ng = nodeGroup(tf, p.name);
    expect(ng).toMatchObject({ capacity_type: "ON_DEMAND", instance_types: [P5] });
    const lt = launchTemplate(tf, ng);
    expect(lt.capacity_reservation_specification).toEqual({ capacity_reservation_target: { capacity_reservation_id: RESERVATION } });
    expect(lt.instance_market_options).toBeUndefined();
    // Only the cluster's subnets in us-east-1a, resolved by Terraform (the subnets are created in the same apply).
    const subnets = Object.keys(tf.data.aws_subnet).filter((k) => k.includes(p.name));
    expect(subnets).toHaveLength(2);
    expect(ng.subnet_ids).toMatch(/^\$\{compact\(\[.*availability_zone == "us-east-1a".*\]\)\}$/);
    expect(ng.lifecycle.precondition).toEqual([expect.objectContaining({ error_message: expect.stringMatching(/^\[CAPACITY_ZONE_NO_SUBNET\] .*us-east-1a.*Fix: /) })]);
  });

  test("prices every reserved instance at the On-Demand rate, not only the replicas, and says the idle ones are billed", () => {
    const onDemand = stackWith({ chat: { instanceType: P5, shape: "H100_X8", replicas: 1 } });
    const reservation = stackWith({ chat: reserved(3) });
    const od = pool(onDemand, "h100-x8").monthlyUsd;
    const rs = pool(reservation, "h100-x8").monthlyUsd;
    // One node runs; three are billed: two idle reserved instances on top of the On-Demand pool.
    for (const k of ["min", "expected", "max"] as const) expect(rs[k] - od[k]).toBeCloseTo(2 * P5_OD * HOURS_PER_MONTH, 1);
    expect(pool(reservation, "h100-x8").capacity).toMatchObject({ usdPerNodeHour: { min: P5_OD, expected: P5_OD, max: P5_OD }, committedInstances: 3 });
    const line = reservation.cluster.plan().costs.find((c) => c.item.startsWith("node pool h100-x8-cr"))!;
    expect(line.item).toContain(`On-Demand Capacity Reservation ${RESERVATION} at the On-Demand $${P5_OD}/h, 3 reserved instance(s) billed whether used or not`);
    expect(line.source).toContain(CAPACITY_FACTS.onDemandCapacityReservations.billingSource);
    expect(findings(reservation, "RESERVATION_UNUSED")[0].message).toMatch(/2 of the 3 instances .* stay idle even at maximum scale/);
  });

  test("without a declared size it prices the nodes that run, and warns that the reservation is billed for its whole size", () => {
    const onDemand = stackWith({ chat: { instanceType: P5, shape: "H100_X8", replicas: 1 } });
    const reservation = stackWith({ chat: reserved(undefined) });
    expect(pool(reservation, "h100-x8").monthlyUsd).toEqual(pool(onDemand, "h100-x8").monthlyUsd);
    expect(findings(reservation, "RESERVATION_SIZE_UNDECLARED")[0]).toMatchObject({ severity: "warning", message: expect.stringMatching(/priced only for the nodes that run.*Fix: declare capacity\.instances/) });
  });

  test("draws on the Running On-Demand P quota: its reserved size, or the nodes plus a surge node when that is more", () => {
    const code = findInstance(P5)!.quota.onDemand;
    const vcpus = findInstance(P5)!.vcpus;
    expect(stackWith({ chat: reserved(3) }).cluster.plan().quotas).toEqual([expect.objectContaining({ code, neededVcpus: 3 * vcpus })]);
    expect(stackWith({ chat: reserved(2, 2) }).cluster.plan().quotas).toEqual([expect.objectContaining({ code, neededVcpus: 3 * vcpus })]);
  });

  test("a full targeted reservation leaves no room for a rolling update's surge node, and the plan says so", () => {
    expect(findings(stackWith({ chat: reserved(2, 2) }), "RESERVATION_NO_SURGE_ROOM")[0].message).toMatch(/holds 2 × p5\.48xlarge and the pool runs up to 2.*Fix: reserve 3 instances/);
  });

  test("endpoints that declare the same reservation share one pool", () => {
    const stack = stackWith({ a: reserved(2), b: reserved(2) });
    expect(stack.cluster.plan().nodePools.map((p) => [p.name, p.endpoints, p.nodes.max])).toEqual([["h100-x8-cr-9abcdef0", ["a", "b"], 2]]);
  });

  test("a resource group is targeted by ARN; nodes beyond its size run On-Demand, priced as such and warned about", () => {
    const stack = stackWith({ chat: { instanceType: P5, replicas: 3, capacity: { type: "reservation", resourceGroupArn: GROUP, instances: 2 } } });
    const p = pool(stack, "h100-x8-crg-");
    expect(p.capacity.reservation).toEqual({ id: null, resourceGroupArn: GROUP, availabilityZone: null, instances: 2 });
    // Two nodes in the group, the third On-Demand: the same money as three On-Demand nodes.
    expect(p.monthlyUsd).toEqual(pool(stackWith({ chat: { instanceType: P5, shape: "H100_X8", replicas: 3 } }), "h100-x8").monthlyUsd);
    expect(findings(stack, "RESERVATION_OVERFLOW")[0].message).toMatch(/1 node\(s\) beyond the 2 reserved .*run as On-Demand instances/);
    const tf = synthPhases(stack);
    const ng = nodeGroup(tf, p.name);
    expect(launchTemplate(tf, ng).capacity_reservation_specification).toEqual({ capacity_reservation_target: { capacity_reservation_resource_group_arn: GROUP } });
    // A group may hold reservations in several zones: every subnet of the cluster.
    expect(Array.isArray(ng.subnet_ids)).toBe(true);
    expect(ng.subnet_ids).toHaveLength(2);
  });
});

describe("a Capacity Block for ML", () => {
  const block = (over: Record<string, unknown> = {}, replicas = 2) => ({ instanceType: P5, replicas, capacity: { type: "capacity-block" as const, reservationId: BLOCK, availabilityZone: "us-east-2b", usdPerInstanceHour: BLOCK_RATE, instances: 2, ...over } });

  test("launches into the block: node group capacity type CAPACITY_BLOCK, market type capacity-block, the block's id as target, nodes in its zone", () => {
    const stack = stackWith({ chat: block() }, {}, "us-east-2");
    const p = pool(stack, "h100-x8");
    expect(p).toMatchObject({ name: "h100-x8-cb-76543210", capacityType: "CAPACITY_BLOCK", capacity: { kind: "capacity-block", nodeGroupCapacityType: "CAPACITY_BLOCK" } });
    const tf = synthPhases(stack);
    const ng = nodeGroup(tf, p.name);
    expect(ng).toMatchObject({ capacity_type: "CAPACITY_BLOCK", instance_types: [P5] });
    const lt = launchTemplate(tf, ng);
    expect(lt.instance_market_options).toEqual({ market_type: "capacity-block" });
    expect(lt.capacity_reservation_specification).toEqual({ capacity_reservation_target: { capacity_reservation_id: BLOCK } });
    expect(ng.subnet_ids).toMatch(/availability_zone == "us-east-2b"/);
  });

  test("prices the pool at the block's declared rate, not On-Demand, and says which basis it used", () => {
    const onDemand = stackWith({ chat: { instanceType: P5, shape: "H100_X8", replicas: 2 } }, {}, "us-east-2");
    const blocked = stackWith({ chat: block() }, {}, "us-east-2");
    const od = pool(onDemand, "h100-x8");
    const cb = pool(blocked, "h100-x8");
    const odRate = onDemandUsdPerHour("us-east-2", P5)!;
    // Same nodes and root volumes; only the node-hour differs.
    expect(cb.monthlyUsd.expected - od.monthlyUsd.expected).toBeCloseTo(2 * (BLOCK_RATE - odRate) * HOURS_PER_MONTH, 1);
    expect(cb.capacity.usdPerNodeHour).toEqual({ min: BLOCK_RATE, expected: BLOCK_RATE, max: BLOCK_RATE });
    expect(cb.capacity.priceBasis).toBe(`Capacity Block ${BLOCK} at the declared $${BLOCK_RATE}/instance-hour, 2 instance(s) prepaid whether used or not (On-Demand would be $${odRate}/h)`);
    expect(blocked.cluster.plan().endpoints[0].hourlyUsd).toBe(BLOCK_RATE);
    expect(blocked.cluster.plan().costs.find((c) => c.item.startsWith("node pool"))!.source).toContain("declared by s/chat (capacity.usdPerInstanceHour)");
  });

  test("draws on no vCPU quota — the P quota is not asked for it — and the plan-time quota check skips it", () => {
    const stack = stackWith({ chat: block() }, { planTimeQuotaCheck: true }, "us-east-2");
    expect(pool(stack, "h100-x8")).toMatchObject({ quotaCode: null, quota: [] });
    expect(stack.cluster.plan().quotas).toEqual([]);
    const tf = synthPhases(stack);
    expect(tf.data.aws_servicequotas_service_quota).toBeUndefined();
    const withOnDemand = stackWith({ chat: block(), other: { instanceType: P5, shape: "H100_X8", replicas: 1 } }, { planTimeQuotaCheck: true }, "us-east-2");
    expect(withOnDemand.cluster.plan().quotas.map((q) => [q.code, q.neededVcpus])).toEqual([["L-417A185B", 2 * 192]]);
  });

  test("says the block ends on a fixed date and its instances are terminated 30 minutes before", () => {
    expect(findings(stackWith({ chat: block() }, {}, "us-east-2"), "CAPACITY_BLOCK_ENDS")[0]).toMatchObject({ severity: "warning", message: expect.stringMatching(/terminates a block's instances 30 minutes before it ends.*Fix: extend the block/) });
  });

  test("more nodes than the block holds is a coded error: a block has no On-Demand fallback", () => {
    const r = synthAttempt(appWith(block({ instances: 1, availabilityZone: "us-east-1a" })));
    expect(r.message).toMatch(/\[RESERVATION_TOO_SMALL\] s\/chat: pool h100-x8-cb-76543210 needs up to 2 × p5\.48xlarge .* holds 1\. .*Fix: /);
    expect(r.wroteNothing).toBe(true);
  });
});

describe("bad capacity declarations fail with a coded error naming the field and the value, and write nothing", () => {
  const rows: Array<[string, Partial<EndpointProps>, string, string]> = [
    ["a Capacity Block without its rate", { instanceType: P5, capacity: { type: "capacity-block", reservationId: BLOCK, availabilityZone: "us-east-1a" } as never }, "CAPACITY_BLOCK_PRICE_MISSING", "never guesses"],
    ["a Capacity Block priced at $0", { instanceType: P5, capacity: { type: "capacity-block", reservationId: BLOCK, availabilityZone: "us-east-1a", usdPerInstanceHour: 0 } }, "CAPACITY_BLOCK_PRICE_INVALID", "got 0"],
    ["a Capacity Block of a type EC2 does not sell as blocks", { instanceType: "g6e.48xlarge", capacity: { type: "capacity-block", reservationId: BLOCK, availabilityZone: "us-east-1a", usdPerInstanceHour: 10 } }, "CAPACITY_BLOCK_INSTANCE_UNSUPPORTED", "g6e.48xlarge"],
    ["a Capacity Block of 65 instances", { instanceType: P5, capacity: { type: "capacity-block", reservationId: BLOCK, availabilityZone: "us-east-1a", usdPerInstanceHour: 10, instances: 65 } }, "CAPACITY_INSTANCES_INVALID", "got 65"],
    ["a Capacity Block without its zone", { instanceType: P5, capacity: { type: "capacity-block", reservationId: BLOCK, usdPerInstanceHour: 10 } as never }, "CAPACITY_ZONE_REQUIRED", "availabilityZone"],
    ["a reservation id that is not one", { instanceType: P5, capacity: { type: "reservation", reservationId: "odcr-123", availabilityZone: "us-east-1a" } }, "RESERVATION_TARGET_INVALID", '"odcr-123"'],
    ["a reservation with both an id and a group", { instanceType: P5, capacity: { type: "reservation", reservationId: RESERVATION, resourceGroupArn: GROUP, availabilityZone: "us-east-1a" } }, "RESERVATION_TARGET_INVALID", "got 2"],
    ["a reservation id without its zone", { instanceType: P5, capacity: { type: "reservation", reservationId: RESERVATION } }, "CAPACITY_ZONE_REQUIRED", "availabilityZone"],
    ["a reservation in another region's zone", { instanceType: P5, capacity: { type: "reservation", reservationId: RESERVATION, availabilityZone: "eu-west-1a" } }, "CAPACITY_ZONE_INVALID", "eu-west-1a"],
    ["a resource group of another region", { instanceType: P5, capacity: { type: "reservation", resourceGroupArn: GROUP.replace("us-east-1", "eu-west-1") } }, "RESERVATION_TARGET_INVALID", "eu-west-1"],
    ["a reservation of 2.5 instances", { instanceType: P5, capacity: { type: "reservation", reservationId: RESERVATION, availabilityZone: "us-east-1a", instances: 2.5 } }, "CAPACITY_INSTANCES_INVALID", "got 2.5"],
    ["a reservation without the instance type it holds", { capacity: { type: "reservation", reservationId: RESERVATION, availabilityZone: "us-east-1a" } }, "CAPACITY_NEEDS_INSTANCE_TYPE", "instanceType"],
    ["capacity and capacityType that disagree", { capacityType: "SPOT", instanceType: P5, capacity: { type: "reservation", reservationId: RESERVATION, availabilityZone: "us-east-1a" } }, "CAPACITY_CONFLICT", "capacityType SPOT"],
    ["an unknown capacity type", { capacity: { type: "dedicated" } as never }, "CAPACITY_INVALID", '"dedicated"'],
    ["a fallback with other GPUs", { shape: "A10_X1", instanceType: "g5.2xlarge", replicas: 2, capacity: { type: "spot", fallbackInstanceTypes: ["g6.2xlarge"] } }, "SPOT_FALLBACK_INVALID", "fallback g6.2xlarge: it has 1 × L4"],
    ["a fallback with more GPUs per node", { shape: "A10_X1", instanceType: "g5.2xlarge", replicas: 2, capacity: { type: "spot", fallbackInstanceTypes: ["g5.12xlarge"] } }, "SPOT_FALLBACK_INVALID", "fallback g5.12xlarge: it has 4 × A10G"],
    ["a fallback too small for the replicas' requests", { shape: "A10_X1", instanceType: "g5.2xlarge", replicas: 2, capacity: { type: "spot", fallbackInstanceTypes: ["g5.xlarge"] } }, "SPOT_FALLBACK_INVALID", "fallback g5.xlarge: it has 4 vCPUs"],
    ["a fallback that is not an instance type", { shape: "A10_X1", instanceType: "g5.2xlarge", replicas: 2, capacity: { type: "spot", fallbackInstanceTypes: ["g5.huge"] } }, "SPOT_FALLBACK_INVALID", "fallback g5.huge: not a GPU instance type"],
    ["a fallback the region does not offer", { shape: "H200_X8", instanceType: "p5en.48xlarge", replicas: 2, capacity: { type: "spot", fallbackInstanceTypes: ["p5e.48xlarge"] } }, "SPOT_FALLBACK_INVALID", "fallback p5e.48xlarge: it is not offered in us-east-1"],
    ["a fallback that is the pool's own type", { shape: "A10_X1", instanceType: "g5.2xlarge", replicas: 2, capacity: { type: "spot", fallbackInstanceTypes: ["g5.2xlarge"] } }, "SPOT_FALLBACK_INVALID", "already the pool's instance type"],
    ["a Spot price with capacity as well", { shape: "A10_X1", instanceType: "g5.2xlarge", replicas: 2, spotPriceUsdPerHour: 0.4, capacity: { type: "spot" } }, "CAPACITY_CONFLICT", "spotPriceUsdPerHour 0.4"],
  ];
  // Every row has all six columns: jest hands a callback to a test function with more parameters than its row.
  test.each([
    ...rows.map(([what, props, code, mentions]) => [what, props, code, mentions, LLAMA8, {}] as const),
    ["fallbacks for a replica that spans nodes", { shape: "H100_X8", instanceType: P5, replicas: 2, capacity: { type: "spot", fallbackInstanceTypes: ["p5en.48xlarge"] } }, "SPOT_FALLBACK_MULTI_NODE", "spans 2 nodes", L405, { leaderWorkerSet: true, efa: true }] as const,
  ] as Array<[string, Partial<EndpointProps>, string, string, () => ModelSource, object]>)("%s", (_what, props, code, mentions, source, addons) => {
    const r = synthAttempt(appWith(props, source, addons));
    const line = r.message.split("\n").find((l) => l.includes(`[${code}]`));
    expect(line).toMatch(new RegExp(`\\[${code}\\] s/chat: .+Fix: .+`));
    expect(line).toContain(mentions);
    expect(r.message).not.toMatch(/\n\s+at .+:\d+:\d+/);
    expect(r.wroteNothing).toBe(true);
  });
});

describe("Spot with fallback instance types", () => {
  const spot = { shape: "A10_X1", instanceType: "g5.2xlarge", replicas: 2, capacity: { type: "spot" as const, fallbackInstanceTypes: ["g5.4xlarge", "g5.8xlarge"] } };

  test("lists the fallbacks after the pool's own type, in order, and lets the pods schedule on any of them", () => {
    const stack = stackWith({ chat: spot });
    const tf = synthPhases(stack);
    expect(nodeGroup(tf, "a10-x1-spot")).toMatchObject({ capacity_type: "SPOT", instance_types: ["g5.2xlarge", "g5.4xlarge", "g5.8xlarge"] });
    const deployment = Object.values(tf.resource.kubernetes_deployment_v1 as Record<string, any>)[0];
    expect(deployment.spec.template.spec.node_selector).toEqual({ "model-serving.io/pool": "a10-x1-spot" });
  });

  test("prices the range from the catalog: min at the cheapest type's floor, expected at the pool type's On-Demand ceiling, max at the highest fallback's", () => {
    const p = pool(stackWith({ chat: spot }), "a10-x1-spot");
    const od = (t: string) => onDemandUsdPerHour("us-east-1", t)!;
    expect(p.capacity.usdPerNodeHour.min).toBeCloseTo(od("g5.2xlarge") * (1 - SPOT_MAX_DISCOUNT), 4);
    expect(p.capacity.usdPerNodeHour.expected).toBe(od("g5.2xlarge"));
    expect(p.capacity.usdPerNodeHour.max).toBe(Math.max(od("g5.4xlarge"), od("g5.8xlarge")));
    expect(p.spot).toMatchObject({ basis: "range", fallbacks: [{ instanceType: "g5.4xlarge", onDemandUsdPerHour: od("g5.4xlarge") }, { instanceType: "g5.8xlarge", onDemandUsdPerHour: od("g5.8xlarge") }] });
    expect(p.capacity.priceBasis).toMatch(/not in this order/);
  });

  test("a declared Spot price holds for the pool's own type; a fallback may still launch up to its On-Demand price", () => {
    const p = pool(stackWith({ chat: { ...spot, capacity: { ...spot.capacity, spotPriceUsdPerHour: 0.45 } } }), "a10-x1-spot");
    expect(p.capacity.usdPerNodeHour).toEqual({ min: 0.45, expected: 0.45, max: onDemandUsdPerHour("us-east-1", "g5.8xlarge") });
  });

  test("sizes the Spot quota for the largest type that may fill the pool", () => {
    const vcpus = Math.max(...["g5.2xlarge", "g5.4xlarge", "g5.8xlarge"].map((t) => findInstance(t)!.vcpus));
    expect(stackWith({ chat: spot }).cluster.plan().quotas).toEqual([expect.objectContaining({ code: "L-3819A6DF", neededVcpus: (2 + 1) * vcpus })]);
  });

  test("capacityType SPOT keeps working as the short form: the same pool and price as capacity { type: spot }", () => {
    const short = stackWith({ chat: { shape: "A10_X1", instanceType: "g5.2xlarge", replicas: 2, capacityType: "SPOT", spotPriceUsdPerHour: 0.45 } });
    const long = stackWith({ chat: { shape: "A10_X1", instanceType: "g5.2xlarge", replicas: 2, capacity: { type: "spot", spotPriceUsdPerHour: 0.45 } } });
    const view = (s: ModelServingStack) => s.cluster.plan().nodePools.map((p) => [p.name, p.capacityType, p.capacity.kind, p.capacity.usdPerNodeHour, p.monthlyUsd, p.quota]);
    expect(view(short)).toEqual(view(long));
    expect(view(short)[0].slice(0, 3)).toEqual(["a10-x1-spot", "SPOT", "spot"]);
  });
});

describe("8-GPU H100, H200 and B200 capacity", () => {
  test("an H100_X8 pool On-Demand without a reservation is warned about, with how to declare a reservation or a Capacity Block", () => {
    const w = findings(stackWith({ chat: { shape: "H100_X8", replicas: 1 } }), "ON_DEMAND_CAPACITY_SCARCE");
    expect(w).toHaveLength(1);
    expect(w[0].message).toMatch(/^\[ON_DEMAND_CAPACITY_SCARCE\] s\/chat: pool h100-x8 asks EC2 for 1 × p5\.48xlarge On-Demand, without a reservation\. .*Fix: .*type: "reservation".*type: "capacity-block"/);
  });

  test("is not warned about on a reservation, a Capacity Block, or for GPUs EC2 has On-Demand", () => {
    expect(findings(stackWith({ chat: { instanceType: P5, capacity: { type: "reservation", reservationId: RESERVATION, availabilityZone: "us-east-1a", instances: 1 } } }), "ON_DEMAND_CAPACITY_SCARCE")).toEqual([]);
    expect(findings(stackWith({ chat: { shape: "L40S_X1" } }), "ON_DEMAND_CAPACITY_SCARCE")).toEqual([]);
  });
});

test("the serving plan shows each pool's capacity kind, reservation, price basis and quota", () => {
  const outdir = mkdtempSync(join(tmpdir(), "capacity-plan-"));
  try {
    const app = new App({ outdir });
    const stack = new ModelServingStack(app, "s", { region: "us-east-2", cluster: { create: { publicAccessCidrs: DEPLOYER_CIDRS, clusterName: "c", quotas: QUOTAS } } });
    const model = stack.importModel("llama", { source: LLAMA8() });
    stack.addEndpoint("block", { model, maxModelLen: 8192, instanceType: P5, replicas: 1, capacity: { type: "capacity-block", reservationId: BLOCK, availabilityZone: "us-east-2a", usdPerInstanceHour: BLOCK_RATE, instances: 1 } });
    stack.addEndpoint("odcr", { model, maxModelLen: 8192, instanceType: P5, replicas: 1, capacity: { type: "reservation", reservationId: RESERVATION, availabilityZone: "us-east-2a", instances: 2 } });
    app.synth();
    const md = readFileSync(join(outdir, "stacks", "s", "serving-plan.md"), "utf8");
    const section = md.slice(md.indexOf("## Capacity"), md.indexOf("##", md.indexOf("## Capacity") + 3));
    expect(section).toMatch(new RegExp(`\\| h100-x8-cb-76543210 \\| capacity-block \\| CAPACITY_BLOCK \\| p5\\.48xlarge \\| ${BLOCK} \\(us-east-2a, 1\\) \\| \\$${BLOCK_RATE} / .*\\| none \\(a Capacity Block is capped by its own size\\) \\|`));
    expect(section).toMatch(new RegExp(`\\| h100-x8-cr-9abcdef0 \\| reservation \\| ON_DEMAND \\| p5\\.48xlarge \\| ${RESERVATION} \\(us-east-2a, 2\\) \\| .*billed whether used or not \\| L-417A185B: 384 vCPUs \\|`));
    const plan = JSON.parse(readFileSync(join(outdir, "stacks", "s", "serving-plan.json"), "utf8"));
    expect(plan.nodePools.map((p: any) => p.capacity.kind).sort()).toEqual(["capacity-block", "reservation"]);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
});
