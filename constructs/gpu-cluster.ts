/**
 * GpuCluster: a new EKS cluster (API reachable by the deployer, KMS-encrypted secrets, control-plane
 * logs, a small system node group, access entries) or an existing one (`GpuCluster.fromExisting`).
 * It owns the serving plan of everything placed on it: endpoints are sized when added, node pools are
 * created per shape in the cluster's stack, and the whole-tree rules (quota, budget, policy) run once
 * for the whole app before any stack is written. Its workloads (namespace, Deployments, Jobs, custom
 * resources) live in a `ServingWorkloads` of another stack for a new cluster — the deploy phases —
 * and beside it for an existing one.
 */
import { Fn, Lazy, TerraformResource, TerraformStack } from "cdktf";
import { Construct, type IConstruct } from "constructs";
import { SERVICE_PRICES } from "../catalog";
import { findAddon } from "../catalog/addons";
import { error, PlanningError, type Finding } from "../planner/findings";
import { vllmRelease, type VllmRelease } from "../planner/engine";
import { planServing, placeEndpoint, poolName, type EndpointDeclaration, type Placed, type PlanInput } from "../planner/plan";
import { DEFAULT_REGION, regionProblem } from "../planner/region";
import { capacityOf } from "../planner/purchasing";
import type { AddonPlan, Capability, GatewayPlan, PhasePlan, ServingPlan } from "../planner/plan-types";
import { CloudwatchLogGroup, DataAwsEksCluster, EksAccessEntry, EksAccessPolicyAssociation, EksAddon, EksCluster, EksNodeGroup, IamRole, IamRolePolicyAttachment } from "./bindings/aws";
import type { AwsProvider } from "./bindings/aws";
import type { NamespaceV1 } from "./bindings/k8s";
import { InstalledAddons } from "./cluster-addons";
import { vllmImage } from "./images";
import { GpuNodePool } from "./gpu-node-pool";
import { evaluatePolicy, type RuleResult, type Suppression, type TerraformJson } from "./policy";
import { freeId, idFindings } from "./coded-errors";
import { ClusterKey } from "./cluster-key";
import { ClusterNetwork, LOG_RETENTION_DAYS } from "./cluster-network";
import { AWS_ACCOUNT, claimName, namespaceScope, regionScope, registryOf, userNameFindings } from "./name-claims";
import { deriveName } from "../planner/names";
import { librarySuppressions, markOwned, stackPolicyView, type PolicyScopeOption } from "./policy-scope";
import { registerFindings, registerPreflight } from "./preflight";
import { bindProviders, resolveAwsProvider } from "./providers";
import { ServingWorkloads, type WorkloadsOptions } from "./serving-workloads";


/** Kubernetes version for new clusters: inside EKS standard support (extended support costs 6×). */
export const DEFAULT_KUBERNETES_VERSION = "1.33";
export const GPU_TAINT_KEY = "nvidia.com/gpu";
/** Kubernetes versions in EKS standard support (AWS EKS version calendar, as of the catalog date). */
export const STANDARD_SUPPORT_VERSIONS = ["1.32", "1.33", "1.34"];
/** Days the control-plane log group keeps its logs (also the storage window the plan prices). */
export const CONTROL_PLANE_LOG_RETENTION_DAYS = LOG_RETENTION_DAYS;

/** `npx model-serving plan --region R` prices the app as if deployed in R; only plan-only runs, which write no Terraform, honour it. */
function planOnlyRegion(): string | undefined {
  return process.env.MODEL_SERVING_PLAN_ONLY === "1" ? process.env.MODEL_SERVING_PLAN_REGION || undefined : undefined;
}

/**
 * Operators the endpoints rely on. On a cluster this app creates, each declared add-on is installed
 * by its pinned Helm chart in the cluster phase (catalog/addons.json); on an existing cluster synth
 * cannot look inside, so a declaration says it is already there (the plan lists what must be).
 */
export interface ClusterAddons {
  /**
   * KEDA, for autoscaled endpoints, and the Prometheus that scrapes vLLM for it. `true` installs both
   * (new clusters); `{ prometheusUrl }` names a Prometheus that already scrapes the vLLM pods.
   */
  readonly keda?: true | { readonly prometheusUrl: string };
  /** Something adds and removes GPU nodes between a pool's min and max (new clusters: Cluster Autoscaler is installed). */
  readonly nodeAutoscaler?: "cluster-autoscaler" | "karpenter";
  /** The LeaderWorkerSet controller (leaderworkerset.x-k8s.io), for multi-node replicas. */
  readonly leaderWorkerSet?: boolean;
  /** A Gateway API implementation serves this Gateway: traffic groups split by exact weights (HTTPRoute). */
  readonly gateway?: { readonly name: string; readonly namespace: string };
  /**
   * The EFA device plugin: multi-node replicas request the node's EFA devices for NCCL
   * (the EKS AL2023 AMI runs containers with an unlimited memlock, so no IPC_LOCK is added).
   * @default false (NCCL over TCP between nodes, with a warning)
   */
  readonly efa?: boolean;
  /**
   * External Secrets Operator, which syncs Secrets Manager secrets into Kubernetes secrets. Installed on
   * a new cluster whenever a secret is referenced by ARN; declare it on an existing cluster that runs it.
   */
  readonly externalSecrets?: boolean;
}

