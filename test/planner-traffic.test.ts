/**
 * Sizing by traffic and the plan's unit economics: endpoints that declare requests (or output tokens)
 * per second and latency targets get the cheapest shape and replica count that serve them, with the
 * headroom stated, and coded errors when a target cannot be met.
 */
import "cdktf/lib/testing/adapters/jest";
import { Testing } from "cdktf";
import { findCatalogModel } from "../catalog/models";
import { replicaCapacity } from "../planner/capacity";
import { planServing, type EndpointDeclaration, type ModelDeclaration } from "../planner/plan";
import type { ThroughputTarget } from "../planner/plan-types";
import { chooseShape } from "../planner/choose";
import { engineFor } from "../planner/engine";
import { replicaOf, replicaSetUsdPerHour } from "../planner/traffic";
import { ModelSource, SecretRef } from "../constructs/model-source";
import { ModelServingStack } from "../stacks/model-serving-stack";
import { capabilityOfCatalogModel, catalogProfile } from "./fixtures/models";

function model(id: string): ModelDeclaration {
  const m = findCatalogModel(id)!;
  return { name: id.split("/")[1].toLowerCase(), path: `stack/models/${id}`, modelId: id, revision: m.revision, capability: capabilityOfCatalogModel(id), profile: catalogProfile(id), storedInS3: false };
}
const llama8b = model("meta-llama/Llama-3.1-8B-Instruct");
const bge = model("BAAI/bge-large-en-v1.5");

function byTraffic(name: string, m: ModelDeclaration, throughput: ThroughputTarget, over: Partial<EndpointDeclaration> = {}): EndpointDeclaration {
  return { name, path: `stack/${name}`, model: m, capability: m.capability, maxModelLen: 8192, replicas: { min: 1, max: 1, expected: 1 }, capacityType: "ON_DEMAND", throughput, replicasFromThroughput: true, ...over };
}
const plan = (...endpoints: EndpointDeclaration[]) => planServing({ stackPath: "stack", createsCluster: false, quotas: { "L-DB2E81BA": 10000, "L-417A185B": 10000 }, endpoints });
const codes = (p: { findings: readonly { code: string }[] }) => p.findings.map((f) => f.code);

