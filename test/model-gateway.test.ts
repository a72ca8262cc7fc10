/**
 * The model gateway as a construct: one entry point routing every name the plan serves (endpoints,
 * adapters, traffic groups) and the declared hosted models, installed by pinned charts in the cluster
 * phase and configured by custom resources — each valid against the vendored CRD schemas — in the
 * workloads phase; keys by Secrets Manager reference only; limits, allowlists, usage metrics and a
 * smoke test; and bad input refused with coded errors before anything is written.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Testing } from "cdktf";
import { findAddon } from "../catalog/addons";
import { findExternalModelPrice } from "../catalog/external-models";
import { FineTunedModel } from "../constructs/fine-tuned-model";
import { CONSUMER_HEADER, ENVOY_GATEWAY_NAMESPACE, MODEL_HEADER } from "../constructs/manifests/gateway";
import type { ModelGatewayProps } from "../constructs/model-gateway";
import { ModelSource, SecretRef } from "../constructs/model-source";
import { podViews } from "../constructs/policy";
import { ModelServingStack, type ModelServingStackProps } from "../stacks/model-serving-stack";
import { validateCustomResource } from "./fixtures/crd-validator";
import { credentialLeaks } from "./fixtures/credentials";
import { DEPLOYER_CIDRS } from "./fixtures/phases";

process.env.MODEL_SERVING_QUIET = "1";

const arn = (name: string) => `arn:aws:secretsmanager:us-east-1:111122223333:secret:${name}`;
const CERT = "arn:aws:acm:us-east-1:111122223333:certificate/3f2a9c1e-8b7d-4e6f-a5c4-1d2e3f4a5b6c";
const QWEN = "Qwen/Qwen2.5-7B-Instruct";
const QWEN_REV = "a09a35458c702b33eeacc393d103063234e8bc28";
const NEW_CLUSTER: ModelServingStackProps = { cluster: { create: { publicAccessCidrs: DEPLOYER_CIDRS, clusterName: "c", quotas: { "L-DB2E81BA": 2000 } } } };
/** The gateway charts, as catalog/addons.json pins them. */
const GATEWAY_CHARTS = ["envoy-gateway", "ai-gateway-crds", "ai-gateway", "inference-extension-crds", "external-secrets", "prometheus"];
/** Core API groups: these objects have no CRD (the API server's own types). */
const CORE_API = /^(v1|apps\/v1|rbac\.authorization\.k8s\.io\/v1)$/;

const gatewayProps = (over: Partial<Omit<ModelGatewayProps, "cluster">> = {}): Omit<ModelGatewayProps, "cluster"> => ({
  exposure: { certificateArn: CERT, allowedCidrs: ["198.51.100.0/24", "203.0.113.7"] },
  external: [
    { model: "gpt-4o-mini", provider: "openai", providerModelId: "gpt-4o-mini", apiKey: SecretRef.fromSecretsManager(arn("openai")) },
    { model: "claude-sonnet", provider: "anthropic", providerModelId: "claude-sonnet-4-5", apiKey: SecretRef.fromSecretsManager(arn("anthropic")) },
    { model: "nova-pro", provider: "bedrock", providerModelId: "us.amazon.nova-pro-v1:0" },
  ],
  consumers: [
    { name: "team-search", apiKey: SecretRef.fromSecretsManager(arn("gw/search")), models: "*", limits: { requests: { limit: 600, per: "Minute" }, totalTokens: { limit: 2_000_000, per: "Hour" } } },
    { name: "team-support", apiKey: SecretRef.fromSecretsManager(arn("gw/support")), models: ["chat", "tenant-a", "claude-sonnet"], limits: { requests: { limit: 60, per: "Minute" }, outputTokens: { limit: 100_000, per: "Day" } } },
  ],
  ...over,
});

const adapter = (stack: ModelServingStack, name: string) =>
  new FineTunedModel(stack, name, { source: ModelSource.s3(`s3://acme-adapters/${name}/`), adapterConfig: { peft_type: "LORA", base_model_name_or_path: QWEN, r: 16, lora_alpha: 32, target_modules: ["q_proj", "v_proj"] } });

/**
 * A chat endpoint with adapters, embeddings, a reranker and a blue/green traffic group; the gateway is
 * declared in the middle, and an adapter and an endpoint are added after it.
 */
