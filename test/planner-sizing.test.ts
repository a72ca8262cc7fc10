/**
 * Memory fit as vLLM budgets it: real start-up logs reproduced, fp8 KV cache, every coded error with
 * its message form, encoder-only, MLA and sliding-window models.
 */
import { findGpu } from "../catalog";
import { VLLM_RELEASE } from "../catalog/vllm";
import { engineFor } from "../planner/engine";
import { GiB } from "../planner/findings";
import { type ModelProfile } from "../planner/model-profile";
import { BLOCK_SIZE, kvBytesPerTokenPerGpu, perRequestKvTokens, size, type GpuFacts, type SizingInput } from "../planner/sizing";
import { gpuOf, logPoints, replay } from "../bench/replay";
import { catalogProfile, label } from "./fixtures/models";

const engine = engineFor(VLLM_RELEASE.version);
const gpu = (id: string): GpuFacts => {
  const g = findGpu(id);
  if (!g) throw new Error(`no GPU ${id}`);
  return g;
};
const LLAMA_8B = catalogProfile("meta-llama/Llama-3.1-8B-Instruct");
const LLAMA_70B = catalogProfile("meta-llama/Llama-3.1-70B-Instruct");

function run(over: Partial<SizingInput> & { profile: ModelProfile; gpu: GpuFacts }) {
  return size({ engine, tensorParallel: 1, maxModelLen: 8192, path: "stack/endpoint", ...over });
}
const codes = (r: { errors: readonly { code: string }[] }) => r.errors.map((e) => e.code);
/** A real profile with the quantization of another checkpoint format (same layers, packed differently). */
const profileWith = (p: ModelProfile, quantization: NonNullable<ModelProfile["quantization"]>): ModelProfile => ({ ...p, quantization });
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** `[CODE] path: problem. why. Fix: action.` */
const messageForm = (code: string, path: string) => new RegExp(`^\\[${code}\\] ${escape(path)}: \\S.*\\. \\S.*\\. Fix: \\S.*\\.$`, "s");

describe("reproduces the KV-cache tokens of real vLLM start-up logs", () => {
  // On an integrated GPU (DGX Spark) vLLM charges the host's RAM use to the budget, so only the layout is predictable there.
  const points = logPoints().filter((p) => !gpuOf(p).unifiedMemory);

  it.each(points.map((p) => [label(p), p] as const))("within 3 % (dense) or 5 % (MoE, quantized, hybrid): %s", (_name, p) => {
    const { profile, result: r, logged, input } = replay(p);
    expect(input.engine.engine).toBe(p.engine);
    const dense = !profile.moe && !profile.quantization && profile.slidingWindowLayers === 0 && !profile.linearAttention;
    expect(Math.abs(r.kvCacheTokens - logged!) / logged!).toBeLessThanOrEqual(dense ? 0.03 : 0.05);
    // A start that vLLM refused is refused here too, and one that started fits.
    expect(r.fits).toBe(!p.outcome.startsWith("failed"));
  });

  it.each(logPoints().filter((p) => p.available_kv_cache_gib !== null && (p.pipeline_parallel_size ?? 1) === 1).map((p) => [label(p), p] as const))(
    "lays the KV pool the log printed out into the tokens it printed, within 0.2 %: %s",
    (_name, p) => {
      const { fromLoggedPool, logged } = replay(p);
      // The printed pool is rounded to 0.01 GiB; the token count follows from it by whole blocks.
      expect(Math.abs(fromLoggedPool! - logged!) / logged!).toBeLessThanOrEqual(0.002);
    },
  );

  it("warns that a unified-memory GPU's KV pool moves with host memory use", () => {
    const spark = logPoints().find((p) => gpuOf(p).unifiedMemory)!;
    expect(replay(spark).result.warnings.map((w) => w.code)).toContain("KV_BUDGET_SHARED_WITH_HOST");
  });
});

