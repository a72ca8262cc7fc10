/**
 * The model gateway's objects: one OpenAI-compatible entry point (Envoy AI Gateway on Envoy Gateway)
 * routing on the request's `model` to self-hosted endpoints (a Kubernetes Service, or an InferencePool
 * whose endpoint picker balances on queue depth, KV-cache use and LoRA affinity) and to external
 * providers, with per-consumer API keys, request and token rate limits, model allowlists and usage
 * metrics. Pure: plain objects in, plain Kubernetes objects out (docs/gateway.md says why this design).
 */
import { findAddon, RATE_LIMIT_REDIS_IMAGE } from "../../catalog/addons";
import { error, PlanningError, type Finding } from "../../planner/findings";
import { MANAGED_BY, type K8sObject } from "./k8s-object";
import { externalSecret, secretArnsOf } from "./secrets";

/** Header Envoy AI Gateway fills with the request body's `model` before routing. */
export const MODEL_HEADER = "x-ai-eg-model";
/** Header the API-key filter sets to the authenticated consumer; stripped from client requests first. */
export const CONSUMER_HEADER = "x-model-serving-consumer";
/** Metric label the AI Gateway adds from CONSUMER_HEADER (controller.metricsRequestHeaderAttributes). */
export const CONSUMER_METRIC_LABEL = "consumer";
/** Dynamic-metadata namespace where Envoy AI Gateway stores token counts (fixed by the project). */
export const AI_GATEWAY_METADATA_NAMESPACE = "io.envoy.ai_gateway";
/** Namespace Envoy Gateway runs the proxies (and the rate-limit service) in. */
export const ENVOY_GATEWAY_NAMESPACE = "envoy-gateway-system";
export const GATEWAY_CONTROLLER_NAME = "gateway.envoyproxy.io/gatewayclass-controller";
/** An image as the catalog pins it: `image@digest` once a digest is recorded, else the tag. */
const pinned = (i: { image: string; digest: string | null }): string => (i.digest ? `${i.image}@${i.digest}` : i.image);
/** The Redis the global rate limiter counts in: Envoy Gateway's values name this URL; the image is the catalog's. */
export const RATE_LIMIT_REDIS = { name: "ratelimit-redis", namespace: ENVOY_GATEWAY_NAMESPACE, port: 6379, image: pinned(RATE_LIMIT_REDIS_IMAGE.image) } as const;
/** Endpoint picker of the Gateway API Inference Extension release the AI Gateway is tested with (catalog/addons.json). */
export const ENDPOINT_PICKER_IMAGE = pinned(findAddon("inference-extension-crds")!.images[0]);
/** Port of the Gateway's listener and of the Envoy Service (plain HTTP: TLS ends at the NLB). */
export const GATEWAY_PORT = 443;

// Gateway API and AI Gateway limits (HTTPRoute: 64 matches a rule, < 128 a route; AIGatewayRoute: 15 rules, one slot is the controller's 404 rule).
const MAX_MATCHES_PER_RULE = 64;
const MAX_MATCHES_PER_ROUTE = 126;
const MAX_RULES_PER_ROUTE = 15;

export type Provider = "openai" | "anthropic" | "bedrock" | "azure-openai";

export interface SelfHostedRoute {
  /** Endpoint name: its Service, and the model name it serves. */
  readonly endpoint: string;
  /** Every name clients may send for it: the endpoint name and its LoRA adapters. */
  readonly modelNames: readonly string[];
  /** @default 80 (the endpoint Service's port) */
  readonly servicePort?: number;
  /**
   * The API the endpoint speaks behind the gateway: OpenAI (chat, completions, embeddings), or
   * Cohere's rerank v2, which the AI Gateway serves at `/cohere/v2/rerank` and passes to vLLM's
   * `/v2/rerank` (its rerank translator accepts only a Cohere-schema backend, so no InferencePool).
   * @default "openai"
   */
  readonly api?: "openai" | "cohere-rerank";
  /**
   * Model-aware balancing: an InferencePool over these pods and its endpoint picker.
   * @default - the Service (Envoy's round robin over ready pods)
   */
  readonly inferencePool?: { readonly selector: Readonly<Record<string, string>>; readonly targetPort: number };
}

export interface TrafficGroupRoute {
  /** The stable name clients send. */
  readonly name: string;
  /** Endpoints behind it with their share of requests (percent). */
  readonly members: ReadonlyArray<{ readonly endpoint: string; readonly weight: number; readonly servicePort?: number }>;
  /** The API its members speak (see SelfHostedRoute.api). @default "openai" */
  readonly api?: SelfHostedRoute["api"];
}

