/**
 * The Checkov-style scanner (test/fixtures/checkov-scan.ts) finds what Checkov's checks find: run on
 * the library's Terraform it passes the checks the issue found failing for real defects, and on the
 * same Terraform with each fix taken back it fails them again — so the examples' scan (examples.test.ts)
 * is a real check, not one that cannot fail.
 */
import { Testing } from "cdktf";
import { ModelSource, SecretRef } from "../constructs/model-source";
import { ModelStore } from "../constructs/model-store";
import { ModelServingStack } from "../stacks/model-serving-stack";
import { CHECKOV_CHECK_IDS, checkovScan } from "./fixtures/checkov-scan";
import vendored from "./fixtures/scanner-rules.json";

process.env.MODEL_SERVING_QUIET = "1";

const stack = new ModelServingStack(Testing.app(), "serving", { cluster: { create: { clusterName: "test", quotas: { "L-DB2E81BA": 1000 } } } });
const store = new ModelStore(stack, "store", { cluster: stack.cluster });
stack.addEndpoint("llama-chat", { model: stack.importModel("llama", { source: ModelSource.huggingFace("meta-llama/Llama-3.1-8B-Instruct", { revision: "0e9e39f249a16976918f6564b8830bc894c89659", token: SecretRef.fromKubernetesSecret("hf-token", "token") }), store }), maxModelLen: 8192 });
const tf: any = JSON.parse(Testing.synth(stack, true));
const clone = () => JSON.parse(JSON.stringify(tf));
const failed = (t: any) => new Set(checkovScan(t).filter((r) => r.result === "FAILED").map((r) => r.id));

test("every re-implemented check is a real Checkov Terraform check", () => {
  for (const id of CHECKOV_CHECK_IDS) expect([id, id in vendored.checkovTerraform.rules]).toEqual([id, true]);
  expect(CHECKOV_CHECK_IDS.length).toBeGreaterThanOrEqual(85);
});

test("the library's Terraform fails only the kept choices and the vLLM image digest", () => {
  expect([...failed(tf)].sort()).toEqual(["CKV2_AWS_62", "CKV_AWS_144", "CKV_AWS_18", "CKV_AWS_338", "CKV_K8S_15", "CKV_K8S_43"].sort());
});

test.each<[string, (t: any) => void]>([
  ["CKV2_AWS_12", (t) => { delete t.resource.aws_default_security_group; }],
  ["CKV2_AWS_11", (t) => { delete t.resource.aws_flow_log; }],
  ["CKV2_AWS_64", (t) => { for (const k of Object.values(t.resource.aws_kms_key) as any[]) delete k.policy; }],
  ["CKV_AWS_158", (t) => { for (const g of Object.values(t.resource.aws_cloudwatch_log_group) as any[]) delete g.kms_key_id; }],
  ["CKV2_AWS_61", (t) => { delete t.resource.aws_s3_bucket_lifecycle_configuration; }],
  ["CKV_AWS_300", (t) => { for (const l of Object.values(t.resource.aws_s3_bucket_lifecycle_configuration) as any[]) delete l.rule[0].abort_incomplete_multipart_upload; }],
  ["CKV_AWS_39", (t) => { (Object.values(t.resource.aws_eks_cluster)[0] as any).vpc_config.endpoint_public_access = true; }],
  ["CKV_AWS_79", (t) => { (Object.values(t.resource.aws_launch_template)[0] as any).metadata_options.http_tokens = "optional"; }],
  ["CKV_K8S_20", (t) => { (Object.values(t.resource.kubernetes_deployment_v1)[0] as any).spec.template.spec.container[0].security_context.allow_privilege_escalation = true; }],
  ["CKV2_AWS_12", (t) => { (Object.values(t.resource.aws_default_security_group)[0] as any).ingress = [{ from_port: 0, to_port: 0, protocol: "-1", self: true }]; }],
])("%s fails when its fix is taken back", (id, takeBack) => {
  expect(failed(tf).has(id)).toBe(false);
  const t = clone();
  takeBack(t);
  expect(failed(t).has(id)).toBe(true);
});
