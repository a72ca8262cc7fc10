/**
 * ModelGateway: one OpenAI-compatible entry point for every model of a cluster — its endpoints, their
 * LoRA adapters and traffic groups, and hosted models at OpenAI, Anthropic, Amazon Bedrock or Azure
 * OpenAI — with per-consumer API keys, request and token limits, model allowlists and usage metrics.
 * Built on Envoy AI Gateway (docs/gateway.md says why and what it cannot do): its charts are installed
 * in the cluster phase, its custom resources (constructs/manifests/gateway.ts) applied in the
 * workloads phase in the order they refer to each other.
 *
 * Routes follow the serving plan: they are rendered when the app synthesizes, so an endpoint or adapter
 * declared after the gateway is routed too.
 */
import { Aspects, TerraformStack, type ITerraformDependable } from "cdktf";
import { Construct, type IConstruct } from "constructs";
import { findAddon } from "../catalog/addons";
import { findExternalModelPrice } from "../catalog/external-models";
import { error, PlanningError, warning, type Finding } from "../planner/findings";
import { deriveName, nameProblem } from "../planner/names";
import type { Capability, EndpointPlan, ExternalListPrice, GatewayPlan, GatewayRoutePlan } from "../planner/plan-types";
import { VLLM_PORT } from "../planner/vllm-args";
import { DataAwsIamPolicyDocument, EksPodIdentityAssociation, IamPolicy, IamRole, IamRolePolicyAttachment } from "./bindings/aws";
import { Manifest } from "./bindings/k8s";
import { freeId, idFindings } from "./coded-errors";
import { ipv4CidrProblem, type GpuClusterBase } from "./gpu-cluster";
import { vllmImage } from "./images";
import { InferenceEndpoint } from "./inference-endpoint";
import {
  bedrockModelArns,
  buildGateway,
  CONSUMER_METRIC_LABEL,
  ENVOY_GATEWAY_NAMESPACE,
  envoyServiceAccount,
  RATE_LIMIT_REDIS,
  rateLimitRedis,
  type ConsumerLimits,
  type ExternalModel,
  type GatewayExposure,
  type GatewayInput,
  type GatewayManifests,
  type Provider,
  type SelfHostedRoute,
  type TrafficGroupRoute,
} from "./manifests/gateway";
import type { K8sObject } from "./manifests/k8s-object";
import { regionOfSecretArn } from "./manifests/secrets";
import { rePath, SecretRef } from "./model-source";
import { AWS_ACCOUNT, claimName, namespaceScope, userNameFindings } from "./name-claims";
import type { Suppression } from "./policy";
import { markOwned } from "./policy-scope";
import { SMOKE_CHECKS, smokeRequest, smokeTestJob } from "./smoke-test";
import type { ServingWorkloads } from "./serving-workloads";

/** The actions the Envoy pods may call Bedrock with (Converse and ConverseStream need these two). */
export const BEDROCK_INVOKE_ACTIONS = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"] as const;
/** The TLS policy the NLB listener uses (TLS 1.3 and 1.2). */
const TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";
/** What the smoke test sends to prove the gateway's own 404 for a name no route serves. */
const UNKNOWN_MODEL_PROBE = "model-serving-smoke-test-no-such-model";
const LONGEST_NAME = 57; // "<name>-envoy" must stay a 63-character label

export interface GatewayExternalModel {
  /** The name clients send in `model`. */
  readonly model: string;
  readonly provider: Provider;
  /** The provider's model id: e.g. "gpt-4o-mini", "claude-sonnet-4-5", a Bedrock model or inference-profile id, an Azure deployment name. */
  readonly providerModelId: string;
  /** The provider's API key, by Secrets Manager reference (the whole secret value is the key). Not for Bedrock. */
  readonly apiKey?: SecretRef;
  /** Bedrock only: the region of the runtime endpoint. @default - the cluster's region */
  readonly region?: string;
  /** Azure OpenAI only: the resource host ("<resource>.openai.azure.com") and API version. */
  readonly azure?: { readonly host: string; readonly apiVersion: string };
  /** What clients call it for, for the plan's path. @default "chat" */
  readonly kind?: "chat" | "embeddings";
}

export interface ModelGatewayConsumer {
  /** Team or application: the API key's client id, the rate-limit key and the `consumer` metric label (a DNS label). */
  readonly name: string;
  /** Its API key, by Secrets Manager reference. */
  readonly apiKey: SecretRef;
  /** Model names it may call, or "*" for every route. Anything else answers 404. */
  readonly models: readonly string[] | "*";
  /** Requests and tokens per unit of time, one budget across all its models. @default - unlimited */
  readonly limits?: ConsumerLimits;
}

/** How clients reach the gateway: the NLB's certificate, who may connect, and whether it is internal. */
export type ModelGatewayExposure = GatewayExposure;

