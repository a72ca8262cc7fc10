/**
 * Policy rules for what this library emits, each with an id, a severity, a fix and what it really
 * corresponds to in the public scanners — Checkov's Terraform checks, Checkov's Kubernetes-manifest
 * checks, Trivy (trivy-checks AVD ids; its KSV checks read manifests only) and KICS queries — checked
 * against those scanners' sources by a test (test/fixtures/scanner-rules.json says where and at which
 * commit). They run on the synthesized Terraform (after aspects, before anything is written): an
 * error-severity violation fails synth. By default they judge only the resources the library creates;
 * `policy: { scope: "stack" }` judges the whole stack. A rule is suppressed only with a written reason
 * and only where the suppression says (exact resources, exact finding); the serving plan lists every
 * rule with its result and every suppression.
 */
import { error, warning, type Finding } from "../planner/findings";

export type RuleSeverity = "error" | "warning";

/** What a rule corresponds to in each public scanner (ids as the scanner's sources spell them). */
export interface RuleReferences {
  /** Checkov's Terraform checks (checkov/terraform/checks/…): the same demand on the same resource types. */
  readonly checkovTerraform: readonly string[];
  /** Checkov's Kubernetes-manifest checks (checkov/kubernetes/checks/resource/k8s): same demand, read from YAML, not Terraform. */
  readonly checkovKubernetes: readonly string[];
  /** Trivy AVD ids (trivy-checks): AVD-AWS-* read Terraform; AVD-KSV-* read Kubernetes manifests only. */
  readonly trivy: readonly string[];
  /** KICS query ids (Checkmarx/kics assets/queries/…/metadata.json). */
  readonly kics: readonly string[];
}

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
export interface TerraformJson {
  readonly resource?: Record<string, Record<string, Obj>>;
  readonly data?: Record<string, Record<string, Obj>>;
}

export interface PolicyRule {
  readonly id: string;
  readonly title: string;
  readonly severity: RuleSeverity;
  /** Terraform types the rule reads ("data.<type>" for data sources). */
  readonly judges: readonly string[];
  readonly references: RuleReferences;
  readonly fix: string;
  /** Violations in the synthesized stack: the Terraform address, which sub-check, and what is wrong. */
  check(tf: TerraformJson): Violation[];
}

export interface Violation {
  readonly address: string;
  /** The sub-check that failed (e.g. "run-as-non-root", or the image reference): what a suppression may name. */
  readonly check: string;
  readonly problem: string;
}

export interface Suppression {
  readonly ruleId: string;
  /**
   * The resources it covers: Terraform addresses ("kubernetes_daemon_set_v1.x") or construct paths
   * ("stack/cluster/nvidia-device-plugin"), matched exactly. @default - every resource the rule judges
   */
  readonly address?: string | readonly string[];
  /** The one sub-check it covers (a violation's `check`). @default - every finding of the rule on those resources */
  readonly check?: string;
  readonly reason: string;
}

export interface RuleResult extends Pick<PolicyRule, "id" | "title" | "severity" | "references"> {
  readonly result: "pass" | "fail" | "suppressed";
  readonly violations: readonly Violation[];
  readonly suppressed: readonly (Violation & { reason: string })[];
}

const NO_REFS: RuleReferences = { checkovTerraform: [], checkovKubernetes: [], trivy: [], kics: [] };
const refs = (r: Partial<RuleReferences>): RuleReferences => ({ ...NO_REFS, ...r });

function resources(tf: TerraformJson, type: string): Array<[string, Obj]> {
  if (type.startsWith("data.")) return Object.entries(tf.data?.[type.slice(5)] ?? {}).map(([name, r]) => [`${type}.${name}`, r]);
  return Object.entries(tf.resource?.[type] ?? {}).map(([name, r]) => [`${type}.${name}`, r]);
}

const arr = <T>(v: T | T[] | undefined | null): T[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);
const first = (v: unknown): Obj => (arr(v as Obj)[0] ?? {}) as Obj;
/** A reference to another resource, as cdktf writes it into the JSON: `${<type>.<name>.<attr>}`. */
const references = (value: unknown, address: string): boolean => JSON.stringify(value ?? null).includes(`\${${address}.`);

// ---------------------------------------------------------------------------------------------
// Pods, whatever wrote them: typed kubernetes_* resources (snake_case blocks) or kubernetes_manifest
// objects (the API's own camelCase): Deployments, DaemonSets, StatefulSets, Jobs, CronJobs, Pods and
// LeaderWorkerSets (leader and worker templates) — so the add-ons' and gateway's objects are read too.

export interface ContainerView {
  readonly name: string;
  readonly image: string;
  readonly imagePullPolicy: string | undefined;
  readonly init: boolean;
  readonly runAsNonRoot: boolean | undefined;
  readonly allowPrivilegeEscalation: boolean | undefined;
  readonly privileged: boolean | undefined;
  readonly readOnlyRootFilesystem: boolean | undefined;
  readonly drop: readonly string[];
  readonly seccomp: string | undefined;
  readonly requests: Readonly<Record<string, unknown>>;
  readonly limits: Readonly<Record<string, unknown>>;
  readonly probes: { readonly startup: boolean; readonly readiness: boolean; readonly liveness: boolean };
  readonly env: ReadonlyArray<{ readonly name: string; readonly value: unknown }>;
}

export interface PodView {
  readonly address: string;
  /** Kubernetes kind of the workload (Deployment, DaemonSet, Job, LeaderWorkerSet/leader, …). */
  readonly kind: string;
  readonly namespace: string | undefined;
  /** Whether the pod serves traffic (needs probes): Deployments and LeaderWorkerSet leaders. */
  readonly serving: boolean;
  readonly hostIPC: boolean;
  readonly hostPID: boolean;
  readonly hostNetwork: boolean;
  readonly automountServiceAccountToken: boolean | undefined;
  readonly containers: readonly ContainerView[];
}

