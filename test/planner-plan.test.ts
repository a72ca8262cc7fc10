/**
 * The ServingPlan from declarations built out of real catalog models: packing, stranded GPUs, quota at
 * the ceiling, budget, endpoint checks, cost lines and totals, and a plan that is plain, stable JSON.
 */
import { findInstance, HOURS_PER_MONTH, SERVICE_PRICES } from "../catalog";
import { findCatalogModel } from "../catalog/models";
import { VLLM_RELEASE } from "../catalog/vllm";
import { GiB } from "../planner/findings";
import { planServing, type EndpointDeclaration, type ModelDeclaration, type PlanInput } from "../planner/plan";
import type { Capability } from "../planner/plan-types";
import { capabilityOfCatalogModel, catalogProfile } from "./fixtures/models";

const G_QUOTA = "L-DB2E81BA";
const P_QUOTA = "L-417A185B";
/** model.safetensors.index.json metadata.total_size of meta-llama/Llama-3.1-8B-Instruct: 8,030,261,248 bf16 parameters × 2 B. */
const LLAMA_8B_BYTES = 16_060_522_496;

function model(id: string, over: Partial<ModelDeclaration> = {}): ModelDeclaration {
  const m = findCatalogModel(id)!;
  return {
    name: id.split("/")[1].toLowerCase(),
    path: `stack/models/${id}`,
    modelId: id,
    revision: m.revision,
    capability: capabilityOfCatalogModel(id),
    profile: catalogProfile(id),
    storedInS3: false,
    ...over,
  };
}

function endpoint(name: string, m: ModelDeclaration, over: Partial<EndpointDeclaration> = {}): EndpointDeclaration {
  return { name, path: `stack/${name}`, model: m, capability: m.capability, maxModelLen: 8192, replicas: { min: 1, max: 1 }, capacityType: "ON_DEMAND", ...over };
}

const llama8b = model("meta-llama/Llama-3.1-8B-Instruct", { checkpointBytes: LLAMA_8B_BYTES, storedInS3: true });
const llama70b = model("meta-llama/Llama-3.1-70B-Instruct");
const bge = model("BAAI/bge-large-en-v1.5");

/** A stack: Llama-8B on A10_X2 (1–3 replicas), an embedding model on T4_X1 (1–2), Llama-70B on H100_X4 (1). */
function input(over: Partial<PlanInput> = {}): PlanInput {
  return {
    stackPath: "stack",
    createsCluster: true,
    quotas: { [G_QUOTA]: 1000, [P_QUOTA]: 1000 },
    endpoints: [
      endpoint("chat", llama8b, { shape: "A10_X2", replicas: { min: 1, max: 3, expected: 2 } }),
      endpoint("embed", bge, { shape: "T4_X1", maxModelLen: 512, replicas: { min: 1, max: 2 } }),
      endpoint("big", llama70b, { shape: "H100_X4", replicas: { min: 1, max: 1 } }),
    ],
    ...over,
  };
}

const codes = (plan: { findings: readonly { code: string }[] }) => plan.findings.map((f) => f.code);