export interface ModelGatewayProps {
  readonly cluster: GpuClusterBase;
  /** Names the Gateway, its class, its Envoy Service and policies (a DNS label of ≤ 57 characters). @default "model-gateway" */
  readonly name?: string;
  readonly exposure: ModelGatewayExposure;
  /** Hosted models routed beside the self-hosted ones. @default - none */
  readonly external?: readonly GatewayExternalModel[];
  readonly consumers: readonly ModelGatewayConsumer[];
  /**
   * How a self-hosted endpoint's replicas share load: the Gateway API Inference Extension's endpoint
   * picker (queue depth, KV-cache use, prefix cache, LoRA affinity) or the endpoint's Service (round
   * robin). Embedding and rerank endpoints and traffic groups always use Services. @default "endpoint-picker"
   */
  readonly balancing?: "endpoint-picker" | "service";
  /** Keep tokens per consumer per model in Prometheus (installed on a new cluster). @default true */
  readonly usageMetrics?: boolean;
  /** Envoy replicas. @default 2 */
  readonly replicas?: number;
  /** Upper bound for one request (long generations, streaming). @default "300s" */
  readonly requestTimeout?: string;
  /** Call every self-hosted model name through the gateway after each rollout. @default true */
  readonly smokeTest?: boolean;
}

/** A self-hosted endpoint as the gateway sees it at synth. */
interface ServedEndpoint {
  readonly plan: EndpointPlan;
  readonly workload: ITerraformDependable | undefined;
}

interface Rendered {
  readonly manifests: GatewayManifests;
  readonly input: GatewayInput;
  readonly served: readonly ServedEndpoint[];
  readonly groups: ReadonlyArray<TrafficGroupRoute & { capability: Capability }>;
  readonly smokeTest: { job: string; models: string[] } | undefined;
}

export class ModelGateway extends Construct {
  readonly gatewayName: string;
  readonly cluster: GpuClusterBase;
  private readonly props: ModelGatewayProps;
  private readonly workloads: ServingWorkloads;
  private readonly ownFindings: Finding[] = [];
  private readonly renderFindings: Finding[] = [];
  private readonly suppressions: Suppression[] = [];
  private readonly consumerArns: Array<string | undefined>;
  private readonly externalArns: Array<string | undefined>;
  private readonly storeName: string | undefined;
  private readonly storeDependency: ITerraformDependable | undefined;
  private readonly bedrock: GatewayPlan["bedrock"] = null;
  private readonly exposureUsable: boolean;
  private rendered: Rendered | undefined;
  private renderedOnce = false;