describe("KV cache arithmetic", () => {
  it("fits about twice as many tokens with an fp8 KV cache (the v0.19 H100 logs: 476,000 → 952,032)", () => {
    const auto = run({ profile: LLAMA_8B, gpu: gpu("H100") });
    const fp8 = run({ profile: LLAMA_8B, gpu: gpu("H100"), kvCacheDtype: "fp8" });
    expect(fp8.kvBytesPerToken * 2).toBe(auto.kvBytesPerToken);
    expect(fp8.kvCacheTokens).toBeGreaterThanOrEqual(2 * auto.kvCacheTokens);
    expect(fp8.kvCacheTokens).toBeLessThanOrEqual(2 * auto.kvCacheTokens + BLOCK_SIZE);
  });

  it("charges Llama-3.1-8B 128 KiB of bf16 KV per token (2 × 32 layers × 8 heads × 128 dims × 2 B)", () => {
    expect(run({ profile: LLAMA_8B, gpu: gpu("H100") }).kvBytesPerToken).toBe(2 * 32 * 8 * 128 * 2);
  });

  it("splits KV heads across TP ranks: half the bytes per token per GPU at TP 2", () => {
    const tp2 = run({ profile: LLAMA_8B, gpu: gpu("H100"), tensorParallel: 2 });
    expect(tp2.kvBytesPerToken).toBe((2 * 32 * 8 * 128 * 2) / 2);
  });

  it("rounds KV tokens down to whole 16-token blocks and derives concurrency from them", () => {
    const r = run({ profile: LLAMA_8B, gpu: gpu("A10G") });
    expect(r.kvCacheTokens % BLOCK_SIZE).toBe(0);
    expect(r.kvCacheTokens).toBeGreaterThan(0);
    expect(r.maxConcurrency).toBeCloseTo(r.kvCacheTokens / 8192, 2);
    // the tokens fill no more than the KV budget it reports
    expect(r.kvCacheTokens * r.kvBytesPerToken).toBeLessThanOrEqual(r.kvCacheGiB * GiB + 0.005 * GiB);
  });

  it("requests CUDA-visible memory × gpu_memory_utilization, with the pinned release's default", () => {
    const r = run({ profile: LLAMA_8B, gpu: gpu("L40S") });
    expect(r.gpuMemoryUtilization).toBe(engine.gpuMemoryUtilization);
    expect(r.requestedGiB).toBeCloseTo(44.31 * engine.gpuMemoryUtilization, 2);
  });

  it("gives more KV tokens for more utilisation, and the extra memory is all KV", () => {
    const lo = run({ profile: LLAMA_8B, gpu: gpu("L40S"), gpuMemoryUtilization: 0.8 });
    const hi = run({ profile: LLAMA_8B, gpu: gpu("L40S"), gpuMemoryUtilization: 0.9 });
    expect(hi.kvCacheGiB - lo.kvCacheGiB).toBeCloseTo(44.31 * 0.1, 1);
    expect(hi.kvCacheTokens).toBeGreaterThan(lo.kvCacheTokens);
  });

  it("gives an encoder-only embedding model no KV cache, and it still fits", () => {
    const r = run({ profile: catalogProfile("BAAI/bge-large-en-v1.5"), gpu: gpu("A10G"), maxModelLen: 512 });
    expect(r.kvCacheTokens).toBe(0);
    expect(r.kvBytesPerToken).toBe(0);
    expect(r.fits).toBe(true);
  });

  it("gives an encoder-only reranker no KV cache per token at any TP", () => {
    const p = catalogProfile("BAAI/bge-reranker-v2-m3");
    expect(kvBytesPerTokenPerGpu(p, 1, p.numLayers, 2)).toBe(0);
    expect(perRequestKvTokens(p, 8192, 2048)).toBe(0);
  });

  it("does not divide DeepSeek-V2-Lite's MLA latent KV by TP: 27 layers × (512 + 64) × 2 B = 31,104 B per token at TP 1 and TP 2", () => {
    // Public log: 43.61 GiB of KV cache held 1,505,552 tokens, i.e. 31,104 bytes per token.
    const p = catalogProfile("deepseek-ai/DeepSeek-V2-Lite");
    const tp1 = run({ profile: p, gpu: gpu("H100") });
    const tp2 = run({ profile: p, gpu: gpu("H100"), tensorParallel: 2 });
    expect(tp1.kvBytesPerToken).toBe(31_104);
    expect(tp2.kvBytesPerToken).toBe(31_104);
    expect(Math.abs((43.61 * GiB) / 31_104 - 1_505_552) / 1_505_552).toBeLessThan(0.001);
  });

  it("gives gemma-2-9b's 21 sliding-window layers their own KV group from v0.9.1: a request holds 512 full + 385 window blocks of one 21-layer pool, 1024/897 × the requests of v0.8", () => {
    const p = catalogProfile("google/gemma-2-9b-it");
    const pool = { kvCacheMemoryBytes: 10 * GiB, maxModelLen: 8192 };
    const hybrid = run({ profile: p, gpu: gpu("L40S"), ...pool });
    const unified = run({ profile: p, gpu: gpu("L40S"), ...pool, engine: engineFor("0.8.5") });
    // 16-token pages of 8 KV heads × 256 dims × 2 B, K and V, in 21 layers per block (v0.24) or all 42 (v0.8).
    const page = 16 * 2 * 8 * 256 * 2;
    expect(hybrid.kvCacheBlocks).toBe(Math.floor(Math.floor((10 * GiB) / page) / 21));
    expect(unified.kvCacheBlocks).toBe(Math.floor(Math.floor((10 * GiB) / page) / 42));
    // window blocks: cdiv(min(4095 + 2048 batched tokens, 8192), 16) + 1 = 385 (L40S batch default).
    expect(hybrid.maxConcurrency).toBeCloseTo(hybrid.kvCacheBlocks / (512 + 385), 2);
    expect(unified.maxConcurrency).toBeCloseTo(unified.kvCacheBlocks / 512, 2);
    expect(hybrid.maxConcurrency / unified.maxConcurrency).toBeCloseTo(1024 / 897, 2);
  });

  it("caps a sliding-window layer at the window plus one scheduling chunk, and never above maxModelLen", () => {
    const phi3 = catalogProfile("microsoft/Phi-3-mini-4k-instruct"); // every layer on a 2047-token window
    // vLLM: cdiv(min(window − 1 + max_num_batched_tokens, max_model_len), block) + 1 blocks
    expect(perRequestKvTokens(phi3, 4096, 512)).toBe((Math.ceil((2047 - 1 + 512) / 16) + 1) * 16);
    expect(perRequestKvTokens(phi3, 1024, 512)).toBe(1024);
    expect(perRequestKvTokens(LLAMA_8B, 4096, 512)).toBe(4096);
  });
});

