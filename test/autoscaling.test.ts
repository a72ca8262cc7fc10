import { Testing } from "cdktf";
import { ModelSource } from "../constructs/model-source";
import type { ClusterAddons } from "../constructs/gpu-cluster";
import { ModelServingStack } from "../stacks/model-serving-stack";
import { synthPhases } from "./fixtures/phases";

process.env.MODEL_SERVING_QUIET = "1";

const QWEN = () => ModelSource.huggingFace("Qwen/Qwen2.5-7B-Instruct", { revision: "a09a35458c702b33eeacc393d103063234e8bc28" });
const ADDONS: ClusterAddons = { keda: { prometheusUrl: "http://prometheus.monitoring.svc:9090" }, nodeAutoscaler: "cluster-autoscaler" };

function scaled(min: number, max: number, addons: ClusterAddons | undefined = ADDONS, metric?: "queue" | "kv-cache") {
  const app = Testing.app();
  const stack = new ModelServingStack(app, "s", { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: { "L-DB2E81BA": 1000 }, ...(addons ? { addons } : {}) } } });
  const qwen = stack.importModel("qwen", { source: QWEN() });
  stack.addEndpoint("chat", { model: qwen, shape: "L40S_X1", maxModelLen: 8192, autoscaling: { minReplicas: min, maxReplicas: max, ...(metric ? { metric } : {}) } });
  return stack;
}

describe("autoscaling", () => {
  test("scales on vLLM's queue depth with a KEDA ScaledObject, and Terraform leaves the replica count alone", () => {
    const stack = scaled(1, 4);
    const tf = synthPhases(stack);
    const so = (Object.values(tf.resource.kubernetes_manifest) as any[])[0].manifest;
    expect(so).toMatchObject({ apiVersion: "keda.sh/v1alpha1", kind: "ScaledObject", spec: { scaleTargetRef: { name: "chat" }, minReplicaCount: 1, maxReplicaCount: 4 } });
    expect(so.spec.triggers[0]).toEqual({ type: "prometheus", metadata: { serverAddress: "http://prometheus.monitoring.svc:9090", query: 'sum(vllm:num_requests_waiting{namespace="model-serving",model_name="chat"})', threshold: "5", activationThreshold: "0" } });
    const dep = (Object.values(tf.resource.kubernetes_deployment_v1) as any[])[0];
    expect(dep.lifecycle.ignore_changes).toEqual(["spec[0].replicas"]);
    expect(dep.spec.template.metadata.annotations["prometheus.io/scrape"]).toBe("true");
  });

  test("can scale on KV-cache use instead", () => {
    const tf = synthPhases(scaled(1, 3, ADDONS, "kv-cache"));
    const so = (Object.values(tf.resource.kubernetes_manifest) as any[])[0].manifest;
    expect(so.spec.triggers[0].metadata).toMatchObject({ query: 'avg(vllm:kv_cache_usage_perc{namespace="model-serving",model_name="chat"})', threshold: "0.8" });
  });

  test("derives the pool's node range from the replicas and prices min and max honestly", () => {
    const plan = scaled(1, 4).cluster.plan();
    expect(plan.nodePools[0].nodes).toEqual({ min: 1, expected: 3, max: 4 }); // g6e.xlarge holds one L40S replica
    const e = plan.endpoints[0];
    expect(e.monthlyUsd.max).toBeCloseTo(4 * e.monthlyUsd.min, 1);
    expect(e.monthlyUsd.min).toBeLessThan(e.monthlyUsd.expected);
  });

  test("tags the node group for Cluster Autoscaler, including scale-from-zero templates", () => {
    const tf = synthPhases(scaled(0, 2));
    const group = (Object.values(tf.resource.aws_eks_node_group) as any[]).find((g) => g.node_group_name === "l40s-x1");
    expect(group.tags).toMatchObject({ "k8s.io/cluster-autoscaler/enabled": "true", "k8s.io/cluster-autoscaler/c": "owned", "k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu": "1" });
    expect(group.scaling_config.min_size).toBe(0);
  });

  test("refuses an autoscaled endpoint without a metrics source", () => {
    expect(() => Testing.synth(scaled(1, 4, {}), true)).toThrow(/\[METRIC_SOURCE_MISSING\] s\/chat: autoscaling needs KEDA and a Prometheus .*Fix: declare addons: \{ keda: true \}/);
  });

  test("refuses a pool that must grow with no node autoscaler", () => {
    expect(() => Testing.synth(scaled(1, 4, { keda: ADDONS.keda }), true)).toThrow(/\[NO_NODE_AUTOSCALER\] s-cluster\/cluster: pool l40s-x1 must grow from 1 to 4 nodes/);
  });

  test("allows scale to zero and states the cold start it implies", () => {
    const plan = scaled(0, 2).cluster.allFindings();
    const w = plan.find((f) => f.code === "SCALE_TO_ZERO_COLD_START")!;
    expect(w.severity).toBe("warning");
    // Qwen2.5-7B: 15.2 GB of weights at 200 MiB/s plus 180 s of warm-up, after a 240 s node launch.
    expect(w.message).toMatch(/15\.2 GB of weights .*\(about 253 s\)/);
  });

  test("refuses a range that is not one", () => {
    expect(() => Testing.synth(scaled(4, 2), true)).toThrow(/\[AUTOSCALING_RANGE_INVALID\]/);
  });
});