export interface ServingOptions {
  /**
   * The AWS region the cluster and its node pools live in: endpoints are placed on what the region
   * offers and priced with its On-Demand prices. Needed only when the AWS provider does not set its
   * region in code; when both are set they must agree. @default - the AWS provider's region
   */
  readonly region?: string;
  /** Operators already running in the cluster. @default - none: autoscaling and multi-node endpoints are refused */
  readonly addons?: ClusterAddons;
  /** EC2 vCPU quotas the account really has, by Service Quotas code (e.g. `{ "L-DB2E81BA": 96 }`). @default - none declared (a warning) */
  readonly quotas?: Readonly<Record<string, number>>;
  /** Synth fails when the plan's maximum monthly cost exceeds this. @default - no budget */
  readonly budgetUsdPerMonth?: number;
  /** Namespace for the endpoints (created, Pod Security "restricted"). @default "model-serving" */
  readonly namespace?: string;
  /** Policy rules that do not apply here, each with a written reason. @default - none */
  readonly policySuppressions?: readonly Suppression[];
  /**
   * What the policy rules judge: the resources this library creates, or the whole stack (the user's
   * own resources too). @default { scope: "library" }
   */
  readonly policy?: { readonly scope?: PolicyScopeOption };
  /**
   * Also check the live account quota at `terraform plan`: a precondition on each GPU node group fails
   * the plan when the applied Service Quotas value is below what the pools need. @default false
   */
  readonly planTimeQuotaCheck?: boolean;
  /**
   * AWS provider for the cluster's resources (an aliased provider of another region, say); the plan is
   * priced for its region. @default - the stack's unaliased AWS provider
   */
  readonly awsProvider?: AwsProvider;
  /**
   * The vLLM release the endpoints run (image tag, `vllm serve` flags and sizing all follow it), e.g. "0.19.1";
   * one read at its tag (catalog/vllm/releases.json). @default - the newest release read in full
   */
  readonly vllm?: string;
}

export interface GpuClusterProps extends ServingOptions {
  /** @default - the construct id */
  readonly clusterName?: string;
  /** @default "1.33" */
  readonly kubernetesVersion?: string;
  /** Private subnets of an existing VPC. @default - a new VPC with two private and two public subnets */
  readonly subnetIds?: readonly string[];
  /**
   * Public IPv4 CIDRs allowed to reach the API endpoint (≤ 10): where `cdktf deploy` runs from (office,
   * VPN, CI runner egress). The deploy talks to the API, so a new cluster needs these unless
   * `privateApiOnly` says deploys run inside the VPC. @default - none
   */
  readonly publicAccessCidrs?: readonly string[];
  /**
   * Keep the API endpoint private: every deploy runs from inside the VPC (a runner in these subnets, or
   * peered/VPN-connected). Needs `subnetIds` of an existing VPC — nothing can be inside a VPC this
   * stack is about to create. @default false
   */
  readonly privateApiOnly?: boolean;
  /**
   * IAM principals (roles of the deploy pipeline, the platform team) granted cluster admin through EKS
   * access entries, besides the identity that creates the cluster. @default - only the creator
   */
  readonly adminPrincipalArns?: readonly string[];
  /** CPU nodes for CoreDNS, the device plugin's peers and smoke tests. @default 2 */
  readonly systemNodes?: number;
  /** GB a month through the new VPC's NAT gateway (weights from the Hub, image pulls), to price its data processing. @default - hourly charge only; the cost line says so */
  readonly natGatewayGbPerMonth?: number;
  /** GB a month of control-plane logs (the log group's IncomingBytes), to price CloudWatch Logs. @default - not priced; the cost line says so */
  readonly controlPlaneLogGbPerMonth?: number;
  /** GB a month of the new VPC's flow logs (their log group's IncomingBytes), to price CloudWatch Logs. @default - not priced; the cost line says so */
  readonly flowLogGbPerMonth?: number;
}

export interface ExistingClusterProps extends ServingOptions {
  readonly clusterName: string;
  /** Subnets the GPU node groups are placed in. */
  readonly subnetIds: readonly string[];
}

function validateCidrs(cidrs: readonly string[], path: string): Finding[] {
  const out: Finding[] = [];
  if (cidrs.length > 10) {
    out.push(error("ALLOWLIST_TOO_LONG", path, { field: "publicAccessCidrs", problem: `${cidrs.length} entries, more than the 10 allowed`, why: "a long allowlist is hard to review and usually means the API should sit behind a VPN", fix: "aggregate into supernets, or reach the API through the VPC" }));
  }
  for (const c of cidrs) {
    const problem = ipv4CidrProblem(c);
    if (problem) out.push(error("CIDR_INVALID", path, { field: "publicAccessCidrs", problem: `"${c}": ${problem}`, why: "EKS rejects the cluster update", fix: 'write an IPv4 address or CIDR such as "203.0.113.0/24"' }));
    else if (/^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(c)) out.push({ ...error("ALLOWLIST_PRIVATE_RANGE", path, { field: "publicAccessCidrs", problem: `"${c}" is a private range`, why: "the public endpoint sees public source addresses, so a private range never matches", fix: "reach the API from inside the VPC through the private endpoint, and list only public CIDRs here" }), severity: "warning" });
    else if (c === "0.0.0.0/0") out.push(error("PUBLIC_API_OPEN", path, { field: "publicAccessCidrs", problem: "0.0.0.0/0 opens the Kubernetes API to the whole internet", why: "CKV_AWS_38 / AVD-AWS-0041: the cluster API must not be public", fix: "list office or VPN CIDRs, or leave the endpoint private" }));
  }
  return out;
}

/** Why a string is not an IPv4 address or CIDR ("192.168.0.0" is valid, "192.168.300.1" is not). */
export function ipv4CidrProblem(value: string): string | undefined {
  if (typeof value === "string" && value.trim() !== value && value.trim() !== "") {
    const edge = value.trimStart() !== value ? "start" : "end";
    const c = edge === "start" ? value[0] : value[value.length - 1];
    return `it has ${c === " " ? "a space" : "whitespace"} at the ${edge}; write "${value.trim()}"`;
  }
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(value);
  if (!m) return "not an IPv4 address or CIDR";
  const octets = m.slice(1, 5).map(Number);
  const bad = octets.find((o) => o > 255);
  if (bad !== undefined) return `octet ${bad} > 255`;
  if (m.slice(1, 5).some((o) => o.length > 1 && o.startsWith("0"))) return "octets must not have leading zeros";
  const prefix = m[5] === undefined ? 32 : Number(m[5]);
  if (prefix > 32) return `prefix /${prefix} exceeds 32`;
  const ip = octets.reduce((a, o) => a * 256 + o, 0);
  const host = prefix === 32 ? 0 : ip % 2 ** (32 - prefix);
  if (host !== 0) return `host bits are set for /${prefix}`;
  return undefined;
}

