/**
 * Vision-language models: the encoder and projector weights of each family against published checkpoint
 * totals, the encoder profile vLLM runs at start-up, and `limitMmPerPrompt` from the endpoint to the rendered flag.
 */
import "cdktf/lib/testing/adapters/jest";
import { Testing } from "cdktf";
import { findGpu } from "../catalog";
import { main } from "../cli/main";
import { ModelSource } from "../constructs/model-source";
import { engineFor } from "../planner/engine";
import { profileFromConfig, type ModelProfile } from "../planner/model-profile";
import { encoderProfile } from "../planner/multimodal";
import { size } from "../planner/sizing";
import { parameterCount } from "../planner/weights";
import { ModelServingStack } from "../stacks/model-serving-stack";
import { benchConfig, catalogConfig, catalogConfigPath, catalogProfile } from "./fixtures/models";
import { synthPhases } from "./fixtures/phases";

process.env.MODEL_SERVING_QUIET = "1";

const bench = (file: string) => profileFromConfig(benchConfig(`configs/${file}`), file);
const textOnly = (config: Record<string, unknown>) => profileFromConfig({ ...config, vision_config: undefined }, "text");

describe("vision towers counted as the published checkpoints hold them", () => {
  // Totals: Hugging Face / ModelScope metadata as quoted in public files (search index ids in each line).
  it.each([
    ["Qwen2-VL-7B-Instruct (LayerNorm blocks, fc1/fc2; id 12439498600)", catalogProfile("Qwen/Qwen2-VL-7B-Instruct"), 8_291_375_616],
    ["Qwen2.5-VL-7B-Instruct (RMSNorm blocks, gated MLP; ModelScope model_size, id 71478742831)", bench("Qwen__Qwen2.5-VL-7B-Instruct.json"), 8_292_166_656],
    ["Qwen3-VL-2B-Instruct (position embeddings, 3 deepstack mergers; id 71478742831)", bench("Qwen__Qwen3-VL-2B-Instruct.json"), 2_127_532_032],
    ["Qwen3-VL-4B-Instruct (id 71478742831)", bench("Qwen__Qwen3-VL-4B-Instruct.json"), 4_437_815_808],
    ["Qwen3-VL-30B-A3B-Instruct (safetensors listing, id 62501178117)", bench("Qwen__Qwen3-VL-30B-A3B-Instruct.json"), 31_070_754_032],
    ["Llama-4-Scout-17B-16E-Instruct (tiles, pixel-shuffle adapter; id 70911651117)", catalogProfile("RedHatAI/Llama-4-Scout-17B-16E-Instruct-FP8-dynamic"), 108_641_793_536],
    ["Mistral-Small-3.2-24B-Instruct-2506 (Pixtral + patch merger; id 70911651117)", bench("mistralai__Mistral-Small-3.2-24B-Instruct-2506.json"), 24_011_361_280],
    ["gemma-3-27b-it (SigLIP + projector, q/k norms; id 70911651117)", catalogProfile("google/gemma-3-27b-it"), 27_432_406_640],
  ] as Array<[string, ModelProfile, number]>)("%s", (_name, p, published) => {
    expect(parameterCount(p)).toBe(published);
  });

  it("puts 676,550,144 parameters in Qwen2.5-VL-7B's vision tower and merger, as a freeze of `visual` reports (id 49095663873)", () => {
    const config = benchConfig("configs/Qwen__Qwen2.5-VL-7B-Instruct.json");
    expect(parameterCount(profileFromConfig(config, "q")) - parameterCount(textOnly(config))).toBe(676_550_144);
  });

  it("counts Qwen3.6-27B's vision tower with its text model: the safetensors listing less the MTP layer vLLM does not load (id 62633829536)", () => {
    const mtp = 5120 * 10240 + 5 * 5120 + 2 * 256 + 3 * 17408 * 5120 + 12288 * 5120 + 2 * 1024 * 5120 + 5120 * 6144;
    expect(parameterCount(bench("nvidia__Qwen3.6-27B-NVFP4.json"))).toBe(27_781_427_952 - mtp);
  });
});

