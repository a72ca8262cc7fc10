/**
 * The CRD validator proves emitted custom resources against the vendored schemas of the pinned
 * charts; these tests show it accepts real-looking objects and names the exact field of a bad one.
 */
import { validateCustomResource, vendoredKinds } from "./fixtures/crd-validator";

const scaledObject = {
  apiVersion: "keda.sh/v1alpha1",
  kind: "ScaledObject",
  metadata: { name: "llama-chat", namespace: "model-serving" },
  spec: {
    scaleTargetRef: { name: "llama-chat" },
    minReplicaCount: 1,
    maxReplicaCount: 4,
    triggers: [{ type: "prometheus", metadata: { serverAddress: "http://prometheus-server.monitoring.svc", query: "sum(vllm:num_requests_waiting)", threshold: "5" } }],
  },
};

const httpRoute = {
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "HTTPRoute",
  metadata: { name: "chat", namespace: "model-serving" },
  spec: { parentRefs: [{ name: "model-gateway", namespace: "model-serving" }], rules: [{ backendRefs: [{ name: "chat-blue", port: 80, weight: 90 }, { name: "chat-green", port: 80, weight: 10 }] }] },
};

const container = { name: "vllm", image: "vllm/vllm-openai:v0.11.0", resources: { limits: { "nvidia.com/gpu": "8" } } };
const leaderWorkerSet = (maxUnavailable: unknown, extraContainerField: Record<string, unknown> = {}) => ({
  apiVersion: "leaderworkerset.x-k8s.io/v1",
  kind: "LeaderWorkerSet",
  metadata: { name: "big-model", namespace: "model-serving" },
  spec: {
    replicas: 1,
    rolloutStrategy: { type: "RollingUpdate", rollingUpdateConfiguration: { maxUnavailable, maxSurge: 0 } },
    leaderWorkerTemplate: {
      size: 2,
      leaderTemplate: { metadata: { labels: { role: "leader" } }, spec: { containers: [{ ...container, ...extraContainerField }] } },
      workerTemplate: { spec: { containers: [container] } },
    },
  },
});

describe("the CRD validator", () => {
  it("has a vendored schema for every kind the library emits", () => {
    expect(vendoredKinds()).toEqual(
      expect.arrayContaining([
        "keda.sh/ScaledObject",
        "leaderworkerset.x-k8s.io/LeaderWorkerSet",
        "gateway.networking.k8s.io/Gateway",
        "gateway.networking.k8s.io/GatewayClass",
        "gateway.networking.k8s.io/HTTPRoute",
        "gateway.envoyproxy.io/EnvoyProxy",
        "gateway.envoyproxy.io/SecurityPolicy",
        "gateway.envoyproxy.io/BackendTrafficPolicy",
        "gateway.envoyproxy.io/ClientTrafficPolicy",
        "gateway.envoyproxy.io/Backend",
        "aigateway.envoyproxy.io/AIGatewayRoute",
        "aigateway.envoyproxy.io/AIServiceBackend",
        "aigateway.envoyproxy.io/BackendSecurityPolicy",
        "inference.networking.k8s.io/InferencePool",
        "external-secrets.io/ExternalSecret",
        "external-secrets.io/ClusterSecretStore",
      ]),
    );
  });

  it("accepts a real-looking ScaledObject, HTTPRoute and LeaderWorkerSet", () => {
    expect(validateCustomResource(scaledObject)).toEqual({ valid: true, errors: [] });
    expect(validateCustomResource(httpRoute)).toEqual({ valid: true, errors: [] });
    expect(validateCustomResource(leaderWorkerSet(1))).toEqual({ valid: true, errors: [] });
  });

  it("rejects a misspelled field with its path", () => {
    const bad = { ...scaledObject, spec: { ...scaledObject.spec, scaleTargetRef: undefined, scaleTargetRf: { name: "llama-chat" } } };
    delete (bad.spec as Record<string, unknown>).scaleTargetRef;
    const r = validateCustomResource(bad);
    expect(r.valid).toBe(false);
    expect(r.errors).toContain('spec: unknown field "scaleTargetRf"');
    expect(r.errors).toContain('spec: missing required field "scaleTargetRef"');
  });

  it("rejects a wrong type with its path", () => {
    const bad = { ...httpRoute, spec: { ...httpRoute.spec, rules: [{ backendRefs: [{ name: "chat-blue", port: 80, weight: "90" }] }] } };
    expect(validateCustomResource(bad).errors).toContain("spec.rules[0].backendRefs[0].weight: must be integer");
  });

  it("checks fields inside embedded pod templates", () => {
    const r = validateCustomResource(leaderWorkerSet(1, { imagePullPolcy: "Always" }));
    expect(r.errors).toEqual(['spec.leaderWorkerTemplate.leaderTemplate.spec.containers[0]: unknown field "imagePullPolcy"']);
  });

  it("accepts an integer or a string where the schema says x-kubernetes-int-or-string, and nothing else", () => {
    expect(validateCustomResource(leaderWorkerSet("25%")).valid).toBe(true);
    expect(validateCustomResource(leaderWorkerSet(true)).errors.some((e) => e.startsWith("spec.rolloutStrategy.rollingUpdateConfiguration.maxUnavailable:"))).toBe(true);
  });

  it("lets x-kubernetes-preserve-unknown-fields objects hold anything", () => {
    const envoyProxy = {
      apiVersion: "gateway.envoyproxy.io/v1alpha1",
      kind: "EnvoyProxy",
      metadata: { name: "gateway", namespace: "model-serving" },
      spec: { provider: { type: "Kubernetes", kubernetes: { envoyService: { patch: { type: "StrategicMerge", value: { spec: { anyField: { nested: 1 } } } } } } } },
    };
    expect(validateCustomResource(envoyProxy)).toEqual({ valid: true, errors: [] });
  });

  it("requires a namespace on namespaced kinds and refuses one on cluster-scoped kinds", () => {
    expect(validateCustomResource({ ...scaledObject, metadata: { name: "llama-chat" } }).errors).toEqual(["metadata.namespace: undefined is not a namespace name (the kind is namespaced)"]);
    const store = { apiVersion: "external-secrets.io/v1", kind: "ClusterSecretStore", metadata: { name: "aws", namespace: "x" }, spec: { provider: { aws: { service: "SecretsManager", region: "us-east-1" } } } };
    expect(validateCustomResource(store).errors).toEqual(["metadata.namespace: must be absent (the kind is cluster-scoped)"]);
  });

  it("refuses an apiVersion the pinned CRD does not serve, and a kind it has no schema for", () => {
    expect(validateCustomResource({ ...scaledObject, apiVersion: "keda.sh/v1beta1" }).errors).toEqual(["apiVersion: keda.sh/v1beta1 is not served by the pinned CRD (served: v1alpha1)"]);
    expect(validateCustomResource({ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w", namespace: "n" } }).valid).toBe(false);
  });
});
