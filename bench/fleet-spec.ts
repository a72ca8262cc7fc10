/**
 * The benchmark fleet, as plain data: no import of the library, the planner or cdktf, so the baseline
 * child process loads nothing the library would.
 *
 * Endpoint i of a fleet of N uses template i mod TEMPLATES.length, so every fleet of ≥ 13 endpoints
 * covers every template (10 models, 11 node pools, 4 endpoint kinds, declared and planner-chosen
 * shapes, On-Demand and Spot). The `expect` block is what the planner is expected to decide for the
 * template; the baseline uses it verbatim instead of planning, and the library child checks its own
 * serving-plan.json against it, so both modes render the same fleet.
 *
 * Adapters (LoRA) are not part of the fleet: the library does not implement them yet.
 */

export interface CatalogModelRef {
  /** Construct id of the ImportedModel. */
  readonly key: string;
  readonly repo: string;
  /** Pinned 40-hex revision from catalog/models/sources.json. */
  readonly revision: string;
  readonly capability: "TEXT_TO_TEXT" | "IMAGE_TEXT_TO_TEXT" | "EMBEDDING" | "RERANK";
  readonly gated: boolean;
  /** architecture / task tags passed to importModel (the library turns them into annotations and AWS tags). */
  readonly architecture: string;
  readonly task: string;
  /** Approximate safetensors bytes, GiB: only the baseline uses it (staging volume, startup probe). */
  readonly weightsGiB: number;
  /** Parameter total (the library counts it from config.json; the baseline writes it in the model-serving.io/parameters annotation). */
  readonly parameters: number;
}

export const MODELS: Readonly<Record<string, CatalogModelRef>> = {
  llama8b: { key: "llama-3-1-8b", repo: "meta-llama/Llama-3.1-8B-Instruct", revision: "0e9e39f249a16976918f6564b8830bc894c89659", capability: "TEXT_TO_TEXT", gated: true, architecture: "llama", task: "chat", weightsGiB: 15, parameters: 8030261248 },
  bge: { key: "bge-large-en-v1-5", repo: "BAAI/bge-large-en-v1.5", revision: "d4aa6901d3a41ba39fb536a557fa166f842b0e09", capability: "EMBEDDING", gated: false, architecture: "bert", task: "embedding", weightsGiB: 0.6, parameters: 335141888 },
  reranker: { key: "bge-reranker-v2-m3", repo: "BAAI/bge-reranker-v2-m3", revision: "953dc6f6f85a1b2dbfca4c34a2796e7dde08d41e", capability: "RERANK", gated: false, architecture: "xlm-roberta", task: "rerank", weightsGiB: 1.1, parameters: 567755777 },
  qwenVl: { key: "qwen2-vl-7b", repo: "Qwen/Qwen2-VL-7B-Instruct", revision: "eed13092ef92e448dd6875b2a00151bd3f7db0ac", capability: "IMAGE_TEXT_TO_TEXT", gated: false, architecture: "qwen2_vl", task: "vision-chat", weightsGiB: 15.4, parameters: 8291375616 },
  mistral: { key: "mistral-7b-v0-3", repo: "mistralai/Mistral-7B-Instruct-v0.3", revision: "c170c708c41dac9275d15a8fff4eca08d52bab71", capability: "TEXT_TO_TEXT", gated: true, architecture: "mistral", task: "chat", weightsGiB: 13.5, parameters: 7248023552 },
  qwen72b: { key: "qwen2-5-72b", repo: "Qwen/Qwen2.5-72B-Instruct", revision: "495f39366efef23836d0cfae4fbe635880d2be31", capability: "TEXT_TO_TEXT", gated: false, architecture: "qwen2", task: "chat", weightsGiB: 135.4, parameters: 72706203648 },
  mixtral: { key: "mixtral-8x7b", repo: "mistralai/Mixtral-8x7B-Instruct-v0.1", revision: "a60832cb6c88d5cb6e507680d0e9996fbad77050", capability: "TEXT_TO_TEXT", gated: true, architecture: "mixtral", task: "chat", weightsGiB: 87, parameters: 46702792704 },
  llama70b: { key: "llama-3-1-70b", repo: "meta-llama/Llama-3.1-70B-Instruct", revision: "1605565b47bb9346c5515c34102e054115b4f98b", capability: "TEXT_TO_TEXT", gated: true, architecture: "llama", task: "chat", weightsGiB: 131.4, parameters: 70553706496 },
  qwen14bAwq: { key: "qwen2-5-14b-awq", repo: "Qwen/Qwen2.5-14B-Instruct-AWQ", revision: "539535859b135b0244c91f3e59816150c8056698", capability: "TEXT_TO_TEXT", gated: false, architecture: "qwen2", task: "chat", weightsGiB: 9.3, parameters: 14770033664 },
  gemma9b: { key: "gemma-2-9b", repo: "google/gemma-2-9b-it", revision: "11c9b309abf73637e4b6f9a3fa1e92e615547819", capability: "TEXT_TO_TEXT", gated: true, architecture: "gemma2", task: "chat", weightsGiB: 17.2, parameters: 9241705984 },
};