describe("an endpoint declared by traffic and latency", () => {
  const traffic: ThroughputTarget = { requestsPerSecond: 12, inputTokens: 1000, outputTokens: 250, p95TtftMs: 1500, p95TpotMs: 60 };
  const p = plan(byTraffic("chat", llama8b, traffic));
  const e = p.endpoints[0];

  it("gets enough replicas of its shape for the declared rate at the targets, and not one more", () => {
    expect(codes(p).filter((c) => !c.startsWith("QUOTA") && c !== "THROUGHPUT_HEADROOM_THIN")).toEqual([]);
    const perReplica = e.performance!.perReplicaAtTarget!.requestsPerSecond;
    expect(e.replicas.min).toBe(e.replicas.max);
    expect(e.replicas.expected * perReplica).toBeGreaterThanOrEqual(12);
    expect((e.replicas.expected - 1) * perReplica).toBeLessThan(12);
    expect(e.performance!.perReplicaAtTarget!.p95TtftMs).toBeLessThanOrEqual(1500);
    expect(e.performance!.perReplicaAtTarget!.p95TpotMs).toBeLessThanOrEqual(60);
  });

  it("is the cheapest way to serve it: no other shape that holds the model serves the rate at the targets for less per hour", () => {
    const engine = engineFor("0.24.0");
    const fits = chooseShape({ profile: llama8b.profile, engine, maxModelLen: 8192, path: "stack/chat" }).ranked.filter((f) => f.feasible);
    const chosenCost = replicaSetUsdPerHour(fits.find((f) => f.shape.name === e.shape)!, e.replicas.expected);
    for (const f of fits) {
      const r = replicaOf(f, llama8b.profile, engine);
      if (!r) continue;
      // A shape whose single replica costs as much as the whole choice cannot beat it.
      if (replicaSetUsdPerHour(f, 1) >= chosenCost) continue;
      const at = replicaCapacity(r, { inputTokens: 1000, outputTokens: 250 }, { p95TtftMs: 1500, p95TpotMs: 60 }).atTarget;
      if (!at) continue;
      expect(replicaSetUsdPerHour(f, Math.ceil(12 / at.requestsPerSecond - 1e-9))).toBeGreaterThanOrEqual(chosenCost - 1e-9);
    }
  });

  it("states the declared load, the replicas it needs and the headroom they leave", () => {
    const d = e.performance!.declaredLoad!;
    expect(d).toMatchObject({ requestsPerSecond: 12, outputTokensPerSecond: 3000, totalTokensPerSecond: 15000, replicasNeeded: e.replicas.expected });
    expect(d.headroom).toBeCloseTo((e.replicas.expected * e.performance!.perReplicaAtTarget!.requestsPerSecond) / 12 - 1, 2);
  });

  it("prices a million tokens at the declared load as the replicas' hourly cost over the tokens the traffic brings, and cheaper when saturated", () => {
    const perf = e.performance!;
    expect(perf.usdPer1MOutputTokens.atDeclaredLoad).toBeCloseTo(((e.hourlyUsd * e.replicas.expected) / (3000 * 3600)) * 1e6, 3);
    expect(perf.usdPer1MTotalTokens.atDeclaredLoad).toBeCloseTo(((e.hourlyUsd * e.replicas.expected) / (15000 * 3600)) * 1e6, 3);
    expect(perf.usdPer1MOutputTokens.atSaturation!).toBeLessThan(perf.usdPer1MOutputTokens.atDeclaredLoad!);
  });

  it("reads output tokens per second as the same traffic in requests: 3000 tok/s of 250-token answers is 12 req/s", () => {
    const q = plan(byTraffic("chat", llama8b, { outputTokensPerSecond: 3000, inputTokens: 1000, outputTokens: 250, p95TtftMs: 1500, p95TpotMs: 60 }));
    expect(q.endpoints[0]).toMatchObject({ shape: e.shape, replicas: e.replicas });
  });
});

describe("traffic the planner cannot serve as declared", () => {
  it("says no shape meets a TPOT target faster than any GPU reads the weights, naming the best achievable figure", () => {
    const p = plan(byTraffic("chat", llama8b, { requestsPerSecond: 1, inputTokens: 500, outputTokens: 100, p95TpotMs: 0.5 }));
    const f = p.findings.find((x) => x.code === "LATENCY_TARGET_UNREACHABLE")!;
    expect(f.severity).toBe("error");
    expect(f.field).toBe("throughput.p95TpotMs");
    expect(f.message).toMatch(/best achievable, one request at a time, is p95 TPOT \d+(\.\d+)? ms on [A-Z0-9_]+ \(target 0\.5 ms\)/);
    expect(p.endpoints).toEqual([]);
  });

  it("refuses declared replicas that cannot carry the rate, and says how many would", () => {
    const p = plan(byTraffic("chat", llama8b, { requestsPerSecond: 200, inputTokens: 1000, outputTokens: 250 }, { shape: "L4_X1", replicas: { min: 1, max: 2 }, replicasFromThroughput: false }));
    const f = p.findings.find((x) => x.code === "THROUGHPUT_NOT_MET")!;
    expect(f.message).toMatch(/200 requests\/s need \d+ replicas even on L4_X1 .* but at most 2 are declared/);
  });

  it.each([
    [{ inputTokens: 100, outputTokens: 10 }, "THROUGHPUT_INVALID"],
    [{ requestsPerSecond: 1, outputTokensPerSecond: 5, inputTokens: 100, outputTokens: 10 }, "THROUGHPUT_INVALID"],
    [{ requestsPerSecond: -1, inputTokens: 100, outputTokens: 10 }, "THROUGHPUT_INVALID"],
    [{ requestsPerSecond: 1, inputTokens: 100.5, outputTokens: 10 }, "THROUGHPUT_INVALID"],
    [{ requestsPerSecond: 1, inputTokens: 8000, outputTokens: 500 }, "THROUGHPUT_EXCEEDS_CONTEXT"],
  ] as const)("rejects %j with %s", (t, code) => {
    const p = plan(byTraffic("chat", llama8b, t as ThroughputTarget));
    expect(codes(p)).toContain(code);
    expect(p.findings.find((f) => f.code === code)!.message).toMatch(/^\[[A-Z_]+\] stack\/chat: .+\. .+\. Fix: .+\.$/);
  });
});

