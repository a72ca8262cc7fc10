import { Testing, TerraformStack } from "cdktf";
import { ModelSource, SecretRef } from "../constructs/model-source";
import { ModelStore } from "../constructs/model-store";
import { evaluatePolicy, POLICY_RULES, type Suppression } from "../constructs/policy";
import { ModelServingStack } from "../stacks/model-serving-stack";
import { DaemonSetV1, Manifest } from "../constructs/bindings/k8s";
import { synthPhases } from "./fixtures/phases";
import { DataAwsIamPolicyDocument, S3Bucket } from "../constructs/bindings/aws";
import type { GpuClusterProps } from "../constructs/gpu-cluster";

process.env.MODEL_SERVING_QUIET = "1";

/** A stack that exercises every resource kind the library emits: new VPC and cluster, pools, store, exposed endpoint. */
function fullStack(cluster: Partial<GpuClusterProps> = {}, extra?: (s: ModelServingStack) => void) {
  const app = Testing.app();
  const stack = new ModelServingStack(app, "serving", { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "test", quotas: { "L-DB2E81BA": 1000 }, ...cluster } } });
  const store = new ModelStore(stack, "store", { cluster: stack.cluster });
  const llama = stack.importModel("llama", { source: ModelSource.huggingFace("meta-llama/Llama-3.1-8B-Instruct", { revision: "0e9e39f249a16976918f6564b8830bc894c89659", token: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:hf-token") }), store });
  stack.addEndpoint("llama-chat", { model: llama, maxModelLen: 8192, exposure: { allowedCidrs: ["203.0.113.0/24"] }, apiKey: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:api-key") });
  extra?.(stack);
  return stack;
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));
const first = (o: Record<string, any>) => Object.values(o)[0];
const synthErrors = (s: TerraformStack) => {
  try {
    Testing.synth(s, true);
    return "";
  } catch (e) {
    return (e as Error).message;
  }
};

describe("policy rules", () => {
  const stack = fullStack();
  const tf: any = synthPhases(stack);
  const library = stack.cluster.appliedSuppressions;

  test("every rule has a unique id, a fix, the resource types it judges, and its scanner references or none (a library rule)", () => {
    expect(new Set(POLICY_RULES.map((r) => r.id)).size).toBe(POLICY_RULES.length);
    for (const r of POLICY_RULES) {
      expect(r.fix.length).toBeGreaterThan(10);
      expect(r.judges.length).toBeGreaterThan(0);
    }
  });

  test("the library's defaults pass every rule, and its suppressions are exactly its written choices", () => {
    const { results, findings } = evaluatePolicy(tf, library, "serving/cluster");
    expect(findings).toEqual([]);
    expect(results.filter((r) => r.result === "fail")).toEqual([]);
    expect(results.filter((r) => r.result === "suppressed").map((r) => r.id).sort()).toEqual(["MS-EKS-5", "MS-IAM-1", "MS-IMG-1", "MS-IMG-2", "MS-LOG-2", "MS-S3-3", "MS-S3-4", "MS-S3-5"]);
    for (const s of library) expect(s.reason.length).toBeGreaterThan(60);
  });

  test("the real defects are fixed, not suppressed: default SG, flow logs, key policy, log encryption, bucket lifecycle, digests", () => {
    const { results } = evaluatePolicy(tf, library, "serving/cluster");
    for (const id of ["MS-NET-1", "MS-NET-2", "MS-KMS-1", "MS-LOG-1", "MS-S3-2"]) expect([id, results.find((r) => r.id === id)!.result]).toEqual([id, "pass"]);
    // Digest pinning is suppressed for the vLLM image only: the AWS CLI image is pinned.
    const digest = results.find((r) => r.id === "MS-IMG-1")!;
    expect(new Set(digest.suppressed.map((v) => v.check))).toEqual(new Set(["vllm/vllm-openai:v0.24.0"]));
    const images: string[] = JSON.stringify(tf).match(/"image":"[^"]+"/g)!.map((m) => m.slice(9, -1));
    for (const i of images.filter((x) => !x.startsWith("vllm/"))) expect(i).toMatch(/^[a-z0-9./-]+:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}$/);
  });

  // Each mutation is what a user (or an escape hatch) could do to the synthesized stack.
  const violations: Array<[string, (t: any) => void]> = [
    ["MS-EKS-1", (t) => { const c = first(t.resource.aws_eks_cluster); c.vpc_config.endpoint_public_access = true; c.vpc_config.public_access_cidrs = ["0.0.0.0/0"]; }],
    ["MS-EKS-2", (t) => { delete first(t.resource.aws_eks_cluster).encryption_config; }],
    ["MS-EKS-5", (t) => { t.resource.aws_eks_cluster.other = { ...clone(first(t.resource.aws_eks_cluster)) }; }],
    ["MS-EKS-3", (t) => { first(t.resource.aws_eks_cluster).enabled_cluster_log_types = ["api"]; }],
    ["MS-EKS-4", (t) => { first(t.resource.aws_eks_cluster).version = "1.27"; }],
    ["MS-NODE-1", (t) => { first(t.resource.aws_launch_template).metadata_options.http_tokens = "optional"; }],
    ["MS-NODE-2", (t) => { first(t.resource.aws_launch_template).block_device_mappings[0].ebs.encrypted = "false"; }],
    ["MS-NODE-3", (t) => { first(t.resource.aws_eks_node_group).remote_access = { ec2_ssh_key: "ops" }; }],
    ["MS-NET-1", (t) => { delete t.resource.aws_flow_log; }],
    ["MS-NET-2", (t) => { first(t.resource.aws_default_security_group).ingress = [{ from_port: 0, to_port: 0, protocol: "-1", self: true }]; }],
    ["MS-NET-3", (t) => { first(t.resource.aws_subnet).map_public_ip_on_launch = true; }],
    ["MS-KMS-1", (t) => { delete first(t.resource.aws_kms_key).policy; }],
    ["MS-LOG-1", (t) => { delete first(t.resource.aws_cloudwatch_log_group).kms_key_id; }],
    ["MS-LOG-2", (t) => { first(t.resource.aws_cloudwatch_log_group).retention_in_days = 30; t.resource.aws_cloudwatch_log_group = { only: first(t.resource.aws_cloudwatch_log_group) }; }],
    ["MS-S3-1", (t) => { first(t.resource.aws_s3_bucket_public_access_block).block_public_policy = false; }],
    ["MS-S3-2", (t) => { delete t.resource.aws_s3_bucket_lifecycle_configuration; }],
    ["MS-S3-3", (t) => { t.resource.aws_s3_bucket.other = { bucket: "other" }; }],
    ["MS-S3-4", (t) => { t.resource.aws_s3_bucket.other = { bucket: "other" }; }],
    ["MS-S3-5", (t) => { t.resource.aws_s3_bucket.other = { bucket: "other" }; }],
    ["MS-IAM-1", (t) => { first(t.data.aws_iam_policy_document).statement[0].actions = ["s3:*"]; }],
    ["MS-POD-1", (t) => { first(t.resource.kubernetes_deployment_v1).spec.template.spec.container[0].security_context.allow_privilege_escalation = true; }],
    ["MS-POD-2", (t) => { first(t.resource.kubernetes_deployment_v1).spec.template.spec.host_ipc = true; }],
    ["MS-POD-3", (t) => { first(t.resource.kubernetes_deployment_v1).spec.template.spec.container[0].security_context.read_only_root_filesystem = false; }],
    ["MS-POD-4", (t) => { delete first(t.resource.kubernetes_deployment_v1).spec.template.spec.container[0].resources.limits.memory; }],
    ["MS-POD-5", (t) => { delete first(t.resource.kubernetes_deployment_v1).spec.template.spec.container[0].liveness_probe; }],
    ["MS-POD-6", (t) => { first(t.resource.kubernetes_deployment_v1).spec.template.spec.container[0].image = "vllm/vllm-openai:latest"; }],
    ["MS-IMG-1", (t) => { first(t.resource.kubernetes_deployment_v1).spec.template.spec.init_container[0].image = "public.ecr.aws/aws-cli/aws-cli:2.22.35"; }],
    ["MS-IMG-2", (t) => { t.resource.kubernetes_job_v1 = { extra: { metadata: { namespace: "x" }, spec: { template: { spec: { container: [{ name: "c", image: "busybox:1.36" }] } } } } }; }],
    ["MS-POD-7", (t) => { first(t.resource.kubernetes_deployment_v1).spec.template.spec.automount_service_account_token = true; }],
    ["MS-POD-8", (t) => { first(t.resource.kubernetes_deployment_v1).spec.template.spec.container[0].env.push({ name: "HF_TOKEN", value: "hf_" + "a".repeat(30) }); }],
    ["MS-K8S-1", (t) => { first(t.resource.kubernetes_deployment_v1).metadata.namespace = "default"; }],
    ["MS-K8S-2", (t) => { t.resource.kubernetes_pod_disruption_budget_v1 = {}; }],
    ["MS-K8S-3", (t) => { delete first(t.resource.kubernetes_service_v1).spec.load_balancer_source_ranges; }],
  ];

  test("the catalogue of violations covers every rule", () => {
    expect(violations.map(([id]) => id).sort()).toEqual(POLICY_RULES.map((r) => r.id).sort());
  });

  test.each(violations)("%s fails on its violation with a coded finding naming the resource and the fix", (id, mutate) => {
    const bad = clone(tf);
    mutate(bad);
    // The library's own suppressions name its own resources and findings: a new violation is not covered.
    const { results, findings } = evaluatePolicy(bad, library, "serving/cluster");
    expect(results.find((r) => r.id === id)!.result).toBe("fail");
    const f = findings.find((x) => x.code === `POLICY_${id.replace(/-/g, "_")}`)!;
    expect(f.message).toMatch(new RegExp(`^\\[POLICY_${id.replace(/-/g, "_")}\\] serving/cluster: \\S+ .+\\. .+\\. Fix: .+\\.$`));
    expect(f.severity).toBe(POLICY_RULES.find((r) => r.id === id)!.severity);
  });

  test("a suppression with a written reason turns a failure into 'suppressed' and is listed in the serving plan", () => {
    const bad = clone(tf);
    first(bad.resource.kubernetes_deployment_v1).spec.template.spec.container[0].security_context.read_only_root_filesystem = false;
    const reason = "The tokenizer of this model writes to its install directory at start-up.";
    const { results, findings } = evaluatePolicy(bad, [...library, { ruleId: "MS-POD-3", reason }], "serving/cluster");
    expect(findings).toEqual([]);
    expect(results.find((r) => r.id === "MS-POD-3")!.suppressed[0].reason).toBe(reason);
  });

  test("a suppression without a reason, or of an unknown rule, fails synth", () => {
    expect(synthErrors(fullStack({ policySuppressions: [{ ruleId: "MS-POD-3", reason: "" }] }))).toMatch(/\[POLICY_SUPPRESSION_WITHOUT_REASON\] serving-cluster\/cluster: suppression of MS-POD-3 has no written reason/);
    expect(synthErrors(fullStack({ policySuppressions: [{ ruleId: "CKV_K8S_15", reason: "Digest-pinned images need no re-pull." }] }))).toMatch(/\[POLICY_RULE_UNKNOWN\]/);
  });
});

describe("suppressions apply to exactly what they name", () => {
  const stack = fullStack();
  const tf: any = synthPhases(stack);
  const library = stack.cluster.appliedSuppressions;
  const deploymentName = Object.keys(tf.resource.kubernetes_deployment_v1)[0];

  test("the vLLM digest suppression names the library's pods and that image's finding only", () => {
    const s = library.find((x) => x.ruleId === "MS-IMG-1")!;
    expect(s.check).toBe("vllm/vllm-openai:v0.24.0");
    expect(s.address).toContain(`kubernetes_deployment_v1.${deploymentName}`);
  });

  test("another image on the same pod is not covered by it", () => {
    const bad = clone(tf);
    bad.resource.kubernetes_deployment_v1[deploymentName].spec.template.spec.init_container[0].image = "public.ecr.aws/aws-cli/aws-cli:2.22.35";
    const r = evaluatePolicy(bad, library, "serving-cluster/cluster").results.find((x) => x.id === "MS-IMG-1")!;
    expect(r.result).toBe("fail");
    expect(r.violations.map((v) => v.check)).toEqual(["public.ecr.aws/aws-cli/aws-cli:2.22.35"]);
  });

  test("a user's own root DaemonSet in the stack is judged (scope stack) and not covered by the library's suppression", () => {
    const s = fullStack({ policy: { scope: "stack" } }, (st) => {
      new DaemonSetV1(st, "log-shipper", { metadata: { name: "log-shipper", namespace: "ops" }, spec: { selector: { matchLabels: { a: "b" } }, template: { metadata: { labels: { a: "b" } }, spec: { container: [{ name: "shipper", image: "fluent/fluent-bit:3.0@sha256:" + "a".repeat(64), imagePullPolicy: "Always", securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } }, resources: { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "1", memory: "1Gi" } } }] } } } });
    });
    expect(synthErrors(s)).toMatch(/\[POLICY_MS_POD_1\] serving-cluster\/cluster: kubernetes_daemon_set_v1\.log-shipper \S* ?container shipper may run as root/);
  });

  test("a suppression may name a resource by its construct path", () => {
    const bad = clone(tf);
    const name = Object.keys(bad.resource.kubernetes_deployment_v1)[0];
    bad.resource.kubernetes_deployment_v1[name].spec.template.spec.container[0].security_context.read_only_root_filesystem = false;
    const path = "serving/llama-chat/deployment";
    const paths = new Map([[`kubernetes_deployment_v1.${name}`, path]]);
    const r = evaluatePolicy(bad, [...library, { ruleId: "MS-POD-3", address: path, reason: "This model's tokenizer writes next to itself at start-up." }], "serving-cluster/cluster", { constructPaths: paths });
    expect(r.results.find((x) => x.id === "MS-POD-3")!.result).toBe("suppressed");
  });

  test("a user suppression that matches nothing is reported as unused (a warning)", () => {
    const s: Suppression = { ruleId: "MS-POD-3", address: "kubernetes_deployment_v1.nothing", reason: "Kept from an older layout of this stack." };
    const f = evaluatePolicy(tf, [...library, s], "serving/cluster").findings;
    expect(f.map((x) => [x.code, x.severity])).toEqual([["POLICY_SUPPRESSION_UNUSED", "warning"]]);
  });
});

