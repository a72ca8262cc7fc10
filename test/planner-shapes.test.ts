/**
 * GPU shapes and shape choice: catalog shapes by name, hosts per EC2 facts, coded errors for unknown
 * shapes and instances that cannot host them, and a choice that is the cheapest feasible shape —
 * checked against an exhaustive search.
 */
import { findInstance, SHAPES } from "../catalog";
import { VLLM_RELEASE } from "../catalog/vllm";
import { chooseShape, fitOnShape, layoutFor, type FitRequest } from "../planner/choose";
import { engineFor } from "../planner/engine";
import { GpuShape, replicaResources } from "../planner/shapes";
import { catalogProfile } from "./fixtures/models";
import { planningError } from "./fixtures/errors";

const engine = engineFor(VLLM_RELEASE.version);


describe("GpuShape", () => {
  it('returns the catalog shape for GpuShape.of("H100_X8"): 8 × H100', () => {
    const s = GpuShape.of("H100_X8");
    expect(s.name).toBe("H100_X8");
    expect(s.gpus).toBe(8);
    expect(s.gpu.id).toBe("H100");
    expect(String(s)).toBe("H100_X8");
  });

  it("refuses an unknown shape as SHAPE_UNKNOWN and lists the valid shapes of that GPU", () => {
    const e = planningError(() => GpuShape.of("H100_X3", "stack/chat"));
    expect(e.codes).toEqual(["SHAPE_UNKNOWN"]);
    expect(e.findings[0].path).toBe("stack/chat");
    const msg = e.findings[0].message;
    expect(msg).toMatch(/^\[SHAPE_UNKNOWN\] stack\/chat: "H100_X3" .+\. .+\. Fix: .+\.$/);
    for (const valid of ["H100_X1", "H100_X2", "H100_X4", "H100_X8"]) expect(msg).toContain(valid);
  });

  it("lists every catalog shape when the unknown name matches no GPU prefix", () => {
    const msg = planningError(() => GpuShape.of("TPU_V5_X4")).findings[0].message;
    for (const s of SHAPES) expect(msg).toContain(s.name);
  });

  it("lists every catalog shape once in GpuShape.all()", () => {
    expect(GpuShape.all().map((s) => s.name)).toEqual(SHAPES.map((s) => s.name));
  });
});

describe("hosts", () => {
  it("hosts A10_X2 on g5.12xlarge (4 × A10G) with 2 replicas per node, at half the node price per replica", () => {
    // The g5 family has 1, 4 or 8 A10G GPUs; g5.12xlarge is the cheapest 4-GPU size.
    const host = GpuShape.of("A10_X2").defaultHost()!;
    expect(host.instance.instanceType).toBe("g5.12xlarge");
    expect(host.replicasPerNode).toBe(2);
    expect(host.usdPerReplicaHour).toBeCloseTo(findInstance("g5.12xlarge")!.onDemandUsdPerHour! / 2, 10);
  });

  it("hosts A10_X1 on the cheapest single-GPU g5, g5.xlarge", () => {
    expect(GpuShape.of("A10_X1").defaultHost()!.instance.instanceType).toBe("g5.xlarge");
  });

  it("prefers the 1-GPU p5.4xlarge for H100_X1 over an eighth of a p5.48xlarge at the same price per GPU", () => {
    const hosts = GpuShape.of("H100_X1").hosts();
    expect(hosts[0].usdPerReplicaHour).toBeCloseTo(hosts[1].usdPerReplicaHour, 10); // 6.88 = 55.04 / 8
    expect(hosts.map((h) => h.instance.instanceType).slice(0, 2)).toEqual(["p5.4xlarge", "p5.48xlarge"]);
  });

  it("offers only instances with that GPU and at least that many of them, cheapest per replica first", () => {
    for (const s of GpuShape.all()) {
      const hosts = s.hosts();
      for (const h of hosts) {
        expect(h.instance.gpu).toBe(s.gpu.id);
        expect(h.instance.gpus).toBeGreaterThanOrEqual(s.gpus);
        expect(h.replicasPerNode).toBe(Math.floor(h.instance.gpus / s.gpus));
      }
      for (let i = 1; i < hosts.length; i++) expect(hosts[i].usdPerReplicaHour).toBeGreaterThanOrEqual(hosts[i - 1].usdPerReplicaHour);
    }
  });

  it('refuses hostOn("g5.4xlarge") for A10_X2 as GPU_COUNT_NOT_OFFERED and points at g5.12xlarge', () => {
    const e = planningError(() => GpuShape.of("A10_X2").hostOn("g5.4xlarge", "stack/chat"));
    expect(e.codes).toEqual(["GPU_COUNT_NOT_OFFERED"]);
    const msg = e.findings[0].message;
    expect(msg).toMatch(/^\[GPU_COUNT_NOT_OFFERED\] stack\/chat: g5\.4xlarge has 1 × A10G.+\. .+\. Fix: .+\.$/);
    expect(msg).toContain("1, 4, 8"); // the g5 family's GPU counts
    expect(msg).toContain("g5.12xlarge");
  });

  it("refuses an instance with another GPU as GPU_COUNT_NOT_OFFERED", () => {
    expect(planningError(() => GpuShape.of("A10_X1").hostOn("g6.xlarge", "p")).codes).toEqual(["GPU_COUNT_NOT_OFFERED"]);
  });

  it('refuses the typo "g5.12xl" as INSTANCE_TYPE_UNKNOWN and suggests the nearest name, g5.12xlarge', () => {
    // reference/reliability-cost-anchors.md §5 #45: `"g5.12xl" is not an EC2 instance type. Did you mean "g5.12xlarge"?`
    const e = planningError(() => GpuShape.of("A10_X4").hostOn("g5.12xl", "p"));
    expect(e.codes).toEqual(["INSTANCE_TYPE_UNKNOWN"]);
    expect(e.findings[0].message).toContain("g5.12xlarge");
  });

  it("hosts A10_X2 on g5.48xlarge when asked, with 4 replicas per node", () => {
    const h = GpuShape.of("A10_X2").hostOn("g5.48xlarge", "p");
    expect(h.replicasPerNode).toBe(4);
    expect(h.usdPerReplicaHour).toBeCloseTo(16.288 / 4, 10);
  });

  it("gives a replica its share of the node's vCPUs and memory, never more than the node has", () => {
    const g5 = findInstance("g5.12xlarge")!; // 48 vCPUs, 192 GiB, 4 GPUs
    const r = replicaResources(g5, 2);
    expect(r.cpu).toBeLessThanOrEqual(g5.vcpus / 2);
    expect(r.memoryGiB).toBeLessThanOrEqual(g5.memoryGiB / 2);
    expect(r.cpu).toBeGreaterThan(0);
    expect(r.shmGiB).toBeGreaterThanOrEqual(2);
  });
});

