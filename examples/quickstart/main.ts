/**
 * Quickstart: four endpoints — chat, embeddings, rerank and vision — on shapes the planner picks.
 *
 *   npm ci && npx cdktf synth        (from the repository root, whose cdktf.json runs this app)
 *   cd examples/quickstart && npx cdktf synth
 *
 * writes cdktf.out/stacks/quickstart/{cdk.tf.json, serving-plan.json, serving-plan.md}.
 */
import { App } from "cdktf";
import { ModelServingStack, ModelSource, SecretRef, synthOrExit } from "cdktf-model-serving";

const app = new App();
const stack = new ModelServingStack(app, "quickstart", {
  cluster: {
    create: {
      clusterName: "model-serving-quickstart",
      // Where `cdktf deploy` runs from (office, VPN, CI egress): the deploy talks to the cluster's API.
      // 203.0.113.0/24 is a documentation range: replace it with yours.
      publicAccessCidrs: ["203.0.113.0/24"],
      // Declare what Service Quotas shows for your account; the plan fails if the pools need more.
      quotas: { "L-DB2E81BA": 192 },
      budgetUsdPerMonth: 10000,
    },
  },
  tags: { team: "platform" },
});

// Weights live in your account: a staging Job copies each pinned revision into this bucket, and each
// endpoint may read only its own model's prefix. The bucket survives `terraform destroy`.
const store = stack.addModelStore("model-store");

// Gated on the Hub: the token lives in Secrets Manager (by ARN, never inlined); External Secrets, installed
// in the cluster phase, copies it into the namespace before the staging Job starts. Replace the ARN with yours.
const hfToken = SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:hf-token");

const llama = stack.importModel("llama-3-1-8b-instruct", {
  source: ModelSource.huggingFace("meta-llama/Llama-3.1-8B-Instruct", { revision: "0e9e39f249a16976918f6564b8830bc894c89659", token: hfToken }),
  store,
  title: "Llama 3.1 8B Instruct",
  tags: { framework: ["transformers"], architecture: ["llama"], task: ["chat"] },
});
const bge = stack.importModel("bge-large-en-v1-5", {
  source: ModelSource.huggingFace("BAAI/bge-large-en-v1.5", { revision: "d4aa6901d3a41ba39fb536a557fa166f842b0e09" }),
  store,
  title: "BGE large English v1.5",
  tags: { architecture: ["bert"], task: ["embedding"] },
});
const reranker = stack.importModel("bge-reranker-v2-m3", {
  source: ModelSource.huggingFace("BAAI/bge-reranker-v2-m3", { revision: "953dc6f6f85a1b2dbfca4c34a2796e7dde08d41e" }),
  store,
  title: "BGE reranker v2 m3",
  tags: { architecture: ["xlm-roberta"], task: ["rerank"] },
});
const qwenVl = stack.importModel("qwen2-vl-7b-instruct", {
  source: ModelSource.huggingFace("Qwen/Qwen2-VL-7B-Instruct", { revision: "eed13092ef92e448dd6875b2a00151bd3f7db0ac" }),
  store,
  title: "Qwen2-VL 7B Instruct",
  tags: { architecture: ["qwen2_vl"], task: ["vision-chat"] },
});

stack.addEndpoint("llama-chat", { model: llama, maxModelLen: 8192, minConcurrency: 4, replicas: 2 });
stack.addEndpoint("embeddings", { model: bge, maxModelLen: 512 });
stack.addEndpoint("rerank", { model: reranker, maxModelLen: 8192 });
stack.addEndpoint("vision-chat", { model: qwenVl, maxModelLen: 16384, minConcurrency: 2 });

synthOrExit(app);
