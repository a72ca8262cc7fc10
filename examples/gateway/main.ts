/**
 * One entry point for every model: four self-hosted endpoints (a chat model with three LoRA adapters,
 * embeddings, a reranker, and a blue/green pair behind one name) and three hosted APIs (OpenAI,
 * Anthropic, Amazon Bedrock) behind one OpenAI-compatible gateway, with two consumers that each have
 * their own key, model allowlist and request and token limits. serving-plan.md sets each hosted model's
 * list price per 1M tokens beside what a million tokens cost on the self-hosted endpoints.
 *
 *   cd examples/gateway && npx cdktf synth
 */
import { App } from "cdktf";
import { FineTunedModel, ModelServingStack, ModelSource, SecretRef, synthOrExit } from "cdktf-model-serving";

const app = new App();
const stack = new ModelServingStack(app, "gateway", {
  cluster: {
    create: {
      clusterName: "model-serving-gateway",
      publicAccessCidrs: ["203.0.113.0/24"], // where deploys run from (a documentation range: replace it)
      quotas: { "L-DB2E81BA": 384 },
      budgetUsdPerMonth: 20000,
    },
  },
});
// Every secret is a Secrets Manager ARN (replace the account and names with yours): External Secrets
// copies the values into the cluster, so no key passes through Terraform.
const secret = (name: string) => SecretRef.fromSecretsManager(`arn:aws:secretsmanager:us-east-1:111122223333:secret:${name}`);

const store = stack.addModelStore("model-store");
const llama = stack.importModel("llama-3-1-8b-instruct", {
  source: ModelSource.huggingFace("meta-llama/Llama-3.1-8B-Instruct", { revision: "0e9e39f249a16976918f6564b8830bc894c89659", token: secret("hf-token") }),
  store,
});
const qwen = stack.importModel("qwen2-5-7b-instruct", {
  source: ModelSource.huggingFace("Qwen/Qwen2.5-7B-Instruct", { revision: "a09a35458c702b33eeacc393d103063234e8bc28" }),
  store,
});
const bge = stack.importModel("bge-large-en-v1-5", { source: ModelSource.huggingFace("BAAI/bge-large-en-v1.5", { revision: "d4aa6901d3a41ba39fb536a557fa166f842b0e09" }), store });
const reranker = stack.importModel("bge-reranker-v2-m3", { source: ModelSource.huggingFace("BAAI/bge-reranker-v2-m3", { revision: "953dc6f6f85a1b2dbfca4c34a2796e7dde08d41e" }), store });

// A chat model and three fine-tuned adapters, each served under its own model name on the same GPUs.
const chat = stack.addEndpoint("llama-chat", { model: llama, shape: "L40S_X1", maxModelLen: 8192, minConcurrency: 4, replicas: 2 });
for (const team of ["legal", "billing", "returns"]) {
  chat.addAdapter(
    new FineTunedModel(stack, `support-${team}`, {
      source: ModelSource.s3(`s3://acme-adapters/support-${team}/v3/`),
      adapterConfig: { peft_type: "LORA", base_model_name_or_path: "meta-llama/Llama-3.1-8B-Instruct", r: 16, lora_alpha: 32, target_modules: ["q_proj", "k_proj", "v_proj", "o_proj"] },
    }),
  );
}
stack.addEndpoint("embeddings", { model: bge, maxModelLen: 512 });
stack.addEndpoint("rerank", { model: reranker, maxModelLen: 8192 });
// A canary: clients call "assistant"; the gateway sends 90 % to blue and 10 % to green.
stack.addEndpoint("assistant-blue", { model: qwen, maxModelLen: 16384, trafficGroup: { name: "assistant", weight: 90 } });
stack.addEndpoint("assistant-green", { model: qwen, maxModelLen: 16384, shape: "L40S_X1", trafficGroup: { name: "assistant", weight: 10 } });

stack.addGateway("gateway", {
  exposure: {
    // An ACM certificate in the cluster's region for the name clients use (e.g. models.example.com).
    certificateArn: "arn:aws:acm:us-east-1:111122223333:certificate/3f2a9c1e-8b7d-4e6f-a5c4-1d2e3f4a5b6c",
    allowedCidrs: ["198.51.100.0/24", "203.0.113.0/24"],
  },
  external: [
    { model: "gpt-4o-mini", provider: "openai", providerModelId: "gpt-4o-mini", apiKey: secret("openai-api-key") },
    { model: "claude-sonnet", provider: "anthropic", providerModelId: "claude-sonnet-4-5", apiKey: secret("anthropic-api-key") },
    // Bedrock needs no key: the gateway's pod identity may invoke exactly this inference profile.
    { model: "nova-pro", provider: "bedrock", providerModelId: "us.amazon.nova-pro-v1:0" },
  ],
  consumers: [
    // Search may call everything, with a large shared budget.
    { name: "team-search", apiKey: secret("gateway/team-search"), models: "*", limits: { requests: { limit: 600, per: "Minute" }, totalTokens: { limit: 2_000_000, per: "Hour" } } },
    // Support gets the chat model, its adapters, the assistant and one hosted model, with tighter limits.
    {
      name: "team-support",
      apiKey: secret("gateway/team-support"),
      models: ["llama-chat", "support-legal", "support-billing", "support-returns", "assistant", "claude-sonnet"],
      limits: { requests: { limit: 60, per: "Minute" }, outputTokens: { limit: 100_000, per: "Day" } },
    },
  ],
});

synthOrExit(app);
