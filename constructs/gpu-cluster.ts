/**
 * GpuCluster: a new EKS cluster (private endpoint, KMS-encrypted secrets, control-plane logs, a small
 * system node group) or an existing one (`GpuCluster.fromExisting`). It owns the serving plan of
 * everything placed on it: endpoints are sized when added, node pools are created per shape, and the
 * whole-tree rules (quota, budget) run when the stack synthesizes, before anything is written.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Annotations, Fn, Lazy, TerraformStack } from "cdktf";
import { addCustomSynthesis } from "cdktf/lib/synthesize/synthesizer";
import { Construct } from "constructs";
import { SERVICE_PRICES } from "../catalog";
import { error, type Finding } from "../planner/findings";
import { planServing, placeEndpoint, poolName, type EndpointDeclaration, type Placed } from "../planner/plan";
import type { ServingPlan } from "../planner/plan-types";
import { CloudwatchLogGroup, DataAwsEksCluster, DataAwsEksClusterAuth, EksAddon, EksCluster, EksNodeGroup, IamRole, IamRolePolicyAttachment } from "./bindings/aws";
import { DaemonSetV1, KubernetesProvider, Manifest, NamespaceV1, ServiceV1 } from "./bindings/k8s";
import { GpuNodePool } from "./gpu-node-pool";
import { ImportedModel } from "./imported-model";
import { NVIDIA_DEVICE_PLUGIN_IMAGE } from "./images";
import { planConsoleTable, planMarkdown, stableJson } from "./plan-report";
import { freeId, idFindings, reportFindings } from "./coded-errors";
import { ClusterKey } from "./cluster-key";
import { ClusterNetwork, LOG_RETENTION_DAYS } from "./cluster-network";
import { AWS_ACCOUNT, claimName, namespaceScope, regionScope, registryOf, userNameFindings } from "./name-claims";
import { deriveName } from "../planner/names";
import { evaluatePolicy, type RuleResult, type Suppression, type TerraformJson } from "./policy";
import { librarySuppressions, markOwned, stackPolicyView, type PolicyScopeOption } from "./policy-scope";

/** Kubernetes version for new clusters: inside EKS standard support (extended support costs 6×). */
export const DEFAULT_KUBERNETES_VERSION = "1.33";
export const GPU_TAINT_KEY = "nvidia.com/gpu";
/** Kubernetes versions in EKS standard support (AWS EKS version calendar, as of the catalog date). */
export const STANDARD_SUPPORT_VERSIONS = ["1.32", "1.33", "1.34"];

/** Operators the endpoints may rely on, declared because synth cannot see inside the cluster. */
export interface ClusterAddons {
  /** KEDA is installed and this Prometheus scrapes the vLLM pods (annotation prometheus.io/scrape). */
  readonly keda?: { readonly prometheusUrl: string };
  /** Something adds and removes GPU nodes between a pool's min and max. */
  readonly nodeAutoscaler?: "cluster-autoscaler" | "karpenter";
  /** The LeaderWorkerSet controller (leaderworkerset.x-k8s.io) is installed, for multi-node replicas. */
  readonly leaderWorkerSet?: boolean;
  /** A Gateway API implementation serves this Gateway: traffic groups split by exact weights (HTTPRoute). */
  readonly gateway?: { readonly name: string; readonly namespace: string };
  /**
   * The EFA device plugin is installed: multi-node replicas request the node's EFA devices for NCCL
   * (the EKS AL2023 AMI runs containers with an unlimited memlock, so no IPC_LOCK is added).
   * @default false (NCCL over TCP between nodes, with a warning)
   */
  readonly efa?: boolean;
}

export interface ServingOptions {
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
}