export interface ExternalModel {
  /** Name clients send. */
  readonly model: string;
  readonly provider: Provider;
  /** The provider's model id (Bedrock: model or inference-profile id; Azure: deployment name). */
  readonly providerModelId: string;
  /** Secrets Manager ARN of the provider API key (the whole value is the key). Not for Bedrock. */
  readonly apiKeySecretArn?: string;
  /** Bedrock region. */
  readonly region?: string;
  /** Azure OpenAI resource host (e.g. "myres.openai.azure.com") and API version. */
  readonly azure?: { readonly host: string; readonly apiVersion: string };
}

export type RateUnit = "Second" | "Minute" | "Hour" | "Day" | "Month";
export interface Rate {
  readonly limit: number;
  readonly per: RateUnit;
}

export interface ConsumerLimits {
  readonly requests?: Rate;
  readonly totalTokens?: Rate;
  readonly inputTokens?: Rate;
  readonly outputTokens?: Rate;
}

export interface GatewayConsumer {
  /** Client id: the rate-limit key and the `consumer` metric label. */
  readonly name: string;
  /** Secrets Manager ARN whose value is this consumer's API key. */
  readonly apiKeySecretArn: string;
  /** Model names this consumer may call; "*" for all. */
  readonly models: readonly string[] | "*";
  /** @default - no limits */
  readonly limits?: ConsumerLimits;
}

export interface GatewayExposure {
  /** ACM certificate (in the cluster's region) the NLB terminates TLS with. */
  readonly certificateArn: string;
  /** Source IPv4 addresses or CIDRs allowed to reach the entry point (1–10). */
  readonly allowedCidrs: readonly string[];
  /** An internal NLB, reachable from the VPC (and what is peered to it) only. @default false */
  readonly private?: boolean;
}

export interface GatewayInput {
  /** Names the Gateway, GatewayClass, EnvoyProxy and policies. @default "model-gateway" */
  readonly name?: string;
  /** Namespace of the routes, backends and secrets (the serving namespace). */
  readonly namespace: string;
  readonly exposure: GatewayExposure;
  readonly selfHosted?: readonly SelfHostedRoute[];
  readonly trafficGroups?: readonly TrafficGroupRoute[];
  readonly external?: readonly ExternalModel[];
  readonly consumers: readonly GatewayConsumer[];
  /** Envoy replicas. @default 2 */
  readonly replicas?: number;
  /** Upper bound for one request (long generations, streaming). @default "300s" */
  readonly requestTimeout?: string;
  /** ClusterSecretStore ExternalSecrets read from. @default "aws-secrets-manager" */
  readonly secretStoreName?: string;
  /** Construct path for error messages. @default "ModelGateway" */
  readonly path?: string;
}

/** A route the plan lists: one per model name. */
export interface PlannedRoute {
  readonly model: string;
  /** Endpoint name, traffic-group name, or "external". */
  readonly backend: string;
  /** "self-hosted" or the external provider. */
  readonly provider: "self-hosted" | Provider;
  /** Consumers allowed to call it. */
  readonly consumers: readonly string[];
}

export interface GatewayManifests {
  /** Custom resources, in apply order (each kind after the ones it refers to). */
  readonly customResources: K8sObject[];
  /** Core objects (ServiceAccounts, RBAC, Deployments, Services) the gateway needs besides them. */
  readonly coreObjects: K8sObject[];
  readonly routes: PlannedRoute[];
  /** IAM the Envoy proxies' Pod Identity role needs (Bedrock only; empty otherwise). */
  readonly envoyIam: { readonly namespace: string; readonly serviceAccount: string; readonly bedrockModelArns: string[] };
  /** Secrets Manager ARNs the External Secrets Operator must be allowed to read. */
  readonly secretArns: string[];
  /** The Envoy Service inside the cluster (plain HTTP, for in-cluster clients and the smoke test). */
  readonly inClusterUrl: string;
  /** The Secret that holds each consumer's key under the consumer's name. */
  readonly apiKeysSecret: string;
}

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const ACM_ARN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/;
const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/;

const PROVIDERS: Record<Provider, { schema: string; host: (m: ExternalModel) => string; needsKey: boolean }> = {
  openai: { schema: "OpenAI", host: () => "api.openai.com", needsKey: true },
  anthropic: { schema: "Anthropic", host: () => "api.anthropic.com", needsKey: true },
  bedrock: { schema: "AWSBedrock", host: (m) => `bedrock-runtime.${m.region}.amazonaws.com`, needsKey: false },
  "azure-openai": { schema: "AzureOpenAI", host: (m) => m.azure?.host ?? "", needsKey: true },
};