describe("the encoder profile vLLM runs at start-up", () => {
  it("profiles Qwen3.6 with 4 images of 16,384 tokens in a 65,536-token budget, as the DGX Spark log printed", () => {
    // 'Encoder cache will be initialized with a budget of 65536 tokens, and profiled with 4 image items of the maximum feature size.'
    const e = encoderProfile(bench("nvidia__Qwen3.6-27B-NVFP4.json"), { maxNumBatchedTokens: 65_536, maxNumSeqs: 8, maxModelLen: 262_144 });
    expect(e).toMatchObject({ items: 4, tokensPerItem: 16_384, budget: 65_536 });
  });

  it("profiles one largest image when the batch budget is smaller than it, and per-prompt limits cap the batch", () => {
    const p = bench("Qwen__Qwen2.5-VL-7B-Instruct.json");
    expect(encoderProfile(p, { maxNumBatchedTokens: 8192, maxNumSeqs: 1024, maxModelLen: 32_768 })).toMatchObject({ items: 1, budget: 16_384 });
    // Gemma 3: 256-token images; an 8192-token budget holds 32, but 2 sequences × 1 image per prompt allow 2.
    const g = catalogProfile("google/gemma-3-27b-it");
    expect(encoderProfile(g, { maxNumBatchedTokens: 8192, maxNumSeqs: 1024, maxModelLen: 8192 })?.items).toBe(32);
    expect(encoderProfile(g, { maxNumBatchedTokens: 8192, maxNumSeqs: 2, maxModelLen: 8192, limits: { image: 1 } })?.items).toBe(2);
  });

  it("skips the profile when every modality's limit is 0, and sizes smaller images when the limit names their size", () => {
    const p = bench("Qwen__Qwen2.5-VL-7B-Instruct.json");
    expect(encoderProfile(p, { maxNumBatchedTokens: 8192, maxNumSeqs: 256, maxModelLen: 32_768, limits: { image: 0, video: 0 } })).toBeUndefined();
    // 448 × 448 pixels = 16 × 16 merged 28-pixel patches = 256 tokens — once video, unset and so 999, is off too.
    const small = { image: { count: 1, width: 448, height: 448 } };
    expect(encoderProfile(p, { maxNumBatchedTokens: 8192, maxNumSeqs: 256, maxModelLen: 32_768, limits: { ...small, video: 0 } })).toMatchObject({ tokensPerItem: 256, items: 32 });
    expect(encoderProfile(p, { maxNumBatchedTokens: 8192, maxNumSeqs: 256, maxModelLen: 32_768, limits: small })?.tokensPerItem).toBe(16_384);
  });

  it("takes the default profile's memory out of the KV cache: Qwen2.5-VL-7B on an L40S holds more KV tokens with images limited to 0", () => {
    const p = bench("Qwen__Qwen2.5-VL-7B-Instruct.json");
    const base = { profile: p, gpu: findGpu("L40S")!, engine: engineFor("0.24.0"), tensorParallel: 1, maxModelLen: 32_768, path: "s/vl" };
    const defaults = size(base);
    const none = size({ ...base, limitMmPerPrompt: { image: 0, video: 0 } });
    expect(none.activationGiB).toBeLessThan(defaults.activationGiB);
    expect(none.kvCacheTokens).toBeGreaterThan(defaults.kvCacheTokens);
  });

  it("refuses a limit vLLM would refuse or ignore, as LIMIT_MM_PER_PROMPT_INVALID", () => {
    const base = { gpu: findGpu("H100")!, engine: engineFor("0.24.0"), tensorParallel: 1, maxModelLen: 8192, path: "s/e" };
    const codes = (p: ModelProfile, limitMmPerPrompt: Record<string, unknown>) => size({ ...base, profile: p, limitMmPerPrompt }).errors.map((e) => e.code);
    expect(codes(catalogProfile("meta-llama/Llama-3.1-8B-Instruct"), { image: 1 })).toEqual(["LIMIT_MM_PER_PROMPT_INVALID"]);
    expect(codes(catalogProfile("google/gemma-3-27b-it"), { video: 1 })).toEqual(["LIMIT_MM_PER_PROMPT_INVALID"]);
    expect(codes(catalogProfile("google/gemma-3-27b-it"), { image: -1 })).toEqual(["LIMIT_MM_PER_PROMPT_INVALID"]);
    expect(codes(catalogProfile("google/gemma-3-27b-it"), { image: { count: 1, width: 512 } })).toEqual(["LIMIT_MM_PER_PROMPT_INVALID"]);
    expect(codes(catalogProfile("google/gemma-3-27b-it"), { image: 2 })).toEqual([]);
  });
});