/** The IAM role EKS managed nodes run as, with the three AWS managed policies nodes need. */
function createNodeRole(scope: Construct, name: string, tags: Record<string, string>) {
  claimName(scope, "IAM role", AWS_ACCOUNT, name, "iamRoleName");
  const role = new IamRole(scope, "node-role", {
    name,
    assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] }),
    tags,
  });
  const attachments = ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"].map(
    (p) => new IamRolePolicyAttachment(scope, `node-${p}`, { role: role.name, policyArn: `arn:aws:iam::aws:policy/${p}` }),
  );
  return { role, attachments };
}

export abstract class GpuClusterBase extends Construct {
  abstract readonly clusterName: string;
  abstract readonly subnetIds: string[];
  abstract readonly nodeRoleArn: string;
  readonly namespace: string;
  readonly quotas: Readonly<Record<string, number>>;
  readonly budgetUsdPerMonth: number | undefined;
  /** The user's policy suppressions (the library's own are added at synth, see `appliedSuppressions`). */
  readonly suppressions: readonly Suppression[];
  readonly policyScope: PolicyScopeOption;
  /** Every suppression the last policy check applied, the library's and the user's. */
  appliedSuppressions: readonly Suppression[] = [];
  readonly planTimeQuotaCheck: boolean;
  readonly addons: ClusterAddons;
  /** The AWS region the plan is placed and priced in: the cluster's (`plan --region` prices a what-if elsewhere). */
  readonly region: string;
  /** The region the cluster's AWS provider deploys to, when set in code. */
  readonly providerRegion: string | undefined;
  /** Set when the cluster's AWS resources must name a provider (an aliased or given one). */
  readonly awsProvider: AwsProvider | undefined;
  /** The vLLM release endpoints run unless they name their own. */
  readonly vllm: VllmRelease;
  private policyResults: RuleResult[] | undefined;
  /** Whether this app creates the cluster (and so everything in it), or composes into an existing one. */
  abstract readonly createsCluster: boolean;
  protected abstract readonly systemNodeCount: number;
  /** Problems found while building the tree; reported when the app synthesizes. */
  protected readonly findings: Finding[] = [];
  private readonly declarations: EndpointDeclaration[] = [];
  private readonly pools = new Map<string, GpuNodePool>();
  private readonly attached = new Set<IConstruct & { readonly findings: readonly Finding[] }>();
  private cachedPlan: ServingPlan | undefined;
  private workloadsConstruct: ServingWorkloads | undefined;
  /** Largest model staged through the system nodes' disk, GiB. */
  protected stagingDiskGiB = 0;
  /** Suppressions library constructs placed on this cluster need for their own resources (each scoped, with its reason). */
  private readonly contributedSuppressions: Array<() => readonly Suppression[]> = [];
  /** The model gateway in front of this cluster's endpoints, when one is declared. */
  private gatewaySource: { readonly node: { readonly path: string }; gatewayPlan(): GatewayPlan | undefined } | undefined;

  protected constructor(scope: Construct, id: string, options: ServingOptions) {
    super(scope, freeId(scope, id));
    this.findings.push(...idFindings(this, id, "GpuCluster"));
    this.namespace = options.namespace ?? "model-serving";
    this.quotas = options.quotas ?? {};
    this.budgetUsdPerMonth = options.budgetUsdPerMonth;
    this.suppressions = [...(options.policySuppressions ?? [])];
    this.policyScope = options.policy?.scope ?? "library";
    markOwned(this, () => this);
    this.planTimeQuotaCheck = options.planTimeQuotaCheck ?? false;
    this.addons = options.addons ?? {};
    const aws = resolveAwsProvider(this, options.awsProvider, this.node.path);
    this.findings.push(...aws.findings);
    this.awsProvider = aws.provider;
    if (aws.region && options.region && aws.region !== options.region) {
      this.findings.push(error("REGION_CONFLICT", this.node.path, { field: "region", problem: `the cluster declares region ${options.region}, but its AWS provider is in ${aws.region}`, why: "the node pools are created by that provider, so they would be planned for one region and built in another", fix: `drop region from the cluster props (the provider's region is used), or give the cluster an AWS provider for ${options.region}` }));
    }
    if (!aws.findings.length && !aws.region && !options.region) {
      this.findings.push(error("REGION_UNDECLARED", this.node.path, { field: "awsProvider.region", problem: "the cluster's AWS provider sets no region in code, and the cluster declares none", why: "the plan places and prices capacity per region, and synth cannot read AWS_REGION from the machine that later applies it", fix: 'set region on the AWS provider, e.g. new AwsProvider(stack, "aws", { region: "us-east-1" }), or region on the cluster' }));
    }
    this.providerRegion = aws.region ?? options.region;
    this.region = planOnlyRegion() ?? this.providerRegion ?? DEFAULT_REGION;
    bindProviders(this, this.awsProvider ? { aws: this.awsProvider } : {});
    let release: VllmRelease;
    try {
      // `model-serving plan --vllm X` sets MODEL_SERVING_VLLM for clusters that do not name a release.
      release = vllmRelease(options.vllm ?? process.env.MODEL_SERVING_VLLM, this.node.path, "serve");
    } catch (e) {
      if (!(e instanceof PlanningError)) throw e;
      this.findings.push(...e.findings);
      release = vllmRelease(undefined, this.node.path, "serve");
    }
    this.vllm = release;
    this.findings.push(...userNameFindings("NAMESPACE_INVALID", this.node.path, "namespace", "dns1123Label", this.namespace));
    if (["default", "kube-system", "kube-public", "kube-node-lease"].includes(this.namespace)) {
      this.findings.push(error("NAMESPACE_DISALLOWED", this.node.path, { field: "namespace", problem: `namespace "${this.namespace}" is reserved`, why: "CKV_K8S_21: workloads must not run in default or system namespaces", fix: 'use a namespace of their own, e.g. "model-serving"' }));
    }
    registerFindings(this);
    registerPreflight(this);
  }

  /** How a Kubernetes provider reaches this cluster's API (exec auth, so long applies outlive a token). */
  abstract kubernetesAccess(): { host: string; clusterCaCertificate: string; exec: { apiVersion: string; command: string; args: string[] } };

  /** The cluster's VPC and the security group EKS gives its control plane and nodes (for node groups that set their own interfaces). */
  abstract network(): { vpcId: string; clusterSecurityGroupId: string };