function servingApp(over: Partial<Omit<ModelGatewayProps, "cluster">> = {}, props: ModelServingStackProps = NEW_CLUSTER, outdir?: string) {
  const app = outdir ? new App({ outdir }) : Testing.app();
  const stack = new ModelServingStack(app, "s", props);
  const qwen = stack.importModel("qwen", { source: ModelSource.huggingFace(QWEN, { revision: QWEN_REV }) });
  const bge = stack.importModel("bge", { source: ModelSource.huggingFace("BAAI/bge-large-en-v1.5", { revision: "d4aa6901d3a41ba39fb536a557fa166f842b0e09" }) });
  const reranker = stack.importModel("reranker", { source: ModelSource.huggingFace("BAAI/bge-reranker-v2-m3", { revision: "953dc6f6f85a1b2dbfca4c34a2796e7dde08d41e" }) });
  const chat = stack.addEndpoint("chat", { model: qwen, maxModelLen: 8192, adapters: [adapter(stack, "tenant-a")] });
  stack.addEndpoint("embed", { model: bge, maxModelLen: 512 });
  stack.addEndpoint("rerank", { model: reranker, maxModelLen: 8192 });
  stack.addEndpoint("blue", { model: qwen, maxModelLen: 8192, trafficGroup: { name: "assistant", weight: 90 } });
  stack.addEndpoint("green", { model: qwen, maxModelLen: 8192, trafficGroup: { name: "assistant", weight: 10 } });
  const gateway = stack.addGateway("gateway", gatewayProps(over));
  // Declared after the gateway: still routed.
  chat.addAdapter(adapter(stack, "tenant-b"));
  stack.addEndpoint("late", { model: qwen, maxModelLen: 4096 });
  return { app, stack, gateway };
}

/** What the stack declares, written out by hand: every name clients may send. */
const SELF_HOSTED_NAMES = ["chat", "tenant-a", "tenant-b", "embed", "rerank", "blue", "green", "assistant", "late"];
const EXTERNAL_NAMES = ["gpt-4o-mini", "claude-sonnet", "nova-pro"];

const manifestsOf = (tf: any): any[] => Object.values(tf.resource.kubernetes_manifest ?? {}).map((r: any) => r.manifest);
const ofKind = (tf: any, kind: string) => manifestsOf(tf).filter((m) => m.kind === kind);
const modelMatches = (tf: any) => ofKind(tf, "AIGatewayRoute").flatMap((r) => r.spec.rules.flatMap((rule: any) => rule.matches.map((m: any) => ({ model: m.headers.find((h: any) => h.name === MODEL_HEADER).value, consumer: m.headers.find((h: any) => h.name === CONSUMER_HEADER)?.value, refs: rule.backendRefs }))));