describe("limitMmPerPrompt from the endpoint to vllm serve", () => {
  const QWEN_VL = { repo: "Qwen/Qwen2-VL-7B-Instruct", revision: "eed13092ef92e448dd6875b2a00151bd3f7db0ac" };
  function synth(limit?: { image?: number; video?: number }) {
    const stack = new ModelServingStack(Testing.app(), "s", { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "t", quotas: { "L-DB2E81BA": 1000, "L-417A185B": 1000 } } } });
    stack.addEndpoint("vision", { model: stack.importModel("qwen-vl", { source: ModelSource.huggingFace(QWEN_VL.repo, { revision: QWEN_VL.revision }) }), maxModelLen: 16384, ...(limit ? { limitMmPerPrompt: limit } : {}) });
    const json = synthPhases(stack);
    const d = Object.values(json.resource.kubernetes_deployment_v1 as Record<string, { metadata: { name: string }; spec: { template: { spec: { container: Array<{ args: string[] }> } } } }>).find((x) => x.metadata.name === "vision")!;
    const args = d.spec.template.spec.container[0].args;
    return { plan: stack.cluster.plan().endpoints.find((e) => e.name === "vision")!, flag: args[args.indexOf("--limit-mm-per-prompt") + 1] };
  }

  it("renders the declared limit as the JSON the release's parser reads, and the plan shows it", () => {
    const { plan, flag } = synth({ image: 2, video: 0 });
    expect(JSON.parse(flag)).toEqual({ image: 2, video: 0 });
    expect(plan.limitMmPerPrompt).toEqual({ image: 2, video: 0 });
  });

  it("renders and plans the library's default (4 images, no video) when the endpoint sets none", () => {
    const { plan, flag } = synth();
    expect(JSON.parse(flag)).toEqual({ image: 4, video: 0 });
    expect(plan.limitMmPerPrompt).toEqual({ image: 4, video: 0 });
  });

  it("answers `size --limit-mm-per-prompt` with the limit, and a smaller start-up overhead than vLLM's default of 999 images", () => {
    const run = (...extra: string[]) => {
      const out: string[] = [];
      const code = main(["size", "--config", catalogConfigPath("google/gemma-3-27b-it"), "--gpu", "H100", "--tp", "2", "--max-model-len", "8192", "--json", ...extra], { out: (l) => out.push(l), err: (l) => out.push(l) });
      return { code, json: JSON.parse(out.join("\n")) };
    };
    const limited = run("--limit-mm-per-prompt", '{"image":0}');
    const defaults = run();
    expect(limited.code).toBe(0);
    expect(limited.json.limitMmPerPrompt).toEqual({ image: 0 });
    expect(limited.json.overheadGiB).toBeLessThan(defaults.json.overheadGiB);
    expect(catalogConfig("google/gemma-3-27b-it")["architectures"]).toEqual(["Gemma3ForConditionalGeneration"]);
  });
});
