/**
 * Gated DeltaNet hybrids (Qwen3-Next, Qwen3.5/3.6): which layers keep a recurrent state, the state's size, the
 * hybrid block size and the shared block pool, and the token capacity each release prints — checked against the
 * published checkpoint listing and start-up logs.
 */
import { findGpu } from "../catalog";
import { logConfig, logPoints } from "../bench/replay";
import { engineFor } from "../planner/engine";
import { GiB } from "../planner/findings";
import { bytesPerRequest, gatedDeltaNetStateBytes, kvBlocks, kvCacheLayout, loggedKvTokens, maxConcurrency, type KvCacheOptions } from "../planner/kv-cache";
import { profileFromConfig, type ModelProfile } from "../planner/model-profile";
import { PlanningError } from "../planner/findings";
import { size } from "../planner/sizing";
import { checkpointBytes, estimateWeights, parameterCount } from "../planner/weights";
import { join } from "node:path";
import { main } from "../cli/main";
import { parseConfigJson } from "../planner/config-json";
import { BENCH_DATA, benchConfig } from "./fixtures/models";

const NEXT = profileFromConfig(benchConfig("configs/Qwen__Qwen3-Next-80B-A3B-Instruct.json"), "Qwen/Qwen3-Next-80B-A3B-Instruct");
const QWEN36 = profileFromConfig(benchConfig("configs/nvidia__Qwen3.6-27B-NVFP4.json"), "nvidia/Qwen3.6-27B-NVFP4");

function layout(p: ModelProfile, over: Partial<KvCacheOptions> = {}) {
  return kvCacheLayout(p, { tp: 1, firstLayer: 0, layers: p.numLayers, kvBytes: 2, modelDtype: "bfloat16", maxModelLen: 262_144, maxNumBatchedTokens: 8192, hybridKvCacheManager: true, ...over });
}

describe("Qwen3-Next-80B-A3B", () => {
  it("reads the layer pattern from full_attention_interval: every 4th layer is full attention, 36 are Gated DeltaNet", () => {
    expect(NEXT.linearAttention).toMatchObject({ layers: 36, numKeyHeads: 16, numValueHeads: 32, keyHeadDim: 128, valueHeadDim: 128, convKernel: 4 });
    expect(NEXT.layerTypes!.filter((t) => t === "full")).toHaveLength(12);
    expect(NEXT.layerTypes!.slice(0, 4)).toEqual(["linear", "linear", "linear", "full"]);
    expect(NEXT.attentionOutputGate).toBe(true);
  });

  it("counts the parameters of the published safetensors listing, less the MTP layer vLLM does not load", () => {
    // Tensor shapes of the checkpoint (model report, search index id 62751147890): 81,324,862,720 parameters in all.
    const h = 2048;
    const gdn = 12288 * h + 64 * h + 8192 * 4 + 2 * 32 + 128 + h * 4096; // in_proj_qkvz, in_proj_ba, conv1d, A_log, dt_bias, norm, out_proj
    const attention = 8192 * h + 2 * 512 * h + h * 4096 + 2 * 256; // q (with gate), k, v, o, q_norm, k_norm
    const moe = 512 * 3 * 512 * h + 512 * h + 3 * 512 * h + h; // experts, router, shared expert, shared expert gate
    const expected = 36 * gdn + 12 * attention + 48 * (moe + 2 * h) + 2 * 151936 * h + h;
    const mtp = h * 4096 + 5 * h + 2 * 256 + 512 * 3 * 512 * h + 512 * h + 3 * 512 * h + h + 8192 * h + 2 * 512 * h + h * 4096;
    expect(expected + mtp).toBe(81_324_862_720);
    expect(parameterCount(NEXT)).toBe(expected);
  });

  it("holds 74.28 GiB of bf16 weights per GPU at TP 2, as the v0.10.2 log printed", () => {
    const w = estimateWeights(NEXT, { tp: 2, pp: 1, dtype: "bfloat16" }).bytesPerGpu / GiB;
    expect(Math.abs(w - 74.2812)).toBeLessThan(0.01);
  });

  it("raises the attention block to 544 tokens at TP 2 and pads each state by 1.49 %, as the log printed", () => {
    const l = layout(NEXT, { tp: 2 });
    // conv state 3 × (2·16·128 + 32·128)/2 bf16 + temporal state 32/2 × 128 × 128 bf16 (no mamba_ssm_dtype in the config)
    expect(gatedDeltaNetStateBytes(NEXT, 2, "bfloat16")).toBe(3 * 4096 * 2 + 16 * 128 * 128 * 2);
    expect(l.blockSize).toBe(544);
    expect(((l.pageBytes - gatedDeltaNetStateBytes(NEXT, 2, "bfloat16")) / gatedDeltaNetStateBytes(NEXT, 2, "bfloat16")) * 100).toBeCloseTo(1.49, 2);
  });

  it("shares one pool between 1 full-attention group and 3 state groups of 12 layers; a 262,144-token request takes 482 + 3 blocks", () => {
    const l = layout(NEXT, { tp: 2 });
    expect(l.groupSize).toBe(12);
    expect(l.groups.map((g) => g.kind)).toEqual(["mamba", "mamba", "mamba", "full"]);
    expect(l.blocksPerRequest).toBe(Math.ceil(262_144 / 544) + 3);
    // Only the 12 attention layers hold per-token KV: 1 KV head per rank × 256 dims × K and V × 2 B.
    expect(l.attentionBytesPerToken).toBe(12 * 2 * 1 * 256 * 2);
  });

  it("prints v0.10's capacity as whole blocks ÷ groups × block size: 44.59 GiB → 973,760 tokens, 14.77× concurrency", () => {
    const l = layout(NEXT, { tp: 2 });
    const blocks = kvBlocks(l, 44.59 * GiB);
    expect(loggedKvTokens(l, blocks, 262_144, engineFor("0.10.2").kvTokensLogged)).toBe(973_760);
    expect(maxConcurrency(l, blocks).toFixed(2)).toBe("14.77");
  });
});

