/**
 * The region is an input of planning: shapes are chosen and priced with the region's own On-Demand
 * figures, a shape or instance the region does not offer is refused naming the regions that offer it,
 * an unknown region is refused with the list the catalog covers, and Spot is a range or a declared price.
 */
import { HOURS_PER_MONTH, onDemandUsdPerHour, REGIONS } from "../catalog";
import { findCatalogModel } from "../catalog/models";
import { engineFor } from "../planner/engine";
import { chooseShape } from "../planner/choose";
import { planServing, type EndpointDeclaration, type ModelDeclaration, type PlanInput } from "../planner/plan";
import { capabilityOfCatalogModel, catalogProfile } from "./fixtures/models";
import { VLLM_RELEASE } from "../catalog/vllm";

const LLAMA_8B_BYTES = 16_060_522_496;

function model(id: string, over: Partial<ModelDeclaration> = {}): ModelDeclaration {
  const m = findCatalogModel(id)!;
  return { name: id.split("/")[1].toLowerCase(), path: `stack/models/${id}`, modelId: id, revision: m.revision, capability: capabilityOfCatalogModel(id), profile: catalogProfile(id), storedInS3: false, ...over };
}
const llama8b = model("meta-llama/Llama-3.1-8B-Instruct", { checkpointBytes: LLAMA_8B_BYTES, storedInS3: true });

function endpoint(name: string, over: Partial<EndpointDeclaration> = {}): EndpointDeclaration {
  return { name, path: `stack/${name}`, model: llama8b, capability: llama8b.capability, maxModelLen: 8192, replicas: { min: 1, max: 1 }, capacityType: "ON_DEMAND", ...over };
}
function input(over: Partial<PlanInput> = {}): PlanInput {
  return { stackPath: "stack", createsCluster: false, quotas: { "L-DB2E81BA": 1000, "L-417A185B": 1000, "L-3819A6DF": 1000 }, endpoints: [endpoint("chat", { shape: "A10_X4" })], ...over };
}
const codes = (plan: { findings: readonly { code: string }[] }) => plan.findings.map((f) => f.code);
const messageOf = (plan: { findings: readonly { code: string; message: string }[] }, code: string) => plan.findings.find((f) => f.code === code)?.message ?? "";

describe("a plan priced in its region", () => {
  // Independent figures: skypilot-org/skypilot-catalog catalogs/v7/aws/vms.csv, column Price.
  it.each([
    ["eu-west-1", "A10_X4", "g5.12xlarge", 6.33167],
    ["ap-northeast-1", "A10_X4", "g5.12xlarge", 8.22609],
    ["ap-northeast-1", "T4_X4", "g4dn.12xlarge", 5.281],
    ["us-east-1", "A10_X4", "g5.12xlarge", 5.672],
  ])("in %s runs %s on %s at that region's $%s/h", (region, shape, instanceType, usdPerHour) => {
    const plan = planServing(input({ region, endpoints: [endpoint("chat", { shape })] }));
    expect(codes(plan).filter((c) => c !== "QUOTA_UNDECLARED")).not.toContain("REGION_UNKNOWN");
    expect(plan.catalog.region).toBe(region);
    expect(plan.nodePools[0]).toMatchObject({ instanceType, hourlyUsdPerNode: usdPerHour });
    expect(plan.endpoints[0].hourlyUsd).toBeCloseTo(usdPerHour, 4);
    expect(plan.endpoints[0].monthlyUsd.expected).toBeCloseTo(usdPerHour * HOURS_PER_MONTH, 1);
  });

  it("says when the regional prices were captured, and keeps us-east-1 on Karpenter's date", () => {
    expect(planServing(input({ region: "eu-west-1" })).catalog.pricesCapturedAt).toBe("2026-01-21");
    expect(planServing(input()).catalog.pricesCapturedAt).toBe("2026-07-20");
  });

  it("prices the system nodes of a new cluster in eu-west-1 at eu-west-1's m6i.large rate ($0.107/h)", () => {
    const plan = planServing(input({ region: "eu-west-1", createsCluster: true, systemNodes: 2, systemNodeDiskGiB: 40 }));
    const line = plan.costs.find((c) => c.item.startsWith("system node pool"))!;
    const gp3 = 40 * 2 * (1024 ** 3 / 1e9) * 0.08;
    expect(line.monthlyUsd.expected).toBeCloseTo(2 * 0.107 * HOURS_PER_MONTH + gp3, 1);
    expect(line.source).toContain("skypilot-org/skypilot-catalog");
  });

  it("chooses the cheapest feasible shape by the region's prices, not us-east-1's", () => {
    const req = { profile: llama8b.profile, engine: engineFor(VLLM_RELEASE.version), maxModelLen: 8192, minConcurrency: 8, path: "p", checkpointBytes: LLAMA_8B_BYTES };
    for (const region of ["us-east-1", "eu-west-1", "ap-northeast-1", "sa-east-1"]) {
      const choice = chooseShape({ ...req, region });
      const chosen = choice.chosen!;
      const nodePrice = onDemandUsdPerHour(region, chosen.host!.instance.instanceType)!;
      expect(chosen.usdPerReplicaHour).toBeCloseTo(nodePrice / chosen.host!.replicasPerNode, 6);
      for (const f of choice.ranked.filter((x) => x.feasible)) expect(f.usdPerReplicaHour).toBeGreaterThanOrEqual(chosen.usdPerReplicaHour);
      for (const f of choice.ranked.filter((x) => x.feasible)) expect(onDemandUsdPerHour(region, f.host!.instance.instanceType)).toBeDefined();
    }
  });

  it("never places an endpoint on an instance its region does not offer: eu-west-1 has no L40S (g6e) instances", () => {
    const choice = chooseShape({ profile: llama8b.profile, engine: engineFor(VLLM_RELEASE.version), maxModelLen: 8192, path: "p", region: "eu-west-1" });
    expect(choice.ranked.filter((f) => f.feasible).map((f) => f.shape.gpu.id)).not.toContain("L40S");
    expect(choice.ranked.find((f) => f.shape.name === "L40S_X1")!.reason!.code).toBe("SHAPE_NOT_OFFERED_IN_REGION");
  });
});