describe("placement and packing", () => {
  const plan = planServing(input());

  it("places every endpoint and reports no errors for a valid stack", () => {
    expect(plan.findings.filter((f) => f.severity === "error")).toEqual([]);
    expect(plan.endpoints.map((e) => e.name)).toEqual(["big", "chat", "embed"]);
  });

  it("hosts A10_X2 on g5.12xlarge at 2 replicas per node, so 1, 2 and 3 replicas need 1, 1 and 2 nodes", () => {
    const pool = plan.nodePools.find((p) => p.shape === "A10_X2")!;
    expect(pool.instanceType).toBe("g5.12xlarge");
    expect(pool.replicasPerNode).toBe(2);
    expect(pool.nodes).toEqual({ min: Math.ceil(1 / 2), expected: Math.ceil(2 / 2), max: Math.ceil(3 / 2) });
  });

  it("sizes each endpoint with the KV cache and concurrency of its shape", () => {
    const chat = plan.endpoints.find((e) => e.name === "chat")!;
    expect(chat).toMatchObject({ shape: "A10_X2", instanceType: "g5.12xlarge", gpusPerReplica: 2, tensorParallel: 2, pipelineParallel: 1, capability: "TEXT_TO_TEXT" });
    expect(chat.kvCacheTokens).toBeGreaterThan(0);
    expect(chat.maxConcurrency).toBeGreaterThan(0);
    const embed = plan.endpoints.find((e) => e.name === "embed")!;
    expect(embed.capability).toBe("EMBEDDING");
    expect(embed.kvCacheTokens).toBe(0);
  });

  it("warns GPUS_STRANDED when 3 A10_X2 replicas leave 2 of 8 GPUs idle on 2 × g5.12xlarge", () => {
    const pool = plan.nodePools.find((p) => p.shape === "A10_X2")!;
    expect(pool.gpusFree).toBe(2 * 4 - 3 * 2);
    expect(pool.strandedUsdPerHour).toBeCloseTo((2 * 5.672) / 4, 4);
    const f = plan.findings.find((x) => x.code === "GPUS_STRANDED" && x.message.includes(pool.name))!;
    expect(f.severity).toBe("warning");
    expect(f.message).toMatch(/^\[GPUS_STRANDED\] stack\/chat: .+\. .+\. Fix: .+\.$/);
  });

  it("warns GPUS_STRANDED for H100_X4 on an 8-GPU p5.48xlarge with one replica", () => {
    const pool = plan.nodePools.find((p) => p.shape === "H100_X4")!;
    expect(pool.instanceType).toBe("p5.48xlarge");
    expect(pool.gpusFree).toBe(4);
    expect(plan.findings.filter((x) => x.code === "GPUS_STRANDED")).toHaveLength(2);
  });

  it("does not warn about stranded GPUs when the replicas fill their nodes", () => {
    const p = planServing(input({ endpoints: [endpoint("chat", llama8b, { shape: "A10_X2", replicas: { min: 2, max: 4 } })] }));
    expect(p.nodePools[0].gpusFree).toBe(0);
    expect(codes(p)).not.toContain("GPUS_STRANDED");
  });

  it("packs two endpoints of the same shape into one pool", () => {
    const p = planServing(
      input({
        endpoints: [endpoint("a", llama8b, { shape: "A10_X2", replicas: { min: 1, max: 1 } }), endpoint("b", model("Qwen/Qwen2.5-7B-Instruct"), { shape: "A10_X2", replicas: { min: 1, max: 1 } })],
      }),
    );
    expect(p.nodePools).toHaveLength(1);
    expect(p.nodePools[0].endpoints).toEqual(["a", "b"]);
    expect(p.nodePools[0].nodes.max).toBe(1); // 2 replicas, 2 per node
    expect(p.nodePools[0].gpusFree).toBe(0);
  });

  it("chooses the cheapest feasible shape for an endpoint that declares none, and lists the alternatives", () => {
    const p = planServing(input({ endpoints: [endpoint("auto", llama8b)] }));
    const e = p.endpoints[0];
    expect(e.alternatives[0].verdict).toMatch(/^chosen/);
    const priced = e.alternatives.filter((a) => a.verdict.startsWith("chosen") || a.verdict.startsWith("fits"));
    for (const a of priced) expect(a.usdPerReplicaHour!).toBeGreaterThanOrEqual(e.hourlyUsd);
    expect(findInstance(e.instanceType)!.onDemandUsdPerHour).not.toBeNull();
  });
});