describe("Qwen3.6-27B (NVFP4, Gated DeltaNet + vision)", () => {
  it("keeps a float32 recurrent state (mamba_ssm_dtype) and picks 1568-token blocks with an fp8 KV cache, 784 with bf16", () => {
    expect(QWEN36.linearAttention?.stateDtype).toBe("float32");
    // conv 3 × (2·16·128 + 48·128) bf16 + temporal 48 × 128 × 128 float32 = 3,207,168 B
    expect(gatedDeltaNetStateBytes(QWEN36, 1, "bfloat16")).toBe(3_207_168);
    expect(layout(QWEN36, { kvBytes: 1 }).blockSize).toBe(1568);
    expect(layout(QWEN36, { kvBytes: 2 }).blockSize).toBe(784);
  });

  it("holds two states per request in 'align' mode with prefix caching: 168 + 3 × 2 blocks, and prints 1,505,068 tokens (5.74×) from the logged 47.84 GiB (v0.23)", () => {
    const l = layout(QWEN36, { kvBytes: 1, prefixCaching: true });
    expect(l.blocksPerRequest).toBe(168 + 6);
    const blocks = kvBlocks(l, 47.84 * GiB);
    expect(loggedKvTokens(l, blocks, 262_144, engineFor("0.23.1").kvTokensLogged)).toBe(1_505_068);
    expect(maxConcurrency(l, blocks).toFixed(2)).toBe("5.74");
  });

  it("quantizes lm_head as NVFP4 when the checkpoint lists it, landing its weights within 1 % of the 19.78 GiB the log printed", () => {
    expect(QWEN36.quantization?.lmHead).toBe(true);
    const w = estimateWeights(QWEN36, { tp: 1, pp: 1, dtype: "bfloat16", quantization: QWEN36.quantization! }).bytesPerGpu / GiB;
    expect(Math.abs(w - 19.78) / 19.78).toBeLessThan(0.01);
  });

  it("fits 262,144 tokens on one L40S with an fp8 KV cache, printing at least max_model_len (v0.24 prints concurrency × length)", () => {
    const r = size({ profile: QWEN36, gpu: findGpu("L40S")!, engine: engineFor("0.24.0"), tensorParallel: 1, maxModelLen: 262_144, kvCacheDtype: "fp8", path: "s/qwen" });
    expect(r.fits).toBe(true);
    expect(r.kvBlockSize).toBe(1568);
    expect(r.kvCacheTokens).toBeGreaterThanOrEqual(262_144);
    expect(r.kvCacheTokens).toBe(Math.floor((r.kvCacheBlocks / (168 + 3)) * 262_144));
  });

  it("refuses it on one L4, whose 22 GiB hold the weights but not the start-up peaks, as MODEL_DOES_NOT_FIT", () => {
    const r = size({ profile: QWEN36, gpu: findGpu("L4")!, engine: engineFor("0.24.0"), tensorParallel: 1, maxModelLen: 262_144, kvCacheDtype: "fp8", path: "s/qwen" });
    expect(r.errors.map((e) => e.code)).toEqual(["MODEL_DOES_NOT_FIT"]);
  });
});