describe("shapes and instances a region does not offer", () => {
  it("refuses B200_X8 in eu-west-1 and names the regions that offer p6-b200.48xlarge", () => {
    const plan = planServing(input({ region: "eu-west-1", endpoints: [endpoint("chat", { shape: "B200_X8" })] }));
    expect(codes(plan)).toContain("SHAPE_NOT_OFFERED_IN_REGION");
    const message = messageOf(plan, "SHAPE_NOT_OFFERED_IN_REGION");
    expect(message).toMatch(/^\[SHAPE_NOT_OFFERED_IN_REGION\] stack\/chat: no instance hosting B200_X8 is offered On-Demand in eu-west-1\./);
    expect(message).toContain("us-east-1, us-east-2 and us-west-2");
    expect(message).toMatch(/Fix: .+/);
    expect(plan.endpoints).toEqual([]);
  });

  it("refuses a declared p5.48xlarge in eu-west-1 and names where it is offered and what hosts H100_X8 there instead", () => {
    const plan = planServing(input({ region: "eu-west-1", endpoints: [endpoint("chat", { shape: "H100_X8", instanceType: "p5.48xlarge" })] }));
    const message = messageOf(plan, "INSTANCE_NOT_OFFERED_IN_REGION");
    expect(message).toMatch(/^\[INSTANCE_NOT_OFFERED_IN_REGION\] stack\/chat: p5\.48xlarge is not offered On-Demand in eu-west-1\./);
    expect(message).toContain("ap-northeast-1");
    expect(message).toContain("us-east-1");
    expect(message).not.toMatch(/ eu-west-1[,) ]/);
  });

  it("offers the same declared instance where the region has it", () => {
    const plan = planServing(input({ region: "ap-northeast-1", endpoints: [endpoint("chat", { shape: "H100_X8", instanceType: "p5.48xlarge" })] }));
    expect(codes(plan)).not.toContain("INSTANCE_NOT_OFFERED_IN_REGION");
    expect(plan.nodePools[0].hourlyUsdPerNode).toBe(onDemandUsdPerHour("ap-northeast-1", "p5.48xlarge"));
  });
});

