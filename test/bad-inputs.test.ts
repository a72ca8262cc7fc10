/**
 * The bad-input catalogue (shared/reference/reliability-cost-anchors.md §5, plus what we found): each
 * row is an input users really give, and the test asserts the coded error, the construct path, the
 * field or value it names, that it says how to fix it — and that synth wrote nothing.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "cdktf";
import { ModelSource, SecretRef } from "../constructs/model-source";
import { ModelStore } from "../constructs/model-store";
import { FineTunedModel } from "../constructs/fine-tuned-model";
import { profileFromConfig } from "../planner/model-profile";
import { validateImport } from "../planner/import-validation";
import { findCatalogModel } from "../catalog/models";
import { ModelServingStack, type ModelServingStackProps } from "../stacks/model-serving-stack";
import { synthAttempt, type SynthAttempt } from "./fixtures/errors";
import type { InferenceEndpointProps } from "../constructs/inference-endpoint";

process.env.MODEL_SERVING_QUIET = "1";

const LLAMA8 = () => ModelSource.huggingFace("meta-llama/Llama-3.1-8B-Instruct", { revision: "0e9e39f249a16976918f6564b8830bc894c89659", token: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:hf-token") });
const LLAMA70 = () => ModelSource.huggingFace("meta-llama/Llama-3.1-70B-Instruct", { revision: "1605565b47bb9346c5515c34102e054115b4f98b", token: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:hf-token") });
const QWEN = () => ModelSource.huggingFace("Qwen/Qwen2.5-7B-Instruct", { revision: "a09a35458c702b33eeacc393d103063234e8bc28" });
const GPT_OSS = () => ModelSource.huggingFace("openai/gpt-oss-20b", { revision: "main" }); // the catalog carries its config; no pinned sha was found
const BGE = () => ModelSource.huggingFace("BAAI/bge-large-en-v1.5", { revision: "d4aa6901d3a41ba39fb536a557fa166f842b0e09" });
const QUOTAS = { "L-DB2E81BA": 10000, "L-417A185B": 10000 };

/** Build a stack with `build`, synthesize it into a fresh directory, and report what happened. */
function attempt(build: (stack: ModelServingStack) => void, stackProps: ModelServingStackProps = { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: QUOTAS } } }): SynthAttempt {
  return synthAttempt((app) => build(new ModelServingStack(app, "s", stackProps)));
}

const endpoint = (props: Partial<InferenceEndpointProps> & { source?: () => ModelSource; config?: Record<string, unknown> } = {}) => (stack: ModelServingStack) => {
  const { source, config, ...rest } = props;
  const model = stack.importModel("m", { source: (source ?? LLAMA8)(), ...(config ? { config } : {}) });
  stack.addEndpoint("chat", { model, maxModelLen: 8192, ...rest });
};

type Row = [row: string, input: string, run: () => SynthAttempt, code: string, path: string, mentions: string];

