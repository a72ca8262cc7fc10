/**
 * One base model and 50 fine-tuned LoRA adapters on one shape — the density the managed services
 * sell (OCI: a base model plus up to 50 fine-tuned endpoints on one dedicated cluster). Every
 * adapter is served under its own model name on the base model's GPUs, and the plan shows the cost
 * per adapter.
 */
import { App } from "cdktf";
import { FineTunedModel, ModelServingStack, ModelSource, SecretRef, synthOrExit } from "cdktf-model-serving";

const app = new App();
const stack = new ModelServingStack(app, "multi-tenant", {
  cluster: {
    create: {
      clusterName: "tenants",
      publicAccessCidrs: ["203.0.113.0/24"], // where deploys run from (a documentation range: replace it)
      quotas: { "L-DB2E81BA": 192 },
      budgetUsdPerMonth: 15000,
    },
  },
});
const base = stack.importModel("llama-3-1-8b-instruct", {
  source: ModelSource.huggingFace("meta-llama/Llama-3.1-8B-Instruct", { revision: "0e9e39f249a16976918f6564b8830bc894c89659", token: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:hf-token") }),
});
const chat = stack.addEndpoint("tenant-chat", { model: base, shape: "L40S_X1", maxModelLen: 8192, minConcurrency: 8, replicas: 2, maxLoraRank: 32 });

// Each tenant's adapter lives in S3 under its own prefix; its adapter_config.json is recorded in
// models.lock.json by `npx model-serving lock s3://…/`, or given inline as here.
for (let i = 1; i <= 50; i++) {
  const tenant = `tenant-${String(i).padStart(2, "0")}`;
  chat.addAdapter(
    new FineTunedModel(stack, tenant, {
      source: ModelSource.s3(`s3://acme-tenant-adapters/${tenant}/v1/`),
      adapterConfig: { peft_type: "LORA", base_model_name_or_path: "meta-llama/Llama-3.1-8B-Instruct", r: i % 3 === 0 ? 32 : 16, lora_alpha: 32, target_modules: ["q_proj", "k_proj", "v_proj", "o_proj"] },
    }),
  );
}

synthOrExit(app);
