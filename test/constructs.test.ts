import "cdktf/lib/testing/adapters/jest";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Testing } from "cdktf";
import { ModelSource, SecretRef } from "../constructs/model-source";
import { ModelServingStack } from "../stacks/model-serving-stack";
import { ipv4CidrProblem } from "../constructs/gpu-cluster";
import { ModelStore } from "../constructs/model-store";
import vllmFlags from "../catalog/vllm/flags.json";
import { synthPhases } from "./fixtures/phases";

process.env.MODEL_SERVING_QUIET = "1";

const LLAMA = { repo: "meta-llama/Llama-3.1-8B-Instruct", revision: "0e9e39f249a16976918f6564b8830bc894c89659" };
const BGE = { repo: "BAAI/bge-large-en-v1.5", revision: "d4aa6901d3a41ba39fb536a557fa166f842b0e09" };
const RERANKER = { repo: "BAAI/bge-reranker-v2-m3", revision: "953dc6f6f85a1b2dbfca4c34a2796e7dde08d41e" };
const QWEN_VL = { repo: "Qwen/Qwen2-VL-7B-Instruct", revision: "eed13092ef92e448dd6875b2a00151bd3f7db0ac" };

interface Options {
  quotas?: Record<string, number>;
  budgetUsdPerMonth?: number;
  llamaShape?: string;
  llama70b?: boolean;
}

