/**
 * Policy rules for what this library emits, each with an id, a severity, the matching Checkov /
 * Trivy (tfsec) / KICS ids and a fix. They run on the synthesized Terraform of the stack (after
 * aspects, before anything is written): an error-severity violation fails synth. Defaults pass every
 * rule; a rule can be suppressed only with a written reason, and the serving plan lists every rule
 * with its result and every suppression.
 */
import { error, type Finding } from "../planner/findings";

export type RuleSeverity = "error" | "warning";

export interface PolicyRule {
  readonly id: string;
  readonly title: string;
  readonly severity: RuleSeverity;
  readonly checkov: readonly string[];
  readonly trivy: readonly string[];
  readonly kics: readonly string[];
  readonly fix: string;
  /** Violations in the synthesized stack: the Terraform address and what is wrong. */
  check(tf: TerraformJson): Violation[];
}

export interface Violation {
  readonly address: string;
  readonly problem: string;
}

export interface Suppression {
  readonly ruleId: string;
  /** Terraform address prefix the suppression covers. @default - the whole stack */
  readonly address?: string;
  readonly reason: string;
}

export interface RuleResult extends Pick<PolicyRule, "id" | "title" | "severity" | "checkov" | "trivy" | "kics"> {
  readonly result: "pass" | "fail" | "suppressed";
  readonly violations: readonly Violation[];
  readonly suppressed: readonly (Violation & { reason: string })[];
}

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
export interface TerraformJson {
  readonly resource?: Record<string, Record<string, Obj>>;
  readonly data?: Record<string, Record<string, Obj>>;
}

function resources(tf: TerraformJson, type: string): Array<[string, Obj]> {
  return Object.entries(tf.resource?.[type] ?? {}).map(([name, r]) => [`${type}.${name}`, r]);
}

const arr = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Pod specs of every workload kind the library emits, with the containers in them. */
function podSpecs(tf: TerraformJson): Array<{ address: string; pod: Obj; containers: Obj[] }> {
  const out: Array<{ address: string; pod: Obj; containers: Obj[] }> = [];
  for (const type of ["kubernetes_deployment_v1", "kubernetes_daemon_set_v1", "kubernetes_job_v1"]) {
    for (const [address, r] of resources(tf, type)) {
      const pod = arr<Obj>(r.spec?.template)[0]?.spec ?? arr<Obj>(arr<Obj>(r.spec)[0]?.template)[0]?.spec;
      if (!pod) continue;
      const p = arr<Obj>(pod)[0];
      out.push({ address, pod: p, containers: [...arr<Obj>(p.container), ...arr<Obj>(p.init_container)] });
    }
  }
  return out;
}

const TOKEN_LIKE = /(hf_[A-Za-z0-9]{20,}|sk-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16})/;
const SUPPORTED_EKS = ["1.30", "1.31", "1.32", "1.33", "1.34", "1.35"];