export interface GpuClusterProps extends ServingOptions {
  /** @default - the construct id */
  readonly clusterName?: string;
  /** @default "1.33" */
  readonly kubernetesVersion?: string;
  /** Private subnets of an existing VPC. @default - a new VPC with two private and two public subnets */
  readonly subnetIds?: readonly string[];
  /** CIDRs allowed to reach the public API endpoint (≤ 10). @default - none: private endpoint only */
  readonly publicAccessCidrs?: readonly string[];
  /** CPU nodes for CoreDNS, the device plugin's peers and smoke tests. @default 2 */
  readonly systemNodes?: number;
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
  private policyResults: RuleResult[] | undefined;
  protected abstract readonly createsCluster: boolean;
  protected abstract readonly systemNodeCount: number;
  /** Problems found while building the tree; reported when the stack synthesizes. */
  protected readonly findings: Finding[] = [];
  private readonly declarations: EndpointDeclaration[] = [];
  private readonly pools = new Map<string, GpuNodePool>();
  private cachedPlan: ServingPlan | undefined;
  private deviceplugin: DaemonSetV1 | undefined;
  /** Largest model staged through the system nodes' disk, GiB. */
  protected stagingDiskGiB = 0;
  protected k8sNamespace: NamespaceV1 | undefined;

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
    this.findings.push(...userNameFindings("NAMESPACE_INVALID", this.node.path, "namespace", "dns1123Label", this.namespace));
    if (["default", "kube-system", "kube-public", "kube-node-lease"].includes(this.namespace)) {
      this.findings.push(error("NAMESPACE_DISALLOWED", this.node.path, { field: "namespace", problem: `namespace "${this.namespace}" is reserved`, why: "CKV_K8S_21: workloads must not run in default or system namespaces", fix: 'use a namespace of their own, e.g. "model-serving"' }));
    }
    reportFindings(this, () => this.validate());
    addCustomSynthesis(this, {
      onSynthesize: (session) => {
        const stack = TerraformStack.of(this);
        const dir = join(session.outdir, session.manifest.forStack(stack).workingDirectory);
        mkdirSync(dir, { recursive: true });
        // The written plan carries every finding of the tree (model and cluster warnings too), not only the planner's.
        const plan = { ...this.plan(), findings: this.allFindings(), policy: { scope: this.policyScope, rules: this.policyResults ?? [], suppressions: this.appliedSuppressions } };
        writeFileSync(join(dir, "serving-plan.json"), stableJson(plan));
        writeFileSync(join(dir, "serving-plan.md"), planMarkdown(stack.node.id, plan));
        if (process.env.MODEL_SERVING_QUIET !== "1") console.log(planConsoleTable(stack.node.id, plan));
      },
    });
  }

  /** The Kubernetes namespace resource the endpoints live in. */
  abstract namespaceResource(): NamespaceV1;

  /** Size and place an endpoint; returns where it goes, or undefined when it cannot be served (findings say why). */
  addEndpoint(decl: EndpointDeclaration): { placed: Placed; pool: GpuNodePool } | undefined {
    this.declarations.push(decl);
    this.cachedPlan = undefined;
    const r = placeEndpoint(decl);
    this.findings.push(...r.findings.filter((f) => f.severity === "error"));
    if (!r.placed) return undefined;
    const fit = r.placed.fit;
    const name = poolName(fit.shape.name, decl.capacityType);
    let pool = this.pools.get(name);
    if (!pool) {
      pool = new GpuNodePool(this, `pool-${name}`, { cluster: this, poolName: name, shape: fit.shape, host: fit.host!, capacityType: decl.capacityType });
      this.pools.set(name, pool);
      this.ensureDevicePlugin();
    }
    return { placed: r.placed, pool };
  }

  private readonly trafficGroups = new Map<string, Array<{ endpoint: string; path: string; weight: number; modelId: string; capability: string; replicas: number }>>();

  /**
   * Join an endpoint to a traffic group: one stable Service (and served model name) in front of
   * several Deployments, e.g. two revisions of a model during a canary. Weighted exactly by an
   * HTTPRoute when a Gateway is declared, else by the replica ratio (the plan says what that gives).
   */
  joinTrafficGroup(group: string, member: { endpoint: string; path: string; weight: number; modelId: string; capability: string; replicas: number; selector: Record<string, string> }): void {
    if (!this.trafficGroups.has(group)) {
      this.trafficGroups.set(group, []);
      const invalid = userNameFindings("TRAFFIC_GROUP_NAME_INVALID", member.path, "trafficGroup.name", "dns1035Label", group, this.serviceNames());
      this.findings.push(...invalid);
      if (invalid.length) {
        this.trafficGroups.get(group)!.push(member);
        return;
      }
      const scope = new Construct(this, `traffic-${group}`);
      // The group's Service shares the namespace with the endpoints' own Services.
      claimName(scope, "Kubernetes Service", namespaceScope(this.clusterName, this.namespace), group, "dns1035Label");
      new ServiceV1(scope, "service", {
        metadata: { name: group, namespace: this.namespace, labels: { "app.kubernetes.io/managed-by": "cdktf-model-serving", "model-serving.io/traffic-group": group } },
        spec: { type: "ClusterIP", selector: { "model-serving.io/traffic-group": group }, port: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }] },
        dependsOn: [this.namespaceResource()],
      });
      if (this.addons.gateway) {
        const gw = this.addons.gateway;
        new Manifest(scope, "route", {
          manifest: {
            apiVersion: "gateway.networking.k8s.io/v1",
            kind: "HTTPRoute",
            metadata: { name: group, namespace: this.namespace },
            spec: {
              parentRefs: [{ name: gw.name, namespace: gw.namespace }],
              rules: Lazy.anyValue({ produce: () => [{ backendRefs: (this.trafficGroups.get(group) ?? []).map((m) => ({ name: m.endpoint, port: 80, weight: m.weight })) }] }),
            },
          },
          dependsOn: [this.namespaceResource()],
        });
      }
    }
    this.trafficGroups.get(group)!.push(member);
  }

  private trafficFindings(): Finding[] {
    const out: Finding[] = [];
    for (const [group, members] of this.trafficGroups) {
      const total = members.reduce((a, m) => a + m.weight, 0);
      const fractional = members.filter((m) => !Number.isInteger(m.weight));
      if (fractional.length) {
        out.push(error("TRAFFIC_WEIGHTS_INVALID", fractional[0].path, { field: "trafficGroup.weight", problem: `traffic group "${group}" has a fractional weight (${fractional.map((m) => `${m.endpoint} ${m.weight}`).join(", ")})`, why: "Gateway API HTTPRoute backend weights are integers", fix: "use whole percentages that sum to 100, e.g. 95 and 5" }));
      } else if (Math.abs(total - 100) > 1e-9 || members.some((m) => !(m.weight >= 0))) {
        out.push(error("TRAFFIC_WEIGHTS_INVALID", members[0].path, { field: "trafficGroup.weight", problem: `the weights of traffic group "${group}" add up to ${total}, not 100 (${members.map((m) => `${m.endpoint} ${m.weight}`).join(", ")})`, why: "each weight is the share of requests one version receives", fix: "make them sum to 100, e.g. 90 and 10" }));
      }
      const models = new Set(members.map((m) => m.modelId));
      const kinds = new Set(members.map((m) => m.capability));
      if (models.size > 1 || kinds.size > 1) {
        out.push(error("TRAFFIC_GROUP_MODEL_MISMATCH", members[1].path, { field: "trafficGroup", problem: `traffic group "${group}" mixes ${[...models].join(" and ")}`, why: "one stable name must mean one model; only its revisions (or shapes) may differ", fix: "put different models behind different names" }));
      }
      if (!this.addons.gateway) {
        const replicas = members.reduce((a, m) => a + m.replicas, 0);
        const effective = members.map((m) => `${m.endpoint} ${replicas ? Math.round((100 * m.replicas) / replicas) : 0}% (asked ${m.weight}%)`);
        if (members.some((m) => replicas && Math.abs((100 * m.replicas) / replicas - m.weight) > 1)) {
          out.push({ ...error("TRAFFIC_SPLIT_BY_REPLICAS", members[0].path, { field: "addons.gateway", problem: `traffic group "${group}" splits by ready replicas: ${effective.join(", ")}`, why: "a Kubernetes Service balances across pods, so without a Gateway the weights are the replica ratio", fix: "declare a Gateway API gateway in addons.gateway for exact weights, or set replicas in the ratio you want" }), severity: "warning" });
        }
      }
    }
    return out;
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

  /** The whole serving plan (memoised; recomputed when endpoints are added). */
  plan(): ServingPlan {
    if (!this.cachedPlan) {
      this.cachedPlan = planServing({
        stackPath: this.node.path,
        endpoints: this.declarations,
        quotas: this.quotas,
        createsCluster: this.createsCluster,
        systemNodes: this.systemNodeCount,
        systemNodeDiskGiB: this.systemDiskGiB(),
        ...(this.budgetUsdPerMonth !== undefined ? { budgetUsdPerMonth: this.budgetUsdPerMonth } : {}),
      });
    }
    return this.cachedPlan;
  }

  /** Every finding of the tree this cluster plans: models, endpoints and the whole-plan rules. */
  allFindings(): Finding[] {
    const models = this.node.root.node.findAll().filter((c): c is ImportedModel => c instanceof ImportedModel);
    const seen = new Set<string>();
    const all = [...models.flatMap((m) => m.findings), ...this.findings, ...this.plan().findings, ...this.trafficFindings()];
    return all.filter((f) => (seen.has(f.message) ? false : (seen.add(f.message), true)));
  }

  private validate(): Finding[] {
    const stack = TerraformStack.of(this) as TerraformStack & { renderForPolicy?: () => unknown; discardRendered?: () => void };
    const tf = (stack.renderForPolicy ? stack.renderForPolicy() : stack.toTerraform()) as TerraformJson;
    const view = stackPolicyView(this, this.policyScope);
    this.appliedSuppressions = [...librarySuppressions(view, this.deviceplugin), ...this.suppressions];
    const policy = evaluatePolicy(tf, this.appliedSuppressions, this.node.path, { judged: view.judged, constructPaths: view.constructPaths });
    this.policyResults = policy.results;
    const all = [...this.allFindings(), ...policy.findings, ...this.nodeScalingFindings()];
    for (const w of all.filter((f) => f.severity === "warning")) Annotations.of(this).addWarning(w.message);
    const errors = all.filter((f) => f.severity === "error");
    if (errors.length) stack.discardRendered?.();
    return errors;
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
          fix: 'install Cluster Autoscaler or Karpenter and declare it: addons: { nodeAutoscaler: "cluster-autoscaler" }',
        }),
      );
  }

  private ensureDevicePlugin(): void {
    if (this.deviceplugin) return;
    // The AL2023 NVIDIA AMI ships the driver and container toolkit but not the Kubernetes device plugin.
    const labels = { "app.kubernetes.io/name": "nvidia-device-plugin" };
    this.deviceplugin = new DaemonSetV1(this, "nvidia-device-plugin", {
      metadata: { name: "nvidia-device-plugin", namespace: "kube-system", labels },
      spec: {
        selector: { matchLabels: labels },
        strategy: { type: "RollingUpdate" },
        template: {
          metadata: { labels },
          spec: {
            priorityClassName: "system-node-critical",
            nodeSelector: { "model-serving.io/gpu": "true" },
            toleration: [{ key: GPU_TAINT_KEY, operator: "Exists", effect: "NoSchedule" }],
            container: [
              {
                name: "nvidia-device-plugin",
                image: NVIDIA_DEVICE_PLUGIN_IMAGE,
                env: [{ name: "FAIL_ON_INIT_ERROR", value: "false" }],
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } },
                resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "200m", memory: "256Mi" } },
                volumeMount: [{ name: "device-plugin", mountPath: "/var/lib/kubelet/device-plugins" }],
              },
            ],
            volume: [{ name: "device-plugin", hostPath: { path: "/var/lib/kubelet/device-plugins", type: "Directory" } }],
          },
        },
      },
    });
  }

  protected createNamespace(): NamespaceV1 {
    return new NamespaceV1(this, "namespace", {
      metadata: {
        name: this.namespace,
        labels: {
          "pod-security.kubernetes.io/enforce": "restricted",
          "pod-security.kubernetes.io/enforce-version": "latest",
          "app.kubernetes.io/managed-by": "cdktf-model-serving",
        },
      },
    });
  }
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
  protected readonly createsCluster = true;
  protected readonly systemNodeCount: number;

  constructor(scope: Construct, id: string, props: GpuClusterProps = {}) {
    super(scope, id, props);
    // A default name from the stack and the construct: two stacks, or two clusters in one stack, never share one.
    this.clusterName = props.clusterName ?? deriveName("eksClusterName", [TerraformStack.of(this).node.id, id]);
    if (props.clusterName !== undefined) this.findings.push(...userNameFindings("CLUSTER_NAME_INVALID", this.node.path, "clusterName", "eksClusterName", props.clusterName));
    claimName(this, "EKS cluster", regionScope(this), this.clusterName, "eksClusterName");
    this.systemNodeCount = props.systemNodes ?? 2;
    const cidrs = props.publicAccessCidrs ?? [];
    this.findings.push(...validateCidrs(cidrs, this.node.path));
    const version = props.kubernetesVersion ?? DEFAULT_KUBERNETES_VERSION;
    if (!STANDARD_SUPPORT_VERSIONS.includes(version)) {
      this.findings.push(error("EKS_VERSION_UNSUPPORTED", this.node.path, { field: "kubernetesVersion", problem: `Kubernetes ${version} is not in EKS standard support (${STANDARD_SUPPORT_VERSIONS.join(", ")})`, why: "CKV_AWS_339; extended support costs $0.60 instead of $0.10 per cluster-hour, and unsupported versions stop getting fixes", fix: `use ${DEFAULT_KUBERNETES_VERSION} or newer` }));
    }
    const tags = { "model-serving:cluster": this.clusterName };
    const key = new ClusterKey(this, "secrets-key", { description: `EKS secrets and log encryption for ${this.clusterName}`, tags });
    this.subnetIds = props.subnetIds ? [...props.subnetIds] : new ClusterNetwork(this, "network", { clusterName: this.clusterName, key, tags }).privateSubnetIds;

    key.allowLogGroup(`/aws/eks/${this.clusterName}/cluster`);
    const logs = new CloudwatchLogGroup(this, "control-plane-logs", { name: `/aws/eks/${this.clusterName}/cluster`, retentionInDays: LOG_RETENTION_DAYS, kmsKeyId: key.arn, tags });
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
    for (const addon of ["vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent"]) {
      new EksAddon(this, `addon-${addon}`, { clusterName: this.cluster.name, addonName: addon, resolveConflictsOnUpdate: "OVERWRITE", tags, ...(addon === "coredns" ? { dependsOn: [system] } : {}) });
    }

    const auth = new DataAwsEksClusterAuth(this, "auth", { name: this.cluster.name });
    new KubernetesProvider(this, "kubernetes", {
      host: this.cluster.endpoint,
      clusterCaCertificate: Fn.base64decode(this.cluster.certificateAuthority.get(0).data),
      token: auth.token,
    });
    this.k8sNamespace = this.createNamespace();
  }

  namespaceResource(): NamespaceV1 {
    return this.k8sNamespace!;
  }

}