  constructor(scope: Construct, id: string, props: ModelGatewayProps) {
    super(scope, freeId(scope, id));
    const path = this.node.path;
    const cluster = props.cluster;
    this.props = props;
    this.cluster = cluster;
    this.gatewayName = props.name ?? "model-gateway";
    this.workloads = cluster.workloadsIn(TerraformStack.of(this));
    this.workloads.adopt(this);
    markOwned(this, () => cluster);
    cluster.attach(this);
    this.ownFindings.push(...idFindings(this, id, "ModelGateway"));
    const other = cluster.useGateway(this);
    if (other) this.ownFindings.push(error("GATEWAY_DUPLICATE", path, { field: "cluster", problem: `cluster ${cluster.clusterName} already has the gateway ${other}`, why: "one cluster has one entry point: its GatewayClass, Envoy Service and rate limiter are cluster-wide", fix: "declare every external model and consumer on one ModelGateway" }));
    this.ownFindings.push(...userNameFindings("GATEWAY_NAME_INVALID", path, "name", "dns1035Label", this.gatewayName, [], LONGEST_NAME));
    const nameOk = nameProblem("dns1035Label", this.gatewayName, LONGEST_NAME) === undefined;
    if (nameOk) {
      claimName(this, "Kubernetes Service", namespaceScope(cluster.clusterName, ENVOY_GATEWAY_NAMESPACE), this.gatewayName, "dns1035Label");
      claimName(this, "Gateway API Gateway", namespaceScope(cluster.clusterName, cluster.namespace), this.gatewayName, "dns1035Label");
    }
    this.exposureUsable = this.checkExposure(props.exposure);

    // Keys: Secrets Manager ARNs only, synced by External Secrets (which may read exactly these).
    this.consumerArns = (props.consumers ?? []).map((c, i) => this.secretArn(c.apiKey, `consumers[${i}].apiKey`, true));
    this.externalArns = (props.external ?? []).map((m, i) => {
      if (m.provider === "bedrock") {
        if (m.apiKey !== undefined) this.ownFindings.push(error("PROVIDER_KEY_UNUSED", path, { field: `external[${i}].apiKey`, problem: `Bedrock model "${m.model}" names an API key`, why: "Bedrock is called with the gateway's pod identity role, scoped to the declared models", fix: "remove apiKey" }));
        return undefined;
      }
      if (m.apiKey === undefined) {
        this.ownFindings.push(error("PROVIDER_KEY_MISSING", path, { field: `external[${i}].apiKey`, problem: `${m.provider} model "${m.model}" has no API key`, why: `${m.provider} authenticates every request with a key`, fix: 'pass apiKey: SecretRef.fromSecretsManager("arn:aws:secretsmanager:<region>:<account>:secret:<name>")' }));
        return undefined;
      }
      return this.secretArn(m.apiKey, `external[${i}].apiKey`, false);
    });
    const arns = [...this.consumerArns, ...this.externalArns].filter((a): a is string => a !== undefined);
    const regions = [...new Set(arns.map((a) => regionOfSecretArn(a)!))].sort();
    if (regions.length > 1) {
      this.ownFindings.push(error("GATEWAY_SECRETS_REGIONS", path, { field: "consumers.apiKey", problem: `the gateway's keys are in ${regions.length} Secrets Manager regions (${regions.join(", ")})`, why: "all consumer keys are synced into one Kubernetes Secret through one ClusterSecretStore, and a store reads one region", fix: `keep every key of the gateway in one region (replicate the secrets, e.g. to ${cluster.region})` }));
    } else if (regions.length === 1 && arns.every((a) => cluster.allowSecret(a))) {
      const { name, store } = this.workloads.secretStore(regions[0]);
      this.storeName = name;
      this.storeDependency = store;
    }

    // The gateway's charts, installed in the cluster phase on a new cluster ("must exist" on an existing one).
    cluster.requireAddon("envoy-gateway", "runs the model gateway's Envoy proxies, its rate-limit service and API-key checks");
    cluster.requireAddon("ai-gateway-crds", "the model gateway's AIGatewayRoute, AIServiceBackend and BackendSecurityPolicy types");
    cluster.requireAddon("ai-gateway", "routes the gateway's requests on their model, translates provider APIs, counts tokens");
    if ((props.balancing ?? "endpoint-picker") === "endpoint-picker") cluster.requireAddon("inference-extension-crds", "the InferencePool type the gateway balances self-hosted replicas with (endpoint picker)");
    if (props.usageMetrics !== false) cluster.requireAddon("prometheus", "keeps the gateway's token usage per consumer per model (gen_ai_client_token_usage)");

    this.bedrock = nameOk ? this.bedrockIdentity(props.external ?? []) : null;
    cluster.contributeSuppressions(() => this.suppressions);
    // Routes follow the final plan: rendered when the app synthesizes (before the stack's checks).
    Aspects.of(this).add({ visit: (node: IConstruct) => (node === this ? this.render() : undefined) });
  }

  /** @internal Every problem of the gateway: its props, and the routes rendered from the plan. */
  get findings(): readonly Finding[] {
    this.render();
    return [...this.ownFindings, ...this.renderFindings];
  }

