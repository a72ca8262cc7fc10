/**
 * The cost review of a change: two real plans of the same stack, before and after, compared endpoint by
 * endpoint, pool by pool and quota by quota.
 */
import { findCatalogModel } from "../catalog/models";
import { planDiffMarkdown } from "../constructs/plan-report";
import { planServing, type EndpointDeclaration, type ModelDeclaration } from "../planner/plan";
import { diffPlans } from "../planner/plan-diff";
import { capabilityOfCatalogModel, catalogProfile } from "./fixtures/models";

function model(id: string): ModelDeclaration {
  const m = findCatalogModel(id)!;
  return { name: id, path: `stack/models/${id}`, modelId: id, revision: m.revision, capability: capabilityOfCatalogModel(id), profile: catalogProfile(id), storedInS3: false };
}
const llama = model("meta-llama/Llama-3.1-8B-Instruct");
const bge = model("BAAI/bge-large-en-v1.5");
const endpoint = (name: string, m: ModelDeclaration, over: Partial<EndpointDeclaration>): EndpointDeclaration => ({ name, path: `stack/${name}`, model: m, capability: m.capability, maxModelLen: 8192, replicas: { min: 1, max: 1 }, capacityType: "ON_DEMAND", ...over });
const plan = (...endpoints: EndpointDeclaration[]) => planServing({ stackPath: "stack", createsCluster: true, quotas: { "L-DB2E81BA": 400 }, endpoints });

const before = plan(endpoint("chat", llama, { shape: "A10_X1", replicas: { min: 1, max: 2 } }), endpoint("embed", bge, { shape: "T4_X1", maxModelLen: 512 }));
const after = plan(endpoint("chat", llama, { shape: "L40S_X1", replicas: { min: 2, max: 4 } }), endpoint("search", bge, { shape: "T4_X1", maxModelLen: 512 }));
const diff = diffPlans({ app: before }, { app: after });
const stack = diff.stacks[0];

it("totals the monthly change as after minus before, for min, expected and max", () => {
  expect(diff.totals.before).toEqual(before.totals.monthlyUsd);
  expect(diff.totals.after).toEqual(after.totals.monthlyUsd);
  for (const k of ["min", "expected", "max"] as const) expect(diff.totals.delta[k]).toBeCloseTo(after.totals.monthlyUsd[k] - before.totals.monthlyUsd[k], 2);
});

it("lists a renamed endpoint as one removed and one added, each with its whole cost", () => {
  const embed = stack.endpoints.find((e) => e.name === "embed")!;
  const search = stack.endpoints.find((e) => e.name === "search")!;
  expect(embed).toMatchObject({ status: "removed", after: null });
  expect(embed.monthlyUsdDelta.expected).toBeCloseTo(-before.endpoints.find((e) => e.name === "embed")!.monthlyUsd.expected, 2);
  expect(search).toMatchObject({ status: "added", before: null });
});

it("says what moved on a changed endpoint: shape, replicas, cost and $ per 1M tokens", () => {
  const chat = stack.endpoints.find((e) => e.name === "chat")!;
  expect(chat.status).toBe("changed");
  expect(chat.changes).toEqual(expect.arrayContaining(["shape A10_X1 (g5.xlarge) → L40S_X1 (g6e.xlarge)", "replicas 1/1/2 → 2/2/4"]));
  expect(chat.changes.some((c) => c.startsWith("$/1M output tokens"))).toBe(true);
  expect(chat.before!.usdPer1MOutputTokens).toBe(before.endpoints.find((e) => e.name === "chat")!.performance!.usdPer1MOutputTokens.atSaturation);
});

it("shows node pools that appear and go, and the quota the new plan needs", () => {
  expect(stack.nodePools.map((p) => [p.name, p.status])).toEqual(expect.arrayContaining([["a10-x1", "removed"], ["l40s-x1", "added"], ["t4-x1", "unchanged"]]));
  const g = stack.quotas.find((q) => q.code === "L-DB2E81BA")!;
  expect(g.neededVcpusBefore).toBe(before.quotas[0].neededVcpus);
  expect(g.neededVcpusAfter).toBe(after.quotas[0].neededVcpus);
});

it("reports nothing changed when a plan is compared with itself", () => {
  const same = diffPlans({ app: before }, { app: before });
  expect(same.stacks[0].status).toBe("unchanged");
  expect(same.stacks[0].endpoints.every((e) => e.status === "unchanged")).toBe(true);
  expect(same.totals.delta).toEqual({ min: 0, expected: 0, max: 0 });
  expect(planDiffMarkdown(same)).toContain("No endpoint changed.");
});

it("renders the review as markdown with signed changes", () => {
  const md = planDiffMarkdown(diff);
  expect(md).toMatch(/^## Serving cost change: \$[\d,.]+ → \$[\d,.]+ per month expected \([+−][\d.]+ %\)/);
  expect(md).toMatch(/\| embed \| removed \|.*\| −\$/);
  expect(md).toMatch(/\| l40s-x1 \| added \| g6e\.xlarge \| — \|/);
});
