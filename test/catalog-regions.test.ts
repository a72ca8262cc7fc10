/**
 * The per-region price table: every commercial region it names is a well-formed region id, every price
 * is positive, its us-east-1 row is Karpenter's snapshot figure for every catalog instance, and the
 * regions it leaves an instance out of are the regions that do not offer it.
 */
import regionsJson from "../catalog/regions.json";
import servicesJson from "../catalog/services.json";
import { findInstance, INSTANCES, onDemandUsdPerHour, REGION, REGIONAL_PRICES, REGIONS, regionsOffering, servicePriceIn, SERVICE_PRICES, type ServicePriceItem } from "../catalog";

const COMMERCIAL_REGION = /^(us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d$/;

describe("the per-region On-Demand table", () => {
  it("names only commercial region ids: no GovCloud, China, Local Zone or Wavelength Zone", () => {
    expect(REGIONS.length).toBeGreaterThan(20);
    for (const r of REGIONS) {
      expect(r).toMatch(COMMERCIAL_REGION);
      expect(r).not.toMatch(/^(us-gov|cn)-/);
    }
  });

  it("prices every catalog instance in us-east-1 at the figure of Karpenter's us-east-1 snapshot (catalog/instances.json)", () => {
    for (const i of INSTANCES) {
      expect([i.instanceType, onDemandUsdPerHour("us-east-1", i.instanceType) ?? null]).toEqual([i.instanceType, i.onDemandUsdPerHour]);
    }
  });

  it("holds only positive prices of catalog instance types", () => {
    for (const [region, row] of Object.entries(regionsJson.onDemandUsdPerHour)) {
      for (const [type, price] of Object.entries(row as Record<string, number>)) {
        expect([region, type, findInstance(type) !== undefined, price > 0]).toEqual([region, type, true, true]);
      }
    }
  });

  it("carries its source with a commit and a capture date", () => {
    expect(REGIONAL_PRICES.source).toMatch(/@ [0-9a-f]{40}/);
    expect(REGIONAL_PRICES.capturedAt).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it("agrees with SkyPilot's independently generated catalog on sampled eu-west-1 and ap-northeast-1 rows", () => {
    // skypilot-org/skypilot-catalog catalogs/v7/aws/vms.csv @ 001367d22a0033fac286a8c71aeac7109e431bcb, column Price.
    const skypilot: Array<[string, string, number]> = [
      ["eu-west-1", "g4dn.xlarge", 0.587],
      ["eu-west-1", "g4dn.12xlarge", 4.362],
      ["eu-west-1", "g4dn.16xlarge", 4.853],
      ["eu-west-1", "g5.12xlarge", 6.33167],
      ["ap-northeast-1", "g4dn.xlarge", 0.71],
      ["ap-northeast-1", "g4dn.12xlarge", 5.281],
      ["ap-northeast-1", "g4dn.16xlarge", 5.875],
      ["ap-northeast-1", "g5.12xlarge", 8.22609],
    ];
    for (const [region, type, price] of skypilot) expect([region, type, onDemandUsdPerHour(region, type)]).toEqual([region, type, price]);
  });

  it("offers p6-b200.48xlarge only in us-east-1, us-east-2 and us-west-2, and p5e.48xlarge On-Demand nowhere", () => {
    expect(regionsOffering("p6-b200.48xlarge")).toEqual(["us-east-1", "us-east-2", "us-west-2"]);
    expect(regionsOffering("p5e.48xlarge")).toEqual([]);
  });
});

describe("service prices by region", () => {
  const items = Object.keys(SERVICE_PRICES) as ServicePriceItem[];

  it("gives every item a positive us-east-1 figure with a source and a date", () => {
    for (const item of items) {
      const p = servicePriceIn(REGION, item);
      expect([item, p.value > 0, p.source.length > 0, /^\d{4}-\d{2}-\d{2}$/.test(p.capturedAt)]).toEqual([item, true, true, true]);
      expect(p.basis).not.toBe("us-east-1-rule");
    }
  });

  it("prices the system node in eu-west-1 at SkyPilot's m6i.large figure and says so", () => {
    const p = servicePriceIn("eu-west-1", "systemNodeUsdPerHour");
    expect(p).toMatchObject({ value: 0.107, basis: "regional" });
    expect(p.source).toContain("skypilot-org/skypilot-catalog");
  });

  it("labels a price with no figure for the region as the us-east-1 rule, never as that region's figure", () => {
    const p = servicePriceIn("eu-west-1", "ebsGp3UsdPerGbMonth");
    expect(p.basis).toBe("us-east-1-rule");
    expect(p.value).toBe(SERVICE_PRICES.ebsGp3UsdPerGbMonth.value);
    expect(p.source).toMatch(/^RULE: no eu-west-1 figure captured, priced at the us-east-1 rate/);
  });

  it("applies a one-price item such as the public IPv4 address the same in every region", () => {
    for (const r of REGIONS) expect(servicePriceIn(r, "publicIpv4UsdPerHour")).toMatchObject({ value: 0.005, basis: "uniform" });
  });

  it("keeps every regional figure to regions the instance table covers", () => {
    for (const table of Object.values(servicesJson.regional)) for (const r of Object.keys(table.values)) expect(REGIONS).toContain(r);
  });
});