describe("quota at the ceiling", () => {
  it("needs vCPUs × (max nodes + 1 surge node) per quota code, summed over the pools", () => {
    const plan = planServing(input());
    // EC2 facts: g5.12xlarge 48 vCPUs (2 nodes at max), g4dn.xlarge 4 vCPUs (2 nodes), p5.48xlarge 192 vCPUs (1 node).
    expect(plan.quotas.find((q) => q.code === G_QUOTA)).toMatchObject({ neededVcpus: 48 * (2 + 1) + 4 * (2 + 1), limit: 1000, ok: true, status: "ok", name: "Running On-Demand G and VT instances" });
    expect(plan.quotas.find((q) => q.code === P_QUOTA)).toMatchObject({ neededVcpus: 192 * (1 + 1), limit: 1000, ok: true, status: "ok", name: "Running On-Demand P instances" });
  });

  it("refuses the plan with QUOTA_EXCEEDED when the G quota is below what the pools need", () => {
    const plan = planServing(input({ quotas: { [G_QUOTA]: 100, [P_QUOTA]: 1000 } }));
    const q = plan.quotas.find((x) => x.code === G_QUOTA)!;
    expect(q).toMatchObject({ ok: false, status: "exceeded", limit: 100, neededVcpus: 156 });
    const f = plan.findings.find((x) => x.code === "QUOTA_EXCEEDED")!;
    expect(f.severity).toBe("error");
    expect(f.path).toBe("stack");
    expect(f.message).toMatch(/^\[QUOTA_EXCEEDED\] stack: .+\. .+\. Fix: .+\.$/);
    expect(f.message).toContain("156");
  });

  it("accepts a quota exactly equal to the need", () => {
    const plan = planServing(input({ quotas: { [G_QUOTA]: 156, [P_QUOTA]: 384 } }));
    expect(plan.quotas.every((q) => q.ok)).toBe(true);
    expect(codes(plan)).not.toContain("QUOTA_EXCEEDED");
  });

  it("warns QUOTA_UNDECLARED and marks the quota not ok when no limit is declared for it", () => {
    const plan = planServing(input({ quotas: { [G_QUOTA]: 1000 } }));
    const q = plan.quotas.find((x) => x.code === P_QUOTA)!;
    expect(q).toMatchObject({ ok: false, status: "undeclared", limit: null, neededVcpus: 384 });
    const f = plan.findings.find((x) => x.code === "QUOTA_UNDECLARED")!;
    expect(f.severity).toBe("warning");
    expect(f.message).toContain(P_QUOTA);
    expect(plan.findings.filter((x) => x.severity === "error")).toEqual([]);
  });

  it("charges Spot pools to the Spot quota", () => {
    const plan = planServing(input({ quotas: {}, endpoints: [endpoint("chat", llama8b, { shape: "A10_X1", capacityType: "SPOT" })] }));
    expect(plan.nodePools[0].quotaCode).toBe("L-3819A6DF");
    expect(plan.nodePools[0].name).toMatch(/-spot$/);
  });
});