it("sizes an embedding endpoint by passages per second: no output tokens, $ per 1M input tokens", () => {
  const p = plan(byTraffic("embed", bge, { requestsPerSecond: 300, inputTokens: 400, outputTokens: 0 }, { maxModelLen: 512 }));
  const e = p.endpoints[0];
  expect(e.performance!.perReplicaAtTarget!.outputTokensPerSecond).toBeNull();
  expect(e.performance!.usdPer1MOutputTokens).toEqual({ atDeclaredLoad: null, atSaturation: null });
  expect(e.performance!.usdPer1MTotalTokens.atDeclaredLoad).toBeGreaterThan(0);
  expect(e.replicas.expected * e.performance!.perReplicaAtTarget!.requestsPerSecond).toBeGreaterThanOrEqual(300);
});

it("gives every endpoint without declared traffic its capacity at vLLM's benchmark default request (1024 in, 128 out) and $ per 1M tokens saturated", () => {
  const p = plan({ name: "chat", path: "stack/chat", model: llama8b, capability: llama8b.capability, maxModelLen: 8192, shape: "L40S_X1", replicas: { min: 1, max: 1 }, capacityType: "ON_DEMAND" });
  const perf = p.endpoints[0].performance!;
  expect(perf.workload).toEqual({ inputTokens: 1024, outputTokens: 128, basis: "assumed" });
  expect(perf.targets).toEqual({ p95TtftMs: 2000, p95TpotMs: null, basis: "default" });
  expect(perf.declaredLoad).toBeNull();
  expect(perf.usdPer1MOutputTokens.atDeclaredLoad).toBeNull();
  expect(perf.usdPer1MOutputTokens.atSaturation).toBeCloseTo((p.endpoints[0].hourlyUsd / (perf.perReplicaAtSaturation.outputTokensPerSecond! * 3600)) * 1e6, 3);
});

it("renders the replica count the planner chose into the Deployment when the endpoint declares traffic and no replicas", () => {
  const app = Testing.app();
  const stack = new ModelServingStack(app, "traffic", { cluster: { existing: { clusterName: "c", subnetIds: ["subnet-0a1b2c3d4e5f60718"], quotas: { "L-DB2E81BA": 10000 } } } });
  const m = stack.importModel("llama", { source: ModelSource.huggingFace("meta-llama/Llama-3.1-8B-Instruct", { revision: "0e9e39f249a16976918f6564b8830bc894c89659", token: SecretRef.fromKubernetesSecret("hf-token", "token") }) });
  const ep = stack.addEndpoint("chat", { model: m, maxModelLen: 8192, throughput: { requestsPerSecond: 12, inputTokens: 1000, outputTokens: 250, p95TtftMs: 1500, p95TpotMs: 60 } });
  const synthesized = JSON.parse(Testing.synth(stack, true));
  const planned = ep.placed!.decl.replicas.expected;
  expect(planned).toBeGreaterThan(1);
  const deployments = Object.values(synthesized.resource.kubernetes_deployment_v1 as Record<string, { spec: { replicas: string } }>);
  expect(deployments.map((d) => d.spec.replicas)).toEqual([String(planned)]);
});