export const POLICY_RULES: readonly PolicyRule[] = [
  {
    id: "MS-EKS-1", title: "EKS API endpoint private, or public only to listed CIDRs (never 0.0.0.0/0)", severity: "error",
    checkov: ["CKV_AWS_39", "CKV_AWS_38"], trivy: ["AVD-AWS-0040", "AVD-AWS-0041"], kics: ["42f4b905-3736-4213-bfe9-c0660518cda8", "61cf9883-1752-4768-b18c-0d57f2737709"],
    fix: "leave publicAccessCidrs empty (private endpoint) or list office/VPN CIDRs",
    check: (tf) => resources(tf, "aws_eks_cluster").flatMap(([a, r]) => {
      const v = arr<Obj>(r.vpc_config)[0] ?? {};
      if (v.endpoint_public_access === false) return [];
      const cidrs = arr<string>(v.public_access_cidrs);
      return cidrs.length === 0 || cidrs.includes("0.0.0.0/0") ? [{ address: a, problem: "the public endpoint is open to 0.0.0.0/0" }] : [];
    }),
  },
  {
    id: "MS-EKS-2", title: "EKS secrets envelope-encrypted with a KMS key", severity: "error",
    checkov: ["CKV_AWS_58"], trivy: ["AVD-AWS-0039"], kics: ["63ebcb19-2739-4d3f-aa5c-e8bbb9b85281"],
    fix: "keep the encryption_config GpuCluster emits",
    check: (tf) => resources(tf, "aws_eks_cluster").filter(([, r]) => !arr<Obj>(r.encryption_config).some((e) => arr<string>(e.resources).includes("secrets") && arr<Obj>(e.provider)[0]?.key_arn)).map(([a]) => ({ address: a, problem: "no KMS encryption of secrets" })),
  },
  {
    id: "MS-EKS-3", title: "All five EKS control-plane log types enabled", severity: "warning",
    checkov: ["CKV_AWS_37"], trivy: ["AVD-AWS-0038"], kics: ["66f130d9-b81d-4e8e-9b08-da74b9c891df"],
    fix: "enable api, audit, authenticator, controllerManager and scheduler logs",
    check: (tf) => resources(tf, "aws_eks_cluster").flatMap(([a, r]) => {
      const missing = ["api", "audit", "authenticator", "controllerManager", "scheduler"].filter((t) => !arr<string>(r.enabled_cluster_log_types).includes(t));
      return missing.length ? [{ address: a, problem: `log types missing: ${missing.join(", ")}` }] : [];
    }),
  },
  {
    id: "MS-EKS-4", title: "Kubernetes version in EKS standard support", severity: "warning",
    checkov: ["CKV_AWS_339"], trivy: [], kics: [],
    fix: `use one of ${SUPPORTED_EKS.join(", ")}; extended support costs 6× the control plane`,
    check: (tf) => resources(tf, "aws_eks_cluster").filter(([, r]) => r.version !== undefined && !SUPPORTED_EKS.includes(String(r.version))).map(([a, r]) => ({ address: a, problem: `version ${r.version} is outside standard support` })),
  },
  {
    id: "MS-NODE-1", title: "Node instance metadata: IMDSv2 required, hop limit 1", severity: "error",
    checkov: ["CKV_AWS_79", "CKV_AWS_341"], trivy: ["AVD-AWS-0130"], kics: ["c306ac53-ee5b-41d3-86a9-0fd2722b4e67"],
    fix: 'metadata_options { http_tokens = "required", http_put_response_hop_limit = 1 }',
    check: (tf) => resources(tf, "aws_launch_template").flatMap(([a, r]) => {
      const m = arr<Obj>(r.metadata_options)[0] ?? {};
      const out: Violation[] = [];
      if (m.http_tokens !== "required" && m.http_endpoint !== "disabled") out.push({ address: a, problem: `http_tokens is ${JSON.stringify(m.http_tokens ?? "optional")} (IMDSv1 lets SSRF steal node credentials)` });
      if (m.http_endpoint !== "disabled" && Number(m.http_put_response_hop_limit ?? 2) > 1) out.push({ address: a, problem: "hop limit above 1 lets pods reach the node's instance metadata" });
      return out;
    }),
  },
  {
    id: "MS-NODE-2", title: "Node volumes encrypted", severity: "error",
    checkov: ["CKV_AWS_46"], trivy: ["AVD-AWS-0131", "AVD-AWS-0008"], kics: [],
    fix: 'block_device_mappings { ebs { encrypted = "true" } }',
    check: (tf) => resources(tf, "aws_launch_template").flatMap(([a, r]) => arr<Obj>(r.block_device_mappings).filter((b) => String(arr<Obj>(b.ebs)[0]?.encrypted) !== "true").map(() => ({ address: a, problem: "an EBS volume is not encrypted" }))),
  },
  {
    id: "MS-NODE-3", title: "No SSH access to nodes", severity: "error",
    checkov: ["CKV_AWS_100"], trivy: [], kics: ["ba40ace1-a047-483c-8a8d-bc2d3a67a82d"],
    fix: "remove remote_access; use SSM Session Manager",
    check: (tf) => resources(tf, "aws_eks_node_group").filter(([, r]) => r.remote_access !== undefined).map(([a]) => ({ address: a, problem: "remote_access (SSH) is configured" })),
  },
  {
    id: "MS-S3-1", title: "Model bucket: all four public-access blocks, KMS encryption, versioning, TLS-only policy", severity: "error",
    checkov: ["CKV2_AWS_6", "CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56", "CKV_AWS_145", "CKV_AWS_21"], trivy: ["AVD-AWS-0094", "AVD-AWS-0086", "AVD-AWS-0087", "AVD-AWS-0091", "AVD-AWS-0093", "AVD-AWS-0132", "AVD-AWS-0090"], kics: ["568a4d22-3517-44a6-a7ad-6a7eed88722c", "6726dcc0-5ff5-459d-b473-a780bef7665c"],
    fix: "use ModelStore, which emits all of them",
    check: (tf) => resources(tf, "aws_s3_bucket").flatMap(([a]) => {
      const name = a.split(".")[1];
      const ref = (t: string) => resources(tf, t).find(([, x]) => String(x.bucket).includes(`aws_s3_bucket.${name}.`));
      const out: Violation[] = [];
      const pab = ref("aws_s3_bucket_public_access_block")?.[1];
      if (!pab || !["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"].every((k) => pab[k] === true)) out.push({ address: a, problem: "public access is not fully blocked" });
      const sse = ref("aws_s3_bucket_server_side_encryption_configuration")?.[1];
      if (!sse || arr<Obj>(arr<Obj>(sse.rule)[0]?.apply_server_side_encryption_by_default)[0]?.sse_algorithm !== "aws:kms") out.push({ address: a, problem: "no default KMS encryption" });
      const ver = ref("aws_s3_bucket_versioning")?.[1];
      if (!ver || arr<Obj>(ver.versioning_configuration)[0]?.status !== "Enabled") out.push({ address: a, problem: "versioning is not enabled" });
      if (!ref("aws_s3_bucket_policy")) out.push({ address: a, problem: "no TLS-only bucket policy" });
      return out;
    }),
  },
  {
    id: "MS-IAM-1", title: "IAM policies name actions and resources (no \"*\")", severity: "error",
    checkov: ["CKV_AWS_62", "CKV_AWS_63", "CKV_AWS_290", "CKV_AWS_355"], trivy: ["AVD-AWS-0057"], kics: ["575a2155-6af1-4026-b1af-d5bc8fe2a904"],
    fix: "scope every Allow statement to the model's bucket prefix or secret ARN",
    check: (tf) => Object.entries(tf.data?.aws_iam_policy_document ?? {}).flatMap(([name, d]) =>
      arr<Obj>(d.statement).filter((s) => (s.effect ?? "Allow") === "Allow" && (arr<string>(s.actions).some((x) => x === "*" || x.endsWith(":*")) || arr<string>(s.resources).includes("*"))).map(() => ({ address: `data.aws_iam_policy_document.${name}`, problem: 'an Allow statement uses "*"' })),
    ),
  },
  {
    id: "MS-POD-1", title: "Pods run as non-root, without privilege escalation, with ALL capabilities dropped and seccomp RuntimeDefault", severity: "error",
    checkov: ["CKV_K8S_20", "CKV_K8S_28", "CKV_K8S_37", "CKV_K8S_23", "CKV_K8S_31"], trivy: ["KSV001", "KSV003", "KSV012", "KSV030"], kics: ["c878abb4-cca5-4724-92b9-289be68bd47c", "21cef75f-289f-470e-8038-c7cee0664164", "455f2e0c-686d-4fcb-8b5f-3f953f12c43c"],
    fix: "runAsNonRoot with a numeric runAsUser, allowPrivilegeEscalation false, drop ALL, seccompProfile RuntimeDefault",
    check: (tf) => podSpecs(tf).flatMap(({ address, pod, containers }) => {
      const podSc = arr<Obj>(pod.security_context)[0] ?? {};
      return containers.flatMap((c) => {
        const sc = arr<Obj>(c.security_context)[0] ?? {};
        const problems: string[] = [];
        if (!(sc.run_as_non_root ?? podSc.run_as_non_root)) problems.push("may run as root");
        if (sc.allow_privilege_escalation !== false) problems.push("allows privilege escalation");
        if (!arr<string>(arr<Obj>(sc.capabilities)[0]?.drop).includes("ALL")) problems.push("does not drop ALL capabilities");
        if (arr<Obj>(sc.seccomp_profile ?? podSc.seccomp_profile)[0]?.type !== "RuntimeDefault") problems.push("has no RuntimeDefault seccomp profile");
        return problems.length ? [{ address, problem: `container ${c.name}: ${problems.join(", ")}` }] : [];
      });
    }),
  },
  {
    id: "MS-POD-2", title: "No privileged containers or host namespaces", severity: "error",
    checkov: ["CKV_K8S_16", "CKV_K8S_17", "CKV_K8S_18", "CKV_K8S_19"], trivy: ["KSV017", "KSV008", "KSV009", "KSV010"], kics: ["87065ef8-de9b-40d8-9753-f4a4303e27a4"],
    fix: "mount a Memory emptyDir at /dev/shm instead of hostIPC; the device plugin supplies GPUs without privilege",
    check: (tf) => podSpecs(tf).flatMap(({ address, pod, containers }) => [
      ...(pod.host_ipc || pod.host_pid || pod.host_network ? [{ address, problem: "uses a host namespace" }] : []),
      ...containers.filter((c) => arr<Obj>(c.security_context)[0]?.privileged).map((c) => ({ address, problem: `container ${c.name} is privileged` })),
    ]),
  },
  {
    id: "MS-POD-3", title: "Read-only root filesystem", severity: "warning",
    checkov: ["CKV_K8S_22"], trivy: ["KSV014"], kics: ["d532566b-8d9d-4f3b-80bd-361fe802f9c2"],
    fix: "readOnlyRootFilesystem true with writable emptyDirs for caches and /tmp",
    check: (tf) => podSpecs(tf).flatMap(({ address, containers }) => containers.filter((c) => arr<Obj>(c.security_context)[0]?.read_only_root_filesystem !== true).map((c) => ({ address, problem: `container ${c.name} has a writable root filesystem` }))),
  },
  {
    id: "MS-POD-4", title: "CPU and memory requests and limits", severity: "error",
    checkov: ["CKV_K8S_10", "CKV_K8S_11", "CKV_K8S_12", "CKV_K8S_13"], trivy: ["KSV011", "KSV015", "KSV016", "KSV018"], kics: ["fd097ed0-7fe6-4f58-8b71-fef9f0820a21"],
    fix: "set resources.requests and resources.limits for cpu and memory",
    check: (tf) => podSpecs(tf).flatMap(({ address, containers }) => containers.filter((c) => {
      const r = arr<Obj>(c.resources)[0] ?? {};
      return !(r.requests?.cpu && r.requests?.memory && r.limits?.cpu && r.limits?.memory);
    }).map((c) => ({ address, problem: `container ${c.name} lacks cpu/memory requests or limits` }))),
  },
  {
    id: "MS-POD-5", title: "Serving containers have startup, readiness and liveness probes", severity: "error",
    checkov: ["CKV_K8S_8", "CKV_K8S_9"], trivy: [], kics: ["5b6d53dd-3ba3-4269-b4d7-f82e880e43c3", "8657197e-3f87-4694-892b-8144701d83c1"],
    fix: "probe /health; budget the startup probe for model loading",
    check: (tf) => resources(tf, "kubernetes_deployment_v1").flatMap(([address, r]) => arr<Obj>(arr<Obj>(arr<Obj>(r.spec)[0]?.template)[0]?.spec)[0]?.container?.filter((c: Obj) => !(c.startup_probe && c.readiness_probe && c.liveness_probe)).map((c: Obj) => ({ address, problem: `container ${c.name} lacks a startup, readiness or liveness probe` })) ?? []),
  },
  {
    id: "MS-POD-6", title: "Images pinned to an exact version (no latest, no missing tag)", severity: "error",
    checkov: ["CKV_K8S_14"], trivy: ["KSV013"], kics: ["e76cca7c-c3f9-4fc9-884c-b2831168ebd8"],
    fix: "use a version tag such as v0.24.0, or a digest",
    check: (tf) => podSpecs(tf).flatMap(({ address, containers }) => containers.filter((c) => !/(:[A-Za-z0-9._-]+|@sha256:[0-9a-f]{64})$/.test(String(c.image)) || /:latest$/.test(String(c.image))).map((c) => ({ address, problem: `image ${c.image} is not pinned` }))),
  },
  {
    id: "MS-POD-7", title: "Service-account tokens not mounted into pods that never call the API", severity: "warning",
    checkov: ["CKV_K8S_38"], trivy: [], kics: ["a9a13d4f-f17a-491b-8a80-7f1c8b6e4b7f"],
    fix: "automountServiceAccountToken false",
    check: (tf) => podSpecs(tf).filter(({ pod, address }) => !address.startsWith("kubernetes_daemon_set_v1") && pod.automount_service_account_token !== false).map(({ address }) => ({ address, problem: "mounts a service-account token" })),
  },
  {
    id: "MS-POD-8", title: "No secret values as environment literals", severity: "error",
    checkov: [], trivy: [], kics: [],
    fix: "reference secrets (valueFrom.secretKeyRef or a file from Secrets Manager)",
    check: (tf) => podSpecs(tf).flatMap(({ address, containers }) => containers.flatMap((c) => arr<Obj>(c.env).filter((e) => typeof e.value === "string" && TOKEN_LIKE.test(e.value)).map((e) => ({ address, problem: `env ${e.name} holds a literal credential` })))),
  },
  {
    id: "MS-K8S-1", title: "Workloads outside the default and system namespaces", severity: "error",
    checkov: ["CKV_K8S_21"], trivy: ["KSV110"], kics: ["abcb818b-5af7-4d72-aba9-6dd84956b451"],
    fix: 'run in the library\'s namespace ("model-serving" by default)',
    check: (tf) => ["kubernetes_deployment_v1", "kubernetes_job_v1", "kubernetes_service_v1"].flatMap((t) => resources(tf, t)).filter(([, r]) => ["default", undefined].includes(arr<Obj>(r.metadata)[0]?.namespace)).map(([a]) => ({ address: a, problem: "runs in the default namespace" })),
  },
  {
    id: "MS-K8S-2", title: "Every Deployment has a PodDisruptionBudget", severity: "warning",
    checkov: [], trivy: [], kics: ["a05331ee-1653-45cb-91e6-13637a76e4f0"],
    fix: "keep the PDB InferenceEndpoint emits",
    check: (tf) => {
      const covered = new Set(resources(tf, "kubernetes_pod_disruption_budget_v1").map(([, r]) => JSON.stringify(arr<Obj>(arr<Obj>(r.spec)[0]?.selector)[0]?.match_labels)));
      return resources(tf, "kubernetes_deployment_v1").filter(([, r]) => !covered.has(JSON.stringify(arr<Obj>(arr<Obj>(r.spec)[0]?.selector)[0]?.match_labels))).map(([a]) => ({ address: a, problem: "no PodDisruptionBudget selects its pods" }));
    },
  },
  {
    id: "MS-K8S-3", title: "External load balancers only with source ranges", severity: "error",
    checkov: [], trivy: [], kics: ["2a52567c-abb8-4651-a038-52fa27c77aed"],
    fix: "set exposure.allowedCidrs",
    check: (tf) => resources(tf, "kubernetes_service_v1").filter(([, r]) => { const s = arr<Obj>(r.spec)[0] ?? {}; return (s.type === "LoadBalancer" && arr(s.load_balancer_source_ranges).length === 0) || s.type === "NodePort"; }).map(([a]) => ({ address: a, problem: "is exposed without source ranges" })),
  },
];

