import fc from "fast-check";
import { findInstance, SHAPES } from "../catalog";
import { catalogModelIds, findCatalogModel } from "../catalog/models";
import { capabilityOf } from "../planner/import-validation";
import { profileFromConfig } from "../planner/model-profile";
import { planServing, type EndpointDeclaration, type ModelDeclaration } from "../planner/plan";

const models: ModelDeclaration[] = catalogModelIds().flatMap((id) => {
  try {
    const profile = profileFromConfig(findCatalogModel(id)!.configJson, id);
    const capability = capabilityOf(profile, id).capability;
    return capability ? [{ name: id, path: `s/${id}`, modelId: id, revision: null, capability, profile, storedInS3: false }] : [];
  } catch {
    return []; // the time-series config is refused by design
  }
});

const endpointArb = fc.record({
  model: fc.constantFrom(...models),
  // Mostly plausible values, with a share of nonsense (negative, fractional, NaN, huge) mixed in.
  maxModelLen: fc.oneof({ arbitrary: fc.constantFrom(512, 2048, 4096, 8192), weight: 12 }, { arbitrary: fc.constantFrom(16384, 32768, 131072), weight: 2 }, { arbitrary: fc.integer({ min: -10, max: 300000 }), weight: 1 }, { arbitrary: fc.double({ noNaN: false }), weight: 1 }),
  shape: fc.option(fc.constantFrom(...SHAPES.map((s) => s.name), "H100_X3"), { nil: undefined, freq: 2 }),
  tensorParallel: fc.option(fc.integer({ min: 0, max: 9 }), { nil: undefined, freq: 8 }),
  minConcurrency: fc.option(fc.double({ min: 0, max: 64, noNaN: true }), { nil: undefined, freq: 2 }),
  gpuMemoryUtilization: fc.option(fc.oneof({ arbitrary: fc.double({ min: 0.8, max: 0.95, noNaN: true }), weight: 8 }, { arbitrary: fc.double({ min: -0.5, max: 1.5, noNaN: true }), weight: 1 }), { nil: undefined, freq: 2 }),
  kvCacheDtype: fc.option(fc.constantFrom("auto" as const, "fp8" as const), { nil: undefined }),
  quantization: fc.option(fc.constant("fp8" as const), { nil: undefined }),
  min: fc.integer({ min: 0, max: 4 }),
  extra: fc.integer({ min: 0, max: 4 }),
  spot: fc.boolean(),
});

describe("planner properties", () => {
  test("2,000 random declarations either plan with every invariant kept or fail with coded errors, never an uncaught exception", () => {
    let planned = 0;
    let refused = 0;
    fc.assert(
      fc.property(fc.array(endpointArb, { minLength: 1, maxLength: 2 }), fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined, freq: 3 }), (eps, quota) => {
        const endpoints: EndpointDeclaration[] = eps.map((e, i) => ({
          name: `e${i}`,
          path: `s/e${i}`,
          model: e.model,
          capability: e.model.capability,
          maxModelLen: e.maxModelLen,
          replicas: { min: e.min, max: e.min + e.extra },
          capacityType: e.spot ? "SPOT" : "ON_DEMAND",
          ...(e.shape ? { shape: e.shape } : {}),
          ...(e.tensorParallel !== undefined ? { tensorParallel: e.tensorParallel } : {}),
          ...(e.minConcurrency !== undefined ? { minConcurrency: e.minConcurrency } : {}),
          ...(e.gpuMemoryUtilization !== undefined ? { gpuMemoryUtilization: e.gpuMemoryUtilization } : {}),
          ...(e.kvCacheDtype ? { kvCacheDtype: e.kvCacheDtype } : {}),
          ...(e.quantization ? { quantization: e.quantization } : {}),
        }));
        const plan = planServing({ stackPath: "s", endpoints, quotas: quota === undefined ? {} : { "L-DB2E81BA": quota, "L-417A185B": quota }, createsCluster: true });
        for (const f of plan.findings) expect(f.message).toMatch(/^\[[A-Z0-9_]+\] \S.*: .+ Fix: .+/);
        const errors = plan.findings.filter((f) => f.severity === "error");
        if (errors.length) refused++;
        else planned++;
        for (const e of plan.endpoints) {
          const model = endpoints.find((d) => d.name === e.name)!.model.profile;
          const node = findInstance(e.instanceType)!;
          expect(e.gpusPerReplica / e.nodesPerReplica).toBeLessThanOrEqual(node.gpus); // GPUs requested per pod (one pod per node of a group)
          expect(e.tensorParallel * e.pipelineParallel).toBe(e.gpusPerReplica);
          expect(model.numHeads % e.tensorParallel).toBe(0);
          // vLLM (v0.23+) prints capacity as max concurrency × max_model_len, so a replica that fits one request prints at least
          // max_model_len — sliding-window hybrids (Gemma 3: 52 of 62 layers windowed) and recurrent hybrids included.
          if (model.attention !== "encoder-only") expect(e.kvCacheTokens).toBeGreaterThanOrEqual(e.maxModelLen);
          expect(e.hourlyUsd).toBeGreaterThan(0);
          expect(e.monthlyUsd.min).toBeLessThanOrEqual(e.monthlyUsd.expected);
          expect(e.monthlyUsd.expected).toBeLessThanOrEqual(e.monthlyUsd.max);
        }
        for (const q of plan.quotas) {
          const pools = plan.nodePools.filter((p) => p.quotaCode === q.code);
          expect(q.neededVcpus).toBe(pools.reduce((a, p) => a + p.vcpusPerNode * (p.nodes.max + (p.nodes.max > 0 ? Math.max(1, p.nodesPerReplica) : 0)), 0));
        }
        expect(plan.totals.monthlyUsd.max).toBeGreaterThan(0);
      }),
      { numRuns: 2000, seed: 20261122 },
    );
    // Both branches are exercised, so the invariants are really checked.
    expect(planned).toBeGreaterThan(200);
    expect(refused).toBeGreaterThan(200);
  });
});