const rows: Row[] = [
  ["1", 'repo id "meta-llama/Llama 3 8B"', () => attempt(endpoint({ source: () => ModelSource.huggingFace("meta-llama/Llama 3 8B", { revision: "main" }) })), "MODEL_ID_INVALID", "s/m", '" "'],
  ["2", 'repo id "org/model/extra"', () => attempt(endpoint({ source: () => ModelSource.huggingFace("org/model/extra", { revision: "main" }) })), "MODEL_ID_INVALID", "s/m", '2 "/"'],
  ["3a", 'repo id "org/-model"', () => attempt(endpoint({ source: () => ModelSource.huggingFace("org/-model", { revision: "main" }) })), "MODEL_ID_INVALID", "s/m", '"-"'],
  ["3b", 'repo id "org/a..b"', () => attempt(endpoint({ source: () => ModelSource.huggingFace("org/a..b", { revision: "main" }) })), "MODEL_ID_INVALID", "s/m", '".."'],
  ["3c", 'repo id "org/a--b"', () => attempt(endpoint({ source: () => ModelSource.huggingFace("org/a--b", { revision: "main" }) })), "MODEL_ID_INVALID", "s/m", '"--"'],
  ["3d", "repo id of 97 characters", () => attempt(endpoint({ source: () => ModelSource.huggingFace("o/" + "m".repeat(95), { revision: "main" }) })), "MODEL_ID_INVALID", "s/m", "97 characters"],
  ["5", 'revision "a1b2c3d" (short sha)', () => attempt(endpoint({ source: () => ModelSource.huggingFace("meta-llama/Llama-3.1-8B-Instruct", { revision: "a1b2c3d" }) })), "MODEL_REVISION_INVALID", "s/m", "short sha"],
  ["6a", 'revision "refs/pr/1 " (trailing space)', () => attempt(endpoint({ source: () => ModelSource.huggingFace("meta-llama/Llama-3.1-8B-Instruct", { revision: "refs/pr/1 " }) })), "MODEL_REVISION_INVALID", "s/m", "whitespace"],
  ["6b", "revision with a control character", () => attempt(endpoint({ source: () => ModelSource.huggingFace("meta-llama/Llama-3.1-8B-Instruct", { revision: "main\u0007" }) })), "MODEL_REVISION_INVALID", "s/m", "control characters"],
  ["7", "gated model without a token", () => attempt(endpoint({ source: () => ModelSource.huggingFace("meta-llama/Llama-3.1-8B-Instruct", { revision: "0e9e39f249a16976918f6564b8830bc894c89659" }) })), "HF_TOKEN_REQUIRED", "s/m", "gated"],
  ["11", "architecture FooForCausalLM", () => attempt(endpoint({ source: () => ModelSource.s3("s3://acme-models/foo/"), config: { ...(findCatalogModel("Qwen/Qwen2.5-7B-Instruct")!.configJson), architectures: ["FooForCausalLM"] } })), "ARCH_UNSUPPORTED", "s/m", "FooForCausalLM"],
  ["12", "maxModelLen 131072 on a 32768-token model", () => attempt(endpoint({ source: QWEN, maxModelLen: 131072 })), "MAX_MODEL_LEN_EXCEEDS_MODEL", "s/chat", "131072"],
  ["13a", "maxModelLen 0", () => attempt(endpoint({ maxModelLen: 0, shape: "L40S_X1" })), "MAX_MODEL_LEN_INVALID", "s/chat", "got 0"],
  ["13b", "maxModelLen 4096.5", () => attempt(endpoint({ maxModelLen: 4096.5, shape: "L40S_X1" })), "MAX_MODEL_LEN_INVALID", "s/chat", "4096.5"],
  ["13c", 'maxModelLen "8k"', () => attempt(endpoint({ maxModelLen: "8k" as unknown as number, shape: "L40S_X1" })), "MAX_MODEL_LEN_INVALID", "s/chat", '"8k"'],
  ["14", "tensorParallel 3 for 32 heads", () => attempt(endpoint({ shape: "A10_X4", tensorParallel: 3 })), "TP_NOT_DIVISOR", "s/chat", "1, 2, 4, 8"],
  ["15", "tensorParallel 2 on a 1-GPU node", () => attempt(endpoint({ shape: "A10_X1", instanceType: "g5.2xlarge", tensorParallel: 2 })), "TP_EXCEEDS_NODE_GPUS", "s/chat", "has 1"],
  ["16", "tensorParallel 2 on a 4-GPU shape", () => attempt(endpoint({ shape: "A10_X4", tensorParallel: 2 })), "GPU_LAYOUT_MISMATCH", "s/chat", "A10_X4"],
  ["17", "A10_X2 on g5.4xlarge", () => attempt(endpoint({ shape: "A10_X2", instanceType: "g5.4xlarge" })), "GPU_COUNT_NOT_OFFERED", "s/chat", "g5.12xlarge"],
  ["18", "Llama-3.1-70B bf16 on 4 × A10G", () => attempt(endpoint({ source: LLAMA70, shape: "A10_X4" })), "MODEL_DOES_NOT_FIT", "s/chat", "Shapes that fit, cheapest first"],
  ["19", "gpuMemoryUtilization 1.2", () => attempt(endpoint({ shape: "L40S_X1", gpuMemoryUtilization: 1.2 })), "GPU_MEM_UTIL_RANGE", "s/chat", "1.2"],
  ["20", "dtype bfloat16 on T4", () => attempt(endpoint({ source: QWEN, shape: "T4_X4", dtype: "bfloat16" })), "DTYPE_UNSUPPORTED_ON_GPU", "s/chat", "compute capability 7.5"],
  // fp8 on an older GPU (the reference's row 21) runs weight-only through Marlin in v0.19+ (a warning); MXFP4 below 8.0 is refused.
  ["21", "gpt-oss (MXFP4) on T4", () => attempt(endpoint({ source: GPT_OSS, shape: "T4_X4" })), "QUANT_UNSUPPORTED_ON_GPU", "s/chat", "T4"],
  ["22a", 'S3 URI "s3:/bucket/key"', () => attempt(endpoint({ source: () => ModelSource.s3("s3:/bucket/key") })), "S3_URI_INVALID", "s/m", "s3:/bucket/key"],
  ["22b", "an https URL instead of s3://", () => attempt(endpoint({ source: () => ModelSource.s3("https://bucket.s3.amazonaws.com/models/") })), "S3_URI_INVALID", "s/m", "https://"],
  ["23a", 'bucket "My_Models"', () => attempt(endpoint({ source: () => ModelSource.s3("s3://My_Models/x/") })), "S3_BUCKET_NAME_INVALID", "s/m", "My_Models"],
  ["23b", 'bucket "ab"', () => attempt(endpoint({ source: () => ModelSource.s3("s3://ab/x/") })), "S3_BUCKET_NAME_INVALID", "s/m", '"ab"'],
  ["23c", 'bucket "192.168.5.4"', () => attempt(endpoint({ source: () => ModelSource.s3("s3://192.168.5.4/x/") })), "S3_BUCKET_NAME_INVALID", "s/m", "IP"],
  ["23d", 'bucket "xn--models"', () => attempt(endpoint({ source: () => ModelSource.s3("s3://xn--models/x/") })), "S3_BUCKET_NAME_INVALID", "s/m", "xn--models"],
  ["23e", 'bucket "models-s3alias"', () => attempt(endpoint({ source: () => ModelSource.s3("s3://models-s3alias/x/") })), "S3_BUCKET_NAME_INVALID", "s/m", "models-s3alias"],
  ["23f", 'bucket "a..b"', () => attempt(endpoint({ source: () => ModelSource.s3("s3://a..b/x/") })), "S3_BUCKET_NAME_INVALID", "s/m", "a..b"],
  ["24a", 'prefix "models/../secrets/"', () => attempt(endpoint({ source: () => ModelSource.s3("s3://acme-models/models/../secrets/") })), "S3_PREFIX_INVALID", "s/m", '".."'],
  ["24b", "an object key, not a prefix", () => attempt(endpoint({ source: () => ModelSource.s3("s3://acme-models/models/config.json") })), "S3_URI_INVALID", "s/m", "s3://<bucket>/<prefix>/"],
  ["27", 'allowlist "192.168.300.1/32"', () => attempt(endpoint({ source: BGE, maxModelLen: 512, exposure: { allowedCidrs: ["192.168.300.1/32"] }, apiKey: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:k") })), "CIDR_INVALID", "s/chat", "octet 300 > 255"],
  ["28", 'allowlist "10.0.0.0/33"', () => attempt(endpoint({ source: BGE, maxModelLen: 512, exposure: { allowedCidrs: ["10.0.0.0/33"] }, apiKey: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:k") })), "CIDR_INVALID", "s/chat", "/33 exceeds 32"],
  ["29", 'allowlist "10.0.0.1/8" (host bits)', () => attempt(endpoint({ source: BGE, maxModelLen: 512, exposure: { allowedCidrs: ["10.0.0.1/8"] }, apiKey: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:k") })), "CIDR_INVALID", "s/chat", "host bits"],
  ["30", 'cluster API open to "0.0.0.0/0"', () => attempt(() => undefined, { cluster: { create: { clusterName: "c", quotas: QUOTAS, publicAccessCidrs: ["0.0.0.0/0"] } } }), "PUBLIC_API_OPEN", "s-cluster/cluster", "0.0.0.0/0"],
  ["31", "11 allowlist entries", () => attempt(() => undefined, { cluster: { create: { clusterName: "c", quotas: QUOTAS, publicAccessCidrs: Array.from({ length: 11 }, (_, i) => `203.0.${i}.0/24`) } } }), "ALLOWLIST_TOO_LONG", "s-cluster/cluster", "11 entries"],
  ["32", "an IPv6 CIDR on an IPv4 cluster", () => attempt(() => undefined, { cluster: { create: { clusterName: "c", quotas: QUOTAS, publicAccessCidrs: ["2001:db8::/32"] } } }), "CIDR_INVALID", "s-cluster/cluster", "2001:db8::/32"],
  ["35a", "replicas -1", () => attempt(endpoint({ replicas: -1 })), "REPLICAS_INVALID", "s/chat", "got -1"],
  ["35b", "replicas 1.5", () => attempt(endpoint({ replicas: 1.5 })), "REPLICAS_INVALID", "s/chat", "got 1.5"],
  ["42", "vCPUs over the declared quota", () => attempt(endpoint(), { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: { "L-DB2E81BA": 4 } } } }), "QUOTA_EXCEEDED", "s-cluster/cluster", "L-DB2E81BA"],
  ["43", "maximum cost over the budget", () => attempt(endpoint({ replicas: 4 }), { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: QUOTAS, budgetUsdPerMonth: 500 } } }), "BUDGET_EXCEEDED", "s-cluster/cluster", "$500"],
  ["44", "a region the price catalog does not cover", () => attempt(endpoint(), { region: "us-west-3", cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: QUOTAS } } }), "REGION_UNKNOWN", "s-cluster/cluster", "eu-west-1"],
  ["44b", "B200_X8 in eu-west-1, which has no p6-b200", () => attempt(endpoint({ shape: "B200_X8" }), { region: "eu-west-1", cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: QUOTAS } } }), "SHAPE_NOT_OFFERED_IN_REGION", "s/chat", "us-east-1, us-east-2 and us-west-2"],
  ["44c", "a cluster region that is not its AWS provider's", () => attempt(endpoint(), { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: QUOTAS, region: "eu-west-1" } } }), "REGION_CONFLICT", "s-cluster/cluster", "eu-west-1"],
  ["45", 'instanceType "g5.12xl"', () => attempt(endpoint({ shape: "A10_X4", instanceType: "g5.12xl" })), "INSTANCE_TYPE_UNKNOWN", "s/chat", "g5.12xlarge"],
  ["48", "Kubernetes 1.27", () => attempt(() => undefined, { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: QUOTAS, kubernetesVersion: "1.27" } } }), "EKS_VERSION_UNSUPPORTED", "s-cluster/cluster", "1.27"],
  ["49", 'endpoint name "Llama3_Chat"', () => attempt(endpoint({ name: "Llama3_Chat" })), "NAME_INVALID", "s/chat", '"llama3-chat"'],
  ["50", "two endpoints with one name", () => attempt((stack) => { const m = stack.importModel("m", { source: LLAMA8() }); stack.addEndpoint("a", { model: m, name: "chat" }); stack.addEndpoint("b", { model: m, name: "chat" }); }), "DUPLICATE_ENDPOINT", "s/b", '"chat"'],
  ["52", 'namespace "default"', () => attempt(endpoint(), { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: QUOTAS, namespace: "default" } } }), "NAMESPACE_DISALLOWED", "s-cluster/cluster", '"default"'],
  ["53", "a literal hf_ token as the secret name", () => attempt(endpoint({ source: () => ModelSource.huggingFace("meta-llama/Llama-3.1-8B-Instruct", { revision: "main", token: SecretRef.fromKubernetesSecret("hf_" + "x".repeat(30), "token") }) })), "SECRET_INLINED", "s/m", "hf_"],
  // Found here, beyond §5:
  ["x1", "an embedding model behind a chat endpoint", () => attempt(endpoint({ source: BGE, maxModelLen: 512, kind: "TEXT_TO_TEXT" })), "ENDPOINT_KIND_MISMATCH", "s/chat", "EMBEDDING"],
  ["x2", 'shape "H100_X3"', () => attempt(endpoint({ shape: "H100_X3" })), "SHAPE_UNKNOWN", "s/chat", "H100_X1, H100_X2, H100_X4, H100_X8"],
  ["x3", "a time-series TinyTimeMixer config", () => attempt(endpoint({ source: () => ModelSource.s3("s3://acme-models/ttm/"), config: findCatalogModel("ibm-granite/granite-tsfm-ttm-notebook-cl512-fl96")!.configJson })), "MODEL_NOT_SERVABLE", "s/m", "tinytimemixer"],
  ["x4", "a model in neither the catalog nor the lock", () => attempt(endpoint({ source: () => ModelSource.huggingFace("acme/private-llm", { revision: "0123456789abcdef0123456789abcdef01234567" }) })), "MODEL_NOT_LOCKED", "s/m", "npx model-serving lock acme/private-llm@0123456789abcdef0123456789abcdef01234567"],
  ["x5", "exposed without an API key", () => attempt(endpoint({ source: BGE, maxModelLen: 512, exposure: { allowedCidrs: ["203.0.113.0/24"] } })), "EXPOSED_WITHOUT_API_KEY", "s/chat", "API key"],
  ["x6", "a Kubernetes secret in the namespace a new cluster's deploy creates", () => attempt(endpoint({ source: BGE, maxModelLen: 512, exposure: { allowedCidrs: ["203.0.113.0/24"] }, apiKey: SecretRef.fromKubernetesSecret("api-key", "key") })), "SECRET_NOT_CREATED", "s/chat", '"api-key"'],
  ["x6b", "a Secrets Manager secret on an existing cluster without External Secrets", () => attempt(endpoint({ source: BGE, maxModelLen: 512, exposure: { allowedCidrs: ["203.0.113.0/24"] }, apiKey: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:api-key") }), { cluster: { existing: { clusterName: "c", subnetIds: ["subnet-a"], quotas: QUOTAS } } }), "EXTERNAL_SECRETS_MISSING", "s/chat", "arn:aws:secretsmanager:us-east-1:111122223333:secret:api-key"],
  ["x7", "a secret ARN that is not one", () => attempt(endpoint({ source: () => ModelSource.huggingFace("meta-llama/Llama-3.1-8B-Instruct", { revision: "main", token: SecretRef.fromSecretsManager("my-hf-token") }) })), "SECRET_ARN_INVALID", "s/m", "my-hf-token"],
  ["x8", "a model-store bucket name with capitals", () => attempt((stack) => { new ModelStore(stack, "store", { cluster: stack.cluster, bucketName: "Acme_Models" }); }), "S3_BUCKET_NAME_INVALID", "s/store", "Acme_Models"],
  ["x9", "minConcurrency the declared shape cannot hold", () => attempt(endpoint({ shape: "A10_X1", minConcurrency: 50 })), "CONCURRENCY_TOO_LOW", "s/chat", "fewer than the 50 asked for"],
  ["x10", "no shape fits at all", () => attempt(endpoint({ source: LLAMA70, maxModelLen: 131072, minConcurrency: 1000 })), "MODEL_DOES_NOT_FIT", "s/chat", "no shape in the catalog"],
  ["x15", "tensorParallel 7 without a shape (28 heads, 4 KV heads)", () => attempt(endpoint({ source: QWEN, tensorParallel: 7 })), "TP_NOT_DIVISOR", "s/chat", "4 KV heads"],
  ["x16", "tensorParallel 3 without a shape", () => attempt(endpoint({ source: QWEN, tensorParallel: 3 })), "TP_NOT_DIVISOR", "s/chat", "28 attention heads"],
  ["x17", "replicas 0 without autoscaling", () => attempt(endpoint({ replicas: 0 })), "REPLICAS_ZERO", "s/chat", "autoscaling"],
  ["x18", 'shape "A10X_1" (a typo)', () => attempt(endpoint({ shape: "A10X_1" })), "SHAPE_UNKNOWN", "s/chat", "did you mean A10_X1?"],
  ["x19", 'cluster allowlist " 10.0.0.0/8" (a leading space)', () => attempt(() => undefined, { cluster: { create: { clusterName: "c", quotas: QUOTAS, publicAccessCidrs: [" 203.0.113.0/24"] } } }), "CIDR_INVALID", "s-cluster/cluster", 'a space at the start; write "203.0.113.0/24"'],
  ["x20", 'endpoint allowlist "203.0.113.7 " (a trailing space)', () => attempt(endpoint({ source: BGE, maxModelLen: 512, exposure: { allowedCidrs: ["203.0.113.7 "] }, apiKey: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:k") })), "CIDR_INVALID", "s/chat", "a space at the end"],
  ["x21", 'adapter name "Tenant_01"', () => attempt((stack) => { new FineTunedModel(stack, "t", { name: "Tenant_01", source: ModelSource.s3("s3://acme-adapters/t/"), adapterConfig: { peft_type: "LORA", base_model_name_or_path: "meta-llama/Llama-3.1-8B-Instruct", r: 8 } }); }), "NAME_INVALID", "s/t", 'use "tenant-01"'],
  ["x11", "a policy suppression without a reason", () => attempt(endpoint(), { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: QUOTAS, policySuppressions: [{ ruleId: "MS-POD-3", reason: "" }] } } }), "POLICY_SUPPRESSION_WITHOUT_REASON", "s-cluster/cluster", "MS-POD-3"],
];

describe("the bad-input catalogue", () => {
  test.each(rows)("row %s — %s — fails with its coded error, path, value and fix, and writes nothing", (_row, _input, run, code, path, mentions) => {
    const r = run();
    const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    expect(r.message).toMatch(new RegExp(`\\[${code}\\] ${escaped}(\\S*|\\(".*?"\\)): `));
    const line = r.message.split("\n").find((l) => l.includes(`[${code}]`))!;
    expect(line).toContain(mentions);
    expect(line).toMatch(/Fix: .+/);
    expect(r.message).not.toMatch(/\n\s+at .+:\d+:\d+/); // a coded error, not a stack trace
    expect(r.wroteNothing).toBe(true);
  });

  test("covers at least 58 inputs", () => {
    expect(rows.length + importRows.length + warningRows.length).toBeGreaterThanOrEqual(58);
  });
});

// Artifact checks run on the lock's file list (synth never lists S3 or the Hub itself).
const qwenProfile = profileFromConfig(findCatalogModel("Qwen/Qwen2.5-7B-Instruct")!.configJson, "m");
const importRows: Array<[string, string, readonly string[], boolean, string]> = [
  ["8", "an S3 prefix with config.json but no tokenizer", ["config.json", "model.safetensors"], false, "MODEL_ARTIFACT_INCOMPLETE"],
  ["9", "pickle-only weights", ["config.json", "pytorch_model.bin", "tokenizer.json"], false, "UNSAFE_WEIGHTS_FORMAT"],
  ["x12", "no config.json", ["model.safetensors", "tokenizer.json"], false, "CONFIG_MISSING"],
  ["x13", "no weights at all", ["config.json", "tokenizer.json"], false, "WEIGHTS_MISSING"],
];
describe("artifact checks", () => {
  test.each(importRows)("row %s — %s — is %s", (_row, _input, files, allowPickle, code) => {
    const r = validateImport({ path: "s/m", modelId: "s3://acme-models/m/", profile: qwenProfile, files, allowPickleWeights: allowPickle });
    expect(r.findings.map((f) => f.code)).toEqual([code]);
    expect(r.findings[0].message).toMatch(new RegExp(`^\\[${code}\\] s/m: .+Fix: `));
  });

  test("pickle weights are allowed only explicitly, and then still warned about", () => {
    const r = validateImport({ path: "s/m", modelId: "m", profile: qwenProfile, files: ["config.json", "pytorch_model.bin", "tokenizer.json"], allowPickleWeights: true });
    expect(r.findings.map((f) => [f.code, f.severity])).toEqual([["UNSAFE_WEIGHTS_FORMAT", "warning"]]);
  });
});

// Inputs that deserve a warning, not a failure: synth succeeds and the plan says so.
const warningRows: Array<[string, string, (stack: ModelServingStack) => void, ModelServingStackProps | undefined, string]> = [
  ["4", 'revision "main"', endpoint({ source: () => ModelSource.huggingFace("Qwen/Qwen2.5-7B-Instruct", { revision: "main" }) }), undefined, "MODEL_REVISION_UNPINNED"],
  ["33", 'a private range "10.0.0.0/8" in the public allowlist', () => undefined, { cluster: { create: { clusterName: "c", quotas: QUOTAS, publicAccessCidrs: ["10.0.0.0/8"] } } }, "ALLOWLIST_PRIVATE_RANGE"],
  ["46", "Spot with a single replica", endpoint({ capacityType: "SPOT" }), { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: { ...QUOTAS, "L-3819A6DF": 1000 } } } }, "SPOT_SINGLE_REPLICA"],
  ["x14", "no quota declared", endpoint(), { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c" } } }, "QUOTA_UNDECLARED"],
];
describe("warnings", () => {
  test.each(warningRows)("row %s — %s — synthesizes and lists %s in the serving plan", (_row, _input, build, props, code) => {
    const outdir = mkdtempSync(join(tmpdir(), "warn-"));
    const app = new App({ outdir });
    const stack = new ModelServingStack(app, "s", props ?? { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: QUOTAS } } });
    build(stack);
    app.synth();
    const plan = JSON.parse(readFileSync(join(outdir, "stacks", "s", "serving-plan.json"), "utf8"));
    rmSync(outdir, { recursive: true, force: true });
    const f = plan.findings.find((x: { code: string }) => x.code === code);
    expect(f).toMatchObject({ severity: "warning" });
    expect(f.message).toMatch(/Fix: /);
  });
});