  /**
   * The Kubernetes side of this cluster in `stack` — namespace, Kubernetes provider, traffic groups —
   * created on first use. Call it before adding endpoints to choose the workloads' providers. A new
   * cluster's workloads must live in another stack than the cluster (the deploy phases).
   */
  workloadsIn(stack: TerraformStack, options: WorkloadsOptions = {}): ServingWorkloads {
    const own = TerraformStack.of(this);
    if (this.workloadsConstruct) {
      const where = TerraformStack.of(this.workloadsConstruct);
      if (where !== stack) {
        this.findings.push(error("WORKLOADS_SPLIT_ACROSS_STACKS", this.node.path, { field: "workloads", problem: `cluster ${this.clusterName} already has its workloads in stack ${where.node.id}, and stack ${stack.node.id} adds more`, why: "the namespace and the traffic-group Services of one cluster are created once, in one stack", fix: `create every endpoint and model store of this cluster in stack ${where.node.id}` }));
      }
      return this.workloadsConstruct;
    }
    if (this.createsCluster && stack === own) {
      this.findings.push(error("PHASES_REQUIRED", this.node.path, { field: "workloads", problem: `the endpoints of cluster ${this.clusterName} are in stack ${own.node.id}, which also creates the cluster`, why: "Terraform plans Kubernetes objects (kubernetes_manifest above all) against the cluster's API, which does not exist until the cluster stack is applied", fix: "put the endpoints and model stores in a second stack (ModelServingStack does this for you: it creates the cluster in <id>-cluster and the workloads in <id>), and deploy both with npx cdktf deploy '*'" }));
    }
    const scope = stack === own ? this : stack;
    const id = stack === own ? "workloads" : `${this.node.id}-workloads`;
    this.workloadsConstruct = new ServingWorkloads(scope, id, this, options);
    this.cachedPlan = undefined;
    return this.workloadsConstruct;
  }

  /** The workloads of this cluster, if any were created. */
  get workloads(): ServingWorkloads | undefined {
    return this.workloadsConstruct;
  }

  /** The Kubernetes namespace resource the endpoints live in (in the workloads' stack). */
  namespaceResource(): NamespaceV1 {
    return this.workloadsIn(TerraformStack.of(this.workloadsConstruct ?? this)).namespaceResource;
  }

  /** Findings of a construct placed on this cluster (endpoint, model, store, adapter) go into its plan. */
  attach(c: IConstruct & { readonly findings: readonly Finding[] }): void {
    this.attached.add(c);
  }

  /** Size and place an endpoint; returns where it goes, or undefined when it cannot be served (findings say why). */
  addEndpoint(decl: EndpointDeclaration): { placed: Placed; pool: GpuNodePool } | undefined {
    this.declarations.push(decl);
    this.cachedPlan = undefined;
    // An unknown region is reported once by the plan, not once per endpoint.
    if (regionProblem(this.region, this.node.path)) return undefined;
    const r = placeEndpoint(decl, undefined, this.region);
    this.findings.push(...r.findings.filter((f) => f.severity === "error"));
    if (!r.placed) return undefined;
    const fit = r.placed.fit;
    // The same name the plan gives the pool (multi-node replicas get a pool of their own).
    const capacity = capacityOf(decl);
    const name = poolName(fit.shape.name, capacity, fit.nodesPerReplica);
    let pool = this.pools.get(name);
    if (!pool) {
      pool = new GpuNodePool(this, `pool-${name}`, { cluster: this, poolName: name, shape: fit.shape, host: fit.host!, capacityType: decl.capacityType, capacity, nodesPerReplica: fit.nodesPerReplica });
      this.pools.set(name, pool);
    }
    return { placed: r.placed, pool };
  }

  /** Join an endpoint to a traffic group (see ServingWorkloads.joinTrafficGroup). */
  joinTrafficGroup(group: string, member: { endpoint: string; path: string; weight: number; modelId: string; capability: Capability; replicas: number; selector?: Record<string, string> }): void {
    this.namespaceResource(); // the workloads exist once an endpoint renders
    this.workloadsConstruct!.joinTrafficGroup(group, member);
  }

  /** Names of the Services in this cluster's namespace: endpoints and traffic groups. */
  serviceNames(): Set<string> {
    return registryOf(this).taken("Kubernetes Service", namespaceScope(this.clusterName, this.namespace));
  }

  /** Record a finding about this cluster's tree; it is reported (and written to the plan) at synth. */
  report(f: Finding): void {
    this.findings.push(f);
  }

  /** Forget the memoised plan (an endpoint gained an adapter). */
  invalidatePlan(): void {
    this.cachedPlan = undefined;
  }

  /** Staging Jobs run on the system nodes: their root volume must hold the largest staged model. */
  requireStagingDisk(weightsGiB: number): void {
    this.stagingDiskGiB = Math.max(this.stagingDiskGiB, weightsGiB);
    this.cachedPlan = undefined;
  }

  /** Root volume of a system node: OS, images, and room to stage the largest model. */
  protected systemDiskGiB(): number {
    return Math.ceil((40 + this.stagingDiskGiB * 1.3) / 10) * 10;
  }

  /** What the cluster creates besides its node pools (network, key, logs), for the plan's cost lines. */
  protected costInputs(): Pick<PlanInput, "natGateways" | "natGatewayGbPerMonth" | "kmsKeys" | "controlPlaneLogs" | "flowLogs"> {
    return {};
  }

  /** The whole serving plan (memoised; recomputed when endpoints are added). */
  plan(): ServingPlan {
    if (!this.cachedPlan) {
      this.cachedPlan = planServing({
        stackPath: this.node.path,
        region: this.region,
        ...this.costInputs(),
        endpoints: this.declarations,
        quotas: this.quotas,
        createsCluster: this.createsCluster,
        systemNodes: this.systemNodeCount,
        systemNodeDiskGiB: this.systemDiskGiB(),
        ...(this.budgetUsdPerMonth !== undefined ? { budgetUsdPerMonth: this.budgetUsdPerMonth } : {}),
        vllm: this.vllm.version,
      });
    }
    return this.cachedPlan;
  }

