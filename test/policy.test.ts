import { Testing } from "cdktf";
import { ModelSource, SecretRef } from "../constructs/model-source";
import { ModelStore } from "../constructs/model-store";
import { evaluatePolicy, POLICY_RULES } from "../constructs/policy";
import { ModelServingStack } from "../stacks/model-serving-stack";
import { synthPhases } from "./fixtures/phases";

process.env.MODEL_SERVING_QUIET = "1";

/** A stack that exercises every resource kind the library emits: cluster, pools, store, exposed endpoint. */
function fullStack(suppressions: { ruleId: string; reason: string; address?: string }[] = []) {
  const app = Testing.app();
  const stack = new ModelServingStack(app, "serving", { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "test", quotas: { "L-DB2E81BA": 1000 }, policySuppressions: suppressions } } });
  const store = new ModelStore(stack, "store", { cluster: stack.cluster });
  const llama = stack.importModel("llama", { source: ModelSource.huggingFace("meta-llama/Llama-3.1-8B-Instruct", { revision: "0e9e39f249a16976918f6564b8830bc894c89659", token: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:hf-token") }), store });
  stack.addEndpoint("llama-chat", { model: llama, maxModelLen: 8192, exposure: { allowedCidrs: ["203.0.113.0/24"] }, apiKey: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:api-key") });
  return stack;
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));
const first = (o: Record<string, any>) => Object.values(o)[0];

describe("policy rules", () => {
  const stack = fullStack();
  const tf: any = synthPhases(stack);
  const libraryDefaults = stack.cluster.writtenPlan().policy.suppressions;

  test("every rule has an id, a fix and at least one scanner id or is marked a library rule, and ids are unique", () => {
    expect(new Set(POLICY_RULES.map((r) => r.id)).size).toBe(POLICY_RULES.length);
    for (const r of POLICY_RULES) expect(r.fix.length).toBeGreaterThan(10);
  });

  test("the library's defaults pass every rule, and every suppression it adds names one resource and carries a reason", () => {
    const { results, findings } = evaluatePolicy(tf, libraryDefaults, "serving/cluster");
    expect(findings).toEqual([]);
    expect(results.filter((r) => r.result === "fail")).toEqual([]);
    for (const s of libraryDefaults) {
      expect(s.address).toMatch(/^(data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+$/);
      expect(s.reason.length).toBeGreaterThan(40);
    }
  });

  // Each mutation is what a user (or an escape hatch) could do to the synthesized stack.
  const violations: Array<[string, (t: any) => void]> = [
    ["MS-EKS-1", (t) => { const c = first(t.resource.aws_eks_cluster); c.vpc_config.endpoint_public_access = true; c.vpc_config.public_access_cidrs = ["0.0.0.0/0"]; }],
    ["MS-EKS-2", (t) => { delete first(t.resource.aws_eks_cluster).encryption_config; }],
    ["MS-EKS-3", (t) => { first(t.resource.aws_eks_cluster).enabled_cluster_log_types = ["api"]; }],
    ["MS-EKS-4", (t) => { first(t.resource.aws_eks_cluster).version = "1.27"; }],
    ["MS-NODE-1", (t) => { first(t.resource.aws_launch_template).metadata_options.http_tokens = "optional"; }],
    ["MS-NODE-2", (t) => { first(t.resource.aws_launch_template).block_device_mappings[0].ebs.encrypted = "false"; }],
    ["MS-NODE-3", (t) => { first(t.resource.aws_eks_node_group).remote_access = { ec2_ssh_key: "ops" }; }],
    ["MS-S3-1", (t) => { first(t.resource.aws_s3_bucket_public_access_block).block_public_policy = false; }],
    ["MS-IAM-1", (t) => { first(t.data.aws_iam_policy_document).statement[0].actions = ["s3:*"]; }],
    ["MS-POD-1", (t) => { first(t.resource.kubernetes_deployment_v1).spec.template.spec.container[0].security_context.allow_privilege_escalation = true; }],
    ["MS-POD-2", (t) => { first(t.resource.kubernetes_deployment_v1).spec.template.spec.host_ipc = true; }],
    ["MS-POD-3", (t) => { first(t.resource.kubernetes_deployment_v1).spec.template.spec.container[0].security_context.read_only_root_filesystem = false; }],
    ["MS-POD-4", (t) => { delete first(t.resource.kubernetes_deployment_v1).spec.template.spec.container[0].resources.limits.memory; }],
    ["MS-POD-5", (t) => { delete first(t.resource.kubernetes_deployment_v1).spec.template.spec.container[0].liveness_probe; }],
    ["MS-POD-6", (t) => { first(t.resource.kubernetes_deployment_v1).spec.template.spec.container[0].image = "vllm/vllm-openai:latest"; }],
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
    const { results, findings } = evaluatePolicy(bad, libraryDefaults, "serving/cluster");
    expect(results.find((r) => r.id === id)!.result).toBe("fail");
    const f = findings.find((x) => x.code === `POLICY_${id.replace(/-/g, "_")}`)!;
    expect(f.message).toMatch(new RegExp(`^\\[POLICY_${id.replace(/-/g, "_")}\\] serving/cluster: \\S+ .+\\. .+\\. Fix: .+\\.$`));
    expect(f.severity).toBe(POLICY_RULES.find((r) => r.id === id)!.severity);
  });

  test("a suppression with a written reason turns a failure into 'suppressed' and is listed in the serving plan", () => {
    const bad = clone(tf);
    first(bad.resource.kubernetes_deployment_v1).spec.template.spec.container[0].security_context.read_only_root_filesystem = false;
    const reason = "The tokenizer of this model writes to its install directory at start-up.";
    const { results, findings } = evaluatePolicy(bad, [...libraryDefaults, { ruleId: "MS-POD-3", reason }], "serving/cluster");
    expect(findings).toEqual([]);
    expect(results.find((r) => r.id === "MS-POD-3")!.suppressed[0].reason).toBe(reason);
  });

  test("a suppression without a reason, or of an unknown rule, fails synth", () => {
    expect(() => Testing.synth(fullStack([{ ruleId: "MS-POD-3", reason: "" }]), true)).toThrow(/\[POLICY_SUPPRESSION_WITHOUT_REASON\] serving-cluster\/cluster: suppression of MS-POD-3 has no written reason/);
    expect(() => Testing.synth(fullStack([{ ruleId: "CKV_K8S_15", reason: "Digest-pinned images need no re-pull." }]), true)).toThrow(/\[POLICY_RULE_UNKNOWN\]/);
  });
});