class ExistingGpuCluster extends GpuClusterBase {
  readonly clusterName: string;
  readonly subnetIds: string[];
  readonly nodeRoleArn: string;
  protected readonly createsCluster = false;
  protected readonly systemNodeCount = 0;

  constructor(scope: Construct, id: string, props: ExistingClusterProps) {
    super(scope, id, props);
    if (!props.clusterName || !props.subnetIds?.length) {
      this.findings.push(error("EXISTING_CLUSTER_INCOMPLETE", this.node.path, { field: "clusterName", problem: "fromExisting needs clusterName and subnetIds", why: "GPU node groups join that cluster in those subnets", fix: "pass both" }));
    }
    this.clusterName = props.clusterName ?? "";
    this.subnetIds = [...(props.subnetIds ?? [])];
    const cluster = new DataAwsEksCluster(this, "cluster", { name: props.clusterName });
    const auth = new DataAwsEksClusterAuth(this, "auth", { name: props.clusterName });
    this.nodeRoleArn = createNodeRole(this, deriveName("iamRoleName", [this.clusterName, "gpu-node"]), { "model-serving:cluster": this.clusterName }).role.arn;
    new KubernetesProvider(this, "kubernetes", {
      host: cluster.endpoint,
      clusterCaCertificate: Fn.base64decode(cluster.certificateAuthority.get(0).data),
      token: auth.token,
    });
    this.k8sNamespace = this.createNamespace();
  }

  namespaceResource(): NamespaceV1 {
    return this.k8sNamespace!;
  }
}