describe("an unknown region", () => {
  it.each(["us-west-3", "eu-west-1 ", "US-EAST-1", "us-gov-west-1", "cn-north-1"])("refuses %j with REGION_UNKNOWN listing the supported regions, and prices nothing", (region) => {
    const plan = planServing(input({ region, createsCluster: true, natGateways: 1 }));
    expect(codes(plan)).toEqual(["REGION_UNKNOWN"]);
    const message = messageOf(plan, "REGION_UNKNOWN");
    expect(message).toContain(`"${region}" is not a region the price catalog covers`);
    for (const r of REGIONS) expect(message).toContain(r);
    expect(plan.costs).toEqual([]);
    expect(plan.endpoints).toEqual([]);
  });
});

describe("what the stack creates around the GPUs", () => {
  const created = (over: Partial<PlanInput> = {}) => planServing(input({ createsCluster: true, natGateways: 1, kmsKeys: 1, controlPlaneLogs: { retentionDays: 90 }, ...over }));
  const line = (plan: ReturnType<typeof planServing>, prefix: string) => plan.costs.find((c) => c.item.startsWith(prefix))!;

  it("charges the NAT gateway $0.045/h (US East list price) and says the GB it processes are not priced until declared", () => {
    const l = line(created(), "NAT gateway");
    expect(l.monthlyUsd).toEqual({ min: 32.85, expected: 32.85, max: 32.85 });
    expect(l.item).toContain("not priced: declare natGatewayGbPerMonth");
  });

  it("adds the declared NAT traffic at $0.045 per GB processed", () => {
    const l = line(created({ natGatewayGbPerMonth: 200 }), "NAT gateway");
    expect(l.monthlyUsd.expected).toBeCloseTo(32.85 + 200 * 0.045, 2);
    expect(l.item).toContain("200 GB/month processed");
  });

  it("charges the NAT gateway's Elastic IP as a public IPv4 address: $0.005/h", () => {
    expect(line(created(), "public IPv4 address").monthlyUsd.expected).toBeCloseTo(0.005 * HOURS_PER_MONTH, 2);
  });

  it("charges the KMS key $1/month, and up to $3/month once rotated twice", () => {
    expect(line(created(), "KMS key").monthlyUsd).toEqual({ min: 1, expected: 1, max: 3 });
  });

  it("prices declared control-plane logs as ingestion plus a retention window of storage", () => {
    const l = line(created({ controlPlaneLogs: { retentionDays: 90, gbPerMonth: 30 } }), "CloudWatch Logs");
    const stored = (30 * 90) / (365 / 12);
    expect(l.monthlyUsd.expected).toBeCloseTo(30 * 0.5 + stored * 0.03, 2);
  });

  it("lists undeclared control-plane logs as not priced, never as a figure", () => {
    const l = line(created(), "CloudWatch Logs");
    expect(l.item).toContain("not priced: declare controlPlaneLogGbPerMonth");
    expect(l.monthlyUsd).toEqual({ min: 0, expected: 0, max: 0 });
  });

  it("creates none of these lines for a plan that creates no network, key or logs", () => {
    const items = planServing(input()).costs.map((c) => c.item);
    for (const prefix of ["NAT gateway", "public IPv4", "KMS key", "CloudWatch Logs"]) expect(items.some((i) => i.startsWith(prefix))).toBe(false);
  });

  it("uses a region's own figure where one was captured: CloudWatch Logs ingestion in ap-northeast-1 at $0.76/GB", () => {
    const l = line(created({ region: "ap-northeast-1", controlPlaneLogs: { retentionDays: 90, gbPerMonth: 10 } }), "CloudWatch Logs");
    expect(l.monthlyUsd.expected).toBeCloseTo(10 * 0.76 + ((10 * 90) / (365 / 12)) * 0.033, 2);
  });

  it("warns which lines of a eu-west-1 plan are priced at the us-east-1 rate, and labels each of them", () => {
    const plan = created({ region: "eu-west-1", controlPlaneLogs: { retentionDays: 90, gbPerMonth: 10 } });
    const message = messageOf(plan, "REGION_PRICE_BY_RULE");
    expect(message).toContain("eu-west-1 has no captured price for");
    for (const item of ["gp3 volumes", "S3 Standard storage", "NAT gateway hours", "CloudWatch Logs ingestion"]) expect(message).toContain(item);
    expect(message).not.toContain("public IPv4");
    expect(line(plan, "NAT gateway").source).toMatch(/^RULE: no eu-west-1 figure captured/);
    expect(line(plan, "public IPv4 address").source).not.toMatch(/^RULE/);
  });

  it("prices everything in us-east-1 from us-east-1 figures, with no rule warning", () => {
    expect(codes(created())).not.toContain("REGION_PRICE_BY_RULE");
  });

  it.each([-1, Number.NaN])("refuses a declared usage of %s GB", (gb) => {
    expect(codes(created({ natGatewayGbPerMonth: gb }))).toContain("USAGE_INVALID");
  });
});