export interface EndpointTemplate {
  readonly model: keyof typeof MODELS;
  readonly maxModelLen: number;
  readonly minConcurrency?: number;
  /** Declared shape (the library still sizes it); absent = the planner chooses. */
  readonly shape?: string;
  readonly capacityType: "ON_DEMAND" | "SPOT";
  readonly replicas: number;
  /** What the plan is expected to say; the baseline renders exactly this. */
  readonly expect: {
    readonly shape: string;
    readonly instanceType: string;
    readonly gpus: number;
    readonly tensorParallel: number;
    readonly pipelineParallel: number;
    /** Replica requests on that instance (85% of its share of the node). */
    readonly cpu: number;
    readonly memoryGiB: number;
    readonly shmGiB: number;
    /** vLLM flags the plan decides: --dtype, --max-num-seqs, --max-num-batched-tokens. */
    readonly dtype: string;
    readonly maxNumSeqs: number;
    readonly maxNumBatchedTokens: number;
  };
}

export const TEMPLATES: readonly EndpointTemplate[] = [
  { model: "llama8b", maxModelLen: 8192, capacityType: "ON_DEMAND", replicas: 2, expect: { shape: "L4_X1", instanceType: "g6.xlarge", gpus: 1, tensorParallel: 1, pipelineParallel: 1, cpu: 3, memoryGiB: 13, shmGiB: 2, dtype: "bfloat16", maxNumSeqs: 256, maxNumBatchedTokens: 2048 } },
  { model: "llama8b", maxModelLen: 8192, minConcurrency: 8, capacityType: "ON_DEMAND", replicas: 1, expect: { shape: "L40S_X1", instanceType: "g6e.xlarge", gpus: 1, tensorParallel: 1, pipelineParallel: 1, cpu: 3, memoryGiB: 27, shmGiB: 2, dtype: "bfloat16", maxNumSeqs: 256, maxNumBatchedTokens: 2048 } },
  { model: "bge", maxModelLen: 512, capacityType: "ON_DEMAND", replicas: 1, expect: { shape: "T4_X1", instanceType: "g4dn.xlarge", gpus: 1, tensorParallel: 1, pipelineParallel: 1, cpu: 3, memoryGiB: 13, shmGiB: 2, dtype: "float32", maxNumSeqs: 256, maxNumBatchedTokens: 2048 } },
  { model: "reranker", maxModelLen: 8192, capacityType: "ON_DEMAND", replicas: 1, expect: { shape: "T4_X1", instanceType: "g4dn.xlarge", gpus: 1, tensorParallel: 1, pipelineParallel: 1, cpu: 3, memoryGiB: 13, shmGiB: 2, dtype: "float32", maxNumSeqs: 256, maxNumBatchedTokens: 2048 } },
  { model: "qwenVl", maxModelLen: 16384, minConcurrency: 2, capacityType: "ON_DEMAND", replicas: 1, expect: { shape: "L4_X1", instanceType: "g6.xlarge", gpus: 1, tensorParallel: 1, pipelineParallel: 1, cpu: 3, memoryGiB: 13, shmGiB: 2, dtype: "bfloat16", maxNumSeqs: 256, maxNumBatchedTokens: 2048 } },
  { model: "mistral", maxModelLen: 8192, capacityType: "SPOT", replicas: 2, expect: { shape: "L4_X1", instanceType: "g6.xlarge", gpus: 1, tensorParallel: 1, pipelineParallel: 1, cpu: 3, memoryGiB: 13, shmGiB: 2, dtype: "bfloat16", maxNumSeqs: 256, maxNumBatchedTokens: 2048 } },
  { model: "qwen72b", maxModelLen: 8192, capacityType: "ON_DEMAND", replicas: 1, expect: { shape: "L40S_X4", instanceType: "g6e.12xlarge", gpus: 4, tensorParallel: 4, pipelineParallel: 1, cpu: 40, memoryGiB: 326, shmGiB: 8, dtype: "bfloat16", maxNumSeqs: 256, maxNumBatchedTokens: 2048 } },
  { model: "mixtral", maxModelLen: 8192, capacityType: "ON_DEMAND", replicas: 4, expect: { shape: "A100_80G_X2", instanceType: "p4de.24xlarge", gpus: 2, tensorParallel: 2, pipelineParallel: 1, cpu: 20, memoryGiB: 244, shmGiB: 4, dtype: "bfloat16", maxNumSeqs: 256, maxNumBatchedTokens: 2048 } },
  { model: "llama70b", maxModelLen: 8192, shape: "H100_X4", capacityType: "ON_DEMAND", replicas: 1, expect: { shape: "H100_X4", instanceType: "p5.48xlarge", gpus: 4, tensorParallel: 4, pipelineParallel: 1, cpu: 81, memoryGiB: 870, shmGiB: 8, dtype: "bfloat16", maxNumSeqs: 1024, maxNumBatchedTokens: 8192 } },
  { model: "qwen14bAwq", maxModelLen: 8192, shape: "A10_X1", capacityType: "ON_DEMAND", replicas: 2, expect: { shape: "A10_X1", instanceType: "g5.xlarge", gpus: 1, tensorParallel: 1, pipelineParallel: 1, cpu: 3, memoryGiB: 13, shmGiB: 2, dtype: "float16", maxNumSeqs: 256, maxNumBatchedTokens: 2048 } },
  { model: "gemma9b", maxModelLen: 8192, minConcurrency: 4, capacityType: "ON_DEMAND", replicas: 1, expect: { shape: "L40S_X1", instanceType: "g6e.xlarge", gpus: 1, tensorParallel: 1, pipelineParallel: 1, cpu: 3, memoryGiB: 27, shmGiB: 2, dtype: "bfloat16", maxNumSeqs: 256, maxNumBatchedTokens: 2048 } },
  { model: "qwenVl", maxModelLen: 32768, minConcurrency: 4, capacityType: "SPOT", replicas: 1, expect: { shape: "L40S_X1", instanceType: "g6e.xlarge", gpus: 1, tensorParallel: 1, pipelineParallel: 1, cpu: 3, memoryGiB: 27, shmGiB: 2, dtype: "bfloat16", maxNumSeqs: 256, maxNumBatchedTokens: 2048 } },
  { model: "llama8b", maxModelLen: 4096, shape: "H100_X1", capacityType: "ON_DEMAND", replicas: 1, expect: { shape: "H100_X1", instanceType: "p5.4xlarge", gpus: 1, tensorParallel: 1, pipelineParallel: 1, cpu: 13, memoryGiB: 217, shmGiB: 2, dtype: "bfloat16", maxNumSeqs: 1024, maxNumBatchedTokens: 8192 } },
];