function typedContainer(c: Obj, pod: Obj, init: boolean): ContainerView {
  const sc = first(c.security_context);
  const podSc = first(pod.security_context);
  const res = first(c.resources);
  return {
    name: String(c.name),
    image: String(c.image ?? ""),
    imagePullPolicy: c.image_pull_policy,
    init,
    runAsNonRoot: sc.run_as_non_root ?? podSc.run_as_non_root,
    allowPrivilegeEscalation: sc.allow_privilege_escalation,
    privileged: sc.privileged,
    readOnlyRootFilesystem: sc.read_only_root_filesystem,
    drop: arr<string>(first(sc.capabilities).drop),
    seccomp: first(sc.seccomp_profile).type ?? first(podSc.seccomp_profile).type,
    requests: res.requests ?? {},
    limits: res.limits ?? {},
    probes: { startup: !!c.startup_probe, readiness: !!c.readiness_probe, liveness: !!c.liveness_probe },
    env: arr<Obj>(c.env).map((e) => ({ name: String(e.name), value: e.value })),
  };
}

function rawContainer(c: Obj, pod: Obj, init: boolean): ContainerView {
  const sc = (c.securityContext ?? {}) as Obj;
  const podSc = (pod.securityContext ?? {}) as Obj;
  const res = (c.resources ?? {}) as Obj;
  return {
    name: String(c.name),
    image: String(c.image ?? ""),
    imagePullPolicy: c.imagePullPolicy,
    init,
    runAsNonRoot: sc.runAsNonRoot ?? podSc.runAsNonRoot,
    allowPrivilegeEscalation: sc.allowPrivilegeEscalation,
    privileged: sc.privileged,
    readOnlyRootFilesystem: sc.readOnlyRootFilesystem,
    drop: arr<string>(sc.capabilities?.drop),
    seccomp: sc.seccompProfile?.type ?? podSc.seccompProfile?.type,
    requests: res.requests ?? {},
    limits: res.limits ?? {},
    probes: { startup: !!c.startupProbe, readiness: !!c.readinessProbe, liveness: !!c.livenessProbe },
    env: arr<Obj>(c.env).map((e) => ({ name: String(e.name), value: e.value })),
  };
}

function rawPod(address: string, kind: string, namespace: string | undefined, serving: boolean, pod: Obj): PodView {
  return {
    address,
    kind,
    namespace,
    serving,
    hostIPC: !!pod.hostIPC,
    hostPID: !!pod.hostPID,
    hostNetwork: !!pod.hostNetwork,
    automountServiceAccountToken: pod.automountServiceAccountToken,
    containers: [...arr<Obj>(pod.containers).map((c) => rawContainer(c, pod, false)), ...arr<Obj>(pod.initContainers).map((c) => rawContainer(c, pod, true))],
  };
}

/** The pod views of the stack `evaluatePolicy` is judging: a dozen rules read them, so they are built once per evaluation. */
let judgedPods: { readonly tf: TerraformJson; readonly views: PodView[] } | undefined;

/** Every pod template in the stack, typed or raw, with its containers (init containers included). */
export function podViews(tf: TerraformJson): PodView[] {
  return judgedPods?.tf === tf ? judgedPods.views : readPodViews(tf);
}

function readPodViews(tf: TerraformJson): PodView[] {
  const out: PodView[] = [];
  const typed: Array<[string, string, boolean]> = [["kubernetes_deployment_v1", "Deployment", true], ["kubernetes_daemon_set_v1", "DaemonSet", false], ["kubernetes_job_v1", "Job", false], ["kubernetes_stateful_set_v1", "StatefulSet", false], ["kubernetes_pod_v1", "Pod", false]];
  for (const [type, kind, serving] of typed) {
    for (const [address, r] of resources(tf, type)) {
      const spec = first(r.spec);
      const pod = type === "kubernetes_pod_v1" ? spec : first(first(spec.template).spec);
      if (!Object.keys(pod).length) continue;
      out.push({
        address,
        kind,
        namespace: first(r.metadata).namespace,
        serving,
        hostIPC: !!pod.host_ipc,
        hostPID: !!pod.host_pid,
        hostNetwork: !!pod.host_network,
        automountServiceAccountToken: pod.automount_service_account_token,
        containers: [...arr<Obj>(pod.container).map((c) => typedContainer(c, pod, false)), ...arr<Obj>(pod.init_container).map((c) => typedContainer(c, pod, true))],
      });
    }
  }
  for (const [address, r] of resources(tf, "kubernetes_manifest")) {
    const m = (r.manifest ?? {}) as Obj;
    const ns = m.metadata?.namespace;
    const spec = (m.spec ?? {}) as Obj;
    if (m.kind === "LeaderWorkerSet") {
      const t = (spec.leaderWorkerTemplate ?? {}) as Obj;
      if (t.leaderTemplate?.spec) out.push(rawPod(address, "LeaderWorkerSet/leader", ns, true, t.leaderTemplate.spec));
      if (t.workerTemplate?.spec) out.push(rawPod(address, "LeaderWorkerSet/worker", ns, !t.leaderTemplate, t.workerTemplate.spec));
    } else if (m.kind === "Pod") out.push(rawPod(address, "Pod", ns, false, spec));
    else if (m.kind === "CronJob" && spec.jobTemplate?.spec?.template?.spec) out.push(rawPod(address, "CronJob", ns, false, spec.jobTemplate.spec.template.spec));
    else if (spec.template?.spec && ["Deployment", "DaemonSet", "StatefulSet", "Job", "ReplicaSet"].includes(m.kind)) out.push(rawPod(address, m.kind, ns, m.kind === "Deployment", spec.template.spec));
  }
  return out;
}

/** Kinds that live outside any namespace (a namespace on them would be an error, not a safeguard). */
const CLUSTER_SCOPED_KINDS = ["Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PriorityClass", "StorageClass", "ClusterSecretStore", "ClusterExternalSecret", "GatewayClass", "ClusterTriggerAuthentication", "IngressClass"];