describe("parallel layout", () => {
  it("runs all GPUs tensor-parallel when the heads allow it", () => {
    expect(layoutFor(catalogProfile("meta-llama/Llama-3.1-70B-Instruct"), 8)).toEqual({ tp: 8, pp: 1 });
  });

  it("falls back to TP × PP when the heads do not divide: Qwen2.5-7B (28 heads) on 8 GPUs runs TP 4 × PP 2", () => {
    expect(layoutFor(catalogProfile("Qwen/Qwen2.5-7B-Instruct"), 8)).toEqual({ tp: 4, pp: 2 });
  });
});

describe("chooseShape", () => {
  const models = ["meta-llama/Llama-3.2-1B-Instruct", "meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen2.5-7B-Instruct", "google/gemma-2-9b-it", "Qwen/Qwen2.5-14B-Instruct-AWQ", "mistralai/Mixtral-8x7B-Instruct-v0.1", "meta-llama/Llama-3.1-70B-Instruct"];
  const lengths = [2048, 8192, 32768];
  const grid = models.flatMap((id) => lengths.map((len) => [id, len] as const));
  const request = (id: string, maxModelLen: number, minConcurrency = 1): FitRequest => ({ profile: catalogProfile(id), engine, maxModelLen, minConcurrency, path: `test/${id}` });

  it.each(grid)("picks the cheapest feasible shape for one replica of %s at %d tokens, as an exhaustive search does", (id, len) => {
    const req = request(id, len);
    const choice = chooseShape(req);
    // Exhaustive search: size every catalog shape on its default host, keep the feasible ones, take the lowest price.
    const feasible = GpuShape.all()
      .map((s) => fitOnShape(req, s))
      .filter((f) => f.feasible);
    if (feasible.length === 0) {
      expect(choice.chosen).toBeUndefined();
      return;
    }
    // One replica pays for the whole node it lands on, idle GPUs included.
    const cheapest = Math.min(...feasible.map((f) => f.host!.instance.onDemandUsdPerHour!));
    expect(choice.chosen).toBeDefined();
    expect(choice.chosen!.feasible).toBe(true);
    expect(choice.chosen!.host!.instance.onDemandUsdPerHour).toBe(cheapest);
    expect(choice.chosen!.sizing.fits).toBe(true);
    expect(choice.chosen!.host!.instance.instanceType).not.toBe("p5e.48xlarge");
    expect(new Set(choice.ranked.filter((f) => f.feasible).map((f) => f.shape.name))).toEqual(new Set(feasible.map((f) => f.shape.name)));
  });

  it("puts Llama-3.1-8B at 8192 tokens on a single 24 GB GPU, not on a multi-GPU shape", () => {
    // 16 GB of bf16 weights fit one A10G or L4 with room for KV; one of those is always cheaper than two.
    const c = chooseShape(request("meta-llama/Llama-3.1-8B-Instruct", 8192)).chosen!;
    expect(c.shape.gpus).toBe(1);
    expect(["A10G", "L4"]).toContain(c.shape.gpu.id);
  });

  it("never chooses a shape whose GPUs cannot hold Llama-3.1-70B's 131 GiB of bf16 weights", () => {
    const c = chooseShape(request("meta-llama/Llama-3.1-70B-Instruct", 8192)).chosen!;
    const totalGiB = c.shape.gpus * c.shape.gpu.cudaVisibleGiB;
    expect(totalGiB).toBeGreaterThan((70_553_706_496 * 2) / 1024 ** 3);
  });

  it("needs more memory for more concurrency: the shape for 64 concurrent 8k requests is never cheaper than for 1", () => {
    const one = chooseShape(request("meta-llama/Llama-3.1-8B-Instruct", 8192, 1)).chosen!;
    const many = chooseShape(request("meta-llama/Llama-3.1-8B-Instruct", 8192, 64)).chosen!;
    expect(many.host!.usdPerReplicaHour).toBeGreaterThanOrEqual(one.host!.usdPerReplicaHour);
    expect(many.sizing.maxConcurrency).toBeGreaterThanOrEqual(64);
  });

  it("gives the same choice and ranking whatever the order of the candidate shapes", () => {
    const req = request("meta-llama/Llama-3.1-70B-Instruct", 8192);
    const shapes = GpuShape.all();
    const a = chooseShape(req, shapes);
    const b = chooseShape(req, [...shapes].reverse());
    const c = chooseShape(req, [...shapes.filter((_, i) => i % 2 === 1), ...shapes.filter((_, i) => i % 2 === 0)]);
    const feasibleOrder = (x: typeof a) => x.ranked.filter((f) => f.feasible).map((f) => f.shape.name);
    expect(b.chosen!.shape.name).toBe(a.chosen!.shape.name);
    expect(c.chosen!.shape.name).toBe(a.chosen!.shape.name);
    expect(feasibleOrder(b)).toEqual(feasibleOrder(a));
    expect(feasibleOrder(c)).toEqual(feasibleOrder(a));
  });

  it("breaks equal prices by fewer GPUs, then more KV tokens, then the shape name", () => {
    const req = request("meta-llama/Llama-3.1-70B-Instruct", 8192);
    const feasible = chooseShape(req).ranked.filter((f) => f.feasible);
    for (let i = 1; i < feasible.length; i++) {
      const [x, y] = [feasible[i - 1], feasible[i]];
      const dp = y.usdPerReplicaHour - x.usdPerReplicaHour;
      expect(dp).toBeGreaterThanOrEqual(0);
      if (dp === 0) {
        const dg = y.shape.gpus - x.shape.gpus;
        expect(dg).toBeGreaterThanOrEqual(0);
        if (dg === 0) {
          const dk = x.sizing.kvCacheTokens - y.sizing.kvCacheTokens;
          expect(dk).toBeGreaterThanOrEqual(0);
          if (dk === 0) expect(x.shape.name < y.shape.name).toBe(true);
        }
      }
    }
  });

  it("returns identical candidates on a second run", () => {
    const req = request("Qwen/Qwen2.5-7B-Instruct", 32768);
    expect(chooseShape(req).candidates).toEqual(chooseShape(req).candidates);
  });

  it("gives every infeasible candidate the code of its first error as its verdict", () => {
    const req = request("meta-llama/Llama-3.1-70B-Instruct", 8192);
    const choice = chooseShape(req);
    const infeasible = choice.ranked.filter((f) => !f.feasible);
    expect(infeasible.length).toBeGreaterThan(0);
    for (const f of infeasible) {
      const candidate = choice.candidates.find((c) => c.shape === f.shape.name)!;
      expect(candidate.verdict).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(candidate.verdict).toBe(f.reason!.code);
    }
    // T4_X1 cannot hold 70B of bf16 weights on 15 GB.
    expect(choice.candidates.find((c) => c.shape === "T4_X1")!.verdict).toBe("MODEL_DOES_NOT_FIT");
  });

  it("marks the chosen candidate and prices the others relative to it", () => {
    const choice = chooseShape(request("meta-llama/Llama-3.1-8B-Instruct", 8192));
    const feasible = choice.candidates.filter((c) => c.verdict.startsWith("chosen") || c.verdict.startsWith("fits"));
    expect(feasible[0].verdict).toMatch(/^chosen/);
    expect(feasible[0].shape).toBe(choice.chosen!.shape.name);
    for (const c of feasible.slice(1)) expect(c.verdict).toMatch(/^fits; \$[0-9.]+\/replica-hour more$/);
  });

  it("returns no choice, and a reason for every shape, when nothing fits", () => {
    // Llama-3.1-405B in bf16 is 756 GiB; the largest single-node shape (8 × B200) has 1,420 GiB, but not at a 131k context
    // with 1,000 concurrent requests.
    const choice = chooseShape(request("meta-llama/Llama-3.1-405B-Instruct", 131_072, 1000));
    expect(choice.chosen).toBeUndefined();
    expect(choice.ranked.every((f) => f.reason !== undefined)).toBe(true);
  });

  it("reports CONCURRENCY_TOO_LOW when a shape fits one request but not the concurrency asked for", () => {
    const f = fitOnShape(request("meta-llama/Llama-3.1-8B-Instruct", 32768, 50), GpuShape.of("A10_X1"));
    expect(f.feasible).toBe(false);
    expect(f.reason?.code).toBe("CONCURRENCY_TOO_LOW");
    expect(f.sizing.fits).toBe(true);
  });
});