describe("costs", () => {
  const plan = planServing(input());
  const monthly = (usdPerHour: number, n = 1) => usdPerHour * HOURS_PER_MONTH * n;

  it("charges the EKS control plane $73/month ($0.10/h × 730 h) when the plan creates the cluster", () => {
    const line = plan.costs.find((c) => c.item === "EKS control plane")!;
    expect(line.monthlyUsd).toEqual({ min: 73, expected: 73, max: 73 });
  });

  it("charges no control plane for an existing cluster", () => {
    expect(planServing(input({ createsCluster: false })).costs.some((c) => /EKS control plane/.test(c.item))).toBe(false);
  });

  it("charges a node pool its nodes at the On-Demand price plus a gp3 root volume large enough for its replicas' weights", () => {
    const pool = plan.nodePools.find((p) => p.shape === "A10_X2")!;
    // The root volume holds 80 GiB of OS and image plus the weights of each replica on the node (2 × 14.96 GiB).
    expect(pool.rootVolumeGiB).toBeGreaterThanOrEqual(80 + (2 * LLAMA_8B_BYTES) / GiB);
    expect(pool.rootVolumeGiB % 10).toBe(0);
    const ebsPerNode = pool.rootVolumeGiB * (GiB / 1e9) * 0.08; // gp3 $0.08 per GB-month
    const line = plan.costs.find((c) => c.item.includes(pool.name))!;
    expect(line.monthlyUsd.min).toBeCloseTo(1 * (monthly(5.672) + ebsPerNode), 1);
    expect(line.monthlyUsd.expected).toBeCloseTo(1 * (monthly(5.672) + ebsPerNode), 1);
    expect(line.monthlyUsd.max).toBeCloseTo(2 * (monthly(5.672) + ebsPerNode), 1);
  });

  it("charges S3 storage for weights kept in the model store: 16.06 GB × $0.023", () => {
    const line = plan.costs.find((c) => c.item.startsWith("S3 model store"))!;
    expect(line.monthlyUsd.max).toBeCloseTo((LLAMA_8B_BYTES / 1e9) * 0.023, 2);
    expect(line.source).toBe(SERVICE_PRICES.s3StandardUsdPerGbMonth.source);
  });

  it("stores a model used by two endpoints once", () => {
    const p = planServing(input({ endpoints: [endpoint("a", llama8b, { shape: "A10_X1" }), endpoint("b", llama8b, { shape: "L4_X1" })] }));
    const line = p.costs.find((c) => c.item.startsWith("S3 model store"))!;
    expect(line.monthlyUsd.max).toBeCloseTo((LLAMA_8B_BYTES / 1e9) * 0.023, 2);
  });

  it("gives each cost line a source", () => {
    for (const c of plan.costs) expect(c.source.length).toBeGreaterThan(0);
  });

  it("totals the cost lines with min ≤ expected ≤ max and more than $0", () => {
    const t = plan.totals.monthlyUsd;
    expect(t.min).toBeGreaterThan(0);
    expect(t.min).toBeLessThanOrEqual(t.expected);
    expect(t.expected).toBeLessThanOrEqual(t.max);
    const sum = (k: "min" | "expected" | "max") => plan.costs.reduce((a, c) => a + c.monthlyUsd[k], 0);
    expect(t.min).toBeCloseTo(sum("min"), 1);
    expect(t.max).toBeCloseTo(sum("max"), 1);
  });

  it("prices each endpoint's replica-hour at the node price over replicas per node", () => {
    const chat = plan.endpoints.find((e) => e.name === "chat")!;
    expect(chat.hourlyUsd).toBeCloseTo(5.672 / 2, 4);
    expect(chat.monthlyUsd.max).toBeCloseTo(monthly(5.672 / 2, 3), 0);
  });

  it("refuses the plan with BUDGET_EXCEEDED when the maximum cost is over budget, naming the largest item", () => {
    const p = planServing(input({ budgetUsdPerMonth: 1000 }));
    const f = p.findings.find((x) => x.code === "BUDGET_EXCEEDED")!;
    expect(f.severity).toBe("error");
    expect(f.message).toMatch(/^\[BUDGET_EXCEEDED\] stack: .+\. .+\. Fix: .+\.$/);
    expect(f.message).toContain("p5.48xlarge"); // 55.04 $/h × 730 h dwarfs everything else
    expect(p.totals.budgetUsdPerMonth).toBe(1000);
  });

  it("warns BUDGET_NEAR when the expected cost is over 80 % of a budget that the maximum still meets", () => {
    const fixed = input({ endpoints: [endpoint("chat", llama8b, { shape: "A10_X1", replicas: { min: 2, max: 2 } })] });
    const max = planServing(fixed).totals.monthlyUsd.max; // min = expected = max here
    const p = planServing({ ...fixed, budgetUsdPerMonth: max });
    expect(codes(p)).toEqual(["BUDGET_NEAR"]);
    expect(p.findings.find((f) => f.code === "BUDGET_NEAR")!.severity).toBe("warning");
  });

  it("accepts a budget above the maximum cost", () => {
    const p = planServing(input({ budgetUsdPerMonth: 1_000_000 }));
    expect(codes(p)).not.toContain("BUDGET_EXCEEDED");
  });
});