export interface FleetEndpoint {
  readonly name: string;
  readonly template: EndpointTemplate;
}

export function fleet(size: number): FleetEndpoint[] {
  return Array.from({ length: size }, (_, i) => ({ name: `ep-${String(i).padStart(4, "0")}`, template: TEMPLATES[i % TEMPLATES.length] }));
}

/** Models a fleet uses, in first-use order (each is imported and staged once). */
export function modelsOf(endpoints: readonly FleetEndpoint[]): CatalogModelRef[] {
  const seen = new Map<string, CatalogModelRef>();
  for (const e of endpoints) seen.set(e.template.model, MODELS[e.template.model]);
  return [...seen.values()];
}

/** Huge quotas and no budget: the fleet must synthesize without validation errors. */
export const QUOTAS: Readonly<Record<string, number>> = { "L-DB2E81BA": 10_000_000, "L-3819A6DF": 10_000_000, "L-417A185B": 10_000_000, "L-7212CCBC": 10_000_000, "L-C4BD4855": 10_000_000 };
export const CLUSTER_NAME = "bench-fleet";
/** Where `cdktf deploy` reaches the new cluster's API from (a new cluster must say). */
export const DEPLOYER_CIDRS: readonly string[] = ["203.0.113.0/24"];
/** The Hub token of the gated models, a Secrets Manager secret (synced into the namespace by External Secrets). */
export const HF_TOKEN_SECRET_ARN = "arn:aws:secretsmanager:us-east-1:111122223333:secret:hf-token";
export const STACK_ID = "fleet";
