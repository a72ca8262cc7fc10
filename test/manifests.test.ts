/**
 * The pure manifest builders: every object they emit is valid against the vendored CRD schemas of
 * the pinned charts, and the workload builders produce exactly what the endpoint construct emits today.
 */
import { Testing } from "cdktf";
import { ModelSource, SecretRef } from "../constructs/model-source";
import { ModelServingStack } from "../stacks/model-serving-stack";
import { PlanningError } from "../planner/findings";
import { buildGateway, CONSUMER_HEADER, MODEL_HEADER, rateLimitRedis, rateLimitRedisUrl, type GatewayInput } from "../constructs/manifests/gateway";
import { clusterSecretStore, externalSecret } from "../constructs/manifests/secrets";
import { leaderWorkerSet, scaledObject } from "../constructs/manifests/workloads";
import { validateCustomResource } from "./fixtures/crd-validator";
import type { K8sObject } from "../constructs/manifests/k8s-object";

process.env.MODEL_SERVING_QUIET = "1";

const expectValid = (objects: readonly unknown[]) => {
  for (const o of objects) {
    const r = validateCustomResource(o);
    if (!r.valid) throw new Error(`${(o as K8sObject).kind}/${(o as K8sObject).metadata.name}: ${r.errors.join("; ")}`);
  }
};
const arn = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;
const adapters = Array.from({ length: 50 }, (_, i) => `support-lora-${i + 1}`);

function gatewayInput(overrides: Partial<GatewayInput> = {}): GatewayInput {
  return {
    namespace: "model-serving",
    exposure: { certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b", allowedCidrs: ["203.0.113.0/24", "198.51.100.7"] },
    selfHosted: [
      { endpoint: "llama-chat", modelNames: ["llama-chat", ...adapters], inferencePool: { selector: { "app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": "llama-chat" }, targetPort: 8000 } },
      { endpoint: "embed", modelNames: ["embed"] },
      { endpoint: "chat-blue", modelNames: ["chat-blue"] },
      { endpoint: "chat-green", modelNames: ["chat-green"] },
    ],
    trafficGroups: [{ name: "chat", members: [{ endpoint: "chat-blue", weight: 90 }, { endpoint: "chat-green", weight: 10 }] }],
    external: [
      { model: "gpt-4o-mini", provider: "openai", providerModelId: "gpt-4o-mini", apiKeySecretArn: arn("openai-key") },
      { model: "claude-sonnet", provider: "anthropic", providerModelId: "claude-sonnet-4-5", apiKeySecretArn: arn("anthropic-key") },
      { model: "nova-pro", provider: "bedrock", providerModelId: "us.amazon.nova-pro-v1:0", region: "us-east-1" },
      { model: "titan-embed", provider: "bedrock", providerModelId: "amazon.titan-embed-text-v2:0", region: "us-east-1" },
    ],
    consumers: [
      { name: "team-search", apiKeySecretArn: arn("gw-team-search"), models: "*", limits: { requests: { limit: 600, per: "Minute" }, totalTokens: { limit: 2_000_000, per: "Hour" } } },
      { name: "team-support", apiKeySecretArn: arn("gw-team-support"), models: ["llama-chat", ...adapters.slice(0, 10), "claude-sonnet"], limits: { requests: { limit: 60, per: "Minute" }, outputTokens: { limit: 100_000, per: "Day" } } },
    ],
    ...overrides,
  };
}

const ofKind = (objects: readonly K8sObject[], kind: string) => objects.filter((o) => o.kind === kind) as any[];

describe("workload builders", () => {
  test("the ScaledObject builder emits exactly the object an autoscaled endpoint synthesizes, and it is valid", () => {
    const app = Testing.app();
    const stack = new ModelServingStack(app, "s", { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: { "L-DB2E81BA": 1000 }, addons: { keda: { prometheusUrl: "http://prometheus-server.monitoring.svc" }, nodeAutoscaler: "cluster-autoscaler" } } } });
    const qwen = stack.importModel("qwen", { source: ModelSource.huggingFace("Qwen/Qwen2.5-7B-Instruct", { revision: "a09a35458c702b33eeacc393d103063234e8bc28" }) });
    stack.addEndpoint("chat", { model: qwen, shape: "L40S_X1", maxModelLen: 8192, autoscaling: { minReplicas: 0, maxReplicas: 3, metric: "kv-cache", target: 0.7 } });
    const tf = JSON.parse(Testing.synth(stack, true));
    const synthesized = (Object.values(tf.resource.kubernetes_manifest) as any[])[0].manifest;
    const built = scaledObject({ name: "chat", namespace: "model-serving", minReplicas: 0, maxReplicas: 3, metric: "kv-cache", target: 0.7, prometheusUrl: "http://prometheus-server.monitoring.svc" });
    expect(built).toEqual(synthesized);
    expectValid([built, synthesized]);
  });

  test("the LeaderWorkerSet builder emits exactly the object a multi-node endpoint synthesizes, and it is valid", () => {
    const app = Testing.app();
    const stack = new ModelServingStack(app, "s", { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: { "L-417A185B": 10000 }, addons: { leaderWorkerSet: true, efa: true } } } });
    const source = ModelSource.huggingFace("meta-llama/Llama-3.1-405B-Instruct", { revision: "be673f326cab4cd22ccfef76109faf68e41aa5f1", token: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:hf-token") });
    stack.addEndpoint("big", { model: stack.importModel("l405", { source }), shape: "H100_X8", maxModelLen: 8192 });
    const tf = JSON.parse(Testing.synth(stack, true));
    const synthesized = (Object.values(tf.resource.kubernetes_manifest) as any[])[0].manifest;
    const t = synthesized.spec.leaderWorkerTemplate;
    const built = leaderWorkerSet({ name: "big", namespace: "model-serving", labels: synthesized.metadata.labels, replicas: 1, size: 2, leaderTemplate: t.leaderTemplate, workerTemplate: t.workerTemplate });
    expect(built).toEqual(synthesized);
    expectValid([built]);
  });
});

