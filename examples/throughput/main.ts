/**
 * Sizing by traffic: declare what the endpoint must serve — requests (or output tokens) per second,
 * request lengths and p95 latency targets — and the planner picks the shape and replica count that
 * serve it for the least money, states the headroom, and prices a million tokens.
 *
 *   cd examples/throughput && npx cdktf synth        (or: npx model-serving plan)
 */
import { App } from "cdktf";
import { ModelServingStack, ModelSource, SecretRef, synthOrExit } from "cdktf-model-serving";

const app = new App();
const stack = new ModelServingStack(app, "throughput", {
  cluster: {
    create: {
      clusterName: "model-serving-throughput",
      publicAccessCidrs: ["203.0.113.0/24"], // where deploys run from (a documentation range: replace it)
      quotas: { "L-DB2E81BA": 384, "L-417A185B": 192 },
    },
  },
});
const store = stack.addModelStore("model-store");
const llama = stack.importModel("llama-3-1-8b-instruct", {
  source: ModelSource.huggingFace("meta-llama/Llama-3.1-8B-Instruct", { revision: "0e9e39f249a16976918f6564b8830bc894c89659", token: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:hf-token") }),
  store,
});
const bge = stack.importModel("bge-large-en-v1-5", {
  source: ModelSource.huggingFace("BAAI/bge-large-en-v1.5", { revision: "d4aa6901d3a41ba39fb536a557fa166f842b0e09" }),
  store,
});

// A support assistant: 6 requests/s at peak, ~1,500-token prompts (retrieved context) and ~300-token
// answers, first token within 1.5 s and 50 ms per token after it for 95 % of requests.
stack.addEndpoint("support-chat", {
  model: llama,
  maxModelLen: 8192,
  throughput: { requestsPerSecond: 6, inputTokens: 1500, outputTokens: 300, p95TtftMs: 1500, p95TpotMs: 50 },
});
// Embeddings for the retrieval index: 100 passages of ~400 tokens per second.
stack.addEndpoint("embeddings", { model: bge, maxModelLen: 512, throughput: { requestsPerSecond: 100, inputTokens: 400, outputTokens: 0, p95TtftMs: 500 } });

synthOrExit(app);
