/**
 * Weights per GPU as vLLM lays them out: "Model loading took" figures from real start-up logs,
 * KV-head replication, pipeline stages split like vLLM's get_pp_indices, and PyTorch's caching
 * allocator rounding.
 */
import { GiB, MiB } from "../planner/findings";
import { profileFromConfig, type Dtype } from "../planner/model-profile";
import { kvBytesPerTokenPerGpu } from "../planner/sizing";
import { allocatedBytes, estimateWeights, layersPerStage, parameterCount } from "../planner/weights";
import { benchConfig, catalogProfile, label, logPoints } from "./fixtures/models";

describe('"Model loading took" figures of real vLLM logs', () => {
  const points = logPoints().filter((p) => p.model_weights_gib !== null);

  it("has logged weight figures to check against", () => {
    expect(points.length).toBeGreaterThanOrEqual(5);
  });

  it.each(points.map((p) => [label(p), p] as const))("predicts the logged weights GiB per GPU (0.01 GiB, 5 % for packed formats): %s", (_name, p) => {
    const profile = profileFromConfig(benchConfig(p.config), p.model);
    // vLLM's --dtype auto serves a bf16/fp16 checkpoint in its own dtype; the logs that name a dtype used it.
    const dtype = (p.dtype ?? profile.dtype) as Dtype;
    const w = estimateWeights(profile, { tp: p.tensor_parallel_size ?? 1, pp: p.pipeline_parallel_size ?? 1, dtype, ...(profile.quantization ? { quantization: profile.quantization } : {}) });
    // Unquantized checkpoints to 0.01 GiB; packed formats (fp8 block scales, NVFP4 with FP8 linear attention) to 5 %:
    // vLLM re-lays some scales and pads some dims on load, which is not modelled.
    const tolerance = profile.quantization ? 0.05 * p.model_weights_gib! : 0.01;
    expect(Math.abs(w.bytesPerGpu / GiB - p.model_weights_gib!)).toBeLessThanOrEqual(tolerance);
  });

  it("predicts the published fp8 and TP2 figures of sizing-facts within 0.01 GiB", () => {
    // vLLM v0.19 on H100: Llama-3.1-8B with --quantization fp8 loads 8.49 GiB; Qwen2.5-72B in bf16 at TP2 67.80 GiB per GPU.
    const fp8 = { method: "fp8", weightBits: 8, groupSize: 0, origin: "online" } as const;
    const l8 = estimateWeights(catalogProfile("meta-llama/Llama-3.1-8B-Instruct"), { tp: 1, pp: 1, dtype: "bfloat16", quantization: fp8 });
    expect(Math.abs(l8.bytesPerGpu / GiB - 8.49)).toBeLessThanOrEqual(0.01);
    const q72 = estimateWeights(catalogProfile("Qwen/Qwen2.5-72B-Instruct"), { tp: 2, pp: 1, dtype: "bfloat16" });
    expect(Math.abs(q72.bytesPerGpu / GiB - 67.8)).toBeLessThanOrEqual(0.01);
  });
});