const TOKEN_LIKE = /(hf_[A-Za-z0-9]{20,}|sk-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16})/;
const SUPPORTED_EKS = ["1.30", "1.31", "1.32", "1.33", "1.34", "1.35"];
const DIGEST = /@sha256:[0-9a-f]{64}$/;
const POD_TYPES = ["kubernetes_deployment_v1", "kubernetes_daemon_set_v1", "kubernetes_job_v1", "kubernetes_stateful_set_v1", "kubernetes_pod_v1", "kubernetes_manifest"];

/** S3 buckets and the configuration resources that point at them. */
function bucketParts(tf: TerraformJson) {
  return resources(tf, "aws_s3_bucket").map(([address, bucket]) => {
    const of = (type: string) => resources(tf, type).find(([, x]) => references(x.bucket, address))?.[1];
    return { address, bucket, of };
  });
}

export const POLICY_RULES: readonly PolicyRule[] = [
  {
    id: "MS-EKS-1", title: "EKS API endpoint private, or public only to listed CIDRs (never 0.0.0.0/0)", severity: "error", judges: ["aws_eks_cluster"],
    references: refs({ checkovTerraform: ["CKV_AWS_38"], trivy: ["AVD-AWS-0041"], kics: ["61cf9883-1752-4768-b18c-0d57f2737709"] }),
    fix: "leave publicAccessCidrs empty (private endpoint) or list office/VPN CIDRs",
    check: (tf) => resources(tf, "aws_eks_cluster").flatMap(([a, r]) => {
      const v = first(r.vpc_config);
      if (v.endpoint_public_access === false) return [];
      const cidrs = arr<string>(v.public_access_cidrs);
      return cidrs.length === 0 || cidrs.includes("0.0.0.0/0") ? [{ address: a, check: "public-endpoint", problem: "the public endpoint is open to 0.0.0.0/0" }] : [];
    }),
  },
  {
    id: "MS-EKS-5", title: "EKS public endpoint disabled", severity: "warning", judges: ["aws_eks_cluster"],
    references: refs({ checkovTerraform: ["CKV_AWS_39"], trivy: ["AVD-AWS-0040"], kics: ["42f4b905-3736-4213-bfe9-c0660518cda8"] }),
    fix: "set privateApiOnly with subnetIds of a VPC your deploy runners are in",
    check: (tf) => resources(tf, "aws_eks_cluster").filter(([, r]) => first(r.vpc_config).endpoint_public_access !== false).map(([address]) => ({ address, check: "public-endpoint", problem: "has a public API endpoint" })),
  },
  {
    id: "MS-EKS-2", title: "EKS secrets envelope-encrypted with a KMS key", severity: "error", judges: ["aws_eks_cluster"],
    references: refs({ checkovTerraform: ["CKV_AWS_58"], trivy: ["AVD-AWS-0039"], kics: ["63ebcb19-2739-4d3f-aa5c-e8bbb9b85281"] }),
    fix: "keep the encryption_config GpuCluster emits",
    check: (tf) => resources(tf, "aws_eks_cluster").filter(([, r]) => !arr<Obj>(r.encryption_config).some((e) => arr<string>(e.resources).includes("secrets") && first(e.provider).key_arn)).map(([a]) => ({ address: a, check: "secrets-encryption", problem: "no KMS encryption of secrets" })),
  },
  {
    id: "MS-EKS-3", title: "All five EKS control-plane log types enabled", severity: "warning", judges: ["aws_eks_cluster"],
    references: refs({ checkovTerraform: ["CKV_AWS_37"], trivy: ["AVD-AWS-0038"], kics: ["66f130d9-b81d-4e8e-9b08-da74b9c891df"] }),
    fix: "enable api, audit, authenticator, controllerManager and scheduler logs",
    check: (tf) => resources(tf, "aws_eks_cluster").flatMap(([a, r]) => {
      const missing = ["api", "audit", "authenticator", "controllerManager", "scheduler"].filter((t) => !arr<string>(r.enabled_cluster_log_types).includes(t));
      return missing.length ? [{ address: a, check: "log-types", problem: `log types missing: ${missing.join(", ")}` }] : [];
    }),
  },
  {
    id: "MS-EKS-4", title: "Kubernetes version in EKS standard support", severity: "warning", judges: ["aws_eks_cluster"],
    references: refs({ checkovTerraform: ["CKV_AWS_339"] }),
    fix: `use one of ${SUPPORTED_EKS.join(", ")}; extended support costs 6× the control plane`,
    check: (tf) => resources(tf, "aws_eks_cluster").filter(([, r]) => r.version !== undefined && !SUPPORTED_EKS.includes(String(r.version))).map(([a, r]) => ({ address: a, check: "version", problem: `version ${r.version} is outside standard support` })),
  },
  {
    id: "MS-NODE-1", title: "Node instance metadata: IMDSv2 required, hop limit 1", severity: "error", judges: ["aws_launch_template"],
    references: refs({ checkovTerraform: ["CKV_AWS_79", "CKV_AWS_341"], trivy: ["AVD-AWS-0130"] }),
    fix: 'metadata_options { http_tokens = "required", http_put_response_hop_limit = 1 }',
    check: (tf) => resources(tf, "aws_launch_template").flatMap(([a, r]) => {
      const m = first(r.metadata_options);
      const out: Violation[] = [];
      if (m.http_tokens !== "required" && m.http_endpoint !== "disabled") out.push({ address: a, check: "imdsv2", problem: `http_tokens is ${JSON.stringify(m.http_tokens ?? "optional")} (IMDSv1 lets SSRF steal node credentials)` });
      if (m.http_endpoint !== "disabled" && Number(m.http_put_response_hop_limit ?? 2) > 1) out.push({ address: a, check: "hop-limit", problem: "hop limit above 1 lets pods reach the node's instance metadata" });
      return out;
    }),
  },
  {
    // No public scanner checks a launch template's block devices: Checkov's CKV_AWS_8 and Trivy's
    // AVD-AWS-0008/0131 read launch configurations and instances only.
    id: "MS-NODE-2", title: "Node volumes encrypted", severity: "error", judges: ["aws_launch_template"],
    references: NO_REFS,
    fix: 'block_device_mappings { ebs { encrypted = "true" } }',
    check: (tf) => resources(tf, "aws_launch_template").flatMap(([a, r]) => arr<Obj>(r.block_device_mappings).filter((b) => String(first(b.ebs).encrypted) !== "true").map(() => ({ address: a, check: "ebs-encrypted", problem: "an EBS volume is not encrypted" }))),
  },
  {
    id: "MS-NODE-3", title: "No SSH access to nodes", severity: "error", judges: ["aws_eks_node_group"],
    references: refs({ checkovTerraform: ["CKV_AWS_100"], kics: ["ba40ace1-a047-483c-8a8d-bc2d3a67a82d"] }),
    fix: "remove remote_access; use SSM Session Manager",
    check: (tf) => resources(tf, "aws_eks_node_group").filter(([, r]) => r.remote_access !== undefined).map(([a]) => ({ address: a, check: "no-ssh", problem: "remote_access (SSH) is configured" })),
  },
  {
    id: "MS-NET-1", title: "VPC flow logs capture all traffic", severity: "error", judges: ["aws_vpc", "aws_flow_log"],
    references: refs({ checkovTerraform: ["CKV2_AWS_11"], trivy: ["AVD-AWS-0178"], kics: ["f83121ea-03da-434f-9277-9cd247ab3047"] }),
    fix: "keep the flow log ClusterNetwork emits (traffic_type ALL, to an encrypted log group)",
    check: (tf) => resources(tf, "aws_vpc").filter(([a]) => !resources(tf, "aws_flow_log").some(([, f]) => references(f.vpc_id, a) && f.traffic_type === "ALL")).map(([a]) => ({ address: a, check: "flow-logs", problem: "has no flow log of all traffic" })),
  },
  {
    id: "MS-NET-2", title: "The VPC's default security group allows nothing", severity: "error", judges: ["aws_vpc", "aws_default_security_group"],
    references: refs({ checkovTerraform: ["CKV2_AWS_12"], trivy: ["AVD-AWS-0173"], kics: ["9a4ef195-74b9-4c58-b8ed-2b2fe4353a75"] }),
    fix: "keep the rule-less aws_default_security_group ClusterNetwork emits",
    check: (tf) => resources(tf, "aws_vpc").flatMap(([a]) => {
      const sg = resources(tf, "aws_default_security_group").find(([, s]) => references(s.vpc_id, a));
      if (!sg) return [{ address: a, check: "default-sg", problem: "its default security group is not managed, so it keeps AWS's allow-all rules" }];
      return arr(sg[1].ingress).length || arr(sg[1].egress).length ? [{ address: sg[0], check: "default-sg", problem: "the default security group has rules" }] : [];
    }),
  },
  {
    id: "MS-NET-3", title: "Subnets do not assign public IPs on launch", severity: "error", judges: ["aws_subnet"],
    references: refs({ checkovTerraform: ["CKV_AWS_130"], trivy: ["AVD-AWS-0164"] }),
    fix: "map_public_ip_on_launch = false; nodes live in private subnets",
    check: (tf) => resources(tf, "aws_subnet").filter(([, r]) => r.map_public_ip_on_launch === true).map(([a]) => ({ address: a, check: "public-ip", problem: "assigns public IPs to everything launched in it" })),
  },
  {
    id: "MS-KMS-1", title: "KMS keys: explicit key policy without a wildcard principal, rotation on", severity: "error", judges: ["aws_kms_key"],
    references: refs({ checkovTerraform: ["CKV2_AWS_64", "CKV_AWS_33", "CKV_AWS_7"], trivy: ["AVD-AWS-0065"], kics: ["7ebc9038-0bde-479a-acc4-6ed7b6758899"] }),
    fix: "keep the key policy ClusterKey writes (account via IAM, the cluster role, CloudWatch Logs for named log groups)",
    check: (tf) => resources(tf, "aws_kms_key").flatMap(([a, r]) => {
      const out: Violation[] = [];
      if (typeof r.policy !== "string" || !r.policy) out.push({ address: a, check: "key-policy", problem: "has no explicit key policy (the default one lets any IAM policy in the account use it)" });
      else if (/"Principal":\s*"\*"|"AWS":\s*"\*"/.test(r.policy)) out.push({ address: a, check: "key-policy", problem: "its key policy allows any principal" });
      if (r.enable_key_rotation !== true) out.push({ address: a, check: "rotation", problem: "key rotation is off" });
      return out;
    }),
  },
  {
    id: "MS-LOG-1", title: "Log groups encrypted with the stack's KMS key and given a retention", severity: "error", judges: ["aws_cloudwatch_log_group"],
    references: refs({ checkovTerraform: ["CKV_AWS_158", "CKV_AWS_66"], trivy: ["AVD-AWS-0017"], kics: ["0afbcfe9-d341-4b92-a64c-7e6de0543879", "ef0b316a-211e-42f1-888e-64efe172b755"] }),
    fix: "set kms_key_id to the cluster key (its policy must allow CloudWatch Logs for the group) and retention_in_days",
    check: (tf) => resources(tf, "aws_cloudwatch_log_group").flatMap(([a, r]) => [
      ...(r.kms_key_id ? [] : [{ address: a, check: "kms", problem: "is not encrypted with a customer-managed KMS key" }]),
      ...(r.retention_in_days === undefined ? [{ address: a, check: "retention", problem: "keeps logs forever (no retention set)" }] : []),
    ]),
  },
  {
    id: "MS-LOG-2", title: "Log groups keep logs for at least a year", severity: "warning", judges: ["aws_cloudwatch_log_group"],
    references: refs({ checkovTerraform: ["CKV_AWS_338"] }),
    fix: "retention_in_days ≥ 365, or suppress with the retention your audit policy requires",
    check: (tf) => resources(tf, "aws_cloudwatch_log_group").filter(([, r]) => r.retention_in_days !== 0 && !(Number(r.retention_in_days) >= 365)).map(([a, r]) => ({ address: a, check: "retention-1y", problem: `keeps logs ${r.retention_in_days ?? "for an unset number of"} days` })),
  },
  {
    id: "MS-S3-1", title: "Buckets: all four public-access blocks, KMS encryption, versioning, TLS-only policy", severity: "error",
    judges: ["aws_s3_bucket", "aws_s3_bucket_public_access_block", "aws_s3_bucket_server_side_encryption_configuration", "aws_s3_bucket_versioning", "aws_s3_bucket_policy"],
    references: refs({
      checkovTerraform: ["CKV2_AWS_6", "CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56", "CKV_AWS_145", "CKV_AWS_21"],
      trivy: ["AVD-AWS-0094", "AVD-AWS-0086", "AVD-AWS-0087", "AVD-AWS-0091", "AVD-AWS-0093", "AVD-AWS-0088", "AVD-AWS-0090"],
      kics: ["1ec253ab-c220-4d63-b2de-5b40e0af9293", "ad03cb46-f174-4674-bf8e-2880a7000edd", "568a4d22-3517-44a6-a7ad-6a7eed88722c"],
    }),
    fix: "use ModelStore, which emits all of them",
    check: (tf) => bucketParts(tf).flatMap(({ address: a, of }) => {
      const out: Violation[] = [];
      const pab = of("aws_s3_bucket_public_access_block");
      if (!pab || !["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"].every((k) => pab[k] === true)) out.push({ address: a, check: "public-access-block", problem: "public access is not fully blocked" });
      if (first(first(of("aws_s3_bucket_server_side_encryption_configuration")?.rule).apply_server_side_encryption_by_default).sse_algorithm !== "aws:kms") out.push({ address: a, check: "kms", problem: "no default KMS encryption" });
      if (first(of("aws_s3_bucket_versioning")?.versioning_configuration).status !== "Enabled") out.push({ address: a, check: "versioning", problem: "versioning is not enabled" });
      if (!of("aws_s3_bucket_policy")) out.push({ address: a, check: "tls-only", problem: "no TLS-only bucket policy" });
      return out;
    }),
  },
  {
    id: "MS-S3-2", title: "Buckets expire old versions and abort abandoned multipart uploads", severity: "error", judges: ["aws_s3_bucket", "aws_s3_bucket_lifecycle_configuration"],
    references: refs({ checkovTerraform: ["CKV2_AWS_61", "CKV_AWS_300"] }),
    fix: "keep the lifecycle configuration ModelStore emits",
    check: (tf) => bucketParts(tf).flatMap(({ address: a, of }) => {
      const rules = arr<Obj>(of("aws_s3_bucket_lifecycle_configuration")?.rule).filter((r) => r.status === "Enabled");
      const out: Violation[] = [];
      if (!rules.some((r) => arr(r.noncurrent_version_expiration).length)) out.push({ address: a, check: "noncurrent-versions", problem: "keeps every old version of every object forever" });
      if (!rules.some((r) => arr(r.abort_incomplete_multipart_upload).length)) out.push({ address: a, check: "abort-uploads", problem: "keeps the parts of abandoned multipart uploads forever" });
      return out;
    }),
  },
  {
    id: "MS-S3-3", title: "Buckets log access to another bucket", severity: "warning", judges: ["aws_s3_bucket", "aws_s3_bucket_logging"],
    references: refs({ checkovTerraform: ["CKV_AWS_18"], trivy: ["AVD-AWS-0089"], kics: ["f861041c-8c9f-4156-acfc-5e6e524f5884"] }),
    fix: "add an aws_s3_bucket_logging to a log bucket, or suppress with the reason",
    check: (tf) => bucketParts(tf).filter(({ bucket, of }) => !bucket.logging && !of("aws_s3_bucket_logging")).map(({ address }) => ({ address, check: "access-logging", problem: "does not log access" })),
  },
  {
    id: "MS-S3-4", title: "Buckets replicate to another region", severity: "warning", judges: ["aws_s3_bucket", "aws_s3_bucket_replication_configuration"],
    references: refs({ checkovTerraform: ["CKV_AWS_144"] }),
    fix: "add an aws_s3_bucket_replication_configuration, or suppress with the reason",
    check: (tf) => bucketParts(tf).filter(({ of }) => !arr<Obj>(of("aws_s3_bucket_replication_configuration")?.rule).some((r) => r.status === "Enabled")).map(({ address }) => ({ address, check: "replication", problem: "is not replicated to another region" })),
  },
  {
    id: "MS-S3-5", title: "Buckets send event notifications", severity: "warning", judges: ["aws_s3_bucket", "aws_s3_bucket_notification"],
    references: refs({ checkovTerraform: ["CKV2_AWS_62"] }),
    fix: "add an aws_s3_bucket_notification, or suppress with the reason",
    check: (tf) => bucketParts(tf).filter(({ of }) => !of("aws_s3_bucket_notification")).map(({ address }) => ({ address, check: "event-notifications", problem: "sends no event notifications" })),
  },
  {
    id: "MS-IAM-1", title: "IAM policies name actions and resources (no \"*\")", severity: "error", judges: ["data.aws_iam_policy_document", "aws_iam_policy"],
    references: refs({ checkovTerraform: ["CKV_AWS_1", "CKV_AWS_49", "CKV_AWS_356", "CKV2_AWS_40", "CKV_AWS_286", "CKV_AWS_287", "CKV_AWS_288", "CKV_AWS_289", "CKV_AWS_290", "CKV_AWS_355"], trivy: ["AVD-AWS-0057"], kics: ["575a2155-6af1-4026-b1af-d5bc8fe2a904"] }),
    fix: "scope every Allow statement to the model's bucket prefix or secret ARN",
    check: (tf) => [
      ...resources(tf, "data.aws_iam_policy_document").flatMap(([address, d]) =>
        arr<Obj>(d.statement).filter((s) => (s.effect ?? "Allow") === "Allow" && (arr<string>(s.actions).some((x) => x === "*" || x.endsWith(":*")) || arr<string>(s.resources).includes("*"))).map(() => ({ address, check: "wildcard", problem: 'an Allow statement uses "*"' })),
      ),
      // A policy written as a JSON literal (not a reference to a policy document) is read as such.
      ...resources(tf, "aws_iam_policy").flatMap(([address, p]) => {
        let doc: Obj;
        try {
          doc = typeof p.policy === "string" && !p.policy.includes("${") ? JSON.parse(p.policy) : undefined;
        } catch {
          return [];
        }
        if (!doc) return [];
        return arr<Obj>(doc.Statement).some((s) => (s.Effect ?? "Allow") === "Allow" && (arr<string>(s.Action).some((x) => x === "*" || x.endsWith(":*")) || arr<string>(s.Resource).includes("*"))) ? [{ address, check: "wildcard", problem: 'an Allow statement uses "*"' }] : [];
      }),
    ],
  },
  {
    id: "MS-POD-1", title: "Pods run as non-root, without privilege escalation, with ALL capabilities dropped and seccomp RuntimeDefault", severity: "error", judges: POD_TYPES,
    references: refs({
      checkovTerraform: ["CKV_K8S_20", "CKV_K8S_28", "CKV_K8S_37"],
      checkovKubernetes: ["CKV_K8S_23", "CKV_K8S_31"],
      trivy: ["AVD-KSV-0001", "AVD-KSV-0003", "AVD-KSV-0012", "AVD-KSV-0030"],
      kics: ["c878abb4-cca5-4724-92b9-289be68bd47c", "21cef75f-289f-470e-8038-c7cee0664164", "e5587d53-a673-4a6b-b3f2-ba07ec274def", "455f2e0c-686d-4fcb-8b5f-3f953f12c43c"],
    }),
    fix: "runAsNonRoot with a numeric runAsUser, allowPrivilegeEscalation false, drop ALL, seccompProfile RuntimeDefault",
    check: (tf) => podViews(tf).flatMap(({ address, containers }) => containers.flatMap((c) => [
      ...(c.runAsNonRoot ? [] : [{ address, check: "run-as-non-root", problem: `container ${c.name} may run as root` }]),
      ...(c.allowPrivilegeEscalation === false ? [] : [{ address, check: "no-privilege-escalation", problem: `container ${c.name} allows privilege escalation` }]),
      ...(c.drop.includes("ALL") ? [] : [{ address, check: "drop-all", problem: `container ${c.name} does not drop ALL capabilities` }]),
      ...(c.seccomp === "RuntimeDefault" ? [] : [{ address, check: "seccomp", problem: `container ${c.name} has no RuntimeDefault seccomp profile` }]),
    ])),
  },
  {
    id: "MS-POD-2", title: "No privileged containers or host namespaces", severity: "error", judges: POD_TYPES,
    references: refs({
      checkovTerraform: ["CKV_K8S_16", "CKV_K8S_17", "CKV_K8S_18", "CKV_K8S_19"],
      trivy: ["AVD-KSV-0017", "AVD-KSV-0008", "AVD-KSV-0009", "AVD-KSV-0010"],
      kics: ["87065ef8-de9b-40d8-9753-f4a4303e27a4", "e94d3121-c2d1-4e34-a295-139bfeb73ea3", "587d5d82-70cf-449b-9817-f60f9bccb88c", "ac1564a3-c324-4747-9fa1-9dfc234dace0"],
    }),
    fix: "mount a Memory emptyDir at /dev/shm instead of hostIPC; the device plugin supplies GPUs without privilege",
    check: (tf) => podViews(tf).flatMap((p) => [
      ...(p.hostIPC || p.hostPID || p.hostNetwork ? [{ address: p.address, check: "host-namespace", problem: "uses a host namespace" }] : []),
      ...p.containers.filter((c) => c.privileged).map((c) => ({ address: p.address, check: "privileged", problem: `container ${c.name} is privileged` })),
    ]),
  },
  {
    id: "MS-POD-3", title: "Read-only root filesystem", severity: "warning", judges: POD_TYPES,
    references: refs({ checkovTerraform: ["CKV_K8S_22"], trivy: ["AVD-KSV-0014"], kics: ["d532566b-8d9d-4f3b-80bd-361fe802f9c2"] }),
    fix: "readOnlyRootFilesystem true with writable emptyDirs for caches and /tmp",
    check: (tf) => podViews(tf).flatMap(({ address, containers }) => containers.filter((c) => c.readOnlyRootFilesystem !== true).map((c) => ({ address, check: "read-only-root", problem: `container ${c.name} has a writable root filesystem` }))),
  },
  {
    id: "MS-POD-4", title: "CPU and memory requests and limits", severity: "error", judges: POD_TYPES,
    references: refs({
      checkovTerraform: ["CKV_K8S_10", "CKV_K8S_11", "CKV_K8S_12", "CKV_K8S_13"],
      trivy: ["AVD-KSV-0011", "AVD-KSV-0015", "AVD-KSV-0016", "AVD-KSV-0018"],
      kics: ["fd097ed0-7fe6-4f58-8b71-fef9f0820a21", "5f4735ce-b9ba-4d95-a089-a37a767b716f", "21719347-d02b-497d-bda4-04a03c8e5b61", "577ac19c-6a77-46d7-9f14-e049cdd15ec2"],
    }),
    fix: "set resources.requests and resources.limits for cpu and memory",
    check: (tf) => podViews(tf).flatMap(({ address, containers }) => containers.filter((c) => !(c.requests.cpu && c.requests.memory && c.limits.cpu && c.limits.memory)).map((c) => ({ address, check: "resources", problem: `container ${c.name} lacks cpu/memory requests or limits` }))),
  },
  {
    id: "MS-POD-5", title: "Serving containers have startup, readiness and liveness probes", severity: "error", judges: POD_TYPES,
    references: refs({ checkovTerraform: ["CKV_K8S_8", "CKV_K8S_9"], kics: ["5b6d53dd-3ba3-4269-b4d7-f82e880e43c3", "8657197e-3f87-4694-892b-8144701d83c1"] }),
    fix: "probe /health; budget the startup probe for model loading",
    check: (tf) => podViews(tf).filter((p) => p.serving).flatMap(({ address, containers }) => containers.filter((c) => !c.init && !(c.probes.startup && c.probes.readiness && c.probes.liveness)).map((c) => ({ address, check: "probes", problem: `container ${c.name} lacks a startup, readiness or liveness probe` }))),
  },
  {
    id: "MS-POD-6", title: "Images pinned to an exact version (no latest, no missing tag)", severity: "error", judges: POD_TYPES,
    references: refs({ checkovTerraform: ["CKV_K8S_14"], trivy: ["AVD-KSV-0013"], kics: ["e76cca7c-c3f9-4fc9-884c-b2831168ebd8"] }),
    fix: "use a version tag such as v0.24.0, or a digest",
    check: (tf) => podViews(tf).flatMap(({ address, containers }) => containers.filter((c) => !/(:[A-Za-z0-9._-]+(@sha256:[0-9a-f]{64})?|@sha256:[0-9a-f]{64})$/.test(c.image) || /:latest(@|$)/.test(c.image)).map((c) => ({ address, check: "tag", problem: `image ${c.image} is not pinned` }))),
  },
  {
    id: "MS-IMG-1", title: "Images pinned by digest", severity: "error", judges: POD_TYPES,
    references: refs({ checkovTerraform: ["CKV_K8S_43"], kics: ["228c4c19-feeb-4c18-848c-800ac70fdfb7"] }),
    fix: "pin repository:tag@sha256:<digest> (constructs/images.ts renders it from the catalog)",
    check: (tf) => podViews(tf).flatMap(({ address, containers }) => containers.filter((c) => !DIGEST.test(c.image)).map((c) => ({ address, check: c.image, problem: `container ${c.name} runs ${c.image}, a tag that can be re-pointed` }))),
  },
  {
    id: "MS-IMG-2", title: "Image pull policy Always", severity: "warning", judges: POD_TYPES,
    references: refs({ checkovTerraform: ["CKV_K8S_15"], kics: ["aa737abf-6b1d-4aba-95aa-5c160bd7f96e"] }),
    fix: "imagePullPolicy Always, or suppress where images are immutable",
    check: (tf) => podViews(tf).flatMap(({ address, containers }) => containers.filter((c) => c.imagePullPolicy !== "Always").map((c) => ({ address, check: "pull-always", problem: `container ${c.name} pulls ${c.imagePullPolicy ?? "IfNotPresent (the default)"}` }))),
  },
  {
    id: "MS-POD-7", title: "Service-account tokens not mounted into pods that never call the API", severity: "warning", judges: POD_TYPES,
    references: refs({ checkovKubernetes: ["CKV_K8S_38"], kics: ["a9a13d4f-f17a-491b-b074-f54bffffcb4a"] }),
    fix: "automountServiceAccountToken false",
    check: (tf) => podViews(tf).filter((p) => p.kind !== "DaemonSet" && p.automountServiceAccountToken !== false).map(({ address }) => ({ address, check: "automount", problem: "mounts a service-account token" })),
  },
  {
    id: "MS-POD-8", title: "No secret values as environment literals", severity: "error", judges: POD_TYPES,
    references: NO_REFS,
    fix: "reference secrets (valueFrom.secretKeyRef or a file from Secrets Manager)",
    check: (tf) => podViews(tf).flatMap(({ address, containers }) => containers.flatMap((c) => c.env.filter((e) => typeof e.value === "string" && TOKEN_LIKE.test(e.value)).map((e) => ({ address, check: "literal-secret", problem: `env ${e.name} holds a literal credential` })))),
  },
  {
    id: "MS-K8S-1", title: "Workloads outside the default and system namespaces", severity: "error", judges: ["kubernetes_deployment_v1", "kubernetes_job_v1", "kubernetes_service_v1", "kubernetes_manifest"],
    references: refs({ checkovTerraform: ["CKV_K8S_21"], trivy: ["AVD-KSV-0110"], kics: ["abcb818b-5af7-4d72-aba9-6dd84956b451"] }),
    fix: 'run in the library\'s namespace ("model-serving" by default)',
    check: (tf) => [
      ...["kubernetes_deployment_v1", "kubernetes_job_v1", "kubernetes_service_v1"].flatMap((t) => resources(tf, t)).filter(([, r]) => ["default", undefined].includes(first(r.metadata).namespace)).map(([a]) => ({ address: a, check: "namespace", problem: "runs in the default namespace" })),
      ...resources(tf, "kubernetes_manifest").filter(([, r]) => r.manifest?.metadata && ["default", undefined].includes(r.manifest.metadata.namespace) && !CLUSTER_SCOPED_KINDS.includes(r.manifest.kind)).map(([a]) => ({ address: a, check: "namespace", problem: "is in the default namespace" })),
    ],
  },
  {
    id: "MS-K8S-2", title: "Every Deployment has a PodDisruptionBudget", severity: "warning", judges: ["kubernetes_deployment_v1", "kubernetes_pod_disruption_budget_v1"],
    references: refs({ kics: ["a05331ee-1653-45cb-91e6-13637a76e4f0"] }),
    fix: "keep the PDB InferenceEndpoint emits",
    check: (tf) => {
      const covered = new Set(resources(tf, "kubernetes_pod_disruption_budget_v1").map(([, r]) => JSON.stringify(first(first(r.spec).selector).match_labels)));
      return resources(tf, "kubernetes_deployment_v1").filter(([, r]) => !covered.has(JSON.stringify(first(first(r.spec).selector).match_labels))).map(([a]) => ({ address: a, check: "pdb", problem: "no PodDisruptionBudget selects its pods" }));
    },
  },
  {
    id: "MS-K8S-3", title: "External load balancers only with source ranges, no NodePorts", severity: "error", judges: ["kubernetes_service_v1"],
    references: refs({ kics: ["2a52567c-abb8-4651-a038-52fa27c77aed", "5c281bf8-d9bb-47f2-b909-3f6bb11874ad"] }),
    fix: "set exposure.allowedCidrs",
    check: (tf) => resources(tf, "kubernetes_service_v1").filter(([, r]) => { const s = first(r.spec); return (s.type === "LoadBalancer" && arr(s.load_balancer_source_ranges).length === 0) || s.type === "NodePort"; }).map(([a]) => ({ address: a, check: "exposure", problem: "is exposed without source ranges" })),
  },
];