describe("endpoint checks", () => {
  it("refuses an EMBEDDING endpoint serving a text-generation model as ENDPOINT_KIND_MISMATCH", () => {
    const p = planServing(input({ endpoints: [endpoint("wrong", llama8b, { capability: "EMBEDDING" as Capability })] }));
    expect(codes(p)).toEqual(["ENDPOINT_KIND_MISMATCH"]);
    expect(p.findings[0].message).toMatch(/^\[ENDPOINT_KIND_MISMATCH\] stack\/wrong: .+\. .+\. Fix: declare the endpoint as TEXT_TO_TEXT.+\.$/);
    expect(p.endpoints).toEqual([]);
  });

  it("refuses a second endpoint with the same name as DUPLICATE_ENDPOINT and keeps the first", () => {
    const p = planServing(input({ endpoints: [endpoint("chat", llama8b, { shape: "A10_X1" }), { ...endpoint("chat", bge, { shape: "T4_X1", maxModelLen: 512 }), path: "stack/chat2" }] }));
    const f = p.findings.find((x) => x.code === "DUPLICATE_ENDPOINT")!;
    expect(f.path).toBe("stack/chat2");
    expect(f.message).toContain("stack/chat");
    expect(p.endpoints.map((e) => e.model)).toEqual(["meta-llama/Llama-3.1-8B-Instruct"]);
  });

  it("refuses Llama-3.1-70B on A10_X1 as MODEL_DOES_NOT_FIT and names shapes that fit, cheapest first", () => {
    const p = planServing(input({ endpoints: [endpoint("big", llama70b, { shape: "A10_X1" })] }));
    const f = p.findings.find((x) => x.code === "MODEL_DOES_NOT_FIT")!;
    expect(f.path).toBe("stack/big");
    expect(f.message).toContain("Shapes that fit, cheapest first:");
    const prices = [...f.message.matchAll(/\$([0-9.]+)\/h,/g)].map((m) => Number(m[1]));
    expect(prices.length).toBeGreaterThan(0);
    expect([...prices].sort((a, b) => a - b)).toEqual(prices);
    expect(p.endpoints).toEqual([]);
  });

  it("reports an unknown shape as SHAPE_UNKNOWN at the endpoint's path instead of throwing", () => {
    const p = planServing(input({ endpoints: [endpoint("chat", llama8b, { shape: "A10_X3" })] }));
    expect(codes(p)).toEqual(["SHAPE_UNKNOWN"]);
    expect(p.findings[0].path).toBe("stack/chat");
  });

  it("reports GPU_COUNT_NOT_OFFERED for A10_X2 pinned to g5.4xlarge", () => {
    const p = planServing(input({ endpoints: [endpoint("chat", llama8b, { shape: "A10_X2", instanceType: "g5.4xlarge" })] }));
    expect(codes(p)).toEqual(["GPU_COUNT_NOT_OFFERED"]);
  });

  it("refuses two endpoints of one shape that ask for different instance types as POOL_INSTANCE_CONFLICT", () => {
    const p = planServing(
      input({ endpoints: [endpoint("a", llama8b, { shape: "A10_X2" }), endpoint("b", llama8b, { shape: "A10_X2", instanceType: "g5.48xlarge" })] }),
    );
    const f = p.findings.find((x) => x.code === "POOL_INSTANCE_CONFLICT")!;
    expect(f.severity).toBe("error");
    expect(f.message).toContain("g5.12xlarge");
    expect(f.message).toContain("g5.48xlarge");
  });

  it("refuses an endpoint no catalog shape can serve as MODEL_DOES_NOT_FIT, with the first shape's reason", () => {
    const p = planServing(input({ endpoints: [endpoint("huge", model("meta-llama/Llama-3.1-405B-Instruct"), { maxModelLen: 131_072, minConcurrency: 1000 })] }));
    expect(codes(p)).toEqual(["MODEL_DOES_NOT_FIT"]);
    expect(p.findings[0].message).toMatch(/^\[MODEL_DOES_NOT_FIT\] stack\/huge: no shape in the catalog serves meta-llama\/Llama-3\.1-405B-Instruct at maxModelLen 131072 .+\. .+\. Fix: .+\.$/s);
    expect(p.nodePools).toEqual([]);
  });

  it("refuses tensorParallel 4 on the 2-GPU shape A10_X2: a replica's TP × PP must equal its shape's GPUs", () => {
    // reference/reliability-cost-anchors.md §5 #16 (GPU_LAYOUT_MISMATCH): a 4-rank replica on a 2-GPU shape would be
    // packed and billed as 2 GPUs while vLLM asks for 4.
    const p = planServing(input({ endpoints: [endpoint("chat", llama8b, { shape: "A10_X2", tensorParallel: 4 })] }));
    for (const e of p.endpoints) expect(e.tensorParallel * e.pipelineParallel).toBe(e.gpusPerReplica);
    expect(p.findings.filter((f) => f.severity === "error").length).toBeGreaterThan(0);
  });

  it("lists errors before warnings", () => {
    const p = planServing(input({ quotas: {}, budgetUsdPerMonth: 10 }));
    const severities = p.findings.map((f) => f.severity);
    expect(severities.indexOf("warning")).toBeGreaterThan(severities.lastIndexOf("error"));
  });
});