function validate(input: GatewayInput, path: string): Finding[] {
  const out: Finding[] = [];
  const e = (code: string, field: string, problem: string, why: string, fix: string) => out.push(error(code, path, { field, problem, why, fix }));
  const x = input.exposure;
  if (!ACM_ARN.test(x.certificateArn)) e("GATEWAY_CERTIFICATE_INVALID", "exposure.certificateArn", `"${x.certificateArn}" is not an ACM certificate ARN`, "the load balancer terminates TLS with it", "pass arn:aws:acm:<region>:<account>:certificate/<id>");
  if (x.allowedCidrs.length < 1 || x.allowedCidrs.length > 10) e("GATEWAY_ALLOWLIST_INVALID", "exposure.allowedCidrs", `${x.allowedCidrs.length} source ranges`, "the entry point is reachable only from 1–10 declared IPv4 ranges", "list between 1 and 10 CIDRs");
  for (const c of x.allowedCidrs) {
    const m = IPV4_CIDR.exec(c);
    if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || (m[5] !== undefined && Number(m[5]) > 32)) e("CIDR_INVALID", "exposure.allowedCidrs", `"${c}" is not an IPv4 address or CIDR`, "it becomes the load balancer's security-group rule", 'write e.g. "203.0.113.0/24"');
    else if (c === "0.0.0.0/0") e("GATEWAY_OPEN_TO_INTERNET", "exposure.allowedCidrs", "0.0.0.0/0 opens the model API to the whole internet", "API keys alone are one leaked key away from unbounded spend", "list office, VPN or client CIDRs");
  }
  const names = new Map<string, string>();
  const claim = (model: string, owner: string) => {
    if (names.has(model)) e("GATEWAY_MODEL_DUPLICATE", "routes", `model name "${model}" is served by both ${names.get(model)} and ${owner}`, "the gateway routes on the model name, so it must mean one backend", "rename one of them");
    names.set(model, owner);
  };
  for (const s of input.selfHosted ?? []) for (const m of s.modelNames) claim(m, `endpoint ${s.endpoint}`);
  for (const g of input.trafficGroups ?? []) {
    claim(g.name, `traffic group ${g.name}`);
    const total = g.members.reduce((a, m) => a + m.weight, 0);
    if (Math.abs(total - 100) > 1e-9) e("TRAFFIC_WEIGHTS_INVALID", "trafficGroups", `the weights of "${g.name}" add up to ${total}`, "each weight is a share of requests", "make them sum to 100");
  }
  for (const m of input.external ?? []) {
    claim(m.model, `${m.provider} model ${m.providerModelId}`);
    if (PROVIDERS[m.provider].needsKey && !m.apiKeySecretArn) e("PROVIDER_KEY_MISSING", "external.apiKeySecretArn", `${m.provider} model "${m.model}" has no API key`, `${m.provider} authenticates every request with a key`, "pass the Secrets Manager ARN of the key");
    if (m.provider === "bedrock" && m.apiKeySecretArn) e("PROVIDER_KEY_UNUSED", "external.apiKeySecretArn", `Bedrock model "${m.model}" names an API key`, "Bedrock is called with the gateway's pod identity role, scoped to the declared models", "remove apiKeySecretArn");
    if (m.provider === "bedrock" && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(m.region ?? "")) e("PROVIDER_REGION_MISSING", "external.region", `Bedrock model "${m.model}" has no valid region (got ${JSON.stringify(m.region)})`, "the Bedrock runtime endpoint is regional", 'set region, e.g. "us-east-1"');
    if (m.provider === "azure-openai" && (!m.azure || !/^[a-z0-9-]+\.openai\.azure\.com$/.test(m.azure.host))) e("PROVIDER_HOST_MISSING", "external.azure", `Azure OpenAI model "${m.model}" has no resource host`, "each Azure OpenAI resource has its own endpoint", 'set azure: { host: "<resource>.openai.azure.com", apiVersion }');
  }
  if (input.consumers.length === 0) e("GATEWAY_NO_CONSUMERS", "consumers", "no consumers", "the entry point authenticates every request with a consumer's API key", "declare at least one consumer");
  const seen = new Set<string>();
  for (const c of input.consumers) {
    if (!DNS_LABEL.test(c.name)) e("CONSUMER_NAME_INVALID", "consumers.name", `"${c.name}" is not a DNS label`, "it is the API-key client id and a metric label", 'use e.g. "team-search"');
    if (seen.has(c.name)) e("CONSUMER_DUPLICATE", "consumers.name", `consumer "${c.name}" is declared twice`, "each consumer has one key and one budget", "merge them");
    seen.add(c.name);
    if (c.models !== "*") for (const m of c.models) if (!names.has(m)) e("CONSUMER_MODEL_UNKNOWN", "consumers.models", `consumer "${c.name}" is allowed "${m}", which no route serves`, `served names: ${[...names.keys()].sort().join(", ")}`, "fix the name or add the model");
    for (const [k, r] of Object.entries(c.limits ?? {}) as Array<[string, Rate]>) {
      if (!Number.isInteger(r.limit) || r.limit < 1) e("CONSUMER_LIMIT_INVALID", `consumers.limits.${k}`, `consumer "${c.name}" ${k} limit ${r.limit}`, "a limit is a whole number ≥ 1 per unit of time", "for example { limit: 60, per: \"Minute\" }");
    }
  }
  return out;
}