describe("weights scale with dtype, tensor and pipeline parallelism", () => {
  const p = catalogProfile("meta-llama/Llama-3.1-8B-Instruct");

  it("needs about twice the bf16 bytes in float32", () => {
    const bf16 = estimateWeights(p, { tp: 1, pp: 1, dtype: "bfloat16" }).bytesPerGpu;
    const fp32 = estimateWeights(p, { tp: 1, pp: 1, dtype: "float32" }).bytesPerGpu;
    expect(fp32 / bf16).toBeGreaterThan(1.99);
    expect(fp32 / bf16).toBeLessThan(2.01);
  });

  it("holds at least parameters × 2 bytes in bf16 on one GPU, and less than 1 % more", () => {
    const w = estimateWeights(p, { tp: 1, pp: 1, dtype: "bfloat16" });
    expect(w.parameters).toBe(8_030_261_248);
    expect(w.bytesPerGpu).toBeGreaterThanOrEqual(2 * 8_030_261_248);
    expect(w.bytesPerGpu).toBeLessThan(2 * 8_030_261_248 * 1.01);
  });

  it("puts about a quarter of the model on each GPU at TP 4", () => {
    const one = estimateWeights(p, { tp: 1, pp: 1, dtype: "bfloat16" }).bytesPerGpu;
    const four = estimateWeights(p, { tp: 4, pp: 1, dtype: "bfloat16" }).bytesPerGpu;
    expect(four / one).toBeGreaterThan(0.24);
    expect(four / one).toBeLessThan(0.27);
  });

  it("reports one entry per pipeline stage and the fullest as the per-GPU figure", () => {
    const w = estimateWeights(p, { tp: 1, pp: 4, dtype: "bfloat16" });
    expect(w.bytesPerStage).toHaveLength(4);
    expect(w.bytesPerGpu).toBe(Math.max(...w.bytesPerStage));
  });

  it("keeps a copy of Llama-3.2-1B's tied embedding on the last pipeline stage, where vLLM ties lm_head to it", () => {
    // vLLM builds embed_tokens on the first rank and, when tie_word_embeddings is set, on the last rank too
    // (`if get_pp_group().is_first_rank or (config.tie_word_embeddings and get_pp_group().is_last_rank)`).
    const tied = catalogProfile("meta-llama/Llama-3.2-1B-Instruct");
    expect(tied.tiedEmbeddings).toBe(true);
    const [first, last] = estimateWeights(tied, { tp: 1, pp: 2, dtype: "bfloat16" }).bytesPerStage;
    const embedding = 128_256 * 2048 * 2; // 0.49 GiB
    // Both stages hold 8 layers and one vocabulary matrix; they differ only by a norm.
    expect(Math.abs(last - first)).toBeLessThan(embedding / 100);
  });

  it("packs a 4-bit AWQ checkpoint to half a byte per Linear weight, keeping embeddings and lm_head in float16", () => {
    const awq = catalogProfile("Qwen/Qwen2.5-14B-Instruct-AWQ");
    const packed = estimateWeights(awq, { tp: 1, pp: 1, dtype: "float16", quantization: awq.quantization! }).bytesPerGpu;
    const embeddings = 2 * awq.vocabSize * awq.hiddenSize; // embed_tokens + untied lm_head
    const linear = parameterCount(awq) - embeddings; // (norms and biases, < 0.1 %, counted as Linear here)
    const floor = embeddings * 2 + linear * 0.5;
    // Group-128 scales (fp16) and packed zero points add (2 + 0.5) / 128 bytes per weight, about 2 %.
    expect(packed).toBeGreaterThanOrEqual(floor);
    expect(packed).toBeLessThan(floor + linear * (2.5 / 128) * 1.5);
  });
});

describe("KV heads are replicated, never split, when TP exceeds them", () => {
  it("keeps 1 of Qwen2.5-7B's 4 KV heads per GPU at TP 8", () => {
    const p = catalogProfile("Qwen/Qwen2.5-7B-Instruct");
    expect(p.numKvHeads).toBe(4);
    // bytes per token per GPU = 2 (K and V) × 28 layers × 1 head × 128 dims × 2 bytes
    expect(kvBytesPerTokenPerGpu(p, 8, p.numLayers, 2)).toBe(2 * 28 * 1 * 128 * 2);
    expect(kvBytesPerTokenPerGpu(p, 4, p.numLayers, 2)).toBe(2 * 28 * 1 * 128 * 2);
    expect(kvBytesPerTokenPerGpu(p, 2, p.numLayers, 2)).toBe(2 * 28 * 2 * 128 * 2);
  });

  it("gives each GPU the same K/V projection rows at TP 16 with 8 KV heads as a 16-KV-head model would (one head per GPU)", () => {
    const p = catalogProfile("meta-llama/Llama-3.1-70B-Instruct");
    const replicated = estimateWeights(p, { tp: 16, pp: 1, dtype: "bfloat16" }).bytesPerGpu;
    const oneEach = estimateWeights({ ...p, numKvHeads: 16 }, { tp: 16, pp: 1, dtype: "bfloat16" }).bytesPerGpu;
    const split = estimateWeights({ ...p, numKvHeads: 8 }, { tp: 8, pp: 1, dtype: "bfloat16" }).bytesPerGpu;
    expect(replicated).toBe(oneEach);
    expect(replicated).toBeLessThan(split);
  });
});

/** vLLM's get_pp_indices (vllm/distributed/utils.py), ported: the partition sizes for each rank. */
function vllmPartitions(numLayers: number, ppSize: number): number[] {
  const perPartition = Math.floor(numLayers / ppSize);
  const partitions = Array.from({ length: ppSize }, () => perPartition);
  const remaining = numLayers % ppSize;
  // for i in range(2, remaining_layers + 2): partitions[-i] += 1
  for (let i = 2; i < remaining + 2; i++) partitions[partitions.length - i] += 1;
  return partitions;
}