  /** The gateway section of the serving plan; undefined until rendered, or when it has errors. */
  gatewayPlan(): GatewayPlan | undefined {
    this.render();
    const r = this.rendered;
    if (!r) return undefined;
    const m = r.manifests;
    const x = this.props.exposure;
    const eg = findAddon("envoy-gateway")!;
    const aieg = findAddon("ai-gateway")!;
    const iext = findAddon("inference-extension-crds")!;
    const pools = r.input.selfHosted?.some((s) => s.inferencePool && s.api !== "cohere-rerank") ?? false;
    const byEndpoint = new Map(r.served.map((s) => [s.plan.name, s.plan]));
    const perf = (name: string) => {
      const p = byEndpoint.get(name)?.performance;
      return p ? { endpoint: name, output: p.usdPer1MOutputTokens, total: p.usdPer1MTotalTokens } : undefined;
    };
    const routes: GatewayRoutePlan[] = m.routes.map((route) => {
      const ext = this.props.external?.find((e) => e.model === route.model);
      if (ext) {
        return { model: route.model, backend: "external", provider: ext.provider, providerModelId: ext.providerModelId, balancing: "provider", path: ext.kind === "embeddings" ? "/v1/embeddings" : "/v1/chat/completions", consumers: route.consumers, listPrice: listPrice(ext, this.bedrockRegion(ext)) };
      }
      const group = r.groups.find((g) => g.name === route.model);
      const endpoint = group ? undefined : r.served.find((s) => s.plan.name === route.backend)!.plan;
      const capability = group ? group.capability : endpoint!.capability;
      const own = r.input.selfHosted?.find((s) => s.endpoint === route.backend);
      const balancing: GatewayRoutePlan["balancing"] = group ? "weighted-services" : own?.inferencePool && own.api !== "cohere-rerank" ? "endpoint-picker" : "service";
      const prices = (group ? group.members.map((g) => perf(g.endpoint)) : [perf(route.backend)]).filter((p): p is NonNullable<typeof p> => p !== undefined);
      const model = group ? byEndpoint.get(group.members[0].endpoint)?.model ?? "" : endpoint!.model;
      return { model: route.model, backend: route.backend, provider: "self-hosted", providerModelId: model, balancing, path: apiPath(capability), consumers: route.consumers, selfHostedUsdPer1M: prices.length ? prices : null };
    });
    const metrics = this.props.usageMetrics !== false;
    return {
      name: this.gatewayName,
      implementation: { aiGateway: aieg.appVersion, envoyGateway: eg.appVersion, inferenceExtension: pools ? iext.appVersion : null },
      entryPoint: {
        loadBalancer: "AWS Network Load Balancer (AWS Load Balancer Controller), IP targets",
        scheme: x.private ? "internal" : "internet-facing",
        port: 443,
        certificateArn: x.certificateArn,
        tlsPolicy: TLS_POLICY,
        allowedCidrs: x.allowedCidrs.map((c) => (c.includes("/") ? c : `${c}/32`)),
        inClusterUrl: m.inClusterUrl,
        paths: ["/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/cohere/v2/rerank", "/anthropic/v1/messages", "/v1/models"],
        unknownModel: "404 from the AI Gateway's catch-all rule (\"No matching route found\"), also for a model the consumer is not allowed",
      },
      routes,
      consumers: this.props.consumers.map((c, i) => ({ name: c.name, models: c.models === "*" ? "*" : [...c.models], limits: { ...(c.limits ?? {}) }, apiKeySecret: this.consumerArns[i] ?? "" })),
      usageMetrics: metrics
        ? {
            prometheus: this.cluster.createsCluster ? findAddon("prometheus")!.prometheusUrl! : `your Prometheus: it must scrape the aigw-admin port (/metrics) of the Envoy pods in ${ENVOY_GATEWAY_NAMESPACE}`,
            metric: "gen_ai_client_token_usage",
            labels: [CONSUMER_METRIC_LABEL, "gen_ai_request_model", "gen_ai_token_type"],
            query: `sum by (${CONSUMER_METRIC_LABEL}, gen_ai_request_model, gen_ai_token_type) (increase(gen_ai_client_token_usage_sum[1d]))`,
          }
        : null,
      bedrock: this.bedrock,
      smokeTest: r.smokeTest ?? null,
    };
  }

  /** Exposure through an NLB: a valid ACM certificate of the cluster's region and 1–10 source ranges. */
  private checkExposure(x: ModelGatewayExposure | undefined): boolean {
    const path = this.node.path;
    const before = this.ownFindings.length;
    if (!x || !Array.isArray(x.allowedCidrs)) {
      this.ownFindings.push(error("GATEWAY_EXPOSURE_MISSING", path, { field: "exposure", problem: "no exposure is declared", why: "the gateway is the entry point: its load balancer needs a certificate and the sources allowed to reach it", fix: 'pass exposure: { certificateArn: "arn:aws:acm:<region>:<account>:certificate/<id>", allowedCidrs: ["203.0.113.0/24"] }' }));
      return false;
    }
    const cidrs = x.allowedCidrs;
    if (cidrs.length === 0 || cidrs.length > 10) this.ownFindings.push(error("ALLOWLIST_TOO_LONG", path, { field: "exposure.allowedCidrs", problem: `${cidrs.length} entries; 1 to 10 are allowed`, why: "the entry point must name who may call it, in a list a reviewer can read", fix: "list the client CIDRs, aggregated into supernets" }));
    for (const c of cidrs) {
      const problem = ipv4CidrProblem(c);
      if (problem) this.ownFindings.push(error("CIDR_INVALID", path, { field: "exposure.allowedCidrs", problem: `"${c}": ${problem}`, why: "the load balancer's source ranges must be IPv4 addresses or CIDRs", fix: 'for example "192.168.0.0/24" or "203.0.113.7"' }));
      else if (c === "0.0.0.0/0" || c.endsWith("/0")) this.ownFindings.push(error("GATEWAY_OPEN_TO_INTERNET", path, { field: "exposure.allowedCidrs", problem: `${c} opens the model API to the whole internet`, why: "API keys alone are one leaked key away from unbounded spend", fix: "list office, VPN or client CIDRs" }));
      else if (!x.private && /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(c)) this.ownFindings.push(warning("ALLOWLIST_PRIVATE_RANGE", path, { field: "exposure.allowedCidrs", problem: `"${c}" is a private range on an internet-facing load balancer`, why: "it sees public source addresses, so a private range never matches", fix: "set exposure.private for clients inside the VPC, or list their public CIDRs" }));
    }
    const region = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate\//.exec(String(x.certificateArn))?.[1];
    if (region && region !== this.cluster.region) this.ownFindings.push(error("GATEWAY_CERTIFICATE_REGION", path, { field: "exposure.certificateArn", problem: `the certificate is in ${region} and the cluster in ${this.cluster.region}`, why: "a load balancer can only use an ACM certificate of its own region", fix: `request or import the certificate in ${this.cluster.region}` }));
    return !this.ownFindings.slice(before).some((f) => f.severity === "error" && f.field === "exposure.allowedCidrs");
  }