describe("coded errors, each as `[CODE] path: problem. why. Fix: action.`", () => {
  it("refuses Llama-3.1-70B in bf16 on 4 × A10G as MODEL_DOES_NOT_FIT: the weights alone exceed the GPUs", () => {
    // 70.55 B parameters × 2 B ÷ 4 GPUs = 32.9 GiB per GPU, more than an A10G's 22 GiB.
    const r = run({ profile: LLAMA_70B, gpu: gpu("A10G"), tensorParallel: 4, dtype: "bfloat16" });
    expect(r.fits).toBe(false);
    expect(codes(r)).toEqual(["MODEL_DOES_NOT_FIT"]);
    expect(r.weightsGiB).toBeGreaterThan((70_553_706_496 * 2) / 4 / GiB - 0.01);
    expect(r.errors[0].message).toMatch(messageForm("MODEL_DOES_NOT_FIT", "stack/endpoint"));
    expect(r.errors[0].message).toContain("No available memory for the cache blocks");
  });

  it("refuses Llama-3.1-8B at 131,072 tokens on one A10G as MODEL_DOES_NOT_FIT on maxModelLen, naming a length that fits", () => {
    // One request needs 131,072 × 128 KiB = 16 GiB of KV; an A10G has 22 GiB and the weights take 15.
    const r = run({ profile: LLAMA_8B, gpu: gpu("A10G"), maxModelLen: 131_072 });
    expect(codes(r)).toEqual(["MODEL_DOES_NOT_FIT"]);
    expect(r.errors[0].field).toBe("maxModelLen");
    expect(r.errors[0].message).toMatch(messageForm("MODEL_DOES_NOT_FIT", "stack/endpoint"));
    expect(r.errors[0].message).toContain("16 GiB");
    const suggested = Number(/lower maxModelLen to ≤ (\d+)/.exec(r.errors[0].message)?.[1]);
    expect(suggested).toBeGreaterThan(0);
    expect(run({ profile: LLAMA_8B, gpu: gpu("A10G"), maxModelLen: suggested }).fits).toBe(true);
  });

  it("refuses falcon-7b's 71 heads at TP 2 as TP_NOT_DIVISOR and lists TP 1 as valid", () => {
    const r = run({ profile: catalogProfile("tiiuae/falcon-7b"), gpu: gpu("A10G"), tensorParallel: 2, maxModelLen: 2048 });
    expect(codes(r)).toEqual(["TP_NOT_DIVISOR"]);
    expect(r.errors[0].message).toMatch(messageForm("TP_NOT_DIVISOR", "stack/endpoint"));
    expect(r.errors[0].message).toContain("Total number of attention heads (71) must be divisible by tensor parallel size (2)");
    expect(r.errors[0].message).toMatch(/Fix: use one of: 1\.$/);
  });

  it("refuses TP 3 for Llama-3.1-8B's 32 heads and offers 1, 2, 4, 8", () => {
    const r = run({ profile: LLAMA_8B, gpu: gpu("A10G"), tensorParallel: 3 });
    expect(codes(r)).toEqual(["TP_NOT_DIVISOR"]);
    expect(r.errors[0].message).toContain("1, 2, 4, 8");
  });

  it("refuses maxModelLen above max_position_embeddings as MAX_MODEL_LEN_EXCEEDS_MODEL (phi-2: 2048)", () => {
    const r = run({ profile: catalogProfile("microsoft/phi-2"), gpu: gpu("A10G"), maxModelLen: 8192 });
    expect(codes(r)).toEqual(["MAX_MODEL_LEN_EXCEEDS_MODEL"]);
    expect(r.errors[0].message).toMatch(messageForm("MAX_MODEL_LEN_EXCEEDS_MODEL", "stack/endpoint"));
    expect(r.errors[0].message).toContain("≤ 2048");
  });

  it("takes XLM-RoBERTa's two padding positions off its 8194 max positions (vLLM derives 8192)", () => {
    const p = catalogProfile("BAAI/bge-reranker-v2-m3");
    expect(codes(size({ profile: p, gpu: gpu("A10G"), engine, tensorParallel: 1, maxModelLen: 8193, path: "p" }))).toEqual(["MAX_MODEL_LEN_EXCEEDS_MODEL"]);
  });

  it.each([[0], [-5], [1.5], [Number.NaN]])("refuses maxModelLen %p as MAX_MODEL_LEN_INVALID", (len) => {
    const r = run({ profile: LLAMA_8B, gpu: gpu("A10G"), maxModelLen: len });
    expect(codes(r)).toContain("MAX_MODEL_LEN_INVALID");
    const f = r.errors.find((e) => e.code === "MAX_MODEL_LEN_INVALID")!;
    expect(f.message).toMatch(messageForm("MAX_MODEL_LEN_INVALID", "stack/endpoint"));
    expect(r.fits).toBe(false);
  });

  it.each([[0], [1.2], [-0.5]])("refuses gpuMemoryUtilization %p as GPU_MEM_UTIL_RANGE", (util) => {
    const r = run({ profile: LLAMA_8B, gpu: gpu("H100"), gpuMemoryUtilization: util });
    expect(codes(r)).toEqual(["GPU_MEM_UTIL_RANGE"]);
    expect(r.errors[0].message).toMatch(messageForm("GPU_MEM_UTIL_RANGE", "stack/endpoint"));
  });

  it("accepts gpuMemoryUtilization 1 (the upper bound is inclusive)", () => {
    expect(codes(run({ profile: LLAMA_8B, gpu: gpu("H100"), gpuMemoryUtilization: 1 }))).toEqual([]);
  });

  it("refuses bf16 on a T4 (compute capability 7.5) as DTYPE_UNSUPPORTED_ON_GPU with vLLM's wording", () => {
    const r = run({ profile: catalogProfile("meta-llama/Llama-3.2-1B-Instruct"), gpu: gpu("T4"), dtype: "bfloat16" });
    expect(codes(r)).toEqual(["DTYPE_UNSUPPORTED_ON_GPU"]);
    expect(r.errors[0].message).toMatch(messageForm("DTYPE_UNSUPPORTED_ON_GPU", "stack/endpoint"));
    expect(r.errors[0].message).toContain("Bfloat16 is only supported on GPUs with compute capability of at least 8.0. Your Tesla T4 GPU has compute capability 7.5");
  });

  it("serves a bf16 checkpoint on a T4 in float16 with a DTYPE_DOWNCAST warning when dtype is auto", () => {
    const r = run({ profile: catalogProfile("meta-llama/Llama-3.2-1B-Instruct"), gpu: gpu("T4") });
    expect(r.dtype).toBe("float16");
    expect(codes(r)).toEqual([]);
    expect(r.warnings.map((w) => [w.code, w.severity])).toEqual([["DTYPE_DOWNCAST", "warning"]]);
  });

  it("runs online fp8 on a T4 through Marlin weight-only kernels (v0.24 accepts compute capability 7.5) and says so as QUANT_EMULATED_ON_GPU", () => {
    const r = run({ profile: catalogProfile("meta-llama/Llama-3.2-1B-Instruct"), gpu: gpu("T4"), quantization: "fp8", dtype: "float16" });
    expect(codes(r)).toEqual([]);
    const w = r.warnings.find((x) => x.code === "QUANT_EMULATED_ON_GPU")!;
    expect(w.message).toMatch(messageForm("QUANT_EMULATED_ON_GPU", "stack/endpoint"));
    expect(w.message).toContain("Marlin");
    // The GPUs with native FP8 kernels are named: Ada and newer.
    expect(w.message).toMatch(/native kernels: .*L4.*H100/);
  });

  it("refuses a ModelOpt FP8 checkpoint on an A100 (ModelOptFp8Config needs 8.9, no Marlin fallback), naming the GPUs that run it", () => {
    const fp8 = profileWith(catalogProfile("meta-llama/Llama-3.1-8B-Instruct"), { method: "modelopt-fp8", weightBits: 8, groupSize: 0, origin: "checkpoint" });
    const r = run({ profile: fp8, gpu: gpu("A100-80G") });
    expect(codes(r)).toEqual(["QUANT_UNSUPPORTED_ON_GPU"]);
    expect(r.errors[0].message).toMatch(messageForm("QUANT_UNSUPPORTED_ON_GPU", "stack/endpoint"));
    expect(r.errors[0].message).toMatch(/natively: .*L40S.*H100/);
    expect(r.errors[0].message).not.toMatch(/natively: [^;]*A100/);
  });

  it("refuses online fp8 on a checkpoint that is already quantized as QUANTIZATION_CONFLICT", () => {
    const r = run({ profile: catalogProfile("Qwen/Qwen2.5-14B-Instruct-AWQ"), gpu: gpu("L40S"), quantization: "fp8" });
    expect(codes(r)).toEqual(["QUANTIZATION_CONFLICT"]);
  });

  it("refuses an fp8 KV cache on a T4 as KV_CACHE_DTYPE_UNSUPPORTED_ON_GPU", () => {
    const r = run({ profile: catalogProfile("meta-llama/Llama-3.2-1B-Instruct"), gpu: gpu("T4"), dtype: "float16", kvCacheDtype: "fp8" });
    expect(codes(r)).toEqual(["KV_CACHE_DTYPE_UNSUPPORTED_ON_GPU"]);
    expect(r.errors[0].message).toMatch(messageForm("KV_CACHE_DTYPE_UNSUPPORTED_ON_GPU", "stack/endpoint"));
  });

  it("refuses TP 8 on a 4-GPU node as TP_EXCEEDS_NODE_GPUS", () => {
    const r = run({ profile: LLAMA_70B, gpu: gpu("A10G"), tensorParallel: 8, gpusPerNode: 4 });
    expect(codes(r)).toContain("TP_EXCEEDS_NODE_GPUS");
    const f = r.errors.find((e) => e.code === "TP_EXCEEDS_NODE_GPUS")!;
    expect(f.message).toMatch(messageForm("TP_EXCEEDS_NODE_GPUS", "stack/endpoint"));
    expect(f.message).toContain("tensorParallel ≤ 4");
  });

  it.each([[0], [33], [1.5]])("refuses pipeline parallel size %p for a 32-layer model as PP_INVALID", (pp) => {
    const r = run({ profile: LLAMA_8B, gpu: gpu("H100"), pipelineParallel: pp });
    expect(codes(r)).toEqual(["PP_INVALID"]);
    expect(r.errors[0].message).toMatch(messageForm("PP_INVALID", "stack/endpoint"));
  });

  it("reports every input error at once", () => {
    const r = run({ profile: LLAMA_8B, gpu: gpu("T4"), tensorParallel: 3, gpuMemoryUtilization: 1.5, dtype: "bfloat16", maxModelLen: 0 });
    expect(new Set(codes(r))).toEqual(new Set(["GPU_MEM_UTIL_RANGE", "MAX_MODEL_LEN_INVALID", "TP_NOT_DIVISOR", "DTYPE_UNSUPPORTED_ON_GPU"]));
  });
});

describe("engine generations", () => {
  it("maps each vLLM version to its engine and default utilisation", () => {
    expect(engineFor("0.6.4").engine).toBe("V0");
    expect(engineFor("v0.7.3").engine).toBe("V0");
    expect(engineFor("0.8.0").engine).toBe("V1");
    expect(engineFor("0.19.0").gpuMemoryUtilization).toBe(0.9); // vllm/config/cache.py default in v0.19
    expect(engineFor("0.24.0").gpuMemoryUtilization).toBe(0.92); // and in v0.24
  });

  it("sizes with the engine of the pinned release by default", () => {
    expect(engine.id).toBe(engineFor(VLLM_RELEASE.version).id);
  });
});