describe("Qwen3.5-35B-A3B (MoE hybrid)", () => {
  const p = profileFromConfig(benchConfig("configs/Qwen__Qwen3.5-35B-A3B.json"), "Qwen/Qwen3.5-35B-A3B");

  it("has 35 B parameters (the name's total) with its vision tower and a state per Gated DeltaNet layer", () => {
    expect(parameterCount(p) / 1e9).toBeGreaterThan(34.5);
    expect(parameterCount(p) / 1e9).toBeLessThan(36.5);
    expect(p.linearAttention?.layers).toBe(30);
    expect(checkpointBytes(p)).toBeGreaterThan(2 * 34.5e9);
  });

  it("fits 262,144 tokens on one H200 with room for several requests, the pool sized per release", () => {
    const r = size({ profile: p, gpu: findGpu("H200")!, engine: engineFor("0.24.0"), tensorParallel: 1, maxModelLen: 262_144, path: "s/q" });
    expect(r.fits).toBe(true);
    expect(r.maxConcurrency).toBeGreaterThan(1);
    // The start-up check: one request's blocks fit what is left.
    expect(bytesPerRequest(layout(p)) / GiB).toBeLessThan(r.kvCacheGiB);
  });
});

describe("recurrent hybrids the planner does not size", () => {
  it("refuses Nemotron-H (Mamba-2 layers) as MODEL_NOT_SIZABLE instead of charging its Mamba layers a KV cache", () => {
    const config = benchConfig("configs/nvidia__Nemotron-H-56B-Base-8K.json");
    let thrown: unknown;
    try {
      profileFromConfig(config, "s/nemotron");
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(PlanningError);
    const f = (thrown as PlanningError).findings[0];
    expect(f.code).toBe("MODEL_NOT_SIZABLE");
    expect(f.message).toMatch(/^\[MODEL_NOT_SIZABLE\] s\/nemotron: .+\. .+\. Fix: .+\.$/s);
  });
});

describe("config.json as Python writes it", () => {
  it("reads bare Infinity and NaN (json.dump of non-finite floats) as numbers, and leaves strings alone", () => {
    expect(parseConfigJson('{"time_step_limit": [0.0, Infinity], "x": -Infinity, "y": NaN, "s": "Infinity, NaN", "e": "a\\"Infinity"}')).toEqual({
      time_step_limit: [0, Infinity],
      x: -Infinity,
      y: NaN,
      s: "Infinity, NaN",
      e: 'a"Infinity',
    });
  });

  it("answers `size` on Nemotron-H's real config with MODEL_NOT_SIZABLE, not CONFIG_INVALID", () => {
    const out: string[] = [];
    const code = main(["size", "--config", join(BENCH_DATA, "configs/nvidia__Nemotron-H-56B-Base-8K.json"), "--gpu", "H100", "--json"], { out: (l) => out.push(l), err: (l) => out.push(l) });
    expect(code).toBe(1);
    expect(out.join("\n")).toContain("MODEL_NOT_SIZABLE");
    expect(out.join("\n")).not.toContain("CONFIG_INVALID");
  });
});

describe("the published hybrid logs", () => {
  it("are all Gated DeltaNet models the planner reads", () => {
    const hybrids = logPoints().filter((pt) => profileFromConfig(logConfig(pt), pt.model).linearAttention);
    expect(hybrids.map((pt) => pt.model).sort()).toEqual(["Qwen/Qwen3-Next-80B-A3B-Instruct", "nvidia/Qwen3.6-27B-NVFP4"]);
  });
});
