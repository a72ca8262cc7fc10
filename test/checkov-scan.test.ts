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
import { synthPhases } from "./fixtures/phases";

process.env.MODEL_SERVING_QUIET = "1";

const stack = new ModelServingStack(Testing.app(), "serving", { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "test", quotas: { "L-DB2E81BA": 1000 } } } });
const store = new ModelStore(stack, "store", { cluster: stack.cluster });
stack.addEndpoint("llama-chat", { model: stack.importModel("llama", { source: ModelSource.huggingFace("meta-llama/Llama-3.1-8B-Instruct", { revision: "0e9e39f249a16976918f6564b8830bc894c89659", token: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:hf-token") }), store }), maxModelLen: 8192 });
const tf: any = synthPhases(stack);
const clone = () => JSON.parse(JSON.stringify(tf));
const failed = (t: any) => new Set(checkovScan(t).filter((r) => r.result === "FAILED").map((r) => r.id));

test("every re-implemented check is a real Checkov Terraform check", () => {
  for (const id of CHECKOV_CHECK_IDS) expect([id, id in vendored.checkovTerraform.rules]).toEqual([id, true]);
  expect(CHECKOV_CHECK_IDS.length).toBeGreaterThanOrEqual(85);
});

test("the library's Terraform fails only the kept choices: the public API endpoint for the deployer, the published Load Balancer Controller policy, the vLLM image digest", () => {
  const choices = ["CKV2_AWS_62", "CKV_AWS_144", "CKV_AWS_18", "CKV_AWS_338", "CKV_K8S_15", "CKV_K8S_43", "CKV_AWS_39"];
  const publishedIamPolicy = ["CKV_AWS_286", "CKV_AWS_287", "CKV_AWS_288", "CKV_AWS_289", "CKV_AWS_290", "CKV_AWS_355"];
  expect([...failed(tf)].sort()).toEqual([...choices, ...publishedIamPolicy].sort());
});

test("a cluster whose API endpoint is private (deploys from inside an existing VPC) passes CKV_AWS_39", () => {
  const s = new ModelServingStack(Testing.app(), "private", { cluster: { create: { privateApiOnly: true, subnetIds: ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"], quotas: { "L-DB2E81BA": 1000 } } } });
  expect(failed(synthPhases(s)).has("CKV_AWS_39")).toBe(false);
});

test.each<[string, (t: any) => void]>([
  ["CKV2_AWS_12", (t) => { delete t.resource.aws_default_security_group; }],
  ["CKV2_AWS_11", (t) => { delete t.resource.aws_flow_log; }],
  ["CKV2_AWS_64", (t) => { for (const k of Object.values(t.resource.aws_kms_key) as any[]) delete k.policy; }],
  ["CKV_AWS_158", (t) => { for (const g of Object.values(t.resource.aws_cloudwatch_log_group) as any[]) delete g.kms_key_id; }],
  ["CKV2_AWS_61", (t) => { delete t.resource.aws_s3_bucket_lifecycle_configuration; }],
  ["CKV_AWS_300", (t) => { for (const l of Object.values(t.resource.aws_s3_bucket_lifecycle_configuration) as any[]) delete l.rule[0].abort_incomplete_multipart_upload; }],
  ["CKV_AWS_79", (t) => { (Object.values(t.resource.aws_launch_template)[0] as any).metadata_options.http_tokens = "optional"; }],
  ["CKV_K8S_20", (t) => { (Object.values(t.resource.kubernetes_deployment_v1)[0] as any).spec.template.spec.container[0].security_context.allow_privilege_escalation = true; }],
  ["CKV2_AWS_12", (t) => { (Object.values(t.resource.aws_default_security_group)[0] as any).ingress = [{ from_port: 0, to_port: 0, protocol: "-1", self: true }]; }],
])("%s fails when its fix is taken back", (id, takeBack) => {
  expect(failed(tf).has(id)).toBe(false);
  const t = clone();
  takeBack(t);
  expect(failed(t).has(id)).toBe(true);
});