/** Every scanner id a rule cites, for messages. */
export function referenceIds(r: RuleReferences): string[] {
  return [...r.checkovTerraform, ...r.checkovKubernetes.filter((x) => !r.checkovTerraform.includes(x)), ...r.trivy];
}

export interface PolicyScope {
  /** Terraform addresses the rules judge. @default - every resource in the JSON */
  readonly judged?: ReadonlySet<string>;
  /** Construct path of each address, so suppressions may name either. */
  readonly constructPaths?: ReadonlyMap<string, string>;
}

/** Keep only the judged resources and data sources of a stack. */
function restrict(tf: TerraformJson, judged: ReadonlySet<string> | undefined): TerraformJson {
  if (!judged) return tf;
  const pick = (block: Record<string, Record<string, Obj>> | undefined, prefix: string) =>
    Object.fromEntries(Object.entries(block ?? {}).map(([type, byName]) => [type, Object.fromEntries(Object.entries(byName).filter(([name]) => judged.has(`${prefix}${type}.${name}`)))]));
  return { resource: pick(tf.resource, ""), data: pick(tf.data, "data.") };
}

/**
 * Whether a suppression covers a violation. `addressSets` holds each suppression's addresses as a set:
 * the library's own suppressions list every pod of a fleet (a thousand addresses at 500 endpoints), and
 * every violation is looked up in them.
 */