function build(app: App, o: Options = {}) {
  const stack = new ModelServingStack(app, "serving", { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "test", quotas: o.quotas ?? { "L-DB2E81BA": 1000, "L-417A185B": 1000 }, ...(o.budgetUsdPerMonth ? { budgetUsdPerMonth: o.budgetUsdPerMonth } : {}) } } });
  const llama = stack.importModel("llama", { source: ModelSource.huggingFace(o.llama70b ? "meta-llama/Llama-3.1-70B-Instruct" : LLAMA.repo, { revision: o.llama70b ? "1605565b47bb9346c5515c34102e054115b4f98b" : LLAMA.revision, token: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:hf-token") }) });
  stack.addEndpoint("llama-chat", { model: llama, maxModelLen: 8192, ...(o.llamaShape ? { shape: o.llamaShape } : {}), replicas: 2 });
  stack.addEndpoint("embeddings", { model: stack.importModel("bge", { source: ModelSource.huggingFace(BGE.repo, { revision: BGE.revision }) }), maxModelLen: 512 });
  stack.addEndpoint("rerank", { model: stack.importModel("reranker", { source: ModelSource.huggingFace(RERANKER.repo, { revision: RERANKER.revision }) }), maxModelLen: 8192 });
  stack.addEndpoint("vision", { model: stack.importModel("qwen-vl", { source: ModelSource.huggingFace(QWEN_VL.repo, { revision: QWEN_VL.revision }) }), maxModelLen: 16384 });
  return stack;
}

function synthJson(o: Options = {}) {
  const app = Testing.app();
  const stack = build(app, o);
  return { stack, json: synthPhases(stack) };
}

/** The ExternalSecret that copies this Secrets Manager secret into the namespace, and its resource address. */
function syncedSecret(json: any, arn: string): { address: string; manifest: any } {
  const [address, r] = Object.entries(json.resource.kubernetes_manifest as Record<string, any>).find(([, m]) => m.manifest.kind === "ExternalSecret" && m.manifest.spec.data[0].remoteRef.key === arn)!;
  expect(r.wait).toEqual({ condition: [{ type: "Ready", status: "True" }] });
  return { address, manifest: r.manifest };
}

function deployment(json: any, name: string) {
  return Object.values(json.resource.kubernetes_deployment_v1 as Record<string, any>).find((d) => d.metadata.name === name);
}

function failingSynth(o: Options): { message: string; outdir: string } {
  const outdir = mkdtempSync(join(tmpdir(), "ms-"));
  const app = new App({ outdir });
  build(app, o);
  let message = "";
  try {
    app.synth();
  } catch (e) {
    message = (e as Error).message;
  }
  return { message, outdir };
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true }).map(String);
}

describe("GpuNodePool", () => {
  test("creates one managed node group per shape with the NVIDIA AMI, the GPU taint and scaling from the plan", () => {
    const { stack, json } = synthJson();
    const plan = stack.cluster.plan();
    const groups = Object.values(json.resource.aws_eks_node_group as Record<string, any>).filter((g) => g.node_group_name !== "system");
    expect(groups.map((g) => g.node_group_name).sort()).toEqual(plan.nodePools.map((p) => p.name).sort());
    for (const g of groups) {
      const pool = plan.nodePools.find((p) => p.name === g.node_group_name)!;
      expect(g.ami_type).toBe("AL2023_x86_64_NVIDIA");
      expect(g.instance_types).toEqual([pool.instanceType]);
      expect(g.taint).toEqual([{ key: "nvidia.com/gpu", value: "true", effect: "NO_SCHEDULE" }]);
      expect(g.scaling_config).toEqual({ min_size: pool.nodes.min, desired_size: pool.nodes.expected, max_size: Math.max(1, pool.nodes.max) });
      expect(g.lifecycle.ignore_changes).toEqual(["scaling_config[0].desired_size"]);
    }
  });

  test("requires IMDSv2 with hop limit 1 and an encrypted gp3 root sized for the image and the weights", () => {
    const { stack, json } = synthJson();
    const templates = Object.values(json.resource.aws_launch_template as Record<string, any>);
    expect(templates.length).toBe(stack.cluster.plan().nodePools.length);
    for (const t of templates) {
      expect(t.metadata_options).toMatchObject({ http_tokens: "required", http_put_response_hop_limit: 1 });
      const ebs = t.block_device_mappings[0].ebs;
      expect(ebs).toMatchObject({ volume_type: "gp3", encrypted: "true" });
      expect(ebs.volume_size).toBeGreaterThanOrEqual(80);
    }
  });
});

describe("InferenceEndpoint", () => {
  test("renders the chat endpoint's vLLM arguments exactly from the plan", () => {
    const { stack, json } = synthJson();
    const e = stack.cluster.plan().endpoints.find((x) => x.name === "llama-chat")!;
    const c = deployment(json, "llama-chat").spec.template.spec.container[0];
    expect(c.image).toBe("vllm/vllm-openai:v0.24.0");
    expect(c.args).toEqual([
      "--model", LLAMA.repo, "--revision", LLAMA.revision, "--download-dir", "/models", "--served-model-name", "llama-chat",
      "--host", "0.0.0.0", "--port", "8000", "--tensor-parallel-size", String(e.tensorParallel), "--max-model-len", "8192",
      "--gpu-memory-utilization", String(e.gpuMemoryUtilization), "--max-num-seqs", String(e.maxNumSeqs), "--max-num-batched-tokens", String(e.maxNumBatchedTokens),
      "--dtype", "bfloat16", "--enable-prefix-caching", "--uvicorn-log-level", "warning", "--no-enable-log-requests",
    ]);
    expect(c.resources.limits["nvidia.com/gpu"]).toBe(String(e.gpusPerReplica));
    // The token is read from the Kubernetes secret External Secrets syncs from Secrets Manager, and the pods wait for it.
    const sync = syncedSecret(json, "arn:aws:secretsmanager:us-east-1:111122223333:secret:hf-token");
    expect(c.env).toContainEqual({ name: "HF_TOKEN", value_from: { secret_key_ref: { name: sync.manifest.metadata.name, key: "value" } } });
    expect(deployment(json, "llama-chat").depends_on).toContain(`kubernetes_manifest.${sync.address}`);
  });

  test("serves embedding and rerank models with the pooling runner and no prefix caching", () => {
    const { json } = synthJson();
    for (const name of ["embeddings", "rerank"]) {
      const args: string[] = deployment(json, name).spec.template.spec.container[0].args;
      expect(args.slice(args.indexOf("--runner"), args.indexOf("--runner") + 2)).toEqual(["--runner", "pooling"]);
      expect(args).not.toContain("--enable-prefix-caching");
    }
  });

  test("runs vLLM non-root with no privilege escalation, dropped capabilities, a sized /dev/shm and no service links", () => {
    const { stack, json } = synthJson();
    const e = stack.cluster.plan().endpoints.find((x) => x.name === "llama-chat")!;
    const pod = deployment(json, "llama-chat").spec.template.spec;
    expect(pod.enable_service_links).toBe(false);
    expect(pod.security_context).toMatchObject({ run_as_non_root: true, seccomp_profile: { type: "RuntimeDefault" } });
    expect(pod.container[0].security_context).toMatchObject({ allow_privilege_escalation: false, read_only_root_filesystem: true, capabilities: { drop: ["ALL"] } });
    expect(pod.volume.find((v: any) => v.name === "dshm").empty_dir).toEqual({ medium: "Memory", size_limit: `${e.resources.shmGiB}Gi` });
    expect(pod.toleration).toEqual([{ key: "nvidia.com/gpu", operator: "Equal", value: "true", effect: "NoSchedule" }]);
    expect(pod.node_selector["node.kubernetes.io/instance-type"]).toBe(e.instanceType);
  });

  test("budgets the startup probe from the model's size: bigger weights wait longer", () => {
    const { json } = synthJson();
    const budget = (name: string) => {
      const p = deployment(json, name).spec.template.spec.container[0].startup_probe;
      return p.period_seconds * p.failure_threshold;
    };
    expect(budget("llama-chat")).toBeGreaterThan(budget("embeddings"));
    expect(budget("embeddings")).toBeGreaterThanOrEqual(180);
  });

  test.each(["llama-chat", "embeddings", "rerank", "vision"])("keeps the whole rendered %s Deployment as a snapshot", (name) => {
    const { json } = synthJson();
    expect(deployment(json, name)).toMatchSnapshot();
  });

  test("adds a smoke-test Job per endpoint that calls that endpoint's API", () => {
    const { json } = synthJson();
    const jobs = Object.values(json.resource.kubernetes_job_v1 as Record<string, any>);
    const script = (name: string) => jobs.find((j) => j.metadata.name === `${name}-smoke-test`).spec.template.spec.container[0].command[2] as string;
    expect(script("llama-chat")).toContain("/v1/chat/completions");
    expect(script("embeddings")).toContain("/v1/embeddings");
    expect(script("rerank")).toContain("/v1/rerank");
    for (const j of jobs) expect(j.wait_for_completion).toBe(true);
  });
});

describe("synth contract", () => {
  test("a model that does not fit its declared shape fails synth with its coded error and writes nothing", () => {
    const r = failingSynth({ llama70b: true, llamaShape: "A10_X4" });
    expect(r.message).toMatch(/\[MODEL_DOES_NOT_FIT\] serving\/llama-chat: .*Fix: .*Shapes that fit, cheapest first: /);
    expect(filesUnder(join(r.outdir, "stacks"))).toEqual([]);
    rmSync(r.outdir, { recursive: true, force: true });
  });

  test("an over-quota plan fails synth naming the quota code and writes nothing", () => {
    const r = failingSynth({ quotas: { "L-DB2E81BA": 8 } });
    expect(r.message).toMatch(/\[QUOTA_EXCEEDED\] serving-cluster\/cluster: the pools need \d+ vCPUs of L-DB2E81BA .* but the limit is 8\./);
    expect(filesUnder(join(r.outdir, "stacks"))).toEqual([]);
    rmSync(r.outdir, { recursive: true, force: true });
  });

  test("an over-budget plan fails synth with BUDGET_EXCEEDED and writes nothing", () => {
    const r = failingSynth({ budgetUsdPerMonth: 100 });
    expect(r.message).toMatch(/\[BUDGET_EXCEEDED\] serving-cluster\/cluster: the plan costs up to \$[\d,.]+\/month .* over the budget of \$100/);
    expect(filesUnder(join(r.outdir, "stacks"))).toEqual([]);
    rmSync(r.outdir, { recursive: true, force: true });
  });

  test("writes cdk.tf.json, serving-plan.json and serving-plan.md, byte-identical across two synths and free of absolute paths", () => {
    const outputs = [0, 1].map(() => {
      const outdir = mkdtempSync(join(tmpdir(), "ms-"));
      const app = new App({ outdir });
      build(app);
      app.synth();
      const dir = join(outdir, "stacks", "serving");
      const files = Object.fromEntries(["cdk.tf.json", "serving-plan.json", "serving-plan.md"].map((f) => [f, readFileSync(join(dir, f), "utf8")]));
      rmSync(outdir, { recursive: true, force: true });
      return { files, outdir };
    });
    expect(outputs[0].files).toEqual(outputs[1].files);
    for (const content of Object.values(outputs[0].files)) {
      expect(content).not.toContain(outputs[0].outdir);
      expect(content).not.toContain(process.cwd());
    }
    const plan = JSON.parse(outputs[0].files["serving-plan.json"]);
    expect(plan.schemaVersion).toBe(1);
    for (const e of plan.endpoints) {
      expect(e).toEqual(expect.objectContaining({ shape: expect.any(String), instanceType: expect.any(String), tensorParallel: expect.any(Number), kvCacheTokens: expect.any(Number), maxConcurrency: expect.any(Number), replicas: expect.any(Object), monthlyUsd: expect.any(Object) }));
      expect(e.monthlyUsd.max).toBeGreaterThan(0);
    }
  });
});

describe("inputs", () => {
  test("refuses a literal Hugging Face token before it can reach cdk.tf.json (kept for the consuming construct, never thrown)", () => {
    const ref = SecretRef.fromKubernetesSecret("hf_" + "abcdefghijklmnopqrstuvwxyz", "token");
    expect(ref.problems.map((f) => f.code)).toEqual(["SECRET_INLINED"]);
    expect(ref.ref).not.toContain("hf_");
  });

  test("warns on a branch revision and refuses a short sha and a bad repo id, as findings of the source", () => {
    expect(ModelSource.huggingFace(LLAMA.repo, { revision: "main" }).warnings.map((w) => w.code)).toEqual(["MODEL_REVISION_UNPINNED"]);
    expect(ModelSource.huggingFace(LLAMA.repo, { revision: "0e9e39f" }).findings.map((f) => f.code)).toEqual(["MODEL_REVISION_INVALID"]);
    expect(ModelSource.huggingFace("meta-llama/Llama 3 8B", { revision: LLAMA.revision }).findings[0].message).toMatch(/\[MODEL_ID_INVALID\].*" "/);
  });

  test("validates allowlist entries as the model-hub seed describes", () => {
    expect(ipv4CidrProblem("192.168.0.0")).toBeUndefined();
    expect(ipv4CidrProblem("10.0.0.0/8")).toBeUndefined();
    expect(ipv4CidrProblem("192.168.300.1")).toMatch(/octet 300/);
    expect(ipv4CidrProblem("10.0.0.0/33")).toMatch(/\/33/);
    expect(ipv4CidrProblem("10.0.0.1/8")).toMatch(/host bits/);
  });
});

describe("ModelStore", () => {
  function storeStack(allowDestroy?: boolean) {
    const app = Testing.app();
    const stack = new ModelServingStack(app, "serving", { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "test", quotas: { "L-DB2E81BA": 1000 } } } });
    const store = new ModelStore(stack, "store", { cluster: stack.cluster, ...(allowDestroy ? { allowDestroy } : {}) });
    const llama = stack.importModel("llama", { source: ModelSource.huggingFace(LLAMA.repo, { revision: LLAMA.revision, token: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:hf-token") }), store });
    stack.addEndpoint("llama-chat", { model: llama, maxModelLen: 8192 });
    return { stack, json: synthPhases(stack) };
  }

  test("keeps weights in a private, versioned, KMS-encrypted, TLS-only bucket that terraform destroy cannot delete", () => {
    const { json } = storeStack();
    const bucket = Object.values(json.resource.aws_s3_bucket as Record<string, any>)[0];
    expect(bucket.lifecycle.prevent_destroy).toBe(true);
    expect(bucket.force_destroy).toBe(false);
    expect(Object.values(json.resource.aws_s3_bucket_public_access_block as Record<string, any>)[0]).toMatchObject({ block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true });
    expect(Object.values(json.resource.aws_s3_bucket_versioning as Record<string, any>)[0].versioning_configuration.status).toBe("Enabled");
    expect(Object.values(json.resource.aws_s3_bucket_server_side_encryption_configuration as Record<string, any>)[0].rule[0].apply_server_side_encryption_by_default.sse_algorithm).toBe("aws:kms");
    const tls = Object.values(json.data.aws_iam_policy_document as Record<string, any>).find((d) => d.statement?.[0]?.sid === "DenyInsecureTransport");
    expect(tls.statement[0].condition).toEqual([{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }]);
  });

  test("allows deletion only when asked explicitly", () => {
    const { json } = storeStack(true);
    expect(Object.values(json.resource.aws_s3_bucket as Record<string, any>)[0].lifecycle.prevent_destroy).toBe(false);
  });

  test("stages the pinned revision with a Job that verifies config.json, safetensors and a tokenizer, and the endpoint waits for it and reads only its prefix", () => {
    const { json } = storeStack();
    const job = Object.values(json.resource.kubernetes_job_v1 as Record<string, any>).find((j) => j.metadata.name === "stage-llama");
    const script: string = job.spec.template.spec.init_container[0].command[2];
    expect(script).toContain(`revision="${LLAMA.revision}"`);
    expect(script).toContain("staging refused: the snapshot lacks");
    expect(job.wait_for_completion).toBe(true);
    const dep = deployment(json, "llama-chat");
    expect(dep.depends_on).toEqual([expect.stringMatching(/^kubernetes_job_v1\.store_stage-llama_job_/)]);
    const args: string[] = dep.spec.template.spec.container[0].args;
    expect(args.slice(0, 2)).toEqual(["--model", "/models/llama-chat"]);
    expect(args).not.toContain("--revision");
    const fetch = dep.spec.template.spec.init_container[0];
    // The bucket's name is Terraform's (bucket_prefix): the endpoint refers to it.
    const bucket = `\${aws_s3_bucket.${Object.keys(json.resource.aws_s3_bucket)[0]}.bucket}`;
    expect(fetch.command).toContain(`s3://${bucket}/models/${LLAMA.repo}/${LLAMA.revision}/`);
    expect(dep.spec.template.spec.container[0].env.map((e: any) => e.name)).not.toContain("HF_TOKEN");
    const read = Object.values(json.data.aws_iam_policy_document as Record<string, any>).find((d) => d.statement?.some((s: any) => s.actions?.includes("s3:GetObject") && !s.actions.includes("s3:PutObject")));
    expect(read.statement[0].resources).toEqual([`arn:aws:s3:::${bucket}/models/${LLAMA.repo}/${LLAMA.revision}/*`]);
  });

  test("names the bucket uniquely by default (S3 names are global): a bucket_prefix from the cluster, no fixed name", () => {
    const { json } = storeStack();
    const b = Object.values(json.resource.aws_s3_bucket as Record<string, any>)[0];
    expect(b.bucket).toBeUndefined();
    expect(b.bucket_prefix).toBe("test-models-");
  });
});

describe("exposure", () => {
  function exposed(allowedCidrs: string[], apiKey = true) {
    const app = Testing.app();
    const stack = new ModelServingStack(app, "serving", { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "test", quotas: { "L-DB2E81BA": 1000 } } } });
    const bge = stack.importModel("bge", { source: ModelSource.huggingFace(BGE.repo, { revision: BGE.revision }) });
    stack.addEndpoint("embeddings", { model: bge, maxModelLen: 512, exposure: { allowedCidrs }, ...(apiKey ? { apiKey: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:api-key") } : {}) });
    return stack;
  }

  test("exposes through a load balancer restricted to the allowlist, with the API key from a secret", () => {
    const json = synthPhases(exposed(["192.168.0.0", "203.0.113.0/24"]));
    const svc = Object.values(json.resource.kubernetes_service_v1 as Record<string, any>)[0];
    expect(svc.spec.type).toBe("LoadBalancer");
    expect(svc.spec.load_balancer_source_ranges).toEqual(["192.168.0.0/32", "203.0.113.0/24"]);
    const sync = syncedSecret(json, "arn:aws:secretsmanager:us-east-1:111122223333:secret:api-key");
    expect(deployment(json, "embeddings").spec.template.spec.container[0].env).toContainEqual({ name: "VLLM_API_KEY", value_from: { secret_key_ref: { name: sync.manifest.metadata.name, key: "value" } } });
  });

  test("refuses an invalid address, more than 10 entries, or no API key", () => {
    expect(() => Testing.synth(exposed(["192.168.300.1"]), true)).toThrow(/\[CIDR_INVALID\] serving\/embeddings: "192\.168\.300\.1": octet 300 > 255/);
    expect(() => Testing.synth(exposed(Array.from({ length: 11 }, (_, i) => `10.0.${i}.0/24`)), true)).toThrow(/\[ALLOWLIST_TOO_LONG\]/);
    expect(() => Testing.synth(exposed(["203.0.113.0/24"], false), true)).toThrow(/\[EXPOSED_WITHOUT_API_KEY\]/);
  });
});

test("every flag in a rendered vLLM command exists in the default release's argument parser", () => {
  const { json } = synthJson();
  const flags = new Set<string>(vllmFlags.releases["0.24.0"].exists);
  for (const d of Object.values(json.resource.kubernetes_deployment_v1 as Record<string, any>)) {
    for (const a of d.spec.template.spec.container[0].args as string[]) if (a.startsWith("--")) expect(flags).toContain(a);
  }
});