  /** Every finding of this cluster's tree: its own, its plan's, and those of what is placed on it. */
  allFindings(): Finding[] {
    const seen = new Set<string>();
    const all = [...[...this.attached].flatMap((c) => c.findings), ...this.findings, ...this.plan().findings, ...(this.workloadsConstruct?.findingsForPreflight() ?? []), ...this.nodeScalingFindings()];
    return all.filter((f) => (seen.has(f.message) ? false : (seen.add(f.message), true)));
  }

  /** @internal the app-wide check reports these (see preflight.ts) */
  findingsForPreflight(): readonly Finding[] {
    return this.allFindings();
  }

  /** @internal policy rules on the library's resources of this cluster, in every stack they live in */
  preflight(render: (stack: TerraformStack) => unknown): readonly Finding[] {
    const stacks = [...new Set([TerraformStack.of(this), ...(this.workloadsConstruct ? [TerraformStack.of(this.workloadsConstruct)] : [])])];
    // One view of both phases, so a suppression is judged (and reported unused) once.
    const tf: { resource: Record<string, Record<string, unknown>>; data: Record<string, Record<string, unknown>> } = { resource: {}, data: {} };
    const judged = new Set<string>();
    const constructPaths = new Map<string, string>();
    const library: Suppression[] = [];
    // vLLM releases this cluster runs without a recorded digest (pinned by tag): one suppression each, with the reason.
    const releases = [this.vllm, ...[...this.attached].map((c) => (c as { release?: VllmRelease }).release).filter((r): r is VllmRelease => r !== undefined)];
    const undigested = [...new Set(releases.map(vllmImage))].filter((i) => !i.includes("@")).sort();
    for (const stack of stacks) {
      const rendered = render(stack) as TerraformJson;
      for (const section of ["resource", "data"] as const) for (const [type, byName] of Object.entries(rendered[section] ?? {})) tf[section][type] = { ...(tf[section][type] ?? {}), ...byName };
      const view = stackPolicyView(this, this.policyScope, stack);
      view.judged.forEach((a) => judged.add(a));
      view.constructPaths.forEach((p, a) => constructPaths.set(a, p));
      library.push(...librarySuppressions(view, undefined, undigested));
    }
    this.appliedSuppressions = [...library, ...this.allSuppressions(), ...this.contributedSuppressions.flatMap((f) => f())];
    const policy = evaluatePolicy(tf as TerraformJson, this.appliedSuppressions, this.node.path, { judged, constructPaths });
    this.policyResults = policy.results;
    return policy.findings;
  }

  /** The user's suppressions and those the library's own resources need (each scoped to one resource). */
  protected allSuppressions(): Suppression[] {
    return [...this.suppressions];
  }

  /** The plan as written beside the workloads: every finding of the tree, add-ons, deploy phases, the policy results and suppressions, and the gateway. */
  writtenPlan(): ServingPlan & { addons: AddonPlan[]; phases: PhasePlan[]; policy: { scope: PolicyScopeOption; rules: RuleResult[]; suppressions: readonly Suppression[] }; gateway?: GatewayPlan } {
    const gateway = this.gatewaySource?.gatewayPlan();
    return { ...this.plan(), findings: this.allFindings(), addons: this.addonPlan(), phases: this.phases(), policy: { scope: this.policyScope, rules: this.policyResults ?? [], suppressions: this.appliedSuppressions }, ...(gateway ? { gateway } : {}) };
  }

  /** A library construct on this cluster adds the suppressions its own resources need (read when the policy runs). */
  contributeSuppressions(source: () => readonly Suppression[]): void {
    this.contributedSuppressions.push(source);
  }

  /** Whether a model gateway fronts this cluster (it splits traffic groups by exact weights). */
  get hasModelGateway(): boolean {
    return this.gatewaySource !== undefined;
  }

  /**
   * Put a model gateway in front of this cluster (its section of the serving plan). Returns the path of
   * the gateway already declared, if there is one: a cluster has one entry point.
   */
  useGateway(gateway: { readonly node: { readonly path: string }; gatewayPlan(): GatewayPlan | undefined }): string | undefined {
    if (this.gatewaySource) return this.gatewaySource.node.path;
    this.gatewaySource = gateway;
    return undefined;
  }

  /** The stacks this cluster's resources live in, in deploy order, and what the library creates in each. */
  phases(): PhasePlan[] {
    const own = TerraformStack.of(this);
    const roots: IConstruct[] = [this, ...(this.workloadsConstruct ? [this.workloadsConstruct] : []), ...this.attached];
    const byStack = new Map<TerraformStack, Map<string, number>>();
    const seen = new Set<IConstruct>();
    for (const root of roots) {
      for (const c of root.node.findAll()) {
        if (seen.has(c) || !(c instanceof TerraformResource)) continue;
        seen.add(c);
        const stack = TerraformStack.of(c);
        const counts = byStack.get(stack) ?? new Map<string, number>();
        counts.set(c.terraformResourceType, (counts.get(c.terraformResourceType) ?? 0) + 1);
        byStack.set(stack, counts);
      }
    }
    const order = [...byStack.keys()].sort((a, b) => (a === own ? -1 : b === own ? 1 : a.node.id.localeCompare(b.node.id)));
    return order.map((stack, i) => ({ order: i + 1, stack: stack.node.id, creates: [...byStack.get(stack)!].sort(([a], [b]) => a.localeCompare(b)).map(([t, n]) => `${t} ×${n}`) }));
  }

  /** A pool whose node count must move needs something that moves it. */
  private nodeScalingFindings(): Finding[] {
    if (this.addons.nodeAutoscaler) return [];
    return this.plan()
      .nodePools.filter((p) => p.nodes.min < p.nodes.max)
      .map((p) =>
        error("NO_NODE_AUTOSCALER", this.node.path, {
          field: "addons.nodeAutoscaler",
          problem: `pool ${p.name} must grow from ${p.nodes.min} to ${p.nodes.max} nodes for its autoscaled endpoints, and no node autoscaler is declared`,
          why: "EKS managed node groups do not add nodes by themselves: replicas past the running nodes would stay Pending forever",
          fix: 'declare addons: { nodeAutoscaler: "cluster-autoscaler" } (installed for you on a cluster this app creates; on an existing cluster, once it runs there)',
        }),
      );
  }

