import vllmRelease from "../catalog/vllm/release.json";
import { engineFor as engineForVersion } from "../planner/engine";
/**
 * The catalog is data with sources: every row is dated and sourced, unpriced capacity is never chosen,
 * shapes only name GPUs the catalog knows, quota codes follow the EC2 instance families, and the vLLM
 * release is pinned to one exact version.
 */
import { findGpu, findInstance, findQuota, GPUS, INSTANCES, QUOTAS, SHAPES } from "../catalog";
import { catalogModelIds, findCatalogModel } from "../catalog/models";
import { VLLM_RELEASE } from "../catalog/vllm";
import { GpuShape } from "../planner/shapes";

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

describe("GPU instance rows", () => {
  it.each(INSTANCES.map((i) => [i.instanceType, i] as const))("%s carries a spec source, a price source and a capture date", (_name, row) => {
    expect(row.specSource.trim().length).toBeGreaterThan(0);
    expect(row.priceSource.trim().length).toBeGreaterThan(0);
    expect(row.capturedAt).toMatch(ISO_DATE);
    expect(Number.isNaN(Date.parse(row.capturedAt))).toBe(false);
  });

  it("lists each instance type once", () => {
    const names = INSTANCES.map((i) => i.instanceType);
    expect(new Set(names).size).toBe(names.length);
  });

  it("names only GPUs that the GPU table describes", () => {
    for (const i of INSTANCES) expect(findGpu(i.gpu)).toBeDefined();
  });

  it("records the public EC2 GPU counts of the families' flagship sizes", () => {
    // EC2 accelerated-computing table: g5.12xlarge 4 × A10G, g5.48xlarge 8 × A10G, p4d.24xlarge 8 × A100 40 GB,
    // p5.48xlarge 8 × H100, p5en.48xlarge 8 × H200, g4dn.12xlarge 4 × T4.
    const facts: Array<[string, number, string]> = [
      ["g5.12xlarge", 4, "A10G"],
      ["g5.48xlarge", 8, "A10G"],
      ["p4d.24xlarge", 8, "A100-40G"],
      ["p5.48xlarge", 8, "H100"],
      ["p5en.48xlarge", 8, "H200"],
      ["g4dn.12xlarge", 4, "T4"],
    ];
    for (const [type, gpus, gpu] of facts) {
      expect(findInstance(type)).toMatchObject({ gpus, gpu });
    }
  });

  it("has no On-Demand price for p5e.48xlarge (sold through Capacity Blocks) and says why", () => {
    const p5e = findInstance("p5e.48xlarge");
    expect(p5e).toBeDefined();
    expect(p5e!.onDemandUsdPerHour).toBeNull();
    expect(p5e!.priceNote?.length ?? 0).toBeGreaterThan(0);
  });

  it("gives every other instance a positive price, never a silent $0", () => {
    for (const i of INSTANCES.filter((x) => x.instanceType !== "p5e.48xlarge")) {
      expect(i.onDemandUsdPerHour).not.toBeNull();
      expect(i.onDemandUsdPerHour!).toBeGreaterThan(0);
    }
  });
});

describe("p5e.48xlarge is never chosen", () => {
  it.each(SHAPES.filter((s) => s.gpu === "H200").map((s) => [s.name]))("hosts %s on p5en.48xlarge by default", (name) => {
    const host = GpuShape.of(name).defaultHost();
    expect(host?.instance.instanceType).toBe("p5en.48xlarge");
  });

  it("ranks the unpriced p5e.48xlarge after every priced host of H200_X8", () => {
    const hosts = GpuShape.of("H200_X8").hosts();
    const last = hosts[hosts.length - 1];
    expect(last.instance.instanceType).toBe("p5e.48xlarge");
    expect(Number.isFinite(last.usdPerReplicaHour)).toBe(false);
    expect(hosts.slice(0, -1).every((h) => Number.isFinite(h.usdPerReplicaHour))).toBe(true);
  });

  it("is not the default host of any shape", () => {
    for (const s of GpuShape.all()) expect(s.defaultHost()?.instance.instanceType).not.toBe("p5e.48xlarge");
  });
});

describe("GPU shapes", () => {
  it.each(SHAPES.map((s) => [s.name, s.gpu] as const))("%s names a GPU (%s) that exists in the GPU table", (_name, gpu) => {
    expect(findGpu(gpu)).toBeDefined();
  });

  it("has at least one instance in the catalog able to host each shape", () => {
    for (const s of SHAPES) {
      expect(INSTANCES.some((i) => i.gpu === s.gpu && i.gpus >= s.gpus)).toBe(true);
    }
  });

  it("encodes the GPU count in the shape name", () => {
    for (const s of SHAPES) expect(s.name.endsWith(`_X${s.gpus}`)).toBe(true);
  });
});