function covers(s: Suppression, v: Violation, scope: PolicyScope, addressSets: Map<Suppression, ReadonlySet<string>>): boolean {
  if (s.check !== undefined && s.check !== v.check) return false;
  if (s.address === undefined) return true;
  let names = addressSets.get(s);
  if (!names) addressSets.set(s, (names = new Set(arr<string>(s.address as string | string[]))));
  return names.has(v.address) || names.has(scope.constructPaths?.get(v.address) ?? "\u0000");
}

const hasReason = (s: Suppression) => typeof s.reason === "string" && s.reason.trim().length >= 10;

/**
 * Run every rule on the judged resources, apply suppressions (each to exactly the resources and the
 * finding it names), and return the results and the findings (errors fail synth).
 */
export function evaluatePolicy(tf: TerraformJson, suppressions: readonly Suppression[], path: string, scope: PolicyScope = {}): { results: RuleResult[]; findings: Finding[] } {
  const findings: Finding[] = [];
  for (const s of suppressions) {
    if (!POLICY_RULES.some((r) => r.id === s.ruleId)) findings.push(error("POLICY_RULE_UNKNOWN", path, { field: "suppressions", problem: `there is no rule ${s.ruleId}`, why: "a suppression must name a rule the library checks", fix: `use one of ${POLICY_RULES.map((r) => r.id).join(", ")}` }));
    if (!hasReason(s)) findings.push(error("POLICY_SUPPRESSION_WITHOUT_REASON", path, { field: "suppressions", problem: `suppression of ${s.ruleId} has no written reason`, why: "a reviewer must be able to see why a security rule does not apply", fix: "add a reason of at least a sentence" }));
  }
  const judged = restrict(tf, scope.judged);
  const used = new Set<Suppression>();
  const addressSets = new Map<Suppression, ReadonlySet<string>>();
  judgedPods = { tf: judged, views: readPodViews(judged) };
  let results: RuleResult[];
  try {
    results = POLICY_RULES.map((rule): RuleResult => {
      const all = rule.check(judged);
      const suppressed: Array<Violation & { reason: string }> = [];
      const violations: Violation[] = [];
      for (const v of all) {
        const s = suppressions.find((x) => x.ruleId === rule.id && hasReason(x) && covers(x, v, scope, addressSets));
        if (s) {
          used.add(s);
          suppressed.push({ ...v, reason: s.reason });
        } else violations.push(v);
      }
      for (const v of violations) {
        const ids = referenceIds(rule.references);
        const f = error(`POLICY_${rule.id.replace(/-/g, "_")}`, path, { field: v.address, problem: `${v.address} ${v.problem}`, why: `${rule.title} [${ids.join(", ") || "library rule"}]`, fix: rule.fix });
        findings.push(rule.severity === "error" ? f : { ...f, severity: "warning" });
      }
      return { id: rule.id, title: rule.title, severity: rule.severity, references: rule.references, result: violations.length ? "fail" : suppressed.length ? "suppressed" : "pass", violations, suppressed };
    });
  } finally {
    judgedPods = undefined;
  }
  for (const s of suppressions.filter((x) => !used.has(x) && hasReason(x) && POLICY_RULES.some((r) => r.id === x.ruleId))) {
    findings.push(warning("POLICY_SUPPRESSION_UNUSED", path, { field: "suppressions", problem: `the suppression of ${s.ruleId}${s.address ? ` for ${arr<string>(s.address as string | string[]).join(", ")}` : ""}${s.check ? ` (${s.check})` : ""} matches no finding`, why: "a suppression that covers nothing hides nothing today but would silently hide a future finding", fix: "remove it, or name the resource and finding it is meant for" }));
  }
  return { results, findings };
}
