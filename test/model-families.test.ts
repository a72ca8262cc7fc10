/**
 * Model families people deploy now: gpt-oss (MXFP4 experts), Gemma 3 with its SigLIP vision tower and
 * Transformers' class defaults, fp8 block-wise and ModelOpt checkpoints, GPUs by name.
 */
import { findGpuByName } from "../catalog";
import { main } from "../cli/main";
import { engineFor } from "../planner/engine";
import { GiB } from "../planner/findings";
import { profileFromConfig } from "../planner/model-profile";
import { size } from "../planner/sizing";
import { checkpointBytes } from "../planner/weights";
import { kvCacheLayout } from "../planner/kv-cache";
import { benchConfig, catalogConfig, catalogConfigPath, catalogProfile } from "./fixtures/models";

function cli(...argv: string[]) {
  const out: string[] = [];
  const code = main(argv, { out: (l) => out.push(l), err: (l) => out.push(l) }) as number;
  return { code, out: out.join("\n") };
}

describe("gpt-oss-20b (MXFP4)", () => {
  // Tensor shapes of the published checkpoint (model.safetensors.index.json / safetensors headers): per layer
  // q/k/v/o with biases, sinks, a biased router and MXFP4 experts stored as uint8 blocks and E8M0 scales.
  const layer =
    2 * ((4096 + 512 + 512) * 2880 + 2880 * 4096) + // q,k,v,o bf16
    2 * (4096 + 512 + 512 + 2880) + // their biases
    2 * 64 + // sinks
    2 * (32 * 2880 + 32) + // router weight and bias
    32 * 5760 * 90 * 16 + 32 * 5760 * 90 + 2 * 32 * 5760 + // gate_up_proj blocks, scales, bias
    32 * 2880 * 90 * 16 + 32 * 2880 * 90 + 2 * 32 * 2880 + // down_proj blocks, scales, bias
    2 * 2 * 2880; // two RMSNorms
  const expected = 24 * layer + 2 * 2 * 201088 * 2880 + 2 * 2880; // + embed_tokens, lm_head, final norm

  it("counts the checkpoint byte for byte: MXFP4 experts (4.25 bits per weight), everything else bf16", () => {
    expect(checkpointBytes(catalogProfile("openai/gpt-oss-20b"))).toBe(expected);
  });

  it("answers `size --gpu H100 --vllm 0.27.1` with weights that match the checkpoint and fits with room for KV", () => {
    const r = cli("size", "--config", catalogConfigPath("openai/gpt-oss-20b"), "--gpu", "H100", "--vllm", "0.27.1", "--max-model-len", "32768", "--json");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out);
    expect(out.vllm).toBe("0.27.1");
    expect(Math.abs(out.weightsGiB - expected / GiB)).toBeLessThan(0.1);
    expect(out.kvCacheTokens).toBeGreaterThan(500_000);
  });
});

describe("Gemma 3 27B (multimodal)", () => {
  it("fills what text_config omits from Gemma3TextConfig and keeps 52 sliding-window layers of 62 (pattern 6)", () => {
    const p = catalogProfile("google/gemma-3-27b-it");
    expect(p.vocabSize).toBe(262208);
    expect(p.maxPositionEmbeddings).toBe(131072);
    expect(p.tiedEmbeddings).toBe(true);
    expect(p.slidingWindowLayers).toBe(52);
  });

  it("groups its 10 global layers and 52 windowed ones in 10-layer KV groups (6 windowed groups, 8 of their slots padding) and, fitting, prints at least max_model_len", () => {
    const p = catalogProfile("google/gemma-3-27b-it");
    const l = kvCacheLayout(p, { tp: 1, firstLayer: 0, layers: 62, kvBytes: 2, modelDtype: "bfloat16", maxModelLen: 32768, maxNumBatchedTokens: 8192, hybridKvCacheManager: true });
    expect(l.groupSize).toBe(10);
    expect(l.groups.filter((g) => g.kind === "sliding").map((g) => g.layers)).toEqual([9, 9, 9, 9, 8, 8]);
    // 2048 blocks for 32,768 tokens in the global group; cdiv(min(1023 + 8192, 32768), 16) + 1 = 577 per windowed group.
    expect(l.blocksPerRequest).toBe(2048 + 6 * 577);
    const r = size({ profile: p, gpu: findGpuByName("H100")!, engine: engineFor("0.24.0"), tensorParallel: 2, maxModelLen: 32768, path: "s/g" });
    expect(r.fits).toBe(true);
    expect(r.kvCacheTokens).toBeGreaterThanOrEqual(32768);
  });

  it("sizes the SigLIP vision tower and projector with the language model (about 0.4 B parameters more)", () => {
    const config = catalogConfig("google/gemma-3-27b-it");
    const withVision = checkpointBytes(profileFromConfig(config, "m"));
    const textOnly = checkpointBytes(profileFromConfig({ ...config, vision_config: undefined }, "m"));
    // SigLIP-so400m: 27 blocks of 4·1152² + 2·1152·4304 plus embeddings and biases ≈ 0.41 B; projector 1152 × 5376.
    expect((withVision - textOnly) / 2).toBeGreaterThan(0.41e9);
    expect((withVision - textOnly) / 2).toBeLessThan(0.43e9);
  });
});

describe("fp8 block-wise MoE (Qwen3-235B-A22B-FP8)", () => {
  it("adds one float32 scale per 128×128 block to fp8 weights, and keeps the router in bf16", () => {
    const p = profileFromConfig(benchConfig("configs/Qwen__Qwen3-235B-A22B-FP8.json"), "q");
    expect(p.quantization).toMatchObject({ method: "fp8", weightBlock: [128, 128] });
    // ≈ 235 B parameters at ~1 byte plus bf16 embeddings: 218–222 GiB.
    const gib = checkpointBytes(p) / GiB;
    expect(gib).toBeGreaterThan(215);
    expect(gib).toBeLessThan(225);
  });
});

describe("GPUs by name", () => {
  it("finds workstation and data-centre GPUs however the name is typed", () => {
    expect(findGpuByName("rtx 4090")?.id).toBe("RTX4090");
    expect(findGpuByName("RTX-PRO-6000")?.cudaVisibleGiB).toBe(95.01);
    expect(findGpuByName("NVIDIA GB10")?.computeCapability).toBe(12.1);
    expect(findGpuByName("b300")?.smCount).toBeGreaterThan(0);
    expect(findGpuByName("no such gpu")).toBeUndefined();
  });

  it("sizes on a GPU outside the AWS catalog with --gpu", () => {
    const r = cli("size", "--config", "Qwen/Qwen2.5-7B-Instruct", "--gpu", "RTX-PRO-6000", "--max-model-len", "8192", "--json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).gpuMemoryGiB).toBe(95.01);
  });

  it("a v0.27.1 engine keeps the runner choice of its release for every catalog GPU", () => {
    expect(size({ profile: catalogProfile("Qwen/Qwen2.5-7B-Instruct"), gpu: findGpuByName("RTX 4090")!, engine: engineFor("0.27.1"), tensorParallel: 1, maxModelLen: 4096, path: "x" }).cudaGraphGiB).toBe(0);
  });
});