describe("layersPerStage follows vLLM's get_pp_indices", () => {
  it("splits Llama-3.1-405B's 126 layers over 4 stages as 31, 32, 32, 31 (extra layers before the last stage)", () => {
    expect(layersPerStage(126, 4)).toEqual([31, 32, 32, 31]);
  });

  it("splits 32 layers over 3 stages as 11, 11, 10", () => {
    expect(layersPerStage(32, 3)).toEqual([11, 11, 10]);
  });

  it("splits DeepSeek-V2-Lite's 27 layers over 2 stages as 14, 13", () => {
    expect(layersPerStage(27, 2)).toEqual([14, 13]);
  });

  it("splits evenly when the stages divide the layers", () => {
    expect(layersPerStage(80, 8)).toEqual(Array(8).fill(10));
    expect(layersPerStage(126, 1)).toEqual([126]);
  });

  it("matches the ported vLLM function and keeps every layer for all splits up to 130 layers and 16 stages", () => {
    for (let n = 1; n <= 130; n++) {
      for (let pp = 1; pp <= Math.min(16, n); pp++) {
        const parts = layersPerStage(n, pp);
        expect(parts).toEqual(vllmPartitions(n, pp));
        expect(parts.reduce((a, b) => a + b, 0)).toBe(n);
        expect(parts[pp - 1]).toBe(Math.floor(n / pp)); // the last stage (it also holds the sampler) gets no extra layer
      }
    }
  });
});

describe("allocatedBytes follows PyTorch's CUDA caching allocator", () => {
  // c10/cuda/CUDACachingAllocator.cpp: sizes round up to 512 B (kMinBlockSize); requests under 10 MiB
  // (kMinLargeAlloc) are carved from shared 2 MiB / 20 MiB segments; larger ones get a segment rounded to
  // 2 MiB (kRoundLarge), and the tail is split off only when more than 1 MiB (kSmallSize) would remain.
  it("rounds tiny tensors up to 512 bytes", () => {
    expect(allocatedBytes(1)).toBe(512);
    expect(allocatedBytes(512)).toBe(512);
    expect(allocatedBytes(513)).toBe(1024);
  });

  it("rounds a 5 MiB + 1 byte tensor only to 512 bytes (it shares a 20 MiB segment)", () => {
    expect(allocatedBytes(5 * MiB + 1)).toBe(5 * MiB + 512);
  });

  it("uses exactly 10 MiB for a 10 MiB tensor (its segment has no tail)", () => {
    expect(allocatedBytes(10 * MiB)).toBe(10 * MiB);
  });

  it("splits off a tail of more than 1 MiB: 10 MiB + 512 B keeps its rounded size", () => {
    // segment 12 MiB, tail 2 MiB − 512 B > 1 MiB: split
    expect(allocatedBytes(10 * MiB + 512)).toBe(10 * MiB + 512);
  });

  it("keeps a tail of exactly 1 MiB inside the block: 11 MiB counts as 12 MiB", () => {
    expect(allocatedBytes(11 * MiB)).toBe(12 * MiB);
  });

  it("keeps a tail under 1 MiB: 11 MiB + 512 B counts as 12 MiB", () => {
    expect(allocatedBytes(11 * MiB + 512)).toBe(12 * MiB);
  });

  it("never counts less than the tensor, and at most 1 MiB more above 10 MiB", () => {
    for (const size of [10 * MiB + 1, 37 * MiB + 12345, 1000 * MiB + 3, 4 * GiB - 7]) {
      const a = allocatedBytes(size);
      expect(a).toBeGreaterThanOrEqual(size);
      expect(a - size).toBeLessThanOrEqual(MiB + 511);
      expect(a % 512).toBe(0);
    }
  });
});

describe("parameter count", () => {
  it("does not depend on tensor or pipeline parallelism", () => {
    const p = catalogProfile("mistralai/Mixtral-8x7B-Instruct-v0.1");
    expect(estimateWeights(p, { tp: 2, pp: 1, dtype: "bfloat16" }).parameters).toBe(parameterCount(p));
    expect(estimateWeights(p, { tp: 1, pp: 4, dtype: "bfloat16" }).parameters).toBe(parameterCount(p));
  });
});
