/**
 * InferenceEndpoint: serves one imported model on the pool the planner chose — a vLLM Deployment
 * whose every flag comes from the plan, a ClusterIP Service, a PodDisruptionBudget, a service account
 * that can read only its model, and a smoke-test Job that makes `cdktf deploy` fail when the endpoint
 * does not answer like its API should.
 */
import { Lazy, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import type { AdapterSpec } from "../planner/lora";
import type { FineTunedModel } from "./fine-tuned-model";
import { error, PlanningError, type Finding } from "../planner/findings";
import { checkpointBytesOf, startupSeconds as startupSecondsFor, type EndpointDeclaration, type Placed } from "../planner/plan";
import type { Capability, CapacityType, ThroughputTarget } from "../planner/plan-types";
import { replicaResources } from "../planner/shapes";
import type { KvCacheDtype, OnlineQuantization } from "../planner/sizing";
import type { LimitMmPerPrompt } from "../planner/multimodal";
import { VLLM_PORT, vllmArgs } from "../planner/vllm-args";
import { vllmRelease, type VllmRelease } from "../planner/engine";
import { DataAwsIamPolicyDocument, EksPodIdentityAssociation, IamPolicy, IamRole, IamRolePolicyAttachment } from "./bindings/aws";
import { DeploymentV1, Manifest, PodDisruptionBudgetV1, ServiceAccountV1, ServiceV1 } from "./bindings/k8s";
import { deploymentV1SpecTemplateSpecInitContainerToTerraform, type DeploymentV1SpecTemplateSpecContainerEnv, type DeploymentV1SpecTemplateSpecInitContainer, type DeploymentV1SpecTemplateSpecVolume } from "./bindings/k8s";
import type { GpuClusterBase } from "./gpu-cluster";
import type { GpuNodePool } from "./gpu-node-pool";
import type { ImportedModel } from "./imported-model";
import { ipv4CidrProblem } from "./gpu-cluster";
import { scaledObject } from "./manifests/workloads";
import { SMOKE_CHECKS, smokeRequest, smokeTestJob } from "./smoke-test";
import { registerFindings } from "./preflight";
import type { ServingWorkloads } from "./serving-workloads";
import { AWS_CLI_IMAGE, vllmImage } from "./images";
import { RAW_RESTRICTED_CONTAINER, RAW_RESTRICTED_POD, RESTRICTED_CONTAINER, RESTRICTED_POD } from "./pod-security";
import { rePath, SecretRef, type ModelSource } from "./model-source";
import { freeId, idFindings } from "./coded-errors";
import { deriveName, maxLeaderWorkerSetNameLength, nameProblem, suggestName } from "../planner/names";
import { AWS_ACCOUNT, claimName, namespaceScope, userNameFindings } from "./name-claims";
import { markOwned } from "./policy-scope";
import { LEADER_WORKER_SET_READY } from "./manifests/workloads";
import { legacyCapacityType, type EndpointCapacity } from "../planner/purchasing";

export interface ExposureOptions {
  /** Source IPv4 addresses or CIDRs allowed to reach the endpoint (1–10). */
  readonly allowedCidrs: readonly string[];
}

export interface AutoscalingOptions {
  /** 0 allows scale to zero (the plan states the cold start). */
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** Replicas the expected monthly cost assumes. @default - the midpoint of min and max, rounded up */
  readonly expectedReplicas?: number;
  /** What drives replicas: requests waiting per replica, or KV-cache use. @default "queue" */
  readonly metric?: "queue" | "kv-cache";
  /** Waiting requests per replica (queue) or KV-cache fraction (kv-cache) to hold. @default 5 or 0.8 */
  readonly target?: number;
}

export interface InferenceEndpointProps {
  readonly cluster: GpuClusterBase;
  readonly model: ImportedModel;
  /** The API to serve; must match the model's capability. @default - the model's capability */
  readonly kind?: Capability;
  /** DNS-1035 name of the Deployment, Service and served model. @default - the construct id */
  readonly name?: string;
  /** A catalog shape such as "A10_X1". @default - the cheapest shape that fits */
  readonly shape?: string;
  /** Host instance for the shape. @default - the cheapest instance carrying the shape's GPUs */
  readonly instanceType?: string;
  /** @default - the shape's GPU count when it divides the heads */
  readonly tensorParallel?: number;
  /** Context length in tokens. @default - min(8192, the model's maximum) */
  readonly maxModelLen?: number;
  /** Requests of maxModelLen that must fit in the KV cache at once. @default 1 */
  readonly minConcurrency?: number;
  /**
   * Traffic and latency to serve: the planner picks the shape and, unless replicas or autoscaling are
   * declared, the replica count that meet it at the lowest cost. @default - sized by minConcurrency
   */
  readonly throughput?: ThroughputTarget;
  /** @default - the pinned vLLM release's default (0.92) */
  readonly gpuMemoryUtilization?: number;
  /** @default "auto" */
  readonly kvCacheDtype?: KvCacheDtype;
  /** vLLM online quantization of an unquantized checkpoint. @default - none */
  readonly quantization?: OnlineQuantization;
  /** Weight dtype. @default "auto" (the checkpoint's, float16 on GPUs without bfloat16) */
  readonly dtype?: "auto" | "bfloat16" | "float16" | "float32";
  /** Fixed replica count; use autoscaling for a range. @default 1 */
  readonly replicas?: number;
  /** Replicas from load, through a KEDA ScaledObject on vLLM's own metrics. @default - fixed replicas */
  readonly autoscaling?: AutoscalingOptions;
  /** The short form of `capacity`: "ON_DEMAND" or "SPOT". @default "ON_DEMAND" */
  readonly capacityType?: CapacityType;
  /**
   * The Spot price you see for `instanceType` in the cluster's region, USD per instance-hour; the plan
   * prices the Spot pool at it, labelled as declared. @default - Spot is priced as a range: AWS's maximum discount … On-Demand
   */
  readonly spotPriceUsdPerHour?: number;
  /**
   * How the endpoint's nodes are bought: `{ type: "on-demand" }`; `{ type: "spot", fallbackInstanceTypes?, spotPriceUsdPerHour? }`;
   * an On-Demand Capacity Reservation `{ type: "reservation", reservationId | resourceGroupArn, availabilityZone, instances? }`
   * (priced On-Demand, every reserved instance billed); or a Capacity Block for ML
   * `{ type: "capacity-block", reservationId, availabilityZone, usdPerInstanceHour, instances? }` (priced at the declared rate).
   * Reservations and blocks need `instanceType`; the shape defaults to that instance's GPUs. Endpoints on the
   * same reservation share one node pool. @default - from capacityType
   */
  readonly capacity?: EndpointCapacity;
  /** Prefix caching for generative models. @default true */
  readonly enablePrefixCaching?: boolean;
  /**
   * `--limit-mm-per-prompt` of a vision-language model: images (and, for Qwen-VL, videos) one request may carry,
   * optionally with the largest image size — e.g. `{ image: 2 }` or `{ image: { count: 1, width: 1024, height: 1024 } }`.
   * vLLM profiles the vision encoder with that many images of that size at start-up, which comes out of the KV cache.
   * @default { image: 4, video: 0 }
   */
  readonly limitMmPerPrompt?: LimitMmPerPrompt;
  /** API key clients must send, by reference. @default - none (cluster-internal Service only) */
  readonly apiKey?: SecretRef;
  /** Expose outside the cluster through a load balancer restricted to these sources. @default - ClusterIP only */
  readonly exposure?: ExposureOptions;
  /** Run a one-request smoke test after every rollout. @default true */
  readonly smokeTest?: boolean;
  /** LoRA adapters of this model, served on the same GPUs under their own names (more with addAdapter). @default - none */
  readonly adapters?: readonly FineTunedModel[];
  /** `--max-lora-rank`. @default - the smallest vLLM rank that holds every adapter */
  readonly maxLoraRank?: number;
  /**
   * Serve under a stable name shared with other endpoints (blue/green, canary), taking this share of
   * its traffic. @default - the endpoint stands alone under its own name
   */
  readonly trafficGroup?: { readonly name: string; readonly weight: number };
  /**
   * The vLLM release this endpoint runs, e.g. "0.19.1": its image, its `vllm serve` flags and the sizing
   * follow it. Only releases read at their tag can be served (catalog/vllm/releases.json). @default - the cluster's release
   */
  readonly vllm?: string;
}

const CACHE_DIR = "/cache";
const MODEL_DIR = "/models";
const ADAPTER_DIR = "/adapters";

export class InferenceEndpoint extends Construct {
  readonly name: string;
  readonly findings: Finding[] = [];
  readonly placed: Placed | undefined;
  readonly pool: GpuNodePool | undefined;
  readonly deployment: DeploymentV1 | undefined;
  readonly service: ServiceV1 | undefined;
  private readonly adapterSpecs: AdapterSpec[] = [];
  private readonly adapterModels: FineTunedModel[] = [];
  private readonly cluster: GpuClusterBase;
  private readonly workloads: ServingWorkloads;
  private apiKeyRef: { name: string; key: string } | undefined;
  private readonly adapterTokens = new Map<string, { name: string; key: string; sync?: Manifest }>();
  /** The vLLM release this endpoint runs. */
  readonly release: VllmRelease;
  private readonly nameInvalid: boolean;

  constructor(scope: Construct, id: string, props: InferenceEndpointProps) {
    super(scope, freeId(scope, id));
    const path = this.node.path;
    this.name = props.name ?? id;
    this.cluster = props.cluster;
    // The Kubernetes side lives in this endpoint's stack; its resources use that side's providers.
    this.workloads = props.cluster.workloadsIn(TerraformStack.of(this));
    this.workloads.adopt(this);
    props.cluster.attach(this);
    props.cluster.attach(props.model);
    registerFindings(this);
    markOwned(this, () => props.cluster);
    this.findings.push(...idFindings(this, id, "InferenceEndpoint"), ...rePath(SecretRef.check(props.apiKey, "apiKey", path).problems, path));
    for (const a of props.adapters ?? []) this.attach(a);
    // The name names the Deployment, the Service and the served model: a DNS-1035 label. The
    // suggestion is computed at synth, against every Service name the namespace then holds.
    this.nameInvalid = nameProblem("dns1035Label", this.name) !== undefined;
    if (!this.nameInvalid) claimName(this, "Kubernetes Service", namespaceScope(props.cluster.clusterName, props.cluster.namespace), this.name, "dns1035Label");
    const replicas = props.replicas ?? 1;
    if (!Number.isInteger(replicas) || replicas < 0) {
      this.findings.push(error("REPLICAS_INVALID", path, { field: "replicas", problem: `replicas must be an integer ≥ 1 (got ${replicas})`, why: "it is a pod count", fix: "for example 1 or 2" }));
    } else if (replicas === 0 && !props.autoscaling) {
      // Zero only means something with an autoscaler that can bring replicas back.
      this.findings.push(error("REPLICAS_ZERO", path, { field: "replicas", problem: "replicas 0 would create a GPU node pool and a Deployment that never runs a pod", why: "the endpoint would exist but answer nothing, and nothing would ever start a replica", fix: "set replicas ≥ 1, remove the endpoint, or scale to zero on demand with autoscaling: { minReplicas: 0, maxReplicas: 2 }" }));
    }
    const auto = props.autoscaling;
    if (auto) {
      if (!Number.isInteger(auto.minReplicas) || !Number.isInteger(auto.maxReplicas) || auto.minReplicas < 0 || auto.maxReplicas < 1 || auto.maxReplicas < auto.minReplicas) {
        this.findings.push(error("AUTOSCALING_RANGE_INVALID", path, { field: "autoscaling", problem: `minReplicas ${auto.minReplicas} and maxReplicas ${auto.maxReplicas} are not a range`, why: "maxReplicas must be an integer ≥ 1 and ≥ minReplicas (an integer ≥ 0)", fix: "for example minReplicas 1, maxReplicas 4" }));
      }
      if (props.replicas !== undefined) this.findings.push(error("REPLICAS_CONFLICT", path, { field: "replicas", problem: "both replicas and autoscaling are set", why: "Terraform and the autoscaler would fight over the replica count", fix: "keep autoscaling.minReplicas/maxReplicas and drop replicas" }));
      if (!props.cluster.addons.keda) {
        this.findings.push(error("METRIC_SOURCE_MISSING", path, { field: "autoscaling", problem: "autoscaling needs KEDA and a Prometheus that scrapes vLLM, and the cluster declares neither", why: "an autoscaler without its metric never scales: the endpoint would sit at minReplicas whatever the load", fix: 'declare addons: { keda: true } (a cluster this app creates gets KEDA and Prometheus installed), or on an existing cluster addons: { keda: { prometheusUrl: "http://prometheus.monitoring:9090" } } once they run there' }));
      }
    }
    // A baseline rate sizes an autoscaling range: derived when neither replicas nor autoscaling is declared.
    const baseline = props.throughput && (props.throughput.baselineRequestsPerSecond !== undefined || props.throughput.baselineOutputTokensPerSecond !== undefined);
    const derivedRange = !!baseline && !auto && props.replicas === undefined;
    if (baseline && props.replicas !== undefined) {
      this.findings.push(error("BASELINE_WITH_FIXED_REPLICAS", path, { field: "throughput.baselineRequestsPerSecond", problem: `a baseline rate is declared with fixed replicas ${props.replicas}`, why: "a baseline sizes the low end of an autoscaling range; fixed replicas would ignore it", fix: "drop replicas (the planner derives the range from the baseline and the peak), or drop the baseline" }));
    }
    if (derivedRange && !props.cluster.addons.keda) {
      this.findings.push(error("METRIC_SOURCE_MISSING", path, { field: "throughput.baselineRequestsPerSecond", problem: "a baseline rate asks for an autoscaling range, and the cluster declares neither KEDA nor a Prometheus that scrapes vLLM", why: "replicas move between the baseline's and the peak's through a KEDA ScaledObject on vLLM's queue; without it the endpoint would sit at the baseline's replicas", fix: 'declare addons: { keda: true } (a cluster this app creates gets KEDA and Prometheus installed), or on an existing cluster addons: { keda: { prometheusUrl: "http://prometheus.monitoring:9090" } }, or drop the baseline to size for the peak' }));
    }
    if (props.exposure) {
      const cidrs = props.exposure.allowedCidrs;
      if (cidrs.length === 0 || cidrs.length > 10) this.findings.push(error("ALLOWLIST_TOO_LONG", path, { field: "exposure.allowedCidrs", problem: `${cidrs.length} entries; 1 to 10 are allowed`, why: "an exposed endpoint must name who may call it, in a list a reviewer can read", fix: "list the client CIDRs, aggregated into supernets" }));
      for (const c of cidrs) {
        const problem = ipv4CidrProblem(c);
        if (problem) this.findings.push(error("CIDR_INVALID", path, { field: "exposure.allowedCidrs", problem: `"${c}": ${problem}`, why: "the load balancer's source ranges must be IPv4 addresses or CIDRs", fix: 'for example "192.168.0.0/24" or "203.0.113.7"' }));
      }
      if (!props.apiKey) this.findings.push(error("EXPOSED_WITHOUT_API_KEY", path, { field: "apiKey", problem: "the endpoint is exposed outside the cluster without an API key", why: "anyone inside the allowed ranges could use the GPUs", fix: "set apiKey: SecretRef.fromKubernetesSecret(name, key)" }));
    }
    let release: VllmRelease = props.cluster.vllm;
    if (props.vllm !== undefined) {
      try {
        release = vllmRelease(props.vllm, path, "serve");
      } catch (e) {
        if (!(e instanceof PlanningError)) throw e;
        this.findings.push(...e.findings);
      }
    }
    this.release = release;
    const model = props.model.declaration();
    const maxModelLen = props.maxModelLen ?? Math.min(8192, props.model.profile?.maxPositionEmbeddings ?? 8192);
    if (!model || this.findings.length || this.nameInvalid) {
      return;
    }
    const decl: EndpointDeclaration = {
      name: this.name,
      path,
      model,
      capability: props.kind ?? model.capability,
      maxModelLen,
      replicas: auto ? { min: auto.minReplicas, max: auto.maxReplicas, expected: auto.expectedReplicas ?? Math.ceil((auto.minReplicas + auto.maxReplicas) / 2) } : { min: replicas, max: replicas, expected: replicas },
      // The planner reports a capacity that disagrees with capacityType or spotPriceUsdPerHour (CAPACITY_CONFLICT).
      capacityType: props.capacityType ?? (props.capacity ? legacyCapacityType(props.capacity) : "ON_DEMAND"),
      ...(props.capacity ? { capacity: props.capacity } : {}),
      ...(props.shape ? { shape: props.shape } : {}),
      ...(props.instanceType ? { instanceType: props.instanceType } : {}),
      ...(props.tensorParallel ? { tensorParallel: props.tensorParallel } : {}),
      ...(props.minConcurrency !== undefined ? { minConcurrency: props.minConcurrency } : {}),
      ...(props.gpuMemoryUtilization !== undefined ? { gpuMemoryUtilization: props.gpuMemoryUtilization } : {}),
      ...(props.kvCacheDtype ? { kvCacheDtype: props.kvCacheDtype } : {}),
      ...(props.quantization ? { quantization: props.quantization } : {}),
      ...(props.dtype ? { dtype: props.dtype } : {}),
      ...(props.limitMmPerPrompt ? { limitMmPerPrompt: props.limitMmPerPrompt } : {}),
      ...(props.enablePrefixCaching !== undefined ? { enablePrefixCaching: props.enablePrefixCaching } : {}),
      ...(props.maxLoraRank !== undefined ? { maxLoraRank: props.maxLoraRank } : {}),
      ...(props.spotPriceUsdPerHour !== undefined ? { spotPriceUsdPerHour: props.spotPriceUsdPerHour } : {}),
      ...(props.throughput ? { throughput: props.throughput, replicasFromThroughput: props.replicas === undefined && !auto } : {}),
      adapters: this.adapterSpecs,
      vllm: release.version,
    };
    const where = props.cluster.addEndpoint(decl);
    if (!where) return;
    if (where.placed.fit.nodesPerReplica > 1) {
      const k = where.placed.fit.nodesPerReplica;
      if (!props.cluster.addons.leaderWorkerSet) {
        this.findings.push(error("LWS_MISSING", path, { field: "addons.leaderWorkerSet", problem: `${model.modelId} needs ${k} nodes per replica, served as a LeaderWorkerSet, and the cluster does not declare the LeaderWorkerSet controller`, why: "a multi-node replica is one leader pod and its workers, scheduled and restarted as a group; plain Deployments cannot do that", fix: "declare addons: { leaderWorkerSet: true } (installed for you on a cluster this app creates; on an existing cluster, once kubernetes-sigs/lws runs there)" }));
      }
      if (!props.cluster.addons.efa && (where.placed.fit.host?.instance.efaDevices ?? 0) > 0) {
        props.cluster.report({ ...error("MULTI_NODE_WITHOUT_EFA", path, { field: "addons.efa", problem: `the ${k} nodes of each replica will exchange pipeline activations over TCP`, why: `${where.placed.fit.host!.instance.instanceType} has ${where.placed.fit.host!.instance.efaDevices} EFA devices, but without the EFA device plugin NCCL cannot use them`, fix: "declare addons: { efa: true } (the EFA device plugin is installed for you on a cluster this app creates)" }), severity: "warning" });
      }
      const longest = maxLeaderWorkerSetNameLength(replicas);
      if (this.name.length > longest) {
        const free = suggestName("dns1035Label", this.name, props.cluster.serviceNames(), { maxLength: longest });
        this.findings.push(error("NAME_TOO_LONG_FOR_LWS", path, { field: "name", problem: `name "${this.name}" has ${this.name.length} characters; a LeaderWorkerSet of ${replicas} group(s) may have ${longest}`, why: "its worker StatefulSets are named <name>-<group index>, and their pods carry controller-revision-hash: <statefulset>-<hash of up to 10 characters>, a label value of at most 63 characters", fix: `use "${free}"` }));
      }
      if (auto || derivedRange) this.findings.push(error("AUTOSCALING_MULTI_NODE_UNSUPPORTED", path, { field: auto ? "autoscaling" : "throughput.baselineRequestsPerSecond", problem: `autoscaling a ${k}-node replica`, why: "each new replica is a whole group of GPU nodes that takes many minutes to start; the library sizes these endpoints explicitly", fix: "use replicas" }));
      if (this.findings.length) {
        return;
      }
    }
    this.placed = where.placed;
    this.pool = where.pool;
    // A derived range follows the final plan (adapters added later are sized with it).
    const scaling = auto ?? (derivedRange ? { minReplicas: Lazy.numberValue({ produce: () => this.planned()?.replicas.min ?? where.placed.decl.replicas.min }), maxReplicas: Lazy.numberValue({ produce: () => this.planned()?.replicas.max ?? where.placed.decl.replicas.max }) } : undefined);
    const r = this.render(scaling ? { ...props, autoscaling: scaling } : props, where.placed, where.pool, auto ? auto.minReplicas : where.placed.decl.replicas.min);
    this.deployment = r.deployment;
    this.service = r.service;
  }

  /** Serve a LoRA adapter of this endpoint's model on the same GPUs; the plan is re-checked at synth. */
  addAdapter(adapter: FineTunedModel): void {
    this.attach(adapter);
    this.cluster.invalidatePlan();
  }

  private attach(adapter: FineTunedModel): void {
    this.cluster.attach(adapter);
    // Resolved now, not at synth: a Secrets Manager token adds the resources that sync it.
    const token = adapter.source.kind === "huggingface" && adapter.source.token ? this.workloads.secretKeyRef(adapter.source.token, adapter.node.path, "source.token") : undefined;
    if (token) this.adapterTokens.set(adapter.name, token);
    // An adapter added after rendering: its pods must still wait for the token's copy.
    if (token?.sync && this.deployment) this.deployment.dependsOn = [...(this.deployment.dependsOn ?? []), token.sync.fqn];
    const spec = adapter.spec();
    this.adapterModels.push(adapter);
    if (spec) this.adapterSpecs.push(spec);
    if (adapter.source.kind === "s3") this.grantS3Read(`adapter-${adapter.name}`, adapter.source);
  }

  /** One init container per source kind fetches every adapter at its pinned revision into /adapters. */
  private adapterInitContainers(securityContext: DeploymentV1SpecTemplateSpecInitContainer["securityContext"]): DeploymentV1SpecTemplateSpecInitContainer[] {
    const hub = this.adapterModels.filter((a) => a.source.kind === "huggingface");
    const s3 = this.adapterModels.filter((a) => a.source.kind === "s3");
    const out: DeploymentV1SpecTemplateSpecInitContainer[] = [];
    const mounts = [{ name: "adapters", mountPath: ADAPTER_DIR }, { name: "tmp", mountPath: "/tmp" }];
    if (hub.length) {
      const list = JSON.stringify(hub.map((a) => [a.source.id, a.source.revision, `${ADAPTER_DIR}/${a.name}`]));
      const script = ["from huggingface_hub import snapshot_download", `for repo, rev, dest in ${list}:`, "    snapshot_download(repo, revision=rev, local_dir=dest, allow_patterns=['*.json', '*.safetensors', 'tokenizer*', '*.model'])", "print('adapters ready')"].join("\n");
      const token = hub.map((a) => this.adapterTokens.get(a.name)).find((t) => t !== undefined);
      out.push({
        name: "fetch-adapters-hub",
        image: vllmImage(this.release),
        command: ["python3", "-c", script],
        env: [{ name: "HOME", value: "/tmp" }, { name: "HF_HUB_DISABLE_TELEMETRY", value: "1" }, ...(token ? [{ name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: token.name, key: token.key } } }] : [])],
        securityContext,
        resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "500m", memory: "1Gi" } },
        volumeMount: mounts,
      });
    }
    if (s3.length) {
      out.push({
        name: "fetch-adapters-s3",
        image: AWS_CLI_IMAGE,
        command: ["sh", "-c", s3.map((a) => `aws s3 sync --only-show-errors --exclude '*.bin' ${a.source.id} ${ADAPTER_DIR}/${a.name}`).join(" && ")],
        env: [{ name: "HOME", value: "/tmp" }],
        securityContext,
        resources: { requests: { cpu: "500m", memory: "512Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
        volumeMount: mounts,
      });
    }
    return out;
  }

  private identity: { serviceAccountName: string; tags: Record<string, string> } | undefined;
  private role: IamRole | undefined;

  private grantS3Read(id: string, source: ModelSource): void {
    this.grant(id, [
      { actions: ["s3:GetObject"], resources: [`arn:aws:s3:::${source.bucket}/${source.prefix}*`] },
      { actions: ["s3:ListBucket"], resources: [`arn:aws:s3:::${source.bucket}`], condition: [{ test: "StringLike", variable: "s3:prefix", values: [`${source.prefix}*`] }] },
    ]);
  }

  /** Allow this endpoint's pods exactly these actions on these resources. */
  private grant(id: string, statements: Array<{ actions: string[]; resources: string[]; condition?: Array<{ test: string; variable: string; values: string[] }> }>): void {
    if (!this.identity) return; // not rendered: the endpoint failed planning
    const cluster = this.cluster;
    if (!this.role) {
      const roleName = deriveName("iamRoleName", [cluster.clusterName, this.name]);
      claimName(this, "IAM role", AWS_ACCOUNT, roleName, "iamRoleName");
      this.role = new IamRole(this, "role", {
        name: roleName,
        assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] }] }),
        tags: this.identity.tags,
      });
      new EksPodIdentityAssociation(this, "pod-identity", { clusterName: cluster.clusterName, namespace: cluster.namespace, serviceAccount: this.identity.serviceAccountName, roleArn: this.role.arn });
    }
    const scope = id === "model" ? this : new Construct(this, `grant-${id}`);
    const doc = new DataAwsIamPolicyDocument(scope, "policy-document", { statement: statements.map((st) => ({ effect: "Allow", ...st })) });
    const suffix = id === "model" ? "model-read" : id;
    const policyName = deriveName("iamPolicyName", [cluster.clusterName, this.name, suffix]);
    claimName(scope, "IAM policy", AWS_ACCOUNT, policyName, "iamPolicyName");
    const policy = new IamPolicy(scope, "policy", { name: policyName, policy: doc.json, tags: this.identity.tags });
    new IamRolePolicyAttachment(scope, "policy-attachment", { role: this.role.name, policyArn: policy.arn });
  }

  /** Whether clients must send this endpoint's own API key (`apiKey`); a gateway in front does not send it. */
  get requiresApiKey(): boolean {
    return this.apiKeyRef !== undefined;
  }

  /** The endpoint as the final plan has it (adapters added after construction included). */
  private planned() {
    return this.cluster.plan().endpoints.find((e) => e.name === this.name);
  }

  /** @internal Endpoint-level problems are reported with the rest of the app's when it synthesizes. */
  findingsForPreflight(): readonly Finding[] {
    return [
      // The suggestion is computed at synth, against every Service name the namespace then holds.
      ...(this.nameInvalid ? userNameFindings("NAME_INVALID", this.node.path, "name", "dns1035Label", this.name, this.cluster.serviceNames()) : []),
      ...this.findings,
    ];
  }

  private render(props: InferenceEndpointProps, placed: Placed, pool: GpuNodePool, replicas: number) {
    const cluster = props.cluster;
    const model = props.model;
    const fit = placed.fit;
    const s = fit.sizing;
    const namespace = cluster.namespace;
    const source = model.loadSource();
    // Pods need the Hub token only when they pull from the Hub themselves (not when staged in S3).
    const token = source.kind === "huggingface" ? model.source.token : undefined;
    const gpus = fit.shape.gpus;
    const res = replicaResources(fit.host!.instance, gpus);
    const selector = { "app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": this.name };
    const group = props.trafficGroup;
    const labels = { ...selector, "app.kubernetes.io/managed-by": "cdktf-model-serving", ...model.labels(), ...(group ? { "model-serving.io/traffic-group": group.name } : {}) };
    if (group) cluster.joinTrafficGroup(group.name, { endpoint: this.name, path: this.node.path, weight: group.weight, modelId: model.source.id, capability: placed.decl.capability, replicas, selector });
    const annotations = { ...model.annotations(), "model-serving.io/shape": fit.shape.name };
    // vLLM serves Prometheus metrics on its API port; KEDA's queries read them from there.
    const podAnnotations = { ...annotations, "prometheus.io/scrape": "true", "prometheus.io/port": String(VLLM_PORT), "prometheus.io/path": "/metrics" };
    const weightsBytes = checkpointBytesOf(placed.decl.model);
    const startupSeconds = startupSecondsFor(weightsBytes);

    // Identity: an IAM role (EKS Pod Identity) that can read only this model's S3 prefix, its adapters'
    // prefixes and its token secret — granted piece by piece, so adapters added later get theirs.
    claimName(this, "Kubernetes ServiceAccount", namespaceScope(cluster.clusterName, namespace), this.name);
    const serviceAccount = new ServiceAccountV1(this, "service-account", {
      metadata: { name: this.name, namespace, labels },
      automountServiceAccountToken: false,
      dependsOn: [cluster.namespaceResource()],
    });
    this.identity = { serviceAccountName: serviceAccount.metadata.name, tags: model.awsTags() };
    if (source.kind === "s3") this.grantS3Read("model", source);
    // Secrets exist as Kubernetes secrets before the pods start (synced from Secrets Manager on a new cluster).
    const hfToken = token ? this.workloads.secretKeyRef(token, this.node.path, "model.source.token") : undefined;
    const apiKey = props.apiKey ? this.workloads.secretKeyRef(props.apiKey, this.node.path, "apiKey") : undefined;
    this.apiKeyRef = apiKey;
    const secretSyncs = [hfToken?.sync, apiKey?.sync, ...[...this.adapterTokens.values()].map((t) => t.sync)].filter((m): m is Manifest => m !== undefined);
    for (const a of this.adapterModels) if (a.source.kind === "s3") this.grantS3Read(`adapter-${a.name}`, a.source);

    const modelArg = source.kind === "s3" ? `${MODEL_DIR}/${this.name}` : source.id;
    // Rendered at synth from the final plan, so adapters added later are served and sized.
    const argsFor = (): string[] => {
        const e = this.planned();
        const lora = e?.lora;
        return vllmArgs(
          e ?? { name: this.name, capability: placed.decl.capability, tensorParallel: fit.tensorParallel, pipelineParallel: fit.pipelineParallel, maxModelLen: placed.decl.maxModelLen, gpuMemoryUtilization: s.gpuMemoryUtilization, maxNumSeqs: s.maxNumSeqs, maxNumBatchedTokens: s.maxNumBatchedTokens, kvCacheDtype: s.kvCacheDtype, quantization: placed.decl.quantization ?? model.profile?.quantization?.method ?? null, dtype: s.dtype, ...(placed.decl.limitMmPerPrompt ? { limitMmPerPrompt: placed.decl.limitMmPerPrompt } : {}) },
          {
            model: modelArg,
            ...(source.kind === "huggingface" ? { revision: source.revision, downloadDir: MODEL_DIR } : {}),
            ...(props.enablePrefixCaching === false ? { enablePrefixCaching: false } : {}),
            ...(props.trafficGroup ? { trafficGroup: props.trafficGroup.name } : {}),
            ...(lora ? { lora: { ...lora, modules: this.adapterSpecs.map((a) => ({ name: a.name, path: `${ADAPTER_DIR}/${a.name}` })) } } : {}),
          },
          !!model.profile?.quantization,
          this.release,
        );
    };
    const args = Lazy.listValue({ produce: argsFor });

    const env: DeploymentV1SpecTemplateSpecContainerEnv[] = [
      { name: "HOME", value: CACHE_DIR },
      { name: "HF_HOME", value: `${CACHE_DIR}/huggingface` },
      { name: "VLLM_CACHE_ROOT", value: `${CACHE_DIR}/vllm` },
      { name: "TRITON_CACHE_DIR", value: `${CACHE_DIR}/triton` },
      { name: "VLLM_NO_USAGE_STATS", value: "1" },
      { name: "DO_NOT_TRACK", value: "1" },
    ];
    if (source.kind === "s3") env.push({ name: "HF_HUB_OFFLINE", value: "1" });
    if (hfToken) env.push({ name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: hfToken.name, key: hfToken.key } } });
    if (apiKey) env.push({ name: "VLLM_API_KEY", valueFrom: { secretKeyRef: { name: apiKey.name, key: apiKey.key } } });

    const restricted = RESTRICTED_CONTAINER;
    const initContainers: DeploymentV1SpecTemplateSpecInitContainer[] = [];
    if (source.kind === "s3") {
      initContainers.push({
        name: "fetch-weights",
        image: AWS_CLI_IMAGE,
        command: ["aws", "s3", "sync", "--only-show-errors", "--exclude", "*.bin", "--exclude", "*.pt", source.id, `${MODEL_DIR}/${this.name}`],
        env: [{ name: "HOME", value: "/tmp" }],
        securityContext: restricted,
        resources: { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "1", memory: "1Gi" } },
        volumeMount: [{ name: "models", mountPath: MODEL_DIR }, { name: "tmp", mountPath: "/tmp" }],
      });
    }
    const volumes: DeploymentV1SpecTemplateSpecVolume[] = [
      // Always mounted so adapters added after construction need no structural change; sized at synth.
      { name: "adapters", emptyDir: { sizeLimit: Lazy.stringValue({ produce: () => `${Math.max(1, this.adapterModels.length)}Gi` }) } },
      { name: "dshm", emptyDir: { medium: "Memory", sizeLimit: `${res.shmGiB}Gi` } },
      { name: "models", emptyDir: { sizeLimit: `${Math.ceil((weightsBytes / 1024 ** 3) * 1.2) + 5}Gi` } },
      { name: "cache", emptyDir: { sizeLimit: "20Gi" } },
      { name: "tmp", emptyDir: { sizeLimit: "10Gi" } },
    ];

    if (fit.nodesPerReplica > 1) {
      const group = this.renderGroup({ placed, pool, replicas, args: argsFor, env, initContainers, volumes, labels, annotations: podAnnotations, serviceAccountName: serviceAccount.metadata.name, gpus, res, startupSeconds, model, secretSyncs });
      const service = this.renderService(props, namespace, { ...selector, "leaderworkerset.sigs.k8s.io/worker-index": "0" }, labels);
      if (props.smokeTest !== false && replicas > 0) this.smokeTest(namespace, placed.decl.capability, group, labels);
      return { deployment: undefined, service };
    }
    const probe = (path: string, period: number, failures: number, timeout = 5) => ({ httpGet: { path, port: String(VLLM_PORT) }, periodSeconds: period, failureThreshold: failures, timeoutSeconds: timeout });
    const deployment = new DeploymentV1(this, "deployment", {
      metadata: { name: this.name, namespace, labels, annotations },
      waitForRollout: true,
      timeouts: { create: `${Math.max(30, Math.ceil(startupSeconds / 60) + 15)}m`, update: `${Math.max(30, Math.ceil(startupSeconds / 60) + 15)}m` },
      spec: {
        replicas: String(replicas),
        revisionHistoryLimit: 5,
        selector: { matchLabels: selector },
        // GPUs are scarce: replace one pod at a time and never run two copies beyond the pool's capacity.
        strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "0", maxUnavailable: "1" } },
        template: {
          metadata: { labels, annotations: podAnnotations },
          spec: {
            serviceAccountName: serviceAccount.metadata.name,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: 120,
            nodeSelector: pool.nodeSelector(),
            toleration: [pool.toleration()],
            securityContext: RESTRICTED_POD,
            // Adapters may be added after construction, so the init containers are rendered at synth.
            initContainer: Lazy.anyValue({ produce: () => [...initContainers, ...this.adapterInitContainers(restricted)].map(deploymentV1SpecTemplateSpecInitContainerToTerraform) }) as unknown as DeploymentV1SpecTemplateSpecInitContainer[],
            container: [
              {
                name: "vllm",
                image: vllmImage(this.release),
                imagePullPolicy: "IfNotPresent",
                command: ["vllm", "serve"],
                args,
                port: [{ name: "http", containerPort: VLLM_PORT, protocol: "TCP" }],
                env,
                resources: {
                  requests: { cpu: String(res.cpu), memory: `${res.memoryGiB}Gi`, "nvidia.com/gpu": String(gpus) },
                  limits: { cpu: String(res.cpu), memory: `${res.memoryGiB}Gi`, "nvidia.com/gpu": String(gpus) },
                },
                securityContext: restricted,
                // Loading weights, profiling and CUDA graph capture take minutes: budget them from the model's size.
                startupProbe: probe("/health", 10, Math.ceil(startupSeconds / 10)),
                readinessProbe: probe("/health", 10, 3),
                livenessProbe: probe("/health", 30, 5, 10),
                lifecycle: { preStop: [{ exec: { command: ["sleep", "20"] } }] },
                volumeMount: [
                  { name: "dshm", mountPath: "/dev/shm" },
                  { name: "adapters", mountPath: ADAPTER_DIR, readOnly: true },
                  { name: "models", mountPath: MODEL_DIR },
                  { name: "cache", mountPath: CACHE_DIR },
                  { name: "tmp", mountPath: "/tmp" },
                ],
              },
            ],
            volume: volumes,
          },
        },
      },
      dependsOn: [...(model.stagingJob ? [model.stagingJob] : []), ...secretSyncs],
      // With an autoscaler the replica count is KEDA's: Terraform must not reset it on every apply.
      ...(props.autoscaling ? { lifecycle: { ignoreChanges: ["spec[0].replicas"] } } : {}),
    });
    const prometheusUrl = cluster.prometheusUrl();
    if (props.autoscaling && prometheusUrl) this.scaledObject(props.autoscaling, prometheusUrl, namespace, deployment);

    const service = this.renderService(props, namespace, selector, labels);
    new PodDisruptionBudgetV1(this, "pdb", {
      metadata: { name: this.name, namespace, labels },
      spec: { maxUnavailable: "1", selector: { matchLabels: selector } },
      dependsOn: [cluster.namespaceResource()],
    });
    if (props.smokeTest !== false && replicas > 0) this.smokeTest(namespace, placed.decl.capability, deployment, labels);
    return { deployment, service };
  }

  private renderService(props: InferenceEndpointProps, namespace: string, selector: Record<string, string>, labels: Record<string, string>): ServiceV1 {
    return new ServiceV1(this, "service", {
      metadata: {
        name: this.name,
        namespace,
        labels,
        ...(props.exposure ? { annotations: { "service.beta.kubernetes.io/aws-load-balancer-type": "external", "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip", "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing" } } : {}),
      },
      spec: {
        type: props.exposure ? "LoadBalancer" : "ClusterIP",
        selector,
        port: [{ name: "http", port: props.exposure ? 443 : 80, targetPort: "http", protocol: "TCP" }],
        ...(props.exposure ? { loadBalancerSourceRanges: props.exposure.allowedCidrs.map((c) => (c.includes("/") ? c : `${c}/32`)) } : {}),
      },
      dependsOn: [this.cluster.namespaceResource()],
    });
  }

  /**
   * A replica bigger than one node: a LeaderWorkerSet group of `k` pods, one per node. The leader
   * starts the Ray head and `vllm serve` with TP inside each node and PP across them; the workers join.
   */
  private renderGroup(g: {
    placed: Placed; pool: GpuNodePool; replicas: number; args: () => string[]; env: DeploymentV1SpecTemplateSpecContainerEnv[]; initContainers: DeploymentV1SpecTemplateSpecInitContainer[];
    volumes: DeploymentV1SpecTemplateSpecVolume[]; labels: Record<string, string>; annotations: Record<string, string>; serviceAccountName: string; gpus: number;
    res: { cpu: number; memoryGiB: number; shmGiB: number }; startupSeconds: number; model: ImportedModel; secretSyncs: Manifest[];
  }): Manifest {
    const k = g.placed.fit.nodesPerReplica;
    const inst = g.placed.fit.host!.instance;
    const efa = this.cluster.addons.efa && inst.efaDevices > 0;
    // Raw Kubernetes objects: kubernetes_manifest takes the API's own field names and types.
    const security = RAW_RESTRICTED_CONTAINER;
    const resources = {
      requests: { cpu: String(g.res.cpu), memory: `${g.res.memoryGiB}Gi`, "nvidia.com/gpu": String(g.gpus), ...(efa ? { "vpc.amazonaws.com/efa": String(inst.efaDevices) } : {}) },
      limits: { cpu: String(g.res.cpu), memory: `${g.res.memoryGiB}Gi`, "nvidia.com/gpu": String(g.gpus), ...(efa ? { "vpc.amazonaws.com/efa": String(inst.efaDevices) } : {}) },
    };
    const env = [
      ...g.env.map((e) => (e.valueFrom ? { name: e.name, valueFrom: { secretKeyRef: { name: (e.valueFrom as { secretKeyRef: { name: string; key: string } }).secretKeyRef.name, key: (e.valueFrom as { secretKeyRef: { name: string; key: string } }).secretKeyRef.key } } } : { name: e.name, value: e.value })),
      { name: "RAY_DEDUP_LOGS", value: "0" },
      ...(efa ? [{ name: "FI_PROVIDER", value: "efa" }, { name: "NCCL_PROTO", value: "simple" }] : [{ name: "NCCL_SOCKET_IFNAME", value: "eth0" }]),
    ];
    const mounts = [
      { name: "dshm", mountPath: "/dev/shm" },
      { name: "models", mountPath: MODEL_DIR },
      { name: "cache", mountPath: CACHE_DIR },
      { name: "tmp", mountPath: "/tmp" },
    ];
    const volumes = g.volumes.filter((v) => v.name !== "adapters").map((v) => ({ name: v.name, emptyDir: { ...(v.emptyDir as { medium?: string; sizeLimit?: string }) } }));
    const init = g.initContainers.map((c) => ({ name: c.name, image: c.image, command: c.command, env: (c.env as Array<{ name: string; value: string }>) ?? [], securityContext: security, resources: { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "1", memory: "1Gi" } }, volumeMounts: (c.volumeMount as Array<{ name: string; mountPath: string }>) ?? [] }));
    const quote = (a: string) => `'${a.replace(/'/g, `'"'"'`)}'`;
    const leaderCommand = Lazy.stringValue({ produce: () => `ray start --head --port=6379 --num-gpus=${g.gpus} --disable-usage-stats && exec vllm serve ${[...g.args(), "--distributed-executor-backend", "ray"].map(quote).join(" ")}` });
    const probe = (period: number, failures: number) => ({ httpGet: { path: "/health", port: VLLM_PORT }, periodSeconds: period, failureThreshold: failures, timeoutSeconds: 5 });
    const pod = (role: "leader" | "worker") => ({
      metadata: { labels: { ...g.labels, "model-serving.io/role": role }, annotations: g.annotations },
      spec: {
        serviceAccountName: g.serviceAccountName,
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        terminationGracePeriodSeconds: 120,
        nodeSelector: g.pool.nodeSelector(),
        tolerations: [g.pool.toleration()],
        securityContext: RAW_RESTRICTED_POD,
        initContainers: init,
        containers: [
          {
            name: role === "leader" ? "vllm" : "ray-worker",
            image: vllmImage(this.release),
            command: ["sh", "-c", role === "leader" ? leaderCommand : `ray start --address=$LWS_LEADER_ADDRESS:6379 --num-gpus=${g.gpus} --disable-usage-stats --block`],
            env,
            resources,
            securityContext: security,
            volumeMounts: mounts,
            ...(role === "leader"
              ? { ports: [{ name: "http", containerPort: VLLM_PORT, protocol: "TCP" }], startupProbe: probe(10, Math.ceil(g.startupSeconds / 10)), readinessProbe: probe(10, 3), livenessProbe: probe(30, 5), lifecycle: { preStop: { exec: { command: ["sleep", "20"] } } } }
              : {}),
          },
        ],
        volumes,
      },
    });
    const namespace = this.cluster.namespace;
    return new Manifest(this, "leader-worker-set", {
      manifest: {
        apiVersion: "leaderworkerset.x-k8s.io/v1",
        kind: "LeaderWorkerSet",
        metadata: { name: this.name, namespace, labels: g.labels },
        spec: {
          replicas: g.replicas,
          startupPolicy: "LeaderCreated",
          rolloutStrategy: { type: "RollingUpdate", rollingUpdateConfiguration: { maxUnavailable: 1, maxSurge: 0 } },
          leaderWorkerTemplate: { size: k, restartPolicy: "RecreateGroupOnPodRestart", leaderTemplate: pod("leader"), workerTemplate: pod("worker") },
        },
      },
      // The provider's rollout wait knows only Deployments, DaemonSets and StatefulSets: wait on the
      // controller's Available condition, set once every group is ready at the current revision.
      wait: { condition: [{ ...LEADER_WORKER_SET_READY }] },
      timeouts: { create: `${Math.max(45, Math.ceil(g.startupSeconds / 60) + 30)}m`, update: `${Math.max(45, Math.ceil(g.startupSeconds / 60) + 30)}m` },
      dependsOn: [this.cluster.namespaceResource(), ...(g.model.stagingJob ? [g.model.stagingJob] : []), ...g.secretSyncs],
    });
  }

  /** KEDA ScaledObject on vLLM's queue depth or KV-cache use, for this Deployment only (built in constructs/manifests). */
  private scaledObject(a: AutoscalingOptions, prometheusUrl: string, namespace: string, deployment: DeploymentV1): void {
    new Manifest(this, "scaled-object", {
      manifest: scaledObject({ name: this.name, namespace, minReplicas: a.minReplicas, maxReplicas: a.maxReplicas, prometheusUrl, ...(a.metric ? { metric: a.metric } : {}), ...(a.target !== undefined ? { target: a.target } : {}) }),
      dependsOn: [deployment],
    });
  }

  /** One real request of the endpoint's kind, checked for the shape of that API's answer. */
  private smokeTest(namespace: string, capability: Capability, deployment: DeploymentV1 | Manifest, labels: Record<string, string>): void {
    const apiKey = this.apiKeyRef;
    const base = `http://${this.name}.${namespace}.svc.cluster.local`;
    const path: Record<Capability, string> = { TEXT_TO_TEXT: "/v1/chat/completions", IMAGE_TEXT_TO_TEXT: "/v1/chat/completions", EMBEDDING: "/v1/embeddings", RERANK: "/v1/rerank" };
    const q = smokeRequest(capability, this.name);
    const script = [
      "import json, os, sys, time, urllib.request",
      `url = ${JSON.stringify(base + path[capability])}`,
      `body = json.dumps(${JSON.stringify(JSON.stringify(q.body))}).encode()`,
      "headers = {'Content-Type': 'application/json'}",
      "if os.environ.get('VLLM_API_KEY'): headers['Authorization'] = 'Bearer ' + os.environ['VLLM_API_KEY']",
      "for attempt in range(30):",
      "    try:",
      "        r = json.load(urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers), timeout=60))",
      "        break",
      "    except Exception as e:",
      "        print('waiting for the endpoint:', e); time.sleep(10)",
      "else:",
      "    sys.exit('endpoint did not answer')",
      `ok = ${SMOKE_CHECKS[q.check]}`,
      "print('smoke test', 'passed' if ok else 'FAILED', json.dumps(r)[:500])",
      "sys.exit(0 if ok else 1)",
    ].join("\n");
    // The Job's name becomes its pods' job-name label (≤ 63): shortened with a hash for long endpoint names.
    const jobName = deriveName("jobName", [this.name, "smoke-test"]);
    claimName(this, "Kubernetes Job", namespaceScope(this.cluster.clusterName, namespace), jobName, "jobName");
    smokeTestJob(this, {
      name: jobName,
      namespace,
      labels: { ...labels, "app.kubernetes.io/component": "smoke-test" },
      image: vllmImage(this.release),
      script,
      env: apiKey ? [{ name: "VLLM_API_KEY", valueFrom: { secretKeyRef: { name: apiKey.name, key: apiKey.key } } }] : [],
      dependsOn: [deployment],
      replaceTriggeredBy: [deployment],
    });
  }
}