/** The service account Envoy Gateway runs this gateway's proxies as (the Pod Identity association names it). */
export function envoyServiceAccount(gateway: string): string {
  return `${gateway}-envoy`;
}

/** Bedrock resources the gateway may invoke: foundation models, or inference profiles and the models behind them. */
export function bedrockModelArns(models: readonly ExternalModel[]): string[] {
  const arns = new Set<string>();
  for (const m of models.filter((x) => x.provider === "bedrock")) {
    const profile = /^(us|eu|apac|jp|au|ca|us-gov|global)\.(.+)$/.exec(m.providerModelId);
    if (profile) {
      arns.add(`arn:aws:bedrock:${m.region}:*:inference-profile/${m.providerModelId}`);
      // A cross-region profile routes to the model in any of its regions.
      arns.add(`arn:aws:bedrock:*::foundation-model/${profile[2]}`);
    } else arns.add(`arn:aws:bedrock:${m.region}::foundation-model/${m.providerModelId}`);
  }
  return [...arns].sort();
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

interface RuleDraft {
  readonly matches: Array<{ headers: Array<{ type: "Exact"; name: string; value: string }> }>;
  readonly backendRefs: Array<Record<string, unknown>>;
}

/** Build every object of the gateway. Throws PlanningError (all problems at once) on bad input. */
export function buildGateway(input: GatewayInput): GatewayManifests {
  const path = input.path ?? "ModelGateway";
  const problems = validate(input, path);
  if (problems.length) throw new PlanningError(problems);
  const name = input.name ?? "model-gateway";
  const ns = input.namespace;
  const labels = { ...MANAGED_BY, "app.kubernetes.io/part-of": name };
  const meta = (n: string, namespace: string = ns) => ({ name: n, namespace, labels });
  const cr: K8sObject[] = [];
  const core: K8sObject[] = [];
  const envoySa = envoyServiceAccount(name);
  const secretsToSync: Array<{ name: string; entries: Array<{ key: string; secretArn: string }> }> = [];

  // Entry point: an NLB (AWS Load Balancer Controller) with the ACM certificate, restricted to the
  // declared sources, in front of Envoy's plain-HTTP listener.
  const x = input.exposure;
  cr.push({
    apiVersion: "gateway.envoyproxy.io/v1alpha1",
    kind: "EnvoyProxy",
    metadata: meta(name),
    spec: {
      provider: {
        type: "Kubernetes",
        kubernetes: {
          envoyService: {
            // A fixed name (the default carries a hash), so in-cluster clients and the smoke test can call it.
            name,
            type: "LoadBalancer",
            loadBalancerClass: "service.k8s.aws/nlb",
            loadBalancerSourceRanges: x.allowedCidrs.map((c) => (c.includes("/") ? c : `${c}/32`)),
            annotations: {
              "service.beta.kubernetes.io/aws-load-balancer-scheme": x.private ? "internal" : "internet-facing",
              "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
              "service.beta.kubernetes.io/aws-load-balancer-ssl-cert": x.certificateArn,
              "service.beta.kubernetes.io/aws-load-balancer-ssl-ports": "443",
              "service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
            },
          },
          envoyDeployment: {
            replicas: input.replicas ?? 2,
            container: { resources: { requests: { cpu: "500m", memory: "512Mi" }, limits: { memory: "1Gi" } } },
          },
          // A fixed name, so the Pod Identity association (Bedrock) can name it.
          envoyServiceAccount: { name: envoySa },
          envoyPDB: { maxUnavailable: 1 },
        },
      },
    },
  });
  cr.push({ apiVersion: "gateway.networking.k8s.io/v1", kind: "GatewayClass", metadata: { name, labels }, spec: { controllerName: GATEWAY_CONTROLLER_NAME } });
  cr.push({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: meta(name),
    spec: {
      gatewayClassName: name,
      // TLS ends at the NLB; Envoy listens in plain HTTP on the Service's port 443.
      listeners: [{ name: "http", protocol: "HTTP", port: GATEWAY_PORT, allowedRoutes: { namespaces: { from: "Same" } } }],
      infrastructure: { parametersRef: { group: "gateway.envoyproxy.io", kind: "EnvoyProxy", name } },
    },
  });
  const gatewayRef = { group: "gateway.networking.k8s.io", kind: "Gateway", name };
  core.push(
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(envoySa, ENVOY_GATEWAY_NAMESPACE), automountServiceAccountToken: false },
  );

  // Clients may not claim to be a consumer: the header is removed before the API-key filter sets it.
  cr.push({ apiVersion: "gateway.envoyproxy.io/v1alpha1", kind: "ClientTrafficPolicy", metadata: meta(name), spec: { targetRefs: [gatewayRef], headers: { earlyRequestHeaders: { remove: [CONSUMER_HEADER] } } } });
  const keysSecret = `${name}-api-keys`;
  secretsToSync.push({ name: keysSecret, entries: input.consumers.map((c) => ({ key: c.name, secretArn: c.apiKeySecretArn })) });
  cr.push({
    apiVersion: "gateway.envoyproxy.io/v1alpha1",
    kind: "SecurityPolicy",
    metadata: meta(name),
    spec: {
      targetRefs: [gatewayRef],
      apiKeyAuth: {
        credentialRefs: [{ group: "", kind: "Secret", name: keysSecret }],
        // OpenAI SDKs send "Authorization: Bearer <key>", Anthropic SDKs "x-api-key".
        extractFrom: [{ headers: ["authorization", "x-api-key"] }],
        forwardClientIDHeader: CONSUMER_HEADER,
        sanitize: true,
      },
    },
  });

  const rateRules: Array<Record<string, unknown>> = [];
  for (const c of input.consumers) {
    const who = [{ name: CONSUMER_HEADER, type: "Exact", value: c.name }];
    const l = c.limits ?? {};
    if (l.requests) rateRules.push({ clientSelectors: [{ headers: who }], limit: { requests: l.requests.limit, unit: l.requests.per }, shared: true });
    const tokenRule = (r: Rate | undefined, key: string) => {
      // Check the budget on the request (cost 0), charge the tokens the response reports.
      if (r) rateRules.push({ clientSelectors: [{ headers: who }], limit: { requests: r.limit, unit: r.per }, shared: true, cost: { request: { from: "Number", number: 0 }, response: { from: "Metadata", metadata: { namespace: AI_GATEWAY_METADATA_NAMESPACE, key } } } });
    };
    tokenRule(l.totalTokens, "llm_total_token");
    tokenRule(l.inputTokens, "llm_input_token");
    tokenRule(l.outputTokens, "llm_output_token");
  }
  if (rateRules.length) cr.push({ apiVersion: "gateway.envoyproxy.io/v1alpha1", kind: "BackendTrafficPolicy", metadata: meta(name), spec: { targetRefs: [gatewayRef], rateLimit: { type: "Global", global: { rules: rateRules } } } });

  // Backends: self-hosted Services (through an Envoy Gateway Backend) or InferencePools; one per external provider endpoint.
  const backendObjects = (backendName: string, host: string, port: number, schema: Record<string, string>, tls: boolean): K8sObject[] => [
    { apiVersion: "gateway.envoyproxy.io/v1alpha1", kind: "Backend", metadata: meta(backendName), spec: { endpoints: [{ fqdn: { hostname: host, port } }], ...(tls ? { tls: { wellKnownCACertificates: "System", sni: host } } : {}) } },
    { apiVersion: "aigateway.envoyproxy.io/v1beta1", kind: "AIServiceBackend", metadata: meta(backendName), spec: { schema, backendRef: { group: "gateway.envoyproxy.io", kind: "Backend", name: backendName } } },
  ];
  const serviceBackend = (endpoint: string, port = 80, api: SelfHostedRoute["api"] = "openai"): string => {
    const backendName = `svc-${endpoint}`.slice(0, 63);
    const schema: Record<string, string> = api === "cohere-rerank" ? { name: "Cohere", version: "v2" } : { name: "OpenAI" };
    if (!cr.some((o) => o.kind === "AIServiceBackend" && o.metadata.name === backendName)) cr.push(...backendObjects(backendName, `${endpoint}.${ns}.svc.cluster.local`, port, schema, false));
    return backendName;
  };
  const targets = new Map<string, { backendRefs: Array<Record<string, unknown>>; backend: string; provider: PlannedRoute["provider"] }>();
  for (const s of input.selfHosted ?? []) {
    let refs: Array<Record<string, unknown>>;
    if (s.inferencePool && s.api !== "cohere-rerank") {
      const pool = endpointPicker({ name: s.endpoint, namespace: ns, selector: s.inferencePool.selector, targetPort: s.inferencePool.targetPort });
      cr.push(pool.inferencePool);
      core.push(...pool.coreObjects);
      refs = [{ group: "inference.networking.k8s.io", kind: "InferencePool", name: s.endpoint }];
    } else refs = [{ name: serviceBackend(s.endpoint, s.servicePort, s.api) }];
    for (const m of s.modelNames) targets.set(m, { backendRefs: refs, backend: s.endpoint, provider: "self-hosted" });
  }
  for (const g of input.trafficGroups ?? []) {
    // Exact weights need one backend per member; the endpoint picker cannot split between pools.
    targets.set(g.name, { backendRefs: g.members.map((m) => ({ name: serviceBackend(m.endpoint, m.servicePort, g.api), weight: m.weight })), backend: g.name, provider: "self-hosted" });
  }
  const providerBackends = new Map<string, string>();
  for (const m of input.external ?? []) {
    const p = PROVIDERS[m.provider];
    const host = p.host(m);
    const id = `${m.provider}|${host}|${m.apiKeySecretArn ?? ""}`;
    let backendName = providerBackends.get(id);
    if (!backendName) {
      const count = [...providerBackends.keys()].filter((k) => k.startsWith(`${m.provider}|`)).length;
      backendName = `ext-${m.provider}${count ? `-${count + 1}` : ""}`;
      providerBackends.set(id, backendName);
      const schema: Record<string, string> = m.provider === "azure-openai" ? { name: p.schema, version: m.azure!.apiVersion } : { name: p.schema };
      cr.push(...backendObjects(backendName, host, 443, schema, true));
      const target = [{ group: "aigateway.envoyproxy.io", kind: "AIServiceBackend", name: backendName }];
      if (m.provider === "bedrock") {
        // No key: the AWS SDK in the gateway finds the Envoy pods' Pod Identity credentials.
        cr.push({ apiVersion: "aigateway.envoyproxy.io/v1beta1", kind: "BackendSecurityPolicy", metadata: meta(backendName), spec: { targetRefs: target, type: "AWSCredentials", awsCredentials: { region: m.region } } });
      } else {
        const secret = `${backendName}-key`;
        secretsToSync.push({ name: secret, entries: [{ key: "apiKey", secretArn: m.apiKeySecretArn! }] });
        const type = m.provider === "anthropic" ? "AnthropicAPIKey" : m.provider === "azure-openai" ? "AzureAPIKey" : "APIKey";
        const field = m.provider === "anthropic" ? "anthropicAPIKey" : m.provider === "azure-openai" ? "azureAPIKey" : "apiKey";
        cr.push({ apiVersion: "aigateway.envoyproxy.io/v1beta1", kind: "BackendSecurityPolicy", metadata: meta(backendName), spec: { targetRefs: target, type, [field]: { secretRef: { name: secret } } } });
      }
    }
    targets.set(m.model, { backendRefs: [{ name: backendName, ...(m.providerModelId !== m.model ? { modelNameOverride: m.providerModelId } : {}) }], backend: "external", provider: m.provider });
  }

  // Routes: a model name matches only for the consumers allowed it; anything else falls to the
  // AI Gateway's own catch-all rule, which answers 404 "No matching route found".
  const everyoneAll = input.consumers.every((c) => c.models === "*");
  const allowed = (model: string) => input.consumers.filter((c) => c.models === "*" || c.models.includes(model)).map((c) => c.name);
  const drafts: RuleDraft[] = [];
  const routes: PlannedRoute[] = [];
  const byBackend = new Map<string, { refs: Array<Record<string, unknown>>; matches: RuleDraft["matches"] }>();
  for (const [model, t] of [...targets.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const who = allowed(model);
    routes.push({ model, backend: t.backend, provider: t.provider, consumers: who });
    const key = JSON.stringify(t.backendRefs);
    const entry = byBackend.get(key) ?? { refs: t.backendRefs, matches: [] };
    byBackend.set(key, entry);
    const modelMatch = { type: "Exact" as const, name: MODEL_HEADER, value: model };
    if (everyoneAll) entry.matches.push({ headers: [modelMatch] });
    else for (const c of who) entry.matches.push({ headers: [modelMatch, { type: "Exact", name: CONSUMER_HEADER, value: c }] });
  }
  for (const { refs, matches } of byBackend.values()) for (const part of chunk(matches, MAX_MATCHES_PER_RULE)) drafts.push({ matches: part, backendRefs: refs });
  const routeGroups: RuleDraft[][] = [];
  for (const d of drafts) {
    const last = routeGroups[routeGroups.length - 1];
    const used = last ? last.reduce((a, r) => a + r.matches.length, 0) : Infinity;
    if (last && last.length < MAX_RULES_PER_ROUTE && used + d.matches.length <= MAX_MATCHES_PER_ROUTE) last.push(d);
    else routeGroups.push([d]);
  }
  routeGroups.forEach((rules, i) => {
    cr.push({
      apiVersion: "aigateway.envoyproxy.io/v1beta1",
      kind: "AIGatewayRoute",
      metadata: meta(routeGroups.length === 1 ? name : `${name}-${i + 1}`),
      spec: {
        parentRefs: [gatewayRef],
        rules: rules.map((r) => ({ matches: r.matches, backendRefs: r.backendRefs, timeouts: { request: input.requestTimeout ?? "300s" } })),
        // Token counts the rate limiter charges and the usage metrics report.
        llmRequestCosts: [
          { metadataKey: "llm_input_token", type: "InputToken" },
          { metadataKey: "llm_output_token", type: "OutputToken" },
          { metadataKey: "llm_total_token", type: "TotalToken" },
        ],
      },
    });
  });

  const externalSecrets = secretsToSync.map((s) => externalSecret({ name: s.name, namespace: ns, entries: s.entries, storeName: input.secretStoreName, path }));
  const order = ["ExternalSecret", "EnvoyProxy", "GatewayClass", "Gateway", "ClientTrafficPolicy", "SecurityPolicy", "BackendTrafficPolicy", "InferencePool", "Backend", "AIServiceBackend", "BackendSecurityPolicy", "AIGatewayRoute"];
  const customResources = [...externalSecrets, ...cr].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  return {
    customResources,
    coreObjects: core,
    routes,
    envoyIam: { namespace: ENVOY_GATEWAY_NAMESPACE, serviceAccount: envoySa, bedrockModelArns: bedrockModelArns(input.external ?? []) },
    secretArns: secretArnsOf({ entries: secretsToSync.flatMap((s) => s.entries) }),
    inClusterUrl: `http://${name}.${ENVOY_GATEWAY_NAMESPACE}.svc.cluster.local:${GATEWAY_PORT}`,
    apiKeysSecret: keysSecret,
  };
}

export interface EndpointPickerInput {
  /** Names the InferencePool (the endpoint's name) and, with "-epp", its picker. */
  readonly name: string;
  readonly namespace: string;
  /** Labels of the model server pods (for a LeaderWorkerSet, the leaders only). */
  readonly selector: Readonly<Record<string, string>>;
  /** vLLM's port. */
  readonly targetPort: number;
}

/**
 * An InferencePool and its endpoint picker (EPP): the objects the upstream `inferencepool` chart
 * renders at v1.0.2, with resources and a restricted security context added.
 */
export function endpointPicker(input: EndpointPickerInput): { inferencePool: K8sObject; coreObjects: K8sObject[] } {
  const epp = `${input.name.slice(0, 40)}-epp`;
  const ns = input.namespace;
  const labels = { ...MANAGED_BY, "app.kubernetes.io/name": epp };
  const selector = { inferencepool: epp };
  const pluginsConfig = [
    "apiVersion: inference.networking.x-k8s.io/v1alpha1",
    "kind: EndpointPickerConfig",
    "plugins:",
    "- type: queue-scorer",
    "- type: kv-cache-utilization-scorer",
    "- type: prefix-cache-scorer",
    "schedulingProfiles:",
    "- name: default",
    "  plugins:",
    "  - pluginRef: queue-scorer",
    "  - pluginRef: kv-cache-utilization-scorer",
    "  - pluginRef: prefix-cache-scorer",
    "",
  ].join("\n");
  const inferencePool: K8sObject = {
    apiVersion: "inference.networking.k8s.io/v1",
    kind: "InferencePool",
    metadata: { name: input.name, namespace: ns, labels },
    spec: { targetPorts: [{ number: input.targetPort }], selector: { matchLabels: input.selector }, endpointPickerRef: { name: epp, port: { number: 9002 } } },
  };
  const coreObjects: K8sObject[] = [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: epp, namespace: ns, labels } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: epp, namespace: ns, labels },
      rules: [
        { apiGroups: ["inference.networking.x-k8s.io"], resources: ["inferenceobjectives"], verbs: ["get", "watch", "list"] },
        { apiGroups: ["inference.networking.k8s.io"], resources: ["inferencepools"], verbs: ["get", "watch", "list"] },
        { apiGroups: [""], resources: ["pods"], verbs: ["get", "watch", "list"] },
      ],
    },
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: epp, namespace: ns, labels }, subjects: [{ kind: "ServiceAccount", name: epp, namespace: ns }], roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: epp } },
    // The picker's /metrics checks callers with TokenReview and SubjectAccessReview.
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: `${epp}-${ns}`.slice(0, 84), labels }, rules: [{ apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] }, { apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"], verbs: ["create"] }] },
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: `${epp}-${ns}`.slice(0, 84), labels }, subjects: [{ kind: "ServiceAccount", name: epp, namespace: ns }], roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: `${epp}-${ns}`.slice(0, 84) } },
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: epp, namespace: ns, labels }, data: { "default-plugins.yaml": pluginsConfig } },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: epp, namespace: ns, labels },
      spec: {
        replicas: 1,
        // One active picker keeps the prefix-cache scorer's state; Recreate lets the new one take over at once.
        strategy: { type: "Recreate" },
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: { ...labels, ...selector } },
          spec: {
            serviceAccountName: epp,
            terminationGracePeriodSeconds: 130,
            securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
              {
                name: "epp",
                image: ENDPOINT_PICKER_IMAGE,
                imagePullPolicy: "IfNotPresent",
                args: ["--pool-name", input.name, "--pool-namespace", ns, "--pool-group", "inference.networking.k8s.io", "--zap-encoder", "json", "--config-file", "/config/default-plugins.yaml", "--v", "1"],
                ports: [{ name: "grpc", containerPort: 9002 }, { name: "grpc-health", containerPort: 9003 }, { name: "metrics", containerPort: 9090 }],
                env: [{ name: "NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } }],
                // The picker serves health once it has synced the pool: allow a minute for that.
                startupProbe: { grpc: { port: 9003, service: "inference-extension" }, periodSeconds: 2, failureThreshold: 30 },
                livenessProbe: { grpc: { port: 9003, service: "inference-extension" }, initialDelaySeconds: 5, periodSeconds: 10 },
                readinessProbe: { grpc: { port: 9003, service: "inference-extension" }, periodSeconds: 2 },
                // Requests equal limits: a Guaranteed pod on the system nodes, never throttled below what it asked for.
                resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "500m", memory: "1Gi" } },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                volumeMounts: [{ name: "plugins-config", mountPath: "/config" }],
              },
            ],
            volumes: [{ name: "plugins-config", configMap: { name: epp } }],
          },
        },
      },
    },
    { apiVersion: "v1", kind: "Service", metadata: { name: epp, namespace: ns, labels }, spec: { type: "ClusterIP", selector, ports: [{ name: "grpc-ext-proc", protocol: "TCP", port: 9002 }, { name: "http-metrics", protocol: "TCP", port: 9090 }] } },
  ];
  return { inferencePool, coreObjects };
}