/** Run every rule, apply suppressions, and return the results and the findings that fail synth. */
export function evaluatePolicy(tf: TerraformJson, suppressions: readonly Suppression[], path: string): { results: RuleResult[]; findings: Finding[] } {
  const findings: Finding[] = [];
  for (const s of suppressions) {
    if (!POLICY_RULES.some((r) => r.id === s.ruleId)) findings.push(error("POLICY_RULE_UNKNOWN", path, { field: "suppressions", problem: `there is no rule ${s.ruleId}`, why: "a suppression must name a rule the library checks", fix: `use one of ${POLICY_RULES.map((r) => r.id).join(", ")}` }));
    if (!s.reason || s.reason.trim().length < 10) findings.push(error("POLICY_SUPPRESSION_WITHOUT_REASON", path, { field: "suppressions", problem: `suppression of ${s.ruleId} has no written reason`, why: "a reviewer must be able to see why a security rule does not apply", fix: "add a reason of at least a sentence" }));
  }
  const results = POLICY_RULES.map((rule): RuleResult => {
    const all = rule.check(tf);
    const suppressed = all.flatMap((v) => {
      const s = suppressions.find((x) => x.ruleId === rule.id && x.reason?.trim().length >= 10 && (!x.address || v.address.startsWith(x.address)));
      return s ? [{ ...v, reason: s.reason }] : [];
    });
    const violations = all.filter((v) => !suppressed.some((s) => s.address === v.address && s.problem === v.problem));
    for (const v of violations) {
      const f = error(`POLICY_${rule.id.replace(/-/g, "_")}`, path, { field: v.address, problem: `${v.address} ${v.problem}`, why: `${rule.title} [${[...rule.checkov, ...rule.trivy].join(", ") || "library rule"}]`, fix: rule.fix });
      findings.push(rule.severity === "error" ? f : { ...f, severity: "warning" });
    }
    return {
      id: rule.id, title: rule.title, severity: rule.severity, checkov: rule.checkov, trivy: rule.trivy, kics: rule.kics,
      result: violations.length ? "fail" : suppressed.length ? "suppressed" : "pass",
      violations, suppressed,
    };
  });
  return { results, findings };
}