  /** The Prometheus KEDA's triggers query: the one installed with KEDA on a new cluster, or the declared one. */
  prometheusUrl(): string | undefined {
    const k = this.addons.keda;
    if (!k) return undefined;
    return k === true ? findAddon("prometheus")?.prometheusUrl : k.prometheusUrl;
  }

  /** The cluster add-ons as the serving plan lists them: installed by this app, or required to be there already. */
  abstract addonPlan(): AddonPlan[];

  /**
   * A construct on this cluster needs a pinned add-on (catalog/addons.json): a new cluster installs it
   * (with what it depends on) in the cluster phase; on an existing cluster the plan lists it as "must exist".
   */
  abstract requireAddon(name: string, why: string): void;

  /**
   * Let the workloads read a Secrets Manager secret. On a new cluster, External Secrets (installed in
   * the cluster phase) syncs it into the namespace before pods start; returns false on an existing
   * cluster that does not declare it (the caller reports why).
   */
  abstract allowSecret(arn: string): boolean;
}


export class GpuCluster extends GpuClusterBase {
  /** Compose into a stack that already has a VPC and an EKS cluster. */
  static fromExisting(scope: Construct, id: string, props: ExistingClusterProps): GpuClusterBase {
    return new ExistingGpuCluster(scope, id, props);
  }

  readonly clusterName: string;
  readonly subnetIds: string[];
  readonly nodeRoleArn: string;
  readonly cluster: EksCluster;
  readonly createsCluster = true;
  protected readonly systemNodeCount: number;
  private natGateways = 0;
  private readonly installed: InstalledAddons;
  private readonly endpointSuppressions: Suppression[] = [];
  private readonly usage: Pick<GpuClusterProps, "natGatewayGbPerMonth" | "controlPlaneLogGbPerMonth" | "flowLogGbPerMonth">;

