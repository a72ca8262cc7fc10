/**
 * An autoscaling range from a peak and a baseline rate: the planner sizes minReplicas for the
 * baseline and maxReplicas for the peak, both at the latency targets, states each end's headroom,
 * and the endpoint renders the range as a KEDA ScaledObject.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Testing } from "cdktf";
import { findCatalogModel } from "../catalog/models";
import { planServing, type EndpointDeclaration, type ModelDeclaration } from "../planner/plan";
import type { ThroughputTarget } from "../planner/plan-types";
import { ModelSource, SecretRef } from "../constructs/model-source";
import type { InferenceEndpointProps } from "../constructs/inference-endpoint";
import { ModelServingStack } from "../stacks/model-serving-stack";
import { capabilityOfCatalogModel, catalogProfile } from "./fixtures/models";
import { DEPLOYER_CIDRS, synthPhases } from "./fixtures/phases";
import { synthAttempt } from "./fixtures/errors";

process.env.MODEL_SERVING_QUIET = "1";

function model(id: string): ModelDeclaration {
  const m = findCatalogModel(id)!;
  return { name: id.split("/")[1].toLowerCase(), path: `stack/models/${id}`, modelId: id, revision: m.revision, capability: capabilityOfCatalogModel(id), profile: catalogProfile(id), storedInS3: false };
}
const llama8b = model("meta-llama/Llama-3.1-8B-Instruct");
const PEAK: ThroughputTarget = { requestsPerSecond: 6, inputTokens: 1500, outputTokens: 300, p95TtftMs: 1500, p95TpotMs: 50 };

function byTraffic(throughput: ThroughputTarget, over: Partial<EndpointDeclaration> = {}): EndpointDeclaration {
  return { name: "chat", path: "stack/chat", model: llama8b, capability: llama8b.capability, maxModelLen: 8192, replicas: { min: 1, max: 1, expected: 1 }, capacityType: "ON_DEMAND", throughput, replicasFromThroughput: true, ...over };
}
const plan = (e: EndpointDeclaration) => planServing({ stackPath: "stack", createsCluster: false, quotas: { "L-DB2E81BA": 10000, "L-417A185B": 10000 }, endpoints: [e] });

describe("a peak and a baseline rate", () => {
  const ranged = plan(byTraffic({ ...PEAK, baselineRequestsPerSecond: 1 }));
  const e = ranged.endpoints[0];
  const perReplica = e.performance!.perReplicaAtTarget!.requestsPerSecond;

  test("give minReplicas for the baseline and maxReplicas for the peak, each the fewest that serve their rate at the targets", () => {
    expect(e.replicas.min).toBeLessThan(e.replicas.max);
    expect(e.replicas.min * perReplica).toBeGreaterThanOrEqual(1);
    expect((e.replicas.min - 1) * perReplica).toBeLessThan(1);
    expect(e.replicas.max * perReplica).toBeGreaterThanOrEqual(6);
    expect((e.replicas.max - 1) * perReplica).toBeLessThan(6);
    expect(e.replicas.expected).toBe(Math.ceil((e.replicas.min + e.replicas.max) / 2));
  });

  test("keep the shape and the peak's replicas that the peak alone would get", () => {
    const peakOnly = plan(byTraffic(PEAK)).endpoints[0];
    expect([e.shape, e.instanceType, e.replicas.max]).toEqual([peakOnly.shape, peakOnly.instanceType, peakOnly.replicas.max]);
  });

  test("state both ends of the range in the plan with their headroom", () => {
    const r = e.performance!.replicaRange!;
    expect(r.basis).toBe("derived");
    expect(r.baseline).toMatchObject({ requestsPerSecond: 1, replicas: e.replicas.min, replicasNeeded: e.replicas.min });
    expect(r.peak).toMatchObject({ requestsPerSecond: 6, replicas: e.replicas.max, replicasNeeded: e.replicas.max });
    expect(r.baseline.headroom).toBeCloseTo((e.replicas.min * perReplica) / 1 - 1, 2);
    expect(r.peak.headroom).toBeCloseTo((e.replicas.max * perReplica) / 6 - 1, 2);
  });

  test("a baseline in output tokens per second is read in the peak's unit", () => {
    const tokens = plan(byTraffic({ inputTokens: 1500, outputTokens: 300, p95TtftMs: 1500, p95TpotMs: 50, outputTokensPerSecond: 1800, baselineOutputTokensPerSecond: 300 })).endpoints[0];
    expect(tokens.replicas).toEqual(e.replicas);
    expect(tokens.performance!.replicaRange!.baseline.requestsPerSecond).toBe(1);
  });

  test("a baseline of 0 scales to zero, and the plan states the cold start", () => {
    const zero = plan(byTraffic({ ...PEAK, baselineRequestsPerSecond: 0 }));
    expect(zero.endpoints[0].replicas.min).toBe(0);
    expect(zero.endpoints[0].performance!.replicaRange!.baseline.headroom).toBeNull();
    expect(zero.findings.map((f) => f.code)).toContain("SCALE_TO_ZERO_COLD_START");
  });

  test("a declared autoscaling range whose minimum cannot carry the baseline is warned about, with the replicas it needs", () => {
    const declared = plan(byTraffic({ ...PEAK, baselineRequestsPerSecond: 4 }, { replicasFromThroughput: false, replicas: { min: 1, max: 10, expected: 3 } }));
    const w = declared.findings.find((f) => f.code === "AUTOSCALING_MIN_BELOW_BASELINE")!;
    const needed = declared.endpoints[0].performance!.replicaRange!.baseline.replicasNeeded;
    expect(needed).toBeGreaterThan(1);
    expect(w.message).toMatch(new RegExp(`minReplicas 1 serve .* needs ${needed} replica\\(s\\).*Fix: raise autoscaling\\.minReplicas to ${needed}`));
    expect(declared.endpoints[0].performance!.replicaRange!.basis).toBe("declared");
  });

  test.each([
    ["a baseline above the peak", { ...PEAK, baselineRequestsPerSecond: 8 }, "baselineRequestsPerSecond 8 is above the peak requestsPerSecond 6"],
    ["a negative baseline", { ...PEAK, baselineRequestsPerSecond: -1 }, "must be a number ≥ 0 (got -1)"],
    ["a baseline in another unit than the peak", { ...PEAK, baselineOutputTokensPerSecond: 300 }, "baselineOutputTokensPerSecond is declared with a peak in requestsPerSecond"],
  ])("%s is a coded error naming the field and the value", (_what, throughput, mentions) => {
    const p = plan(byTraffic(throughput));
    expect(p.endpoints).toEqual([]);
    const f = p.findings.find((x) => x.code === "THROUGHPUT_INVALID")!;
    expect(f.message).toMatch(/^\[THROUGHPUT_INVALID\] stack\/chat: .+Fix: .+/);
    expect(f.message).toContain(mentions);
  });
});

const LLAMA8 = () => ModelSource.huggingFace("meta-llama/Llama-3.1-8B-Instruct", { revision: "0e9e39f249a16976918f6564b8830bc894c89659", token: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:hf-token") });
type Props = Omit<InferenceEndpointProps, "cluster" | "model">;
function stackWith(props: Partial<Props>, addons = {}, app: App = Testing.app()): ModelServingStack {
  const stack = new ModelServingStack(app, "s", { cluster: { create: { publicAccessCidrs: DEPLOYER_CIDRS, clusterName: "c", quotas: { "L-DB2E81BA": 10000 }, addons } } });
  stack.addEndpoint("chat", { model: stack.importModel("llama", { source: LLAMA8() }), maxModelLen: 8192, ...props });
  return stack;
}

describe("an endpoint with a baseline rate", () => {
  test("autoscales between the planned ends: a KEDA ScaledObject with the plan's min and max, and Terraform leaves the replica count to it", () => {
    const stack = stackWith({ throughput: { ...PEAK, baselineRequestsPerSecond: 1 } }, { keda: true, nodeAutoscaler: "cluster-autoscaler" });
    const planned = stack.cluster.plan().endpoints[0];
    const tf = synthPhases(stack);
    const scaled = (Object.values(tf.resource.kubernetes_manifest) as any[]).find((m) => m.manifest.kind === "ScaledObject").manifest;
    expect(scaled.spec).toMatchObject({ minReplicaCount: planned.replicas.min, maxReplicaCount: planned.replicas.max, scaleTargetRef: { name: "chat" } });
    const deployment = (Object.values(tf.resource.kubernetes_deployment_v1) as any[])[0];
    expect(deployment.spec.replicas).toBe(String(planned.replicas.min));
    expect(deployment.lifecycle.ignore_changes).toEqual(["spec[0].replicas"]);
    // The node pool is sized for the whole range.
    expect(stack.cluster.plan().nodePools[0].nodes).toMatchObject({ min: planned.replicas.min, max: planned.replicas.max });
  });

  test("the serving plan's tables show the range with each end's headroom", () => {
    const outdir = mkdtempSync(join(tmpdir(), "range-"));
    try {
      const app = new App({ outdir });
      stackWith({ throughput: { ...PEAK, baselineRequestsPerSecond: 1 } }, { keda: true, nodeAutoscaler: "cluster-autoscaler" }, app);
      app.synth();
      const md = readFileSync(join(outdir, "stacks", "s", "serving-plan.md"), "utf8");
      const plan = JSON.parse(readFileSync(join(outdir, "stacks", "s", "serving-plan.json"), "utf8"));
      const r = plan.endpoints[0].performance.replicaRange;
      expect(md).toContain(`1 → 6 req/s: ${r.baseline.replicas} → ${r.peak.replicas} replicas (derived), headroom ${Math.round(r.baseline.headroom * 100)}% / ${Math.round(r.peak.headroom * 100)}%`);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  test.each([
    ["with fixed replicas", { replicas: 2, throughput: { ...PEAK, baselineRequestsPerSecond: 1 } }, { keda: true }, "BASELINE_WITH_FIXED_REPLICAS", "fixed replicas 2"],
    ["on a cluster without KEDA", { throughput: { ...PEAK, baselineRequestsPerSecond: 1 } }, {}, "METRIC_SOURCE_MISSING", "a baseline rate asks for an autoscaling range"],
  ] as Array<[string, Partial<Props>, object, string, string]>)("%s is a coded error, and nothing is written", (_what, props, addons, code, mentions) => {
    const { message, wroteNothing } = synthAttempt((app) => stackWith(props, addons, app));
    const line = message.split("\n").find((l) => l.includes(`[${code}]`))!;
    expect(line).toMatch(new RegExp(`\\[${code}\\] s/chat: .+Fix: .+`));
    expect(line).toContain(mentions);
    expect(wroteNothing).toBe(true);
  });
});