  /** A Secrets Manager ARN the gateway may sync, or undefined (with the finding saying why). */
  private secretArn(value: SecretRef | undefined, field: string, required: boolean): string | undefined {
    const path = this.node.path;
    const { ref, problems } = SecretRef.check(value, field, path);
    this.ownFindings.push(...rePath(problems, path));
    if (!ref) {
      if (required && !problems.length) this.ownFindings.push(error("CONSUMER_KEY_MISSING", path, { field, problem: "the consumer has no API key", why: "the gateway authenticates every request with a consumer's key", fix: "pass apiKey: SecretRef.fromSecretsManager(arn)" }));
      return undefined;
    }
    if (problems.length) return undefined;
    if (ref.kind === "kubernetes") {
      if (this.cluster.createsCluster) this.workloads.secretKeyRef(ref, path, field); // reports SECRET_NOT_CREATED, as for endpoints
      else this.ownFindings.push(error("GATEWAY_SECRET_KUBERNETES", path, { field, problem: `Kubernetes secret "${ref.ref}" is given as a gateway key`, why: "the gateway assembles its own key Secrets (one key per consumer, under the consumer's name) from Secrets Manager", fix: "store the key in AWS Secrets Manager and pass SecretRef.fromSecretsManager(arn)" }));
      return undefined;
    }
    if (!this.cluster.allowSecret(ref.ref)) {
      this.ownFindings.push(error("EXTERNAL_SECRETS_MISSING", path, { field, problem: `Secrets Manager secret ${ref.ref} is referenced on existing cluster ${this.cluster.clusterName}, which does not declare External Secrets`, why: "the gateway reads keys from Kubernetes secrets; External Secrets Operator copies them from Secrets Manager", fix: "install External Secrets Operator in the cluster and declare addons: { externalSecrets: true } (give its role secretsmanager:GetSecretValue on this ARN)" }));
      return undefined;
    }
    return ref.ref;
  }

  private bedrockRegion(m: GatewayExternalModel): string {
    return m.region ?? this.cluster.region;
  }