  constructor(scope: Construct, id: string, props: GpuClusterProps = {}) {
    super(scope, id, props);
    this.usage = props;
    // A default name from the stack and the construct: two stacks, or two clusters in one stack, never share one.
    this.clusterName = props.clusterName ?? deriveName("eksClusterName", [TerraformStack.of(this).node.id, id]);
    if (props.clusterName !== undefined) this.findings.push(...userNameFindings("CLUSTER_NAME_INVALID", this.node.path, "clusterName", "eksClusterName", props.clusterName));
    claimName(this, "EKS cluster", regionScope(this), this.clusterName, "eksClusterName");
    this.systemNodeCount = props.systemNodes ?? 2;
    const cidrs = props.publicAccessCidrs ?? [];
    this.findings.push(...validateCidrs(cidrs, this.node.path), ...apiAccessFindings(props, this.node.path));
    const version = props.kubernetesVersion ?? DEFAULT_KUBERNETES_VERSION;
    if (!STANDARD_SUPPORT_VERSIONS.includes(version)) {
      this.findings.push(error("EKS_VERSION_UNSUPPORTED", this.node.path, { field: "kubernetesVersion", problem: `Kubernetes ${version} is not in EKS standard support (${STANDARD_SUPPORT_VERSIONS.join(", ")})`, why: "CKV_AWS_339; extended support costs $0.60 instead of $0.10 per cluster-hour, and unsupported versions stop getting fixes", fix: `use ${DEFAULT_KUBERNETES_VERSION} or newer` }));
    }
    const tags = { "model-serving:cluster": this.clusterName };
    const key = new ClusterKey(this, "secrets-key", { description: `EKS secrets and log encryption for ${this.clusterName}`, tags });
    const network = props.subnetIds ? undefined : new ClusterNetwork(this, "network", { clusterName: this.clusterName, key, tags });
    this.subnetIds = network ? network.privateSubnetIds : [...props.subnetIds!];
    this.natGateways = network ? 1 : 0;
    if (props.subnetIds && props.natGatewayGbPerMonth !== undefined) {
      this.findings.push(error("USAGE_WITHOUT_RESOURCE", this.node.path, { field: "natGatewayGbPerMonth", problem: "natGatewayGbPerMonth is set, but with subnetIds the cluster creates no NAT gateway", why: "it would price a NAT gateway this stack does not create", fix: "drop natGatewayGbPerMonth (the VPC's owner pays for its NAT)" }));
    }
    if (props.subnetIds && props.flowLogGbPerMonth !== undefined) {
      this.findings.push(error("USAGE_WITHOUT_RESOURCE", this.node.path, { field: "flowLogGbPerMonth", problem: "flowLogGbPerMonth is set, but with subnetIds the cluster creates no VPC and no flow logs", why: "it would price flow logs this stack does not create", fix: "drop flowLogGbPerMonth (the VPC's owner pays for its flow logs)" }));
    }

    key.allowLogGroup(`/aws/eks/${this.clusterName}/cluster`);
    const logs = new CloudwatchLogGroup(this, "control-plane-logs", { name: `/aws/eks/${this.clusterName}/cluster`, retentionInDays: CONTROL_PLANE_LOG_RETENTION_DAYS, kmsKeyId: key.arn, tags });
    claimName(logs, "CloudWatch log group", regionScope(this), `/aws/eks/${this.clusterName}/cluster`, "logGroupName");
    const clusterRoleName = deriveName("iamRoleName", [this.clusterName, "cluster"]);
    claimName(this, "IAM role", AWS_ACCOUNT, clusterRoleName, "iamRoleName");
    const clusterRole = new IamRole(this, "cluster-role", {
      name: clusterRoleName,
      assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] }] }),
      tags,
    });
    const clusterPolicy = new IamRolePolicyAttachment(this, "cluster-policy", { role: clusterRole.name, policyArn: "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy" });
    key.allowUse(clusterRole.arn);
    this.cluster = new EksCluster(this, "Resource", {
      name: this.clusterName,
      version,
      roleArn: clusterRole.arn,
      vpcConfig: { subnetIds: this.subnetIds, endpointPrivateAccess: true, endpointPublicAccess: cidrs.length > 0, ...(cidrs.length ? { publicAccessCidrs: [...cidrs] } : {}) },
      encryptionConfig: { provider: { keyArn: key.arn }, resources: ["secrets"] },
      enabledClusterLogTypes: ["api", "audit", "authenticator", "controllerManager", "scheduler"],
      accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true },
      upgradePolicy: { supportType: "STANDARD" },
      tags,
      dependsOn: [logs, clusterPolicy],
    });
    if (cidrs.length) {
      this.endpointSuppressions.push({ ruleId: "MS-EKS-5", address: `aws_eks_cluster.${this.cluster.friendlyUniqueId}`, reason: `The deploy (a laptop or a CI runner) talks to the Kubernetes API in the workloads phase, so the public endpoint is on, limited to the ${cidrs.length} declared CIDR(s) (${cidrs.join(", ")}); nodes and pods use the private endpoint. Set privateApiOnly with subnetIds of a VPC your runners are in to turn it off.` });
    }
    // The pipeline that deploys the workloads is often not the identity that created the cluster.
    for (const [i, principalArn] of (props.adminPrincipalArns ?? []).entries()) {
      const entry = new EksAccessEntry(this, `admin-${i}`, { clusterName: this.cluster.name, principalArn, type: "STANDARD", tags });
      new EksAccessPolicyAssociation(this, `admin-${i}-policy`, { clusterName: this.cluster.name, principalArn: entry.principalArn, policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", accessScope: { type: "cluster" } });
    }

    const { role: nodeRole, attachments: nodePolicies } = createNodeRole(this, deriveName("iamRoleName", [this.clusterName, "node"]), tags);
    this.nodeRoleArn = nodeRole.arn;

    const system = new EksNodeGroup(this, "system-nodes", {
      clusterName: this.cluster.name,
      nodeGroupName: (claimName(this, "EKS node group", `cluster ${this.clusterName}`, "system", "eksNodeGroupName"), "system"),
      nodeRoleArn: nodeRole.arn,
      subnetIds: this.subnetIds,
      amiType: "AL2023_x86_64_STANDARD",
      capacityType: "ON_DEMAND",
      instanceTypes: [SERVICE_PRICES.systemNodeUsdPerHour.instanceType], // one fact: the price catalog prices this type
      diskSize: Lazy.numberValue({ produce: () => this.systemDiskGiB() }),
      scalingConfig: { minSize: this.systemNodeCount, desiredSize: this.systemNodeCount, maxSize: this.systemNodeCount + 1 },
      updateConfig: { maxUnavailable: 1 },
      labels: { "model-serving.io/pool": "system" },
      tags,
      dependsOn: nodePolicies,
      lifecycle: { ignoreChanges: ["scaling_config[0].desired_size"] },
    });
    const eksAddons = ["vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent"].map(
      (addon) => new EksAddon(this, `addon-${addon}`, { clusterName: this.cluster.name, addonName: addon, resolveConflictsOnUpdate: "OVERWRITE", tags, ...(addon === "coredns" ? { dependsOn: [system] } : {}) }),
    );

    // Cluster add-ons by pinned Helm charts, in this (the cluster) phase: their CRDs must exist before
    // the workloads phase plans the custom resources that use them.
    this.installed = new InstalledAddons(this, "addons", {
      clusterName: this.clusterName,
      region: this.region,
      kubernetesVersion: version,
      vpcId: this.cluster.vpcConfig.vpcId,
      access: this.kubernetesAccess(),
      installAfter: [system, ...eksAddons],
      tags,
    });
    this.installed.require("aws-load-balancer-controller", "provisions the load balancers of exposed endpoints and the gateway (its webhook must run before any Service is created)");
    this.installed.require("nvidia-device-plugin", "advertises the nodes' GPUs (nvidia.com/gpu) to the scheduler");
    const a = this.addons;
    if (a.keda) this.installed.require("keda", "scales autoscaled endpoints on vLLM's metrics");
    if (a.keda === true) this.installed.require("prometheus", "scrapes the vLLM pods' /metrics for KEDA");
    if (a.leaderWorkerSet) this.installed.require("lws", "runs multi-node replicas as leader/worker groups");
    if (a.efa) this.installed.require("aws-efa-k8s-device-plugin", "advertises the nodes' EFA devices (vpc.amazonaws.com/efa) for NCCL");
    if (a.nodeAutoscaler === "cluster-autoscaler") this.installed.require("cluster-autoscaler", "adds and removes GPU nodes between each pool's min and max");
    if (a.nodeAutoscaler === "karpenter") {
      this.findings.push(error("ADDON_NOT_INSTALLABLE", this.node.path, { field: "addons.nodeAutoscaler", problem: "Karpenter is declared on a cluster this app creates", why: "Karpenter replaces managed node groups with its own NodePools; the library sizes and creates managed node groups per shape and installs Cluster Autoscaler for them", fix: 'use nodeAutoscaler: "cluster-autoscaler" (installed for you), or compose into an existing cluster that runs Karpenter with GpuCluster.fromExisting' }));
    }
    if (a.gateway) this.installed.require("envoy-gateway", "implements the Gateway API for traffic groups and the gateway");
  }

  protected allSuppressions(): Suppression[] {
    return [...this.suppressions, ...this.installed.suppressions, ...this.endpointSuppressions];
  }

  addonPlan(): AddonPlan[] {
    return this.installed.installed().map((r) => ({ ...r, status: "installed" as const, stack: TerraformStack.of(this).node.id }));
  }

  requireAddon(name: string, why: string): void {
    this.installed.require(name, why);
  }

  allowSecret(arn: string): boolean {
    this.installed.allowSecret(arn);
    return true;
  }

  network() {
    return { vpcId: this.cluster.vpcConfig.vpcId, clusterSecurityGroupId: this.cluster.vpcConfig.clusterSecurityGroupId };
  }

  kubernetesAccess() {
    return {
      host: this.cluster.endpoint,
      clusterCaCertificate: Fn.base64decode(this.cluster.certificateAuthority.get(0).data),
      exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: "aws", args: ["eks", "get-token", "--cluster-name", this.cluster.name, "--region", this.region] },
    };
  }

  /** The new VPC's NAT gateways (each with an Elastic IP), the secrets KMS key and the control-plane log group. */
  protected costInputs(): Pick<PlanInput, "natGateways" | "natGatewayGbPerMonth" | "kmsKeys" | "controlPlaneLogs" | "flowLogs"> {
    const { natGatewayGbPerMonth, controlPlaneLogGbPerMonth, flowLogGbPerMonth } = this.usage;
    return {
      natGateways: this.natGateways,
      ...(this.natGateways && natGatewayGbPerMonth !== undefined ? { natGatewayGbPerMonth } : {}),
      kmsKeys: 1,
      controlPlaneLogs: { retentionDays: CONTROL_PLANE_LOG_RETENTION_DAYS, ...(controlPlaneLogGbPerMonth !== undefined ? { gbPerMonth: controlPlaneLogGbPerMonth } : {}) },
      ...(this.natGateways ? { flowLogs: { retentionDays: LOG_RETENTION_DAYS, ...(flowLogGbPerMonth !== undefined ? { gbPerMonth: flowLogGbPerMonth } : {}) } } : {}),
    };
  }


}

