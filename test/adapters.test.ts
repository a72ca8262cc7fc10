import { Testing } from "cdktf";
import { FineTunedModel } from "../constructs/fine-tuned-model";
import { ModelSource, SecretRef } from "../constructs/model-source";
import { ModelServingStack } from "../stacks/model-serving-stack";
import { findCatalogModel } from "../catalog/models";
import { profileFromConfig } from "../planner/model-profile";
import { loraBytesPerGpu } from "../planner/lora";
import { planServing, type EndpointDeclaration } from "../planner/plan";
import { synthPhases } from "./fixtures/phases";

process.env.MODEL_SERVING_QUIET = "1";

const BASE = "meta-llama/Llama-3.1-8B-Instruct";
const config = (r: number, base = BASE) => ({ peft_type: "LORA", base_model_name_or_path: base, r, lora_alpha: 16, target_modules: ["q_proj", "v_proj"] });

function tenantStack(count: number, o: { rank?: (i: number) => number; base?: string; maxLoraRank?: number } = {}) {
  const app = Testing.app();
  const stack = new ModelServingStack(app, "mt", { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "mt", quotas: { "L-DB2E81BA": 1000 } } } });
  const model = stack.importModel("base", { source: ModelSource.huggingFace(BASE, { revision: "0e9e39f249a16976918f6564b8830bc894c89659", token: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:hf-token") }) });
  const ep = stack.addEndpoint("chat", { model, shape: "L40S_X1", maxModelLen: 8192, ...(o.maxLoraRank ? { maxLoraRank: o.maxLoraRank } : {}) });
  for (let i = 1; i <= count; i++) {
    ep.addAdapter(new FineTunedModel(stack, `t${i}`, { source: ModelSource.s3(`s3://acme-adapters/t${i}/`), adapterConfig: config(o.rank?.(i) ?? 16, o.base) }));
  }
  return stack;
}

describe("LoRA adapters on a shared base", () => {
  test("serves 50 adapters under their own names, with vLLM's LoRA flags sized by the planner", () => {
    const stack = tenantStack(50, { rank: (i) => (i === 7 ? 32 : 16) });
    const tf = synthPhases(stack);
    const args: string[] = (Object.values(tf.resource.kubernetes_deployment_v1)[0] as any).spec.template.spec.container[0].args;
    const at = args.indexOf("--enable-lora");
    expect(args.slice(at, at + 8)).toEqual(["--enable-lora", "--max-lora-rank", "32", "--max-loras", "4", "--max-cpu-loras", "50", "--lora-modules"]);
    expect(args.filter((a) => /^t\d+=\/adapters\/t\d+$/.test(a))).toHaveLength(50);
  });

  test("lists the adapters in the serving plan with the cost per adapter", () => {
    const e = tenantStack(50).cluster.plan().endpoints[0];
    expect(e.adapters).toHaveLength(50);
    expect(e.lora!.monthlyUsdPerAdapter).toBeCloseTo(e.monthlyUsd.expected / 50, 2);
  });

  test("grants each pod read access to exactly its adapters' S3 prefixes", () => {
    const tf = synthPhases(tenantStack(3));
    const reads = Object.values(tf.data.aws_iam_policy_document as Record<string, any>).flatMap((d) => d.statement).filter((s: any) => s.actions.includes("s3:GetObject")).map((s: any) => s.resources[0]);
    expect(reads.sort()).toEqual(["arn:aws:s3:::acme-adapters/t1/*", "arn:aws:s3:::acme-adapters/t2/*", "arn:aws:s3:::acme-adapters/t3/*"]);
  });

  test("refuses the 51st adapter, naming it", () => {
    expect(() => Testing.synth(tenantStack(51), true)).toThrow(/\[TOO_MANY_ADAPTERS\] mt\/t51: adapter 51 \("t51"\) exceeds the 50 one endpoint may host/);
  });

  test("refuses an adapter trained on another base model", () => {
    expect(() => Testing.synth(tenantStack(1, { base: "mistralai/Mistral-7B-Instruct-v0.3" }), true)).toThrow(/\[ADAPTER_BASE_MISMATCH\] mt\/t1: adapter "t1" was trained on mistralai\/Mistral-7B-Instruct-v0.3, but the endpoint serves meta-llama\/Llama-3.1-8B-Instruct/);
  });

  test("refuses an adapter whose rank is above the endpoint's max-lora-rank", () => {
    expect(() => Testing.synth(tenantStack(2, { maxLoraRank: 16, rank: (i) => (i === 2 ? 64 : 8) }), true)).toThrow(/\[LORA_RANK_EXCEEDED\] mt\/t2: adapter "t2" has rank 64, above the endpoint's max-lora-rank 16\..*Fix: raise the endpoint's maxLoraRank to 64/);
  });

  test("refuses an adapter with no adapter_config.json", () => {
    const app = Testing.app();
    const stack = new ModelServingStack(app, "mt", { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "mt", quotas: { "L-DB2E81BA": 1000 } } } });
    new FineTunedModel(stack, "orphan", { source: ModelSource.s3("s3://acme-adapters/orphan/") });
    expect(() => Testing.synth(stack, true)).toThrow(/\[ADAPTER_NOT_LOCKED\] mt\/orphan: .*npx model-serving lock s3:\/\/acme-adapters\/orphan\//);
  });

  test("charges the adapter slots to the KV cache: tokens drop by exactly the slots' bytes", () => {
    const profile = profileFromConfig(findCatalogModel(BASE)!.configJson, BASE);
    const decl = (adapters: EndpointDeclaration["adapters"]): EndpointDeclaration => ({
      name: "chat", path: "s/chat", model: { name: "m", path: "s/m", modelId: BASE, revision: null, capability: "TEXT_TO_TEXT", profile, storedInS3: false },
      capability: "TEXT_TO_TEXT", shape: "L40S_X1", maxModelLen: 8192, replicas: { min: 1, max: 1 }, capacityType: "ON_DEMAND", ...(adapters ? { adapters } : {}),
    });
    const plain = planServing({ stackPath: "s", endpoints: [decl(undefined)], quotas: {}, createsCluster: false }).endpoints[0];
    const adapters = Array.from({ length: 10 }, (_, i) => ({ name: `a${i}`, repoId: `r${i}`, baseModel: BASE, rank: 64, path: `s/a${i}` }));
    const withLora = planServing({ stackPath: "s", endpoints: [decl(adapters)], quotas: {}, createsCluster: false }).endpoints[0];
    const slotBytes = loraBytesPerGpu(profile, 4, 64, 1, "bfloat16");
    const perToken = 2 * 32 * 8 * 128 * 2; // K and V × layers × KV heads × head_dim × bf16
    expect(plain.kvCacheTokens - withLora.kvCacheTokens).toBeGreaterThanOrEqual(Math.floor(slotBytes / perToken / 16) * 16);
    expect(plain.kvCacheTokens - withLora.kvCacheTokens).toBeLessThanOrEqual(Math.ceil(slotBytes / perToken / 16) * 16 + 16);
    expect(withLora.lora).toMatchObject({ maxLoraRank: 64, maxLoras: 4, maxCpuLoras: 10 });
  });
});