  /** The Envoy pods' Pod Identity role: Bedrock InvokeModel* on exactly the declared models and inference profiles. */
  private bedrockIdentity(external: readonly GatewayExternalModel[]): GatewayPlan["bedrock"] {
    const models = external.filter((m) => m.provider === "bedrock" && /^[a-z]{2}(-[a-z]+)+-\d$/.test(this.bedrockRegion(m))).map((m): ExternalModel => ({ model: m.model, provider: "bedrock", providerModelId: m.providerModelId, region: this.bedrockRegion(m) }));
    const resources = bedrockModelArns(models);
    if (!resources.length) return null;
    const cluster = this.cluster;
    const tags = { "model-serving:cluster": cluster.clusterName };
    const roleName = deriveName("iamRoleName", [cluster.clusterName, this.gatewayName, "bedrock"]);
    claimName(this, "IAM role", AWS_ACCOUNT, roleName, "iamRoleName");
    const role = new IamRole(this, "bedrock-role", {
      name: roleName,
      assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] }] }),
      tags,
    });
    const document = new DataAwsIamPolicyDocument(this, "bedrock-policy-document", { statement: [{ effect: "Allow", actions: [...BEDROCK_INVOKE_ACTIONS], resources }] });
    const policyName = deriveName("iamPolicyName", [cluster.clusterName, this.gatewayName, "bedrock-invoke"]);
    claimName(this, "IAM policy", AWS_ACCOUNT, policyName, "iamPolicyName");
    const policy = new IamPolicy(this, "bedrock-policy", { name: policyName, policy: document.json, tags });
    new IamRolePolicyAttachment(this, "bedrock-policy-attachment", { role: role.name, policyArn: policy.arn });
    // The AI Gateway's ext-proc runs beside Envoy in these pods and signs Bedrock calls with their credentials.
    new EksPodIdentityAssociation(this, "bedrock-pod-identity", { clusterName: cluster.clusterName, namespace: ENVOY_GATEWAY_NAMESPACE, serviceAccount: envoyServiceAccount(this.gatewayName), roleArn: role.arn, tags });
    return { role: roleName, actions: [...BEDROCK_INVOKE_ACTIONS], resources };
  }

  /** Build the gateway from the final plan and render its objects, once, when the app synthesizes. */
  private render(): void {
    if (this.renderedOnce) return;
    this.renderedOnce = true;
    const path = this.node.path;
    const props = this.props;
    const plan = this.cluster.plan();
    const constructs = new Map(this.node.root.node.findAll().map((c) => [c.node.path, c]));
    const served: ServedEndpoint[] = [];
    for (const e of plan.endpoints) {
      const endpoint = constructs.get(e.path);
      if (endpoint instanceof InferenceEndpoint && endpoint.requiresApiKey) {
        this.renderFindings.push(error("GATEWAY_ENDPOINT_API_KEY", path, { field: "cluster", problem: `endpoint ${e.name} (${e.path}) requires its own apiKey`, why: "the gateway authenticates consumers and does not send an endpoint's key, so every request through it would get 401", fix: `drop apiKey (and exposure) from endpoint ${e.name}: the gateway is its entry point` }));
      }
      const workload = endpoint instanceof InferenceEndpoint ? (endpoint.deployment ?? (endpoint.node.tryFindChild("leader-worker-set") as Manifest | undefined)) : undefined;
      served.push({ plan: e, workload });
    }
    const pick = (props.balancing ?? "endpoint-picker") === "endpoint-picker";
    const selfHosted: SelfHostedRoute[] = served.map(({ plan: e }) => {
      const rerank = e.capability === "RERANK";
      // The picker's scorers (queue, KV cache, prefix cache, LoRA affinity) are about generation; embeddings and rerank use the Service.
      const generative = e.capability === "TEXT_TO_TEXT" || e.capability === "IMAGE_TEXT_TO_TEXT";
      const leaders: Record<string, string> = e.nodesPerReplica > 1 ? { "leaderworkerset.sigs.k8s.io/worker-index": "0" } : {};
      return {
        endpoint: e.name,
        modelNames: [e.name, ...e.adapters.map((a) => a.name)],
        ...(rerank ? { api: "cohere-rerank" as const } : {}),
        ...(pick && generative ? { inferencePool: { selector: { "app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": e.name, ...leaders }, targetPort: VLLM_PORT } } : {}),
      };
    });
    const groups = this.workloads
      .trafficGroupMembers()
      .map((g) => {
        // Weights the workloads already refused (TRAFFIC_WEIGHTS_INVALID) are evened out so they are not reported twice.
        const valid = Math.abs(g.members.reduce((a, m) => a + m.weight, 0) - 100) < 1e-9 && g.members.every((m) => Number.isInteger(m.weight) && m.weight >= 0);
        const even = Math.floor(100 / g.members.length);
        const members = g.members.map((m, i) => ({ endpoint: m.endpoint, weight: valid ? m.weight : even + (i === 0 ? 100 - even * g.members.length : 0) }));
        return { name: g.name, capability: g.capability, members, ...(g.capability === "RERANK" ? { api: "cohere-rerank" as const } : {}) };
      });
    const placeholder = `arn:aws:secretsmanager:${this.cluster.region}:000000000000:secret:unusable`;
    const input: GatewayInput = {
      name: this.gatewayName,
      namespace: this.cluster.namespace,
      // Problems with the allowlist are reported above with their own codes; the builder checks the rest.
      exposure: { certificateArn: props.exposure?.certificateArn ?? "", allowedCidrs: this.exposureUsable ? props.exposure.allowedCidrs : ["192.0.2.0/24"], ...(props.exposure?.private ? { private: true } : {}) },
      selfHosted,
      trafficGroups: groups.map(({ capability: _capability, ...g }) => g),
      external: (props.external ?? []).map((m, i) => ({
        model: m.model,
        provider: m.provider,
        providerModelId: m.providerModelId,
        ...(m.provider === "bedrock" ? { region: this.bedrockRegion(m) } : { apiKeySecretArn: this.externalArns[i] ?? placeholder }),
        ...(m.azure ? { azure: m.azure } : {}),
      })),
      consumers: (props.consumers ?? []).map((c, i) => ({ name: c.name, apiKeySecretArn: this.consumerArns[i] ?? placeholder, models: c.models, ...(c.limits ? { limits: c.limits } : {}) })),
      ...(props.replicas !== undefined ? { replicas: props.replicas } : {}),
      ...(props.requestTimeout !== undefined ? { requestTimeout: props.requestTimeout } : {}),
      ...(this.storeName ? { secretStoreName: this.storeName } : {}),
      path,
    };
    let manifests: GatewayManifests;
    try {
      manifests = buildGateway(input);
    } catch (e) {
      if (!(e instanceof PlanningError)) throw e;
      this.renderFindings.push(...e.findings);
      return;
    }
    const unreachable = manifests.routes.filter((r) => r.consumers.length === 0).map((r) => r.model);
    if (unreachable.length) this.renderFindings.push(warning("GATEWAY_ROUTE_UNUSED", path, { field: "consumers.models", problem: `no consumer may call ${unreachable.join(", ")}`, why: "a route nobody is allowed answers 404 to everyone, and the smoke test cannot call it", fix: "allow it to a consumer, or leave it out" }));
    // Nothing is written when anything is wrong: render only a gateway without errors.
    if ([...this.ownFindings, ...this.renderFindings].some((f) => f.severity === "error")) return;
    const smokeTest = this.renderObjects(manifests, served, groups);
    this.rendered = { manifests, input, served, groups, smokeTest };
  }

  /**
   * The objects, in the order they refer to each other: accounts, RBAC, config and Services; then the
   * custom resources kind by kind as the builder orders them (ExternalSecrets first, ready before the
   * policies that read their Secrets); then the Deployments (the endpoint picker needs its pool);
   * then the smoke test.
   */
  private renderObjects(m: GatewayManifests, served: readonly ServedEndpoint[], groups: Rendered["groups"]): Rendered["smokeTest"] {
    const namespace = this.workloads.namespaceResource;
    const inServingNamespace = (o: K8sObject) => o.metadata.namespace === this.cluster.namespace;
    const id = (o: K8sObject) => `${o.kind}-${o.metadata.namespace ?? "cluster"}-${o.metadata.name}`.toLowerCase();
    const core = [...m.coreObjects, ...rateLimitRedis()];
    // The pickers' Services and accounts share the namespace with the endpoints': one name, one owner.
    for (const o of core) if (o.kind === "Service" || o.kind === "ServiceAccount") claimName(this, `Kubernetes ${o.kind}`, namespaceScope(this.cluster.clusterName, o.metadata.namespace!), o.metadata.name, o.kind === "Service" ? "dns1035Label" : undefined);
    const workloads = core.filter((o) => o.kind === "Deployment");
    const setup = core.filter((o) => o.kind !== "Deployment").map((o) => new Manifest(this, id(o), { manifest: o, dependsOn: inServingNamespace(o) ? [namespace] : [] }));
    let previous: ITerraformDependable[] = [namespace, ...setup, ...(this.storeDependency ? [this.storeDependency] : [])];
    let group: Manifest[] = [];
    let kind = "";
    const routes: Manifest[] = [];
    const all: Manifest[] = [...setup];
    for (const o of m.customResources) {
      if (o.kind !== kind) {
        if (group.length) previous = group;
        group = [];
        kind = o.kind;
      }
      const waits =
        o.kind === "ExternalSecret" ? { wait: { condition: [{ type: "Ready", status: "True" }] }, timeouts: { create: "10m", update: "10m" } }
        // Envoy is up and the NLB has an address.
        : o.kind === "Gateway" ? { wait: { condition: [{ type: "Programmed", status: "True" }] }, timeouts: { create: "15m", update: "15m" } }
        : {};
      const manifest = new Manifest(this, id(o), { manifest: o, dependsOn: previous, ...waits });
      group.push(manifest);
      all.push(manifest);
      if (o.kind === "AIGatewayRoute") routes.push(manifest);
    }
    const last = group.length ? group : previous;
    const deployments = workloads.map((o) => new Manifest(this, id(o), { manifest: o, dependsOn: last, wait: { rollout: true }, timeouts: { create: "10m", update: "10m" } }));
    all.push(...deployments);

    // The library's images without a recorded digest, and the picker's API token: each suppression names its resources.
    for (const o of workloads) {
      const image = ((o.spec as { template: { spec: { containers: Array<{ image: string }> } } }).template.spec.containers[0]).image;
      const address = deployments[workloads.indexOf(o)].node.path;
      if (!image.includes("@sha256:")) this.suppressions.push({ ruleId: "MS-IMG-1", address, check: image, reason: `No digest of ${image} is recorded in catalog/addons.json (the chart and project sources pin it by tag only); it is pinned by its release tag until the catalog records the multi-arch index digest when the image is mirrored.` });
      if (o.metadata.name !== RATE_LIMIT_REDIS.name) this.suppressions.push({ ruleId: "MS-POD-7", address, check: "automount", reason: "The endpoint picker watches its InferencePool and the model server pods through the Kubernetes API (its Role allows get/watch/list on exactly those), so it needs its service-account token." });
    }

    if (this.props.smokeTest === false) return undefined;
    return this.smokeTest(m, served, groups, [...all], routes);
  }

  /** One request per self-hosted model name through the gateway with a consumer allowed it, and one unknown name that must get 404. */
  private smokeTest(m: GatewayManifests, served: readonly ServedEndpoint[], groups: Rendered["groups"], gatewayObjects: Manifest[], routes: Manifest[]): Rendered["smokeTest"] {
    const capabilityOf = new Map<string, Capability>();
    for (const s of served) for (const name of [s.plan.name, ...s.plan.adapters.map((a) => a.name)]) capabilityOf.set(name, s.plan.capability);
    for (const g of groups) capabilityOf.set(g.name, g.capability);
    const consumers = this.props.consumers;
    const cases: Array<[string, string, unknown, string, string]> = [];
    const keyEnv = new Map<string, string>();
    const envOf = (consumer: string) => {
      if (!keyEnv.has(consumer)) keyEnv.set(consumer, `GATEWAY_KEY_${keyEnv.size}`);
      return keyEnv.get(consumer)!;
    };
    for (const route of m.routes) {
      const capability = capabilityOf.get(route.model);
      if (!capability || !route.consumers.length) continue;
      const consumer = consumers.find((c) => route.consumers.includes(c.name))!.name;
      const q = smokeRequest(capability, route.model);
      cases.push([route.model, apiPath(capability), q.body, q.check, envOf(consumer)]);
    }
    if (!cases.length) return undefined;
    const first = cases[0][4];
    const script = [
      "import json, os, sys, time, urllib.error, urllib.request",
      `base = ${JSON.stringify(m.inClusterUrl)}`,
      `cases = json.loads(${JSON.stringify(JSON.stringify(cases))})`,
      "checks = {",
      ...Object.entries(SMOKE_CHECKS).map(([kind, check]) => `    '${kind}': lambda r: ${check},`),
      "}",
      "def call(path, body, key):",
      "    headers = {'Content-Type': 'application/json', 'Authorization': 'Bearer ' + key}",
      "    return urllib.request.urlopen(urllib.request.Request(base + path, data=json.dumps(body).encode(), headers=headers), timeout=60)",
      "failed = []",
      "for model, path, body, check, env in cases:",
      "    for attempt in range(30):",
      "        try:",
      "            r = json.load(call(path, body, os.environ[env]))",
      "            break",
      "        except Exception as e:",
      "            print('waiting for', model, 'through the gateway:', e); time.sleep(10)",
      "    else:",
      "        failed.append(model); continue",
      "    ok = checks[check](r)",
      "    print('gateway', model, 'passed' if ok else 'FAILED', json.dumps(r)[:300])",
      "    if not ok: failed.append(model)",
      "try:",
      `    call('/v1/chat/completions', {'model': ${JSON.stringify(UNKNOWN_MODEL_PROBE)}, 'messages': [{'role': 'user', 'content': 'hi'}]}, os.environ[${JSON.stringify(first)}])`,
      "    failed.append('unknown model answered 200 instead of 404')",
      "except urllib.error.HTTPError as e:",
      "    print('unknown model:', e.code)",
      "    if e.code != 404: failed.append('unknown model answered %d instead of 404' % e.code)",
      "sys.exit('smoke test FAILED: ' + ', '.join(failed) if failed else 0)",
    ].join("\n");
    const namespace = this.cluster.namespace;
    const jobName = deriveName("jobName", [this.gatewayName, "smoke-test"]);
    claimName(this, "Kubernetes Job", namespaceScope(this.cluster.clusterName, namespace), jobName, "jobName");
    const endpoints = served.map((s) => s.workload).filter((w): w is ITerraformDependable => w !== undefined);
    const labels = { "app.kubernetes.io/managed-by": "cdktf-model-serving", "app.kubernetes.io/part-of": this.gatewayName, "app.kubernetes.io/component": "smoke-test" };
    smokeTestJob(this, {
      name: jobName,
      namespace,
      labels,
      image: vllmImage(this.cluster.vllm),
      script,
      // Each consumer's key from the gateway's own key Secret: never in the Job spec.
      env: [...keyEnv].map(([consumer, name]) => ({ name, valueFrom: { secretKeyRef: { name: m.apiKeysSecret, key: consumer } } })),
      dependsOn: [...gatewayObjects, ...endpoints],
      // Re-run after every change of a route or a rollout of an endpoint behind it.
      replaceTriggeredBy: [...routes, ...endpoints],
    });
    return { job: jobName, models: cases.map((c) => c[0]) };
  }
}