describe("GPU table", () => {
  it("gives every GPU a source and a CUDA-visible total below its marketed size", () => {
    for (const g of GPUS) {
      expect(g.source.trim().length).toBeGreaterThan(0);
      expect(g.cudaVisibleGiB).toBeLessThanOrEqual(g.memoryGiBMarketed);
    }
  });

  it("has T4 below compute capability 8.0 (no bf16) and every Ampere-or-newer GPU at 8.0 or above", () => {
    // NVIDIA CUDA GPUs list: T4 7.5, A10G 8.6, L4 8.9, L40S 8.9, A100 8.0, H100/H200 9.0, B200 10.0.
    expect(findGpu("T4")!.computeCapability).toBe(7.5);
    for (const id of ["A10G", "L4", "L40S", "A100-40G", "A100-80G", "H100", "H200", "B200"]) {
      expect(findGpu(id)!.computeCapability).toBeGreaterThanOrEqual(8);
    }
  });
});

describe("quota codes", () => {
  const G_FAMILY = /^g\d/;
  const P_FAMILY = /^p\d/;

  it("charges every G-family instance On-Demand to L-DB2E81BA (Running On-Demand G and VT instances)", () => {
    const g = INSTANCES.filter((i) => G_FAMILY.test(i.family));
    expect(g.length).toBeGreaterThan(0);
    for (const i of g) expect(i.quota.onDemand).toBe("L-DB2E81BA");
    expect(findQuota("L-DB2E81BA")?.name).toBe("Running On-Demand G and VT instances");
  });

  it("charges every P-family instance On-Demand to L-417A185B (Running On-Demand P instances)", () => {
    const p = INSTANCES.filter((i) => P_FAMILY.test(i.family));
    expect(p.length).toBeGreaterThan(0);
    for (const i of p) expect(i.quota.onDemand).toBe("L-417A185B");
    expect(findQuota("L-417A185B")?.name).toBe("Running On-Demand P instances");
  });

  it("charges G-family Spot to L-3819A6DF and uses only Spot quotas for Spot", () => {
    for (const i of INSTANCES) {
      expect(findQuota(i.quota.spot)?.capacityType).toBe("SPOT");
      expect(findQuota(i.quota.onDemand)?.capacityType).toBe("ON_DEMAND");
      if (G_FAMILY.test(i.family)) expect(i.quota.spot).toBe("L-3819A6DF");
    }
  });

  it("lists every quota code once", () => {
    expect(new Set(QUOTAS.map((q) => q.code)).size).toBe(QUOTAS.length);
  });
});

describe("pinned vLLM release", () => {
  it("is one exact semantic version, not a range or a moving tag", () => {
    expect(VLLM_RELEASE.version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("uses the vllm/vllm-openai image whose tag is exactly that version", () => {
    expect(VLLM_RELEASE.image).toBe(`vllm/vllm-openai:v${VLLM_RELEASE.version}`);
    expect(VLLM_RELEASE.image).not.toMatch(/:latest$/);
  });

  it("names the commit it was read from", () => {
    expect(VLLM_RELEASE.source).toMatch(/[0-9a-f]{40}/);
    expect(VLLM_RELEASE.releasedAt).toMatch(ISO_DATE);
  });
});

describe("model catalog", () => {
  it("loads a real config.json for every model and dates its source", () => {
    for (const id of catalogModelIds()) {
      const m = findCatalogModel(id)!;
      expect(m.capturedAt).toMatch(ISO_DATE);
      expect(m.source.length).toBeGreaterThan(0);
      expect(Array.isArray(m.configJson["architectures"])).toBe(true);
    }
  });

  it("finds a model case-insensitively and returns undefined for an unknown one", () => {
    expect(findCatalogModel("META-LLAMA/LLAMA-3.1-8B-INSTRUCT")?.id).toBe("meta-llama/Llama-3.1-8B-Instruct");
    expect(findCatalogModel("nobody/no-such-model")).toBeUndefined();
  });
});

describe("one fact, one place", () => {
  it("the engine profile of the pinned release agrees with that release's own defaults", () => {
    // catalog/engines.json (what the planner models) and catalog/vllm/release.json (read from the source) must not drift.
    const engine = engineForVersion(vllmRelease.version.replace(/^v/, ""));
    expect(engine.gpuMemoryUtilization).toBe(vllmRelease.defaults.gpuMemoryUtilization);
    expect(engine.id).toBe("v1-0.24");
  });
});