describe("what the rules judge", () => {
  test("by default only the library's resources: a user's plain log bucket and an ecr:GetAuthorizationToken on * pass synth", () => {
    const s = fullStack({}, (st) => {
      new S3Bucket(st, "user-logs", { bucket: "acme-user-logs" });
      new DataAwsIamPolicyDocument(st, "ecr-pull", { statement: [{ effect: "Allow", actions: ["ecr:GetAuthorizationToken"], resources: ["*"] }] });
    });
    expect(synthErrors(s)).toBe("");
  });

  test('with policy: { scope: "stack" } the same stack is judged whole', () => {
    const s = fullStack({ policy: { scope: "stack" } }, (st) => {
      new S3Bucket(st, "user-logs", { bucket: "acme-user-logs" });
      new DataAwsIamPolicyDocument(st, "ecr-pull", { statement: [{ effect: "Allow", actions: ["ecr:GetAuthorizationToken"], resources: ["*"] }] });
    });
    const msg = synthErrors(s);
    expect(msg).toMatch(/\[POLICY_MS_S3_1\] serving-cluster\/cluster: aws_s3_bucket\.user-logs public access is not fully blocked/);
    expect(msg).toMatch(/\[POLICY_MS_IAM_1\] serving-cluster\/cluster: data\.aws_iam_policy_document\.ecr-pull/);
  });

  test("kubernetes_manifest objects are read: a LeaderWorkerSet's pods, and a raw Deployment the user adds (scope stack)", () => {
    const app = Testing.app();
    const s = new ModelServingStack(app, "s", { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: { "L-417A185B": 10000 }, addons: { leaderWorkerSet: true, efa: true }, policy: { scope: "stack" } } } });
    s.addEndpoint("big", { model: s.importModel("l405", { source: ModelSource.huggingFace("meta-llama/Llama-3.1-405B-Instruct", { revision: "be673f326cab4cd22ccfef76109faf68e41aa5f1", token: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:hf-token") }) }), shape: "H100_X8", maxModelLen: 8192 });
    new Manifest(s, "gateway-controller", { manifest: { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "gw", namespace: "gateway" }, spec: { selector: { matchLabels: { a: "b" } }, template: { metadata: { labels: { a: "b" } }, spec: { containers: [{ name: "envoy", image: "envoyproxy/envoy:latest", securityContext: { privileged: true } }] } } } } });
    const tf: any = JSON.parse(Testing.synth(s, false));
    const lws = Object.entries(tf.resource.kubernetes_manifest as Record<string, any>).find(([, r]) => r.manifest.kind === "LeaderWorkerSet")!;
    lws[1].manifest.spec.leaderWorkerTemplate.workerTemplate.spec.containers[0].securityContext.privileged = true;
    const r = evaluatePolicy(tf, [], "s/cluster");
    const failures = (id: string) => r.results.find((x) => x.id === id)!.violations.map((v) => `${v.address.split(".")[1]}: ${v.problem}`);
    expect(failures("MS-POD-2")).toEqual(expect.arrayContaining([`${lws[0]}: container ray-worker is privileged`, "gateway-controller: container envoy is privileged"]));
    expect(failures("MS-POD-6")).toContain("gateway-controller: image envoyproxy/envoy:latest is not pinned");
    expect(failures("MS-POD-4")).toContain("gateway-controller: container envoy lacks cpu/memory requests or limits");
  });
});