/** Whoever runs `cdktf deploy` must reach the new cluster's API: through the allowlist, or from inside its VPC. */
function apiAccessFindings(props: GpuClusterProps, path: string): Finding[] {
  const cidrs = props.publicAccessCidrs ?? [];
  if (props.privateApiOnly && cidrs.length) {
    return [error("API_ACCESS_CONFLICT", path, { field: "privateApiOnly", problem: "privateApiOnly is set and publicAccessCidrs lists public sources", why: "the endpoint is either private or public to an allowlist", fix: "drop one of the two" })];
  }
  if (props.privateApiOnly && !props.subnetIds?.length) {
    return [error("API_UNREACHABLE", path, { field: "privateApiOnly", problem: "the API endpoint is private and the cluster gets a VPC this stack creates", why: "nothing that runs cdktf deploy can be inside a VPC that does not exist yet, so the workloads phase could never reach the API", fix: "pass subnetIds of an existing VPC your deploy runners sit in, or list the runners' public CIDRs in publicAccessCidrs" })];
  }
  if (!props.privateApiOnly && !cidrs.length) {
    return [error("API_UNREACHABLE", path, { field: "publicAccessCidrs", problem: "the API endpoint would be private only, and nothing says deploys run inside the VPC", why: "the workloads phase talks to the Kubernetes API from wherever cdktf deploy runs (a laptop, a CI runner): a private endpoint is unreachable from there", fix: 'list where deploys run from, e.g. publicAccessCidrs: ["203.0.113.0/24"], or set privateApiOnly: true with subnetIds of a VPC your runners are in' })];
  }
  return [];
}

class ExistingGpuCluster extends GpuClusterBase {
  readonly clusterName: string;
  readonly subnetIds: string[];
  readonly nodeRoleArn: string;
  readonly createsCluster = false;
  protected readonly systemNodeCount = 0;
  private readonly data: DataAwsEksCluster;
  /** Add-ons constructs on this cluster rely on (requireAddon), with why. */
  private readonly requiredAddons = new Map<string, string>();

  constructor(scope: Construct, id: string, props: ExistingClusterProps) {
    super(scope, id, props);
    if (!props.clusterName || !props.subnetIds?.length) {
      this.findings.push(error("EXISTING_CLUSTER_INCOMPLETE", this.node.path, { field: "clusterName", problem: "fromExisting needs clusterName and subnetIds", why: "GPU node groups join that cluster in those subnets", fix: "pass both" }));
    }
    this.clusterName = props.clusterName ?? "";
    this.subnetIds = [...(props.subnetIds ?? [])];
    if (props.addons?.keda === true) {
      this.findings.push(error("KEDA_PROMETHEUS_UNKNOWN", this.node.path, { field: "addons.keda", problem: "keda: true on an existing cluster, which this app does not install anything into", why: "the ScaledObjects query a Prometheus that scrapes the vLLM pods, and only you know where yours is", fix: 'declare addons: { keda: { prometheusUrl: "http://prometheus-server.monitoring.svc.cluster.local" } } with your Prometheus' }));
    }
    this.data = new DataAwsEksCluster(this, "cluster", { name: props.clusterName });
    this.nodeRoleArn = createNodeRole(this, deriveName("iamRoleName", [this.clusterName, "gpu-node"]), { "model-serving:cluster": this.clusterName }).role.arn;
  }

  network() {
    const v = this.data.vpcConfig.get(0);
    return { vpcId: v.vpcId, clusterSecurityGroupId: v.clusterSecurityGroupId };
  }

  kubernetesAccess() {
    return {
      host: this.data.endpoint,
      clusterCaCertificate: Fn.base64decode(this.data.certificateAuthority.get(0).data),
      exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: "aws", args: ["eks", "get-token", "--cluster-name", this.clusterName, "--region", this.region] },
    };
  }

  /** What the workloads rely on and synth cannot see: listed in the plan as "must exist". */
  addonPlan(): AddonPlan[] {
    const a = this.addons;
    const need: Array<[string, string]> = [["nvidia-device-plugin", "advertises the GPU nodes' nvidia.com/gpu (or the NVIDIA GPU Operator)"]];
    if (a.keda) need.push(["keda", `scales autoscaled endpoints; its Prometheus at ${this.prometheusUrl()} must scrape the vLLM pods`]);
    if (a.leaderWorkerSet) need.push(["lws", "runs multi-node replicas"]);
    if (a.efa) need.push(["aws-efa-k8s-device-plugin", "advertises EFA devices"]);
    if (a.nodeAutoscaler) need.push([a.nodeAutoscaler, "adds and removes GPU nodes"]);
    if (a.externalSecrets) need.push(["external-secrets", "syncs Secrets Manager secrets into the namespace"]);
    if (a.gateway) need.push(["gateway", `serves Gateway ${a.gateway.namespace}/${a.gateway.name}`]);
    for (const [name, why] of this.requiredAddons) if (!need.some(([n]) => n === name)) need.push([name, why]);
    return need.map(([name, why]) => {
      const c = findAddon(name);
      return { name, chart: c ? `${c.chart.repository.replace(/^local:/, "")}/${c.chart.name}` : "(yours)", version: c?.chart.version ?? "(yours)", namespace: c?.namespace ?? "(yours)", why, status: "must exist" as const, stack: TerraformStack.of(this).node.id };
    });
  }

  allowSecret(): boolean {
    return !!this.addons.externalSecrets;
  }

  requireAddon(name: string, why: string): void {
    if (!this.requiredAddons.has(name)) this.requiredAddons.set(name, why);
  }
}