/** Synthesize into a directory, read what was written (or the error), and remove it. */
function synthToDisk(build: (outdir: string) => App): { error: string; files: Record<string, string> } {
  const outdir = mkdtempSync(join(tmpdir(), "gateway-"));
  try {
    let error = "";
    try {
      build(outdir).synth();
    } catch (e) {
      error = (e as Error).message;
    }
    const files: Record<string, string> = {};
    const stacks = join(outdir, "stacks");
    if (existsSync(stacks)) for (const s of readdirSync(stacks)) for (const f of readdirSync(join(stacks, s))) if (f.endsWith(".json") || f.endsWith(".md")) files[`${s}/${f}`] = readFileSync(join(stacks, s, f), "utf8");
    return { error, files };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

describe("a gateway in front of a new cluster", () => {
  const { stack } = servingApp();
  const workloads = JSON.parse(Testing.synth(stack, true));
  const cluster = JSON.parse(Testing.synth(stack.clusterStack!, true));
  const written = synthToDisk((outdir) => servingApp({}, NEW_CLUSTER, outdir).app);
  const plan = JSON.parse(written.files["s/serving-plan.json"]);

  test("routes every served model name — each endpoint, adapter and traffic group, including those declared after the gateway — and each hosted model", () => {
    const routed = new Set(modelMatches(workloads).map((m) => m.model));
    expect([...routed].sort()).toEqual([...SELF_HOSTED_NAMES, ...EXTERNAL_NAMES].sort());
    // Every name the plan serves (endpoints and their adapters) is among them.
    for (const e of plan.endpoints) for (const name of [e.name, ...e.adapters.map((a: { name: string }) => a.name)]) expect(routed.has(name)).toBe(true);
  });

  test("balances generative endpoints and their adapters with an InferencePool, and sends the rerank endpoint to a Cohere-schema Service backend", () => {
    const refsOf = (model: string) => modelMatches(workloads).find((m) => m.model === model)!.refs;
    expect(refsOf("tenant-b")).toEqual([{ group: "inference.networking.k8s.io", kind: "InferencePool", name: "chat" }]);
    const pool = ofKind(workloads, "InferencePool").find((p) => p.metadata.name === "chat");
    expect(pool.spec.selector.matchLabels).toEqual({ "app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": "chat" });
    // The pool selects the chat Deployment's pods.
    const deployment = Object.values(workloads.resource.kubernetes_deployment_v1).find((d: any) => d.metadata.name === "chat") as any;
    expect(deployment.spec.template.metadata.labels).toMatchObject(pool.spec.selector.matchLabels);
    expect(refsOf("rerank")).toEqual([{ name: "svc-rerank" }]);
    expect(ofKind(workloads, "AIServiceBackend").find((b) => b.metadata.name === "svc-rerank").spec.schema).toEqual({ name: "Cohere", version: "v2" });
    expect(refsOf("assistant")).toEqual([{ name: "svc-blue", weight: 90 }, { name: "svc-green", weight: 10 }]);
    const routes = Object.fromEntries(plan.gateway.routes.map((r: any) => [r.model, r]));
    expect([routes.chat.balancing, routes.embed.balancing, routes.rerank.balancing, routes.assistant.balancing, routes["nova-pro"].balancing]).toEqual(["endpoint-picker", "service", "service", "weighted-services", "provider"]);
    expect(routes.rerank.path).toBe("/cohere/v2/rerank");
  });

  test("every custom resource it emits is valid against the vendored CRD schemas, and the rest are core Kubernetes objects", () => {
    const all = manifestsOf(workloads);
    const custom = all.filter((m) => !CORE_API.test(m.apiVersion));
    expect(new Set(custom.map((m) => m.kind))).toEqual(new Set(["ClusterSecretStore", "ExternalSecret", "EnvoyProxy", "GatewayClass", "Gateway", "ClientTrafficPolicy", "SecurityPolicy", "BackendTrafficPolicy", "InferencePool", "Backend", "AIServiceBackend", "BackendSecurityPolicy", "AIGatewayRoute"]));
    const invalid = custom.map((m) => [`${m.kind}/${m.metadata.name}`, validateCustomResource(m).errors]).filter(([, errors]) => errors.length);
    expect(invalid).toEqual([]);
    expect(new Set(all.filter((m) => CORE_API.test(m.apiVersion)).map((m) => m.kind))).toEqual(new Set(["ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "Service"]));
  });

  test("installs the gateway's charts at the catalog's pinned versions in the cluster phase, and plans no kubernetes_manifest in the stack that creates the cluster", () => {
    const releases = Object.values(cluster.resource.helm_release) as any[];
    for (const name of GATEWAY_CHARTS) {
      const pinned = findAddon(name)!;
      const release = releases.find((r) => r.name === pinned.releaseName);
      expect([name, release?.version, release?.namespace]).toEqual([name, pinned.chart.version, pinned.namespace]);
    }
    expect(cluster.resource.kubernetes_manifest).toBeUndefined();
    expect(workloads.resource.helm_release).toBeUndefined();
    expect(plan.addons.filter((a: any) => GATEWAY_CHARTS.includes(a.name)).map((a: any) => [a.name, a.status, a.stack])).toEqual(expect.arrayContaining(GATEWAY_CHARTS.map((n) => [n, "installed", "s-cluster"])));
  });

  test("applies its objects in dependency order: synced keys before the policies that read them, the pool before its picker, everything before the smoke test", () => {
    const byAddress = Object.entries(workloads.resource.kubernetes_manifest).map(([name, r]: [string, any]) => ({ address: `kubernetes_manifest.${name}`, manifest: r.manifest, dependsOn: (r.depends_on ?? []) as string[] }));
    const find = (kind: string, name?: string) => byAddress.find((o) => o.manifest.kind === kind && (!name || o.manifest.metadata.name === name))!;
    const upstream = (address: string): Set<string> => {
      const seen = new Set<string>();
      const walk = (a: string) => {
        for (const d of byAddress.find((o) => o.address === a)?.dependsOn ?? []) {
          if (seen.has(d)) continue;
          seen.add(d);
          walk(d);
        }
      };
      walk(address);
      return seen;
    };
    expect(upstream(find("SecurityPolicy").address).has(find("ExternalSecret", "model-gateway-api-keys").address)).toBe(true);
    expect(upstream(find("BackendSecurityPolicy", "ext-openai").address).has(find("ExternalSecret", "ext-openai-key").address)).toBe(true);
    expect(upstream(find("AIGatewayRoute").address).has(find("InferencePool", "chat").address)).toBe(true);
    expect(upstream(find("Deployment", "chat-epp").address).has(find("InferencePool", "chat").address)).toBe(true);
    expect(find("ExternalSecret", "model-gateway-api-keys").manifest.spec.secretStoreRef.name).toBe(find("ClusterSecretStore").manifest.metadata.name);
    const job = Object.values(workloads.resource.kubernetes_job_v1).find((j: any) => j.metadata.name === "model-gateway-smoke-test") as any;
    for (const o of byAddress.filter((x) => x.address.includes("gateway_"))) expect(job.depends_on).toContain(o.address);
    // Every endpoint here is behind the gateway: its Deployment comes before the smoke test.
    for (const name of Object.keys(workloads.resource.kubernetes_deployment_v1)) expect(job.depends_on).toContain(`kubernetes_deployment_v1.${name}`);
  });

  test("smoke-tests every self-hosted model name through the gateway with a consumer's key from the key Secret, and expects 404 for an unknown model", () => {
    const job = Object.values(workloads.resource.kubernetes_job_v1).find((j: any) => j.metadata.name === "model-gateway-smoke-test") as any;
    const container = job.spec.template.spec.container[0];
    const script: string = container.command[2];
    expect(script).toContain(`http://model-gateway.${ENVOY_GATEWAY_NAMESPACE}.svc.cluster.local:443`);
    const cases = JSON.parse(JSON.parse(/cases = json\.loads\((".*")\)/.exec(script)![1])) as Array<[string, string]>;
    expect(cases.map((c) => c[0]).sort()).toEqual([...SELF_HOSTED_NAMES].sort());
    expect(Object.fromEntries(cases.map((c) => [c[0], c[1]]))).toMatchObject({ chat: "/v1/chat/completions", embed: "/v1/embeddings", rerank: "/cohere/v2/rerank" });
    expect(script).toMatch(/e\.code != 404/);
    expect(container.env).toEqual([{ name: "GATEWAY_KEY_0", value_from: { secret_key_ref: { name: "model-gateway-api-keys", key: "team-search" } } }]);
    // The Envoy Service the script calls is the one the EnvoyProxy names.
    expect(ofKind(workloads, "EnvoyProxy")[0].spec.provider.kubernetes.envoyService.name).toBe("model-gateway");
  });

  test("holds every key by Secrets Manager reference: the output carries ARNs and Secret names, never a credential", () => {
    expect(credentialLeaks(written.files)).toEqual([]);
    expect(credentialLeaks({ "s/cdk.tf.json": JSON.stringify(workloads), "s-cluster/cdk.tf.json": JSON.stringify(cluster) })).toEqual([]);
    const synced = ofKind(workloads, "ExternalSecret").flatMap((e) => e.spec.data.map((d: any) => d.remoteRef.key));
    expect(synced).toEqual(expect.arrayContaining([arn("openai"), arn("anthropic"), arn("gw/search"), arn("gw/support")]));
    // External Secrets may read exactly the declared ARNs (the gateway's among them).
    const policy = Object.values(cluster.data.aws_iam_policy_document).find((d: any) => JSON.stringify(d).includes("secretsmanager:GetSecretValue")) as any;
    expect(policy.statement[0].resources).toEqual(expect.arrayContaining([arn("openai"), arn("anthropic"), arn("gw/search"), arn("gw/support")]));
    expect(policy.statement[0].resources).not.toContain("*");
  });

  test("calls Bedrock with the Envoy pods' pod identity, allowed to invoke exactly the declared inference profile and its model", () => {
    const doc = Object.values(workloads.data.aws_iam_policy_document).find((d: any) => JSON.stringify(d).includes("bedrock:")) as any;
    expect(doc.statement).toEqual([
      { effect: "Allow", actions: ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"], resources: ["arn:aws:bedrock:*::foundation-model/amazon.nova-pro-v1:0", "arn:aws:bedrock:us-east-1:*:inference-profile/us.amazon.nova-pro-v1:0"] },
    ]);
    const association = Object.values(workloads.resource.aws_eks_pod_identity_association).find((a: any) => a.namespace === ENVOY_GATEWAY_NAMESPACE) as any;
    expect(association.service_account).toBe(ofKind(workloads, "EnvoyProxy")[0].spec.provider.kubernetes.envoyServiceAccount.name);
    expect(ofKind(workloads, "BackendSecurityPolicy").find((p) => p.metadata.name === "ext-bedrock").spec).toMatchObject({ type: "AWSCredentials", awsCredentials: { region: "us-east-1" } });
  });

  test("renders each consumer's limits as rate-limit rules keyed on the consumer, and its allowlist as route matches", () => {
    const rules = ofKind(workloads, "BackendTrafficPolicy")[0].spec.rateLimit.global.rules;
    expect(rules.map((r: any) => [r.clientSelectors[0].headers[0].value, r.limit.requests, r.limit.unit, r.cost?.response?.metadata?.key ?? "requests"])).toEqual([
      ["team-search", 600, "Minute", "requests"],
      ["team-search", 2_000_000, "Hour", "llm_total_token"],
      ["team-support", 60, "Minute", "requests"],
      ["team-support", 100_000, "Day", "llm_output_token"],
    ]);
    const support = modelMatches(workloads).filter((m) => m.consumer === "team-support").map((m) => m.model);
    expect(support.sort()).toEqual(["chat", "claude-sonnet", "tenant-a"]);
    expect(plan.gateway.consumers.find((c: any) => c.name === "team-support")).toEqual({ name: "team-support", models: ["chat", "tenant-a", "claude-sonnet"], limits: { requests: { limit: 60, per: "Minute" }, outputTokens: { limit: 100_000, per: "Day" } }, apiKeySecret: arn("gw/support") });
    expect(written.files["s/serving-plan.md"]).toMatch(/\| team-support \| chat, tenant-a, claude-sonnet \| 60\/minute \| — \| — \| 100,000\/day \|/);
  });

  test("puts the gateway in the plan: entry point, one route per model name with backend and provider, and each hosted model's list price beside the self-hosted $/1M tokens", () => {
    const g = plan.gateway;
    expect(g.entryPoint).toMatchObject({ scheme: "internet-facing", port: 443, certificateArn: CERT, allowedCidrs: ["198.51.100.0/24", "203.0.113.7/32"] });
    expect(g.implementation).toEqual({ aiGateway: findAddon("ai-gateway")!.appVersion, envoyGateway: findAddon("envoy-gateway")!.appVersion, inferenceExtension: findAddon("inference-extension-crds")!.appVersion });
    expect(g.routes.map((r: any) => r.model).sort()).toEqual([...SELF_HOSTED_NAMES, ...EXTERNAL_NAMES].sort());
    const route = (m: string) => g.routes.find((r: any) => r.model === m);
    expect([route("tenant-b").backend, route("tenant-b").provider, route("assistant").backend, route("gpt-4o-mini").backend, route("gpt-4o-mini").provider]).toEqual(["chat", "self-hosted", "assistant", "external", "openai"]);
    const gpt = findExternalModelPrice("openai", "gpt-4o-mini")!;
    expect(route("gpt-4o-mini").listPrice).toMatchObject({ inputUsdPer1M: gpt.inputUsdPer1M, outputUsdPer1M: gpt.outputUsdPer1M, source: gpt.source });
    // A cross-region inference profile is priced as the model it routes to, in the cluster's region.
    expect(route("nova-pro").listPrice.inputUsdPer1M).toBe(findExternalModelPrice("bedrock", "amazon.nova-pro-v1:0", "us-east-1")!.inputUsdPer1M);
    // An adapter costs what its base endpoint's tokens cost.
    const chat = plan.endpoints.find((e: any) => e.name === "chat");
    expect(route("tenant-a").selfHostedUsdPer1M).toEqual([{ endpoint: "chat", output: chat.performance.usdPer1MOutputTokens, total: chat.performance.usdPer1MTotalTokens }]);
    expect(route("assistant").selfHostedUsdPer1M.map((p: any) => p.endpoint)).toEqual(["blue", "green"]);
    const md = written.files["s/serving-plan.md"];
    expect(md).toContain("## Model gateway — model-gateway");
    expect(md).toMatch(new RegExp(`\\| gpt-4o-mini \\| external \\| openai gpt-4o-mini \\| provider \\| /v1/chat/completions \\| team-search \\| \\$${gpt.inputUsdPer1M.toFixed(2)} \\| \\$${gpt.outputUsdPer1M.toFixed(2)} \\|`));
    expect(g.usageMetrics).toMatchObject({ metric: "gen_ai_client_token_usage", prometheus: findAddon("prometheus")!.prometheusUrl });
    // Through the gateway a traffic group is split by exact weights: no replica-ratio warning.
    expect(plan.findings.map((f: any) => f.code)).not.toContain("TRAFFIC_SPLIT_BY_REPLICAS");
  });

  test("its endpoint pickers and rate-limit Redis pass the pod rules; the only exceptions are their undigested images and the picker's API token", () => {
    const pods = podViews(workloads).filter((p) => p.address.startsWith("kubernetes_manifest."));
    // One picker per generative endpoint (chat, blue, green, late) and the Redis.
    expect(pods.map((p) => `${p.kind}`)).toEqual(Array(5).fill("Deployment"));
    for (const p of pods) {
      for (const c of p.containers) {
        expect([c.runAsNonRoot, c.allowPrivilegeEscalation, c.readOnlyRootFilesystem, c.drop, c.seccomp]).toEqual([true, false, true, ["ALL"], "RuntimeDefault"]);
        expect(c.requests).toEqual(c.limits);
        expect(c.probes).toEqual({ startup: true, readiness: true, liveness: true });
      }
    }
    expect(plan.policy.rules.filter((r: any) => r.result === "fail")).toEqual([]);
    const mine = plan.policy.suppressions.filter((s: any) => typeof s.address === "string" && s.address.startsWith("s/gateway/"));
    expect(new Set(mine.map((s: any) => s.ruleId))).toEqual(new Set(["MS-IMG-1", "MS-POD-7"]));
  });
});

test("with Service balancing there is no InferencePool, no endpoint picker and no Inference Extension chart", () => {
  const { stack } = servingApp({ balancing: "service" });
  const workloads = JSON.parse(Testing.synth(stack, true));
  const cluster = JSON.parse(Testing.synth(stack.clusterStack!, true));
  expect(ofKind(workloads, "InferencePool")).toEqual([]);
  expect(ofKind(workloads, "Deployment").map((d) => d.metadata.name)).toEqual(["ratelimit-redis"]);
  expect(modelMatches(workloads).find((m) => m.model === "chat")!.refs).toEqual([{ name: "svc-chat" }]);
  expect((Object.values(cluster.resource.helm_release) as any[]).map((r) => r.name)).not.toContain(findAddon("inference-extension-crds")!.releaseName);
});

test("on an existing cluster the gateway's charts are listed as must-exist and nothing is installed", () => {
  const existing: ModelServingStackProps = { cluster: { existing: { clusterName: "platform", subnetIds: ["subnet-0a1b2c3d4e5f60718"], quotas: { "L-DB2E81BA": 2000 }, addons: { externalSecrets: true } } } };
  const written = synthToDisk((outdir) => servingApp({}, existing, outdir).app);
  expect(written.error).toBe("");
  const plan = JSON.parse(written.files["s/serving-plan.json"]);
  const tf = JSON.parse(written.files["s/cdk.tf.json"]);
  expect(tf.resource.helm_release).toBeUndefined();
  const status = Object.fromEntries(plan.addons.map((a: any) => [a.name, a.status]));
  for (const name of GATEWAY_CHARTS) expect([name, status[name]]).toEqual([name, "must exist"]);
  expect(plan.gateway.usageMetrics.prometheus).toMatch(/aigw-admin/);
});

/** Build a stack with a gateway, synthesize it into a fresh directory: the error text and whether anything was written. */
function refused(build: (stack: ModelServingStack) => void, props: ModelServingStackProps = NEW_CLUSTER): { message: string; wroteNothing: boolean } {
  const r = synthToDisk((outdir) => {
    const app = new App({ outdir });
    build(new ModelServingStack(app, "s", props));
    return app;
  });
  return { message: r.error, wroteNothing: Object.keys(r.files).length === 0 };
}

const chatEndpoint = (stack: ModelServingStack) => {
  const chat = stack.addEndpoint("chat", { model: stack.importModel("qwen", { source: ModelSource.huggingFace(QWEN, { revision: QWEN_REV }) }), maxModelLen: 8192 });
  chat.addAdapter(adapter(stack, "tenant-a"));
  return chat;
};

describe("bad gateway input is refused with a coded error naming the path, the value and the fix, and nothing is written", () => {
  const rows: Array<[string, (stack: ModelServingStack) => void, string, string]> = [
    ["an external model without a key", (s) => (chatEndpoint(s), s.addGateway("gateway", gatewayProps({ external: [{ model: "gpt-4o", provider: "openai", providerModelId: "gpt-4o" }] }))), "PROVIDER_KEY_MISSING", 'openai model "gpt-4o" has no API key'],
    ["a provider key given as a literal", (s) => (chatEndpoint(s), s.addGateway("gateway", gatewayProps({ external: [{ model: "gpt-4o", provider: "openai", providerModelId: "gpt-4o", apiKey: "sk-live-0123456789abcdefghijKLMNOP" as unknown as SecretRef }] }))), "SECRET_INLINED", "external[0].apiKey holds what looks like a literal credential (sk-…)"],
    ["a Kubernetes secret as a key on a new cluster", (s) => (chatEndpoint(s), s.addGateway("gateway", gatewayProps({ external: [{ model: "gpt-4o", provider: "openai", providerModelId: "gpt-4o", apiKey: SecretRef.fromKubernetesSecret("openai", "key") }] }))), "SECRET_NOT_CREATED", 'Kubernetes secret "openai"'],
    ["an allowlist of 11 sources", (s) => (chatEndpoint(s), s.addGateway("gateway", gatewayProps({ exposure: { certificateArn: CERT, allowedCidrs: Array.from({ length: 11 }, (_, i) => `198.51.100.${i}`) } }))), "ALLOWLIST_TOO_LONG", "11 entries; 1 to 10 are allowed"],
    ["a source with host bits set", (s) => (chatEndpoint(s), s.addGateway("gateway", gatewayProps({ exposure: { certificateArn: CERT, allowedCidrs: ["198.51.100.7/24"] } }))), "CIDR_INVALID", '"198.51.100.7/24": host bits are set for /24'],
    ["the whole internet as source", (s) => (chatEndpoint(s), s.addGateway("gateway", gatewayProps({ exposure: { certificateArn: CERT, allowedCidrs: ["0.0.0.0/0"] } }))), "GATEWAY_OPEN_TO_INTERNET", "0.0.0.0/0 opens the model API"],
    ["a certificate that is not an ACM ARN", (s) => (chatEndpoint(s), s.addGateway("gateway", gatewayProps({ exposure: { certificateArn: "models.example.com", allowedCidrs: ["198.51.100.0/24"] } }))), "GATEWAY_CERTIFICATE_INVALID", '"models.example.com" is not an ACM certificate ARN'],
    ["a certificate of another region", (s) => (chatEndpoint(s), s.addGateway("gateway", gatewayProps({ exposure: { certificateArn: CERT.replace("us-east-1", "eu-west-1"), allowedCidrs: ["198.51.100.0/24"] } }))), "GATEWAY_CERTIFICATE_REGION", "the certificate is in eu-west-1 and the cluster in us-east-1"],
    ["a consumer allowed a model nobody serves", (s) => (chatEndpoint(s), s.addGateway("gateway", gatewayProps({ consumers: [{ name: "team-a", apiKey: SecretRef.fromSecretsManager(arn("a")), models: ["chat", "tenant-z"] }] }))), "CONSUMER_MODEL_UNKNOWN", 'consumer "team-a" is allowed "tenant-z", which no route serves'],
    ["an external model named like an endpoint", (s) => (chatEndpoint(s), s.addGateway("gateway", gatewayProps({ external: [{ model: "chat", provider: "bedrock", providerModelId: "amazon.nova-lite-v1:0" }] }))), "GATEWAY_MODEL_DUPLICATE", 'model name "chat" is served by both endpoint chat and bedrock model amazon.nova-lite-v1:0'],
    ["an external model named like an adapter declared after the gateway", (s) => { const chat = s.addEndpoint("chat", { model: s.importModel("qwen", { source: ModelSource.huggingFace(QWEN, { revision: QWEN_REV }) }), maxModelLen: 8192 }); s.addGateway("gateway", gatewayProps({ external: [{ model: "tenant-x", provider: "openai", providerModelId: "gpt-4o", apiKey: SecretRef.fromSecretsManager(arn("o")) }] })); chat.addAdapter(adapter(s, "tenant-x")); }, "GATEWAY_MODEL_DUPLICATE", 'model name "tenant-x" is served by both endpoint chat and openai model gpt-4o'],
    ["an endpoint that demands its own API key", (s) => { s.addEndpoint("chat", { model: s.importModel("qwen", { source: ModelSource.huggingFace(QWEN, { revision: QWEN_REV }) }), maxModelLen: 8192, apiKey: SecretRef.fromSecretsManager(arn("chat-key")) }); s.addGateway("gateway", gatewayProps()); }, "GATEWAY_ENDPOINT_API_KEY", "endpoint chat (s/chat) requires its own apiKey"],
    ["an endpoint named like another endpoint's picker", (s) => { chatEndpoint(s); s.addEndpoint("chat-epp", { model: s.importModel("qwen-2", { source: ModelSource.huggingFace(QWEN, { revision: QWEN_REV }) }), maxModelLen: 4096 }); s.addGateway("gateway", gatewayProps()); }, "NAME_COLLISION", 'Kubernetes Service "chat-epp" (namespace model-serving of cluster c) is also the name of s/chat-epp'],
    ["a second gateway on the same cluster", (s) => (chatEndpoint(s), s.addGateway("gateway", gatewayProps()), s.addGateway("second", gatewayProps({ name: "second" }))), "GATEWAY_DUPLICATE", "cluster c already has the gateway s/gateway"],
    ["keys in two Secrets Manager regions", (s) => (chatEndpoint(s), s.addGateway("gateway", gatewayProps({ consumers: [{ name: "team-a", apiKey: SecretRef.fromSecretsManager(arn("a").replace("us-east-1", "eu-west-1")), models: "*" }] }))), "GATEWAY_SECRETS_REGIONS", "2 Secrets Manager regions (eu-west-1, us-east-1)"],
  ];
  test.each(rows)("%s", (_input, build, code, value) => {
    const r = refused(build);
    expect(r.wroteNothing).toBe(true);
    const line = r.message.split("\n").find((l) => l.includes(`[${code}]`));
    expect(line).toBeDefined();
    expect(line).toContain("s/");
    expect(line).toContain(value);
    expect(line).toMatch(/Fix: \S/);
    expect(r.message).not.toContain("0123456789abcdefghijKLMNOP");
  });

  test("every problem is reported at once", () => {
    const r = refused((s) => (chatEndpoint(s), s.addGateway("gateway", gatewayProps({ exposure: { certificateArn: CERT, allowedCidrs: ["0.0.0.0/0"] }, external: [{ model: "gpt-4o", provider: "openai", providerModelId: "gpt-4o" }], consumers: [{ name: "team-a", apiKey: SecretRef.fromSecretsManager(arn("a")), models: ["nothing"] }] }))));
    const codes = [...r.message.matchAll(/\[([A-Z_]+)\] s\/gateway:/g)].map((m) => m[1]).sort();
    expect(codes).toEqual(["CONSUMER_MODEL_UNKNOWN", "GATEWAY_OPEN_TO_INTERNET", "PROVIDER_KEY_MISSING"]);
  });

  test("an existing cluster without External Secrets cannot sync the keys", () => {
    const existing: ModelServingStackProps = { cluster: { existing: { clusterName: "platform", subnetIds: ["subnet-0a1b2c3d4e5f60718"], quotas: { "L-DB2E81BA": 2000 } } } };
    const r = refused((s) => (chatEndpoint(s), s.addGateway("gateway", gatewayProps())), existing);
    expect(r.wroteNothing).toBe(true);
    expect(r.message).toMatch(/\[EXTERNAL_SECRETS_MISSING\] s\/gateway: Secrets Manager secret arn:aws:secretsmanager:us-east-1:111122223333:secret:gw\/search is referenced on existing cluster platform/);
  });
});
