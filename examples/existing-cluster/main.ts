/**
 * Composing into what a platform team already has: an existing VPC and EKS cluster. Only the GPU node
 * groups, the namespace and the endpoints are created; the control plane is not priced here.
 *
 *   cd examples/existing-cluster && npx cdktf synth
 */
import { App } from "cdktf";
import { ModelServingStack, ModelSource, synthOrExit } from "cdktf-model-serving";

const app = new App();
const stack = new ModelServingStack(app, "existing-cluster", {
  cluster: {
    existing: {
      clusterName: "platform-prod",
      subnetIds: ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"],
      quotas: { "L-DB2E81BA": 96 },
      namespace: "llm",
    },
  },
});
const qwen = stack.importModel("qwen2-5-7b-instruct", {
  source: ModelSource.huggingFace("Qwen/Qwen2.5-7B-Instruct", { revision: "a09a35458c702b33eeacc393d103063234e8bc28" }),
});
stack.addEndpoint("qwen-chat", { model: qwen, maxModelLen: 16384, minConcurrency: 8 });
synthOrExit(app);
