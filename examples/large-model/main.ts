/**
 * A model bigger than one node: Llama-3.1-405B-Instruct in bf16 (≈ 756 GiB of weights) on H100_X8
 * nodes. The planner spans the fewest nodes that fit — tensor parallel 8 inside each p5.48xlarge,
 * pipeline parallel across them — serves it as a LeaderWorkerSet group over EFA, sizes the pool and
 * the P-instance quota for whole groups, and says what fp8 weights on one node would save.
 *
 * 8-GPU H100 capacity is rarely there On-Demand, so the pool runs on an On-Demand Capacity
 * Reservation of two p5.48xlarge (priced On-Demand, billed whether used or not; a Capacity Block for
 * ML is declared the same way with type "capacity-block" and its usdPerInstanceHour).
 */
import { App } from "cdktf";
import { ModelServingStack, ModelSource, SecretRef, synthOrExit } from "cdktf-model-serving";

const app = new App();
const stack = new ModelServingStack(app, "large-model", {
  cluster: {
    create: {
      clusterName: "frontier",
      publicAccessCidrs: ["203.0.113.0/24"], // where deploys run from (a documentation range: replace it)
      quotas: { "L-417A185B": 1152 },
      addons: { leaderWorkerSet: true, efa: true },
    },
  },
});
const store = stack.addModelStore("model-store");
const llama405 = stack.importModel("llama-3-1-405b-instruct", {
  source: ModelSource.huggingFace("meta-llama/Llama-3.1-405B-Instruct", { revision: "be673f326cab4cd22ccfef76109faf68e41aa5f1", token: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:hf-token") }),
  store,
});
stack.addEndpoint("llama-405b", {
  model: llama405,
  shape: "H100_X8",
  instanceType: "p5.48xlarge",
  maxModelLen: 16384,
  minConcurrency: 8,
  // Your reservation's id, zone and size (aws ec2 describe-capacity-reservations): these are placeholders.
  capacity: { type: "reservation", reservationId: "cr-0123456789abcdef0", availabilityZone: "us-east-1a", instances: 2 },
});
synthOrExit(app);