describe("Spot capacity", () => {
  const spot = (over: Partial<EndpointDeclaration> = {}, region = "us-east-1") =>
    planServing(input({ region, endpoints: [endpoint("chat", { shape: "A10_X1", capacityType: "SPOT", replicas: { min: 2, max: 4, expected: 3 }, ...over })] }));

  it("is a range, not a figure: floor at AWS's 90% maximum discount, expected and max at the On-Demand ceiling", () => {
    const plan = spot();
    const pool = plan.nodePools[0];
    const od = onDemandUsdPerHour("us-east-1", pool.instanceType)!;
    expect(pool.spot).toMatchObject({ basis: "range", ceilingUsdPerHour: od });
    expect(pool.spot!.floorUsdPerHour).toBeCloseTo(od * 0.1, 4);
    expect(pool.spot!.source).toMatch(/up to a 90% discount/);
    const ebs = pool.rootVolumeGiB * (1024 ** 3 / 1e9) * 0.08;
    expect(pool.monthlyUsd.min).toBeCloseTo(2 * (od * 0.1 * HOURS_PER_MONTH + ebs), 1);
    expect(pool.monthlyUsd.expected).toBeCloseTo(3 * (od * HOURS_PER_MONTH + ebs), 1);
    expect(plan.costs.find((c) => c.item.startsWith("node pool"))!.item).toMatch(/Spot \$[\d.]+–\$[\d.]+\/h/);
  });

  it("is priced at a declared price, labelled as declared", () => {
    const plan = spot({ instanceType: "g5.xlarge", spotPriceUsdPerHour: 0.45 });
    expect(plan.nodePools[0].spot).toMatchObject({ basis: "declared", floorUsdPerHour: 0.45, ceilingUsdPerHour: 0.45 });
    expect(plan.endpoints[0].hourlyUsd).toBe(0.45);
    expect(plan.costs.find((c) => c.item.startsWith("node pool"))!.item).toContain("Spot at the declared $0.45/h");
  });

  it("uses the region's On-Demand price as the ceiling in eu-west-1", () => {
    expect(spot({}, "eu-west-1").nodePools[0].spot!.ceilingUsdPerHour).toBe(onDemandUsdPerHour("eu-west-1", "g5.xlarge"));
  });

  it.each([
    ["a declared price on an On-Demand endpoint", { capacityType: "ON_DEMAND" as const, instanceType: "g5.xlarge", spotPriceUsdPerHour: 0.45 }, "SPOT_PRICE_WITHOUT_SPOT"],
    ["a declared price without the instance type it was read for", { spotPriceUsdPerHour: 0.45 }, "SPOT_PRICE_NEEDS_INSTANCE_TYPE"],
    ["a declared price above On-Demand", { instanceType: "g5.xlarge", spotPriceUsdPerHour: 5 }, "SPOT_PRICE_ABOVE_ON_DEMAND"],
    ["a declared price of $0", { instanceType: "g5.xlarge", spotPriceUsdPerHour: 0 }, "SPOT_PRICE_INVALID"],
  ])("refuses %s", (_what, over, code) => {
    expect(codes(spot(over))).toContain(code);
  });

  it("refuses two different declared prices on one Spot pool", () => {
    const plan = planServing(
      input({
        endpoints: [
          endpoint("a", { shape: "A10_X1", capacityType: "SPOT", instanceType: "g5.xlarge", spotPriceUsdPerHour: 0.4, replicas: { min: 2, max: 2 } }),
          endpoint("b", { shape: "A10_X1", capacityType: "SPOT", instanceType: "g5.xlarge", spotPriceUsdPerHour: 0.5, replicas: { min: 2, max: 2 } }),
        ],
      }),
    );
    expect(codes(plan)).toContain("SPOT_PRICE_CONFLICT");
  });
});