describe("secret builders", () => {
  test("sync Secrets Manager values by ARN through a store that carries no credentials", () => {
    const store = clusterSecretStore({ region: "us-east-1" });
    const es = externalSecret({ name: "hf-token", namespace: "model-serving", entries: [{ key: "token", secretArn: arn("hf") }] });
    expectValid([store, es]);
    expect((store as any).spec.provider.aws).toEqual({ service: "SecretsManager", region: "us-east-1" });
    expect((es as any).spec.data).toEqual([{ secretKey: "token", remoteRef: { key: arn("hf") } }]);
  });

  test("refuse a value that is not a secret ARN, with a coded error", () => {
    expect(() => externalSecret({ name: "k", namespace: "n", entries: [{ key: "apiKey", secretArn: "sk-live-0123456789abcdef" }] })).toThrow(/\[SECRET_ARN_INVALID\] ExternalSecret: "sk-live-0123456789abcdef" is not a Secrets Manager secret ARN/);
  });
});

describe("the model gateway", () => {
  const g = buildGateway(gatewayInput());
  const all = g.customResources;

  test("every custom resource is valid against the pinned charts' CRD schemas", () => {
    expect(all.length).toBeGreaterThan(15);
    expectValid(all);
  });

  test("routes every served model name, adapter, traffic group and external model, and nothing else", () => {
    const served = ["llama-chat", ...adapters, "embed", "chat-blue", "chat-green", "chat", "gpt-4o-mini", "claude-sonnet", "nova-pro", "titan-embed"];
    expect(g.routes.map((r) => r.model).sort()).toEqual([...served].sort());
    const matched = new Set(ofKind(all, "AIGatewayRoute").flatMap((r) => r.spec.rules.flatMap((rule: any) => rule.matches.map((m: any) => m.headers.find((h: any) => h.name === MODEL_HEADER).value))));
    expect([...matched].sort()).toEqual([...served].sort());
  });

  test("keeps each generated HTTPRoute inside Gateway API's limits (≤ 15 rules, ≤ 64 matches a rule, < 128 a route with the 404 rule)", () => {
    // Three consumers, two of them allowed all 59 names, need 130 matches: more than one route holds.
    const third = { name: "team-batch", apiKeySecretArn: arn("gw-team-batch"), models: "*" as const };
    const big = buildGateway(gatewayInput({ consumers: [...gatewayInput().consumers, third] }));
    expectValid(big.customResources);
    const routes = ofKind(big.customResources, "AIGatewayRoute");
    expect(routes.length).toBe(2);
    expect(routes.flatMap((r) => r.spec.rules).reduce((a: number, rule: any) => a + rule.matches.length, 0)).toBe(59 + 59 + 12);
    for (const r of routes) {
      expect(r.spec.rules.length).toBeLessThanOrEqual(15);
      for (const rule of r.spec.rules) expect(rule.matches.length).toBeLessThanOrEqual(64);
      expect(r.spec.rules.reduce((a: number, rule: any) => a + rule.matches.length, 0) + 1).toBeLessThan(128);
    }
  });

  test("lets a consumer reach only its allowed models: other names fall through to the gateway's 404 rule", () => {
    const matches = ofKind(all, "AIGatewayRoute").flatMap((r) => r.spec.rules.flatMap((rule: any) => rule.matches));
    const pairs = new Set(matches.map((m: any) => `${m.headers.find((h: any) => h.name === CONSUMER_HEADER)?.value}:${m.headers.find((h: any) => h.name === MODEL_HEADER).value}`));
    expect(pairs.has("team-support:claude-sonnet")).toBe(true);
    expect(pairs.has("team-support:support-lora-10")).toBe(true);
    expect(pairs.has("team-support:support-lora-11")).toBe(false);
    expect(pairs.has("team-support:gpt-4o-mini")).toBe(false);
    expect(pairs.has("team-search:gpt-4o-mini")).toBe(true);
    expect(g.routes.find((r) => r.model === "gpt-4o-mini")!.consumers).toEqual(["team-search"]);
    // The client cannot forge the consumer header: it is stripped before the API-key filter sets it.
    expect(ofKind(all, "ClientTrafficPolicy")[0].spec.headers.earlyRequestHeaders.remove).toEqual([CONSUMER_HEADER]);
    expect(ofKind(all, "SecurityPolicy")[0].spec.apiKeyAuth).toMatchObject({ forwardClientIDHeader: CONSUMER_HEADER, sanitize: true });
  });

  test("without allowlists, routes match on the model alone", () => {
    const open = buildGateway(gatewayInput({ consumers: [{ name: "everyone", apiKeySecretArn: arn("k"), models: "*" }] }));
    const headers = ofKind(open.customResources, "AIGatewayRoute").flatMap((r) => r.spec.rules.flatMap((rule: any) => rule.matches.map((m: any) => m.headers.length)));
    expect(new Set(headers)).toEqual(new Set([1]));
    expect(ofKind(open.customResources, "BackendTrafficPolicy")).toEqual([]);
  });

  test("sends the base model and its 50 adapters to one InferencePool, and a traffic group by exact weights to Services", () => {
    const rules = ofKind(all, "AIGatewayRoute").flatMap((r) => r.spec.rules);
    const poolRules = rules.filter((r: any) => r.backendRefs[0].kind === "InferencePool");
    expect(new Set(poolRules.flatMap((r: any) => r.backendRefs.map((b: any) => b.name)))).toEqual(new Set(["llama-chat"]));
    expect(poolRules.reduce((a: number, r: any) => a + r.matches.length, 0)).toBe(51 + 11); // team-search: base + 50 adapters; team-support: base + 10 adapters
    const pool = ofKind(all, "InferencePool")[0];
    expect(pool.spec).toEqual({ targetPorts: [{ number: 8000 }], selector: { matchLabels: { "app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": "llama-chat" } }, endpointPickerRef: { name: "llama-chat-epp", port: { number: 9002 } } });
    expect(g.coreObjects.find((o) => o.kind === "Deployment" && o.metadata.name === "llama-chat-epp")).toBeDefined();
    const group = rules.find((r: any) => r.matches.some((m: any) => m.headers[0].value === "chat"));
    expect(group.backendRefs).toEqual([{ name: "svc-chat-blue", weight: 90 }, { name: "svc-chat-green", weight: 10 }]);
    expect(ofKind(all, "Backend").find((b) => b.metadata.name === "svc-chat-blue").spec.endpoints).toEqual([{ fqdn: { hostname: "chat-blue.model-serving.svc.cluster.local", port: 80 } }]);
  });

  test("holds provider keys only by Secrets Manager reference, and calls Bedrock with the gateway's pod identity", () => {
    const text = JSON.stringify([...all, ...g.coreObjects]);
    expect(text).not.toMatch(/sk-|"apiKey":"[^{]/);
    const synced = ofKind(all, "ExternalSecret").map((e) => [e.metadata.name, e.spec.data.map((d: any) => d.remoteRef.key)]);
    expect(synced).toEqual(
      expect.arrayContaining([
        ["model-gateway-api-keys", [arn("gw-team-search"), arn("gw-team-support")]],
        ["ext-openai-key", [arn("openai-key")]],
        ["ext-anthropic-key", [arn("anthropic-key")]],
      ]),
    );
    const policies = Object.fromEntries(ofKind(all, "BackendSecurityPolicy").map((p) => [p.metadata.name, p.spec]));
    expect(policies["ext-openai"]).toMatchObject({ type: "APIKey", apiKey: { secretRef: { name: "ext-openai-key" } } });
    expect(policies["ext-anthropic"]).toMatchObject({ type: "AnthropicAPIKey", anthropicAPIKey: { secretRef: { name: "ext-anthropic-key" } } });
    expect(policies["ext-bedrock"]).toEqual({ targetRefs: [{ group: "aigateway.envoyproxy.io", kind: "AIServiceBackend", name: "ext-bedrock" }], type: "AWSCredentials", awsCredentials: { region: "us-east-1" } });
    expect(g.envoyIam.bedrockModelArns).toEqual([
      "arn:aws:bedrock:*::foundation-model/amazon.nova-pro-v1:0",
      "arn:aws:bedrock:us-east-1:*:inference-profile/us.amazon.nova-pro-v1:0",
      "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0",
    ]);
    expect(g.secretArns).toEqual([arn("anthropic-key"), arn("gw-team-search"), arn("gw-team-support"), arn("openai-key")].sort());
  });

  test("renders each consumer's request and token limits as global rate-limit rules keyed on the consumer", () => {
    const rules = ofKind(all, "BackendTrafficPolicy")[0].spec.rateLimit.global.rules;
    const summary = rules.map((r: any) => [r.clientSelectors[0].headers[0].value, r.limit.requests, r.limit.unit, r.cost?.response.metadata.key ?? "request"]);
    expect(summary).toEqual([
      ["team-search", 600, "Minute", "request"],
      ["team-search", 2_000_000, "Hour", "llm_total_token"],
      ["team-support", 60, "Minute", "request"],
      ["team-support", 100_000, "Day", "llm_output_token"],
    ]);
    expect(rules.every((r: any) => r.shared === true)).toBe(true);
  });

  test("exposes one NLB with the ACM certificate, restricted to the declared sources", () => {
    const svc = ofKind(all, "EnvoyProxy")[0].spec.provider.kubernetes.envoyService;
    expect(svc.loadBalancerSourceRanges).toEqual(["203.0.113.0/24", "198.51.100.7/32"]);
    expect(svc.annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"]).toMatch(/^arn:aws:acm:/);
    expect(svc.annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"]).toBe("internet-facing");
    const internal = buildGateway(gatewayInput({ exposure: { ...gatewayInput().exposure, private: true } }));
    expect(ofKind(internal.customResources, "EnvoyProxy")[0].spec.provider.kubernetes.envoyService.annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"]).toBe("internal");
  });

  test("sends a rerank endpoint to a Cohere v2 Service backend even when a pool is asked for (the AI Gateway's rerank translator takes only Cohere)", () => {
    const rr = buildGateway(gatewayInput({ selfHosted: [...gatewayInput().selfHosted!, { endpoint: "rerank", modelNames: ["rerank"], api: "cohere-rerank", inferencePool: { selector: { "app.kubernetes.io/instance": "rerank" }, targetPort: 8000 } }] }));
    expectValid(rr.customResources);
    expect(ofKind(rr.customResources, "InferencePool").map((p) => p.metadata.name)).toEqual(["llama-chat"]);
    expect(ofKind(rr.customResources, "AIServiceBackend").find((b) => b.metadata.name === "svc-rerank").spec.schema).toEqual({ name: "Cohere", version: "v2" });
    expect(ofKind(rr.customResources, "AIServiceBackend").find((b) => b.metadata.name === "svc-embed").spec.schema).toEqual({ name: "OpenAI" });
  });

  test("names the Envoy Service after the gateway, so in-cluster clients reach it at a fixed address", () => {
    const proxy = ofKind(all, "EnvoyProxy")[0];
    expect(proxy.spec.provider.kubernetes.envoyService.name).toBe(proxy.metadata.name);
    expect(g.inClusterUrl).toBe(`http://${proxy.metadata.name}.envoy-gateway-system.svc.cluster.local:${ofKind(all, "Gateway")[0].spec.listeners[0].port}`);
  });

  test("supports Azure OpenAI with its API version and key", () => {
    const az = buildGateway(gatewayInput({ external: [...gatewayInput().external!, { model: "gpt-4o-azure", provider: "azure-openai", providerModelId: "gpt-4o-prod", apiKeySecretArn: arn("azure-key"), azure: { host: "contoso.openai.azure.com", apiVersion: "2025-01-01-preview" } }] }));
    expectValid(az.customResources);
    expect(ofKind(az.customResources, "AIServiceBackend").find((b) => b.metadata.name === "ext-azure-openai").spec.schema).toEqual({ name: "AzureOpenAI", version: "2025-01-01-preview" });
  });

  test("refuses ambiguous or unsafe input with every problem coded at once", () => {
    const bad = gatewayInput({
      exposure: { certificateArn: "not-an-arn", allowedCidrs: ["0.0.0.0/0"] },
      external: [{ model: "embed", provider: "openai", providerModelId: "text-embedding-3-small" }, { model: "nova", provider: "bedrock", providerModelId: "amazon.nova-lite-v1:0" }],
      consumers: [{ name: "team-a", apiKeySecretArn: arn("a"), models: ["no-such-model"] }],
    });
    let codes: string[] = [];
    try {
      buildGateway(bad);
    } catch (e) {
      codes = (e as PlanningError).codes;
    }
    expect(codes.sort()).toEqual(["CONSUMER_MODEL_UNKNOWN", "GATEWAY_CERTIFICATE_INVALID", "GATEWAY_MODEL_DUPLICATE", "GATEWAY_OPEN_TO_INTERNET", "PROVIDER_KEY_MISSING", "PROVIDER_REGION_MISSING"]);
  });

  test("the rate limiter's Redis runs non-root without persistence at the URL Envoy Gateway is configured with", () => {
    const [deployment, service] = rateLimitRedis() as any[];
    expect(deployment.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    expect(deployment.spec.template.spec.containers[0].command).toEqual(["redis-server", "--save", "", "--appendonly", "no", "--port", "6379"]);
    expect(`${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local:${service.spec.ports[0].port}`).toBe(rateLimitRedisUrl());
  });
});