describe("the plan as data", () => {
  it("is plain JSON: a JSON round trip gives back the same plan", () => {
    const plan = planServing(input({ budgetUsdPerMonth: 50_000 }));
    expect(JSON.parse(JSON.stringify(plan))).toStrictEqual(plan);
  });

  it("is identical across two runs", () => {
    expect(JSON.stringify(planServing(input()))).toBe(JSON.stringify(planServing(input())));
  });

  it("does not depend on the order the endpoints are declared in", () => {
    const a = planServing(input());
    const i = input();
    const b = planServing({ ...i, endpoints: [...i.endpoints].reverse() });
    expect(b.endpoints).toStrictEqual(a.endpoints);
    expect(b.nodePools.map((p) => p.name)).toEqual(a.nodePools.map((p) => p.name));
    expect(b.totals).toStrictEqual(a.totals);
  });

  it("carries no timestamps and no absolute paths", () => {
    const text = JSON.stringify(planServing(input()));
    expect(text).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/);
    expect(text).not.toContain(process.cwd());
    expect(text).not.toContain(__dirname);
  });

  it("names the pinned vLLM image and the catalog's price date", () => {
    const plan = planServing(input());
    expect(plan.schemaVersion).toBe(1);
    expect(plan.catalog.vllmImage).toBe(VLLM_RELEASE.image);
    expect(plan.catalog.region).toBe("us-east-1");
    expect(plan.catalog.pricesCapturedAt).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});

describe("a declared instance type without a shape", () => {
  test("places the endpoint on that instance, in a shape of its GPU that divides it, and nowhere else", () => {
    const plan = planServing({ stackPath: "s", endpoints: [endpoint("chat", llama8b, { instanceType: "g5.12xlarge" })], quotas: { [G_QUOTA]: 1000 }, createsCluster: false });
    const e = plan.endpoints[0];
    expect(e.instanceType).toBe("g5.12xlarge");
    expect(e.shape).toMatch(/^A10_X(1|2|4)$/);
    expect(4 % e.gpusPerReplica).toBe(0);
    // Without it the planner would have chosen a cheaper one-GPU instance.
    expect(planServing({ stackPath: "s", endpoints: [endpoint("chat", llama8b)], quotas: { [G_QUOTA]: 1000 }, createsCluster: false }).endpoints[0].instanceType).not.toBe("g5.12xlarge");
  });

  test("an instance type the catalog does not know is INSTANCE_TYPE_UNKNOWN, never silently ignored", () => {
    const plan = planServing({ stackPath: "s", endpoints: [endpoint("chat", llama8b, { instanceType: "g5.13xlarge" })], quotas: { [G_QUOTA]: 1000 }, createsCluster: false });
    expect(plan.endpoints).toEqual([]);
    expect(plan.findings.map((f) => f.code)).toContain("INSTANCE_TYPE_UNKNOWN");
  });
});