/**
 * The Redis Envoy Gateway's global rate limiter counts in. Counters are short-lived, so nothing is
 * persisted; it runs non-root on a read-only root filesystem.
 */
export function rateLimitRedis(): K8sObject[] {
  const { name, namespace, port, image } = RATE_LIMIT_REDIS;
  const labels = { ...MANAGED_BY, "app.kubernetes.io/name": name };
  return [
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name, namespace, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: { "app.kubernetes.io/name": name } },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            securityContext: { runAsNonRoot: true, runAsUser: 999, runAsGroup: 999, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
              {
                name: "redis",
                image,
                imagePullPolicy: "IfNotPresent",
                command: ["redis-server", "--save", "", "--appendonly", "no", "--port", String(port)],
                ports: [{ name: "redis", containerPort: port }],
                resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "100m", memory: "256Mi" } },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                startupProbe: { tcpSocket: { port }, periodSeconds: 2, failureThreshold: 15 },
                readinessProbe: { tcpSocket: { port }, periodSeconds: 5 },
                livenessProbe: { tcpSocket: { port }, periodSeconds: 10, failureThreshold: 3 },
                volumeMounts: [{ name: "data", mountPath: "/data" }],
              },
            ],
            volumes: [{ name: "data", emptyDir: { sizeLimit: "64Mi" } }],
          },
        },
      },
    },
    { apiVersion: "v1", kind: "Service", metadata: { name, namespace, labels }, spec: { type: "ClusterIP", selector: { "app.kubernetes.io/name": name }, ports: [{ name: "redis", port, targetPort: port }] } },
  ];
}

/** The URL Envoy Gateway's `config.envoyGateway.rateLimit.backend.redis.url` must name. */
export function rateLimitRedisUrl(): string {
  return `${RATE_LIMIT_REDIS.name}.${RATE_LIMIT_REDIS.namespace}.svc.cluster.local:${RATE_LIMIT_REDIS.port}`;
}