/** The path clients call for an endpoint of this capability through the gateway. */
function apiPath(capability: Capability): string {
  return capability === "EMBEDDING" ? "/v1/embeddings" : capability === "RERANK" ? "/cohere/v2/rerank" : "/v1/chat/completions";
}

/** A hosted model's list price; a Bedrock cross-region profile is priced as the model it routes to. */
function listPrice(m: GatewayExternalModel, region: string): ExternalListPrice | null {
  const regional = m.provider === "bedrock" ? region : undefined;
  const profile = m.provider === "bedrock" ? /^(us|eu|apac|jp|au|ca|us-gov|global)\.(.+)$/.exec(m.providerModelId) : null;
  const row = findExternalModelPrice(m.provider, m.providerModelId, regional) ?? (profile ? findExternalModelPrice(m.provider, profile[2], regional) : undefined);
  if (!row) return null;
  const note = [row.note, profile ? `priced as ${profile[2]} in ${region} (the cross-region profile's source region)` : undefined].filter(Boolean).join(" ");
  return { inputUsdPer1M: row.inputUsdPer1M, outputUsdPer1M: row.outputUsdPer1M, source: row.source, sourceKind: row.sourceKind, asOf: row.asOf, capturedAt: row.capturedAt, ...(note ? { note } : {}) };
}
