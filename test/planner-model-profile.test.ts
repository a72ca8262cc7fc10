/**
 * Model profiles from real config.json files: published parameter totals, quantization formats,
 * refusal of non-language models, capability from the pinned vLLM registry, and import validation.
 */
import { catalogModelIds, findCatalogModel } from "../catalog/models";
import { capabilityOf, validateImport } from "../planner/import-validation";
import { parseQuantization, profileFromConfig } from "../planner/model-profile";
import { parameterCount } from "../planner/weights";
import { benchConfig, catalogConfig, catalogProfile } from "./fixtures/models";
import { planningError } from "./fixtures/errors";


function omit(o: Record<string, unknown>, ...keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
}

describe("parameter counts reproduce the published safetensors totals", () => {
  // Totals from the models' Hugging Face safetensors metadata (parameters summed over the checkpoint).
  const published: Array<[string, number]> = [
    ["meta-llama/Llama-3.1-8B-Instruct", 8_030_261_248],
    ["meta-llama/Llama-3.1-70B-Instruct", 70_553_706_496],
    ["meta-llama/Llama-3.1-405B-Instruct", 405_853_388_800],
    ["mistralai/Mixtral-8x7B-Instruct-v0.1", 46_702_792_704],
    ["Qwen/Qwen2.5-72B-Instruct", 72_706_203_648],
    ["google/gemma-2-9b-it", 9_241_705_984],
    ["BAAI/bge-reranker-v2-m3", 567_755_777],
    ["BAAI/bge-large-en-v1.5", 335_141_888],
    ["Qwen/Qwen2-VL-7B-Instruct", 8_291_375_616],
    ["tiiuae/falcon-7b", 6_921_720_704],
    ["microsoft/phi-2", 2_779_683_840],
  ];
  it.each(published)("counts %s at exactly %d parameters", (id, total) => {
    expect(parameterCount(catalogProfile(id))).toBe(total);
  });

  it("counts the bench copy of Llama-3.1-8B-Instruct's config the same as the catalog copy", () => {
    const bench = profileFromConfig(benchConfig("configs/meta-llama__Llama-3.1-8B-Instruct.json"), "bench");
    expect(parameterCount(bench)).toBe(8_030_261_248);
  });

  it("agrees with the parameter counts recorded beside the catalog's own sources", () => {
    // sources.json records parameterCount only where a public source gave it.
    const recorded = catalogModelIds()
      .map((id) => findCatalogModel(id)!)
      .filter((m) => m.parameterCount !== null);
    expect(recorded.length).toBeGreaterThan(0);
    for (const m of recorded) expect([m.id, parameterCount(catalogProfile(m.id))]).toEqual([m.id, m.parameterCount]);
  });
});

describe("parameter counts match the model cards' rounded totals", () => {
  // Model cards give totals to 0.1 B; the count must round to the same figure.
  const cards: Array<[string, number, string]> = [
    ["Qwen/Qwen3-32B-FP8", 32.8e9, "Qwen3-32B card: Number of Parameters 32.8B"],
    ["microsoft/Phi-3-mini-4k-instruct", 3.8e9, "Phi-3-mini card: 3.8B parameters"],
    ["deepseek-ai/DeepSeek-V2-Lite", 15.7e9, "DeepSeek-V2-Lite card: 15.7B total parameters (its first layer is dense: first_k_dense_replace 1)"],
  ];
  // DeepSeek-V2-Lite by hand: with layer 0 dense (3 × 2048 × 10944) instead of MoE (64 routed + 2 shared experts of
  // 1408, router), the all-MoE count drops by 571,080,704 − 67,239,936 = 503,840,768 parameters, to 15.706 B.
  it.each(cards.map(([id, total, source]) => [id, `${total / 1e9} B`, source, total] as const))("counts %s at %s parameters to 0.1 B (%s)", (id, _label, _source, total) => {
    expect(Math.abs(parameterCount(catalogProfile(id)) - total)).toBeLessThanOrEqual(0.05e9);
  });

  it("counts Llama-4-Scout-17B-16E at Meta's 109 B total, shared expert included, to within 1 %", () => {
    // Meta's Llama 4 model card: Scout has 17B active and 109B total parameters. Every Scout layer has 16 routed
    // experts plus a shared expert of intermediate_size 8192 (48 × 3 × 5120 × 8192 = 6.04 B parameters).
    const count = parameterCount(catalogProfile("RedHatAI/Llama-4-Scout-17B-16E-Instruct-FP8-dynamic"));
    expect(Math.abs(count - 109e9) / 109e9).toBeLessThanOrEqual(0.01);
  });
});

describe("architecture facts read from config.json", () => {
  it("reads Llama-3.1-8B's grouped-query attention: 32 heads, 8 KV heads of 128 dims, 32 layers", () => {
    const p = catalogProfile("meta-llama/Llama-3.1-8B-Instruct");
    expect(p).toMatchObject({ numHeads: 32, numKvHeads: 8, headDim: 128, numLayers: 32, dtype: "bfloat16", attention: "full" });
  });

  it("reads falcon-7b's multi-query attention as one KV head for its 71 query heads", () => {
    const p = catalogProfile("tiiuae/falcon-7b");
    expect(p.numHeads).toBe(71);
    expect(p.numKvHeads).toBe(1);
  });

  it("puts half of gemma-2-9b's 42 layers on its 4096-token sliding window", () => {
    const p = catalogProfile("google/gemma-2-9b-it");
    expect(p.slidingWindow).toBe(4096);
    expect(p.slidingWindowLayers).toBe(21);
    expect(p.headDim).toBe(256); // gemma-2 sets head_dim explicitly (not hidden/heads = 224)
  });

  it("ignores Qwen2.5's configured window because use_sliding_window is false", () => {
    const c = catalogConfig("Qwen/Qwen2.5-7B-Instruct");
    expect(c["use_sliding_window"]).toBe(false);
    expect(catalogProfile("Qwen/Qwen2.5-7B-Instruct").slidingWindowLayers).toBe(0);
  });

  it("treats BERT and XLM-RoBERTa models as encoder-only", () => {
    expect(catalogProfile("BAAI/bge-large-en-v1.5").attention).toBe("encoder-only");
    expect(catalogProfile("BAAI/bge-reranker-v2-m3").attention).toBe("encoder-only");
  });

  it("reads DeepSeek-V2-Lite's multi-head latent attention from kv_lora_rank and qk_rope_head_dim", () => {
    const p = catalogProfile("deepseek-ai/DeepSeek-V2-Lite");
    expect(p.attention).toBe("mla");
    expect(p.mla).toEqual({ kvLoraRank: 512, qkRopeHeadDim: 64 });
  });

  it("reads Mixtral's 8 experts with 2 routed per token", () => {
    const p = catalogProfile("mistralai/Mixtral-8x7B-Instruct-v0.1");
    expect(p.moe).toMatchObject({ experts: 8, expertsPerToken: 2 });
  });
});

describe("quantization_config", () => {
  it("reads the GPTQ Int4 checkpoint as 4-bit GPTQ with groups of 128", () => {
    expect(catalogProfile("Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4").quantization).toEqual({ method: "gptq", weightBits: 4, groupSize: 128, origin: "checkpoint" });
  });

  it("reads the AWQ checkpoint as 4-bit AWQ with groups of 128", () => {
    expect(catalogProfile("Qwen/Qwen2.5-14B-Instruct-AWQ").quantization).toEqual({ method: "awq", weightBits: 4, groupSize: 128, origin: "checkpoint" });
  });

  it("reads Qwen3-32B-FP8 (quant_method fp8) as 8-bit fp8", () => {
    expect(catalogProfile("Qwen/Qwen3-32B-FP8").quantization).toMatchObject({ method: "fp8", weightBits: 8, origin: "checkpoint" });
  });

  it("reads the compressed-tensors FP8-dynamic Llama-4-Scout (float weights and activations, 8 bits) as w8a8-fp8", () => {
    expect(catalogProfile("RedHatAI/Llama-4-Scout-17B-16E-Instruct-FP8-dynamic").quantization).toMatchObject({ method: "w8a8-fp8", weightBits: 8, origin: "checkpoint" });
  });

  it("reads a compressed-tensors int4 group-32 weight-only config as w4a16 with groups of 32", () => {
    // The scheme Kimi-K2.5 ships: config_groups.group_0.weights {num_bits 4, type int, group_size 32}, no input activations.
    const q = catalogConfig("moonshotai/Kimi-K2.5")["text_config"] as Record<string, unknown>;
    expect(parseQuantization({ quantization_config: q["quantization_config"] }, "kimi")).toEqual({ method: "w4a16", weightBits: 4, groupSize: 32, origin: "checkpoint" });
  });

  it("finds Kimi-K2.5's int4 compressed-tensors quantization_config, which the config keeps under text_config", () => {
    // Kimi-K2.5 is a vision-language wrapper: its language model (and its quantization_config) live in text_config.
    expect(catalogProfile("moonshotai/Kimi-K2.5").quantization).toEqual({ method: "w4a16", weightBits: 4, groupSize: 32, origin: "checkpoint" });
  });

  it("leaves unquantized checkpoints unquantized", () => {
    expect(catalogProfile("meta-llama/Llama-3.1-8B-Instruct").quantization).toBeUndefined();
  });

  it("refuses a quant_method it cannot size with QUANTIZATION_UNSUPPORTED", () => {
    const c = { ...catalogConfig("meta-llama/Llama-3.1-8B-Instruct"), quantization_config: { quant_method: "bitsandbytes", load_in_4bit: true } };
    const e = planningError(() => profileFromConfig(c, "models/bnb"));
    expect(e.codes).toEqual(["QUANTIZATION_UNSUPPORTED"]);
    expect(e.findings[0].message).toContain('"bitsandbytes"');
  });
});

describe("configs the planner refuses", () => {
  it("refuses the granite time-series TinyTimeMixer config as MODEL_NOT_SERVABLE", () => {
    const id = "ibm-granite/granite-tsfm-ttm-notebook-cl512-fl96";
    const e = planningError(() => profileFromConfig(catalogConfig(id), id));
    expect(e.codes).toEqual(["MODEL_NOT_SERVABLE"]);
    expect(e.findings[0].path).toBe(id);
    expect(e.findings[0].message).toMatch(/^\[MODEL_NOT_SERVABLE\] ibm-granite\/granite-tsfm-ttm-notebook-cl512-fl96: .+\. .+\. Fix: .+\.$/);
  });

  it("refuses a config.json that is not an object as CONFIG_INVALID", () => {
    expect(planningError(() => profileFromConfig([1, 2], "m")).codes).toEqual(["CONFIG_INVALID"]);
    expect(planningError(() => profileFromConfig(null, "m")).codes).toEqual(["CONFIG_INVALID"]);
  });

  it("refuses a config.json without architectures as CONFIG_INVALID", () => {
    const rest = omit(catalogConfig("meta-llama/Llama-3.1-8B-Instruct"), "architectures");
    expect(planningError(() => profileFromConfig(rest, "m")).codes).toEqual(["CONFIG_INVALID"]);
  });

  it("names every missing size field when a model_type without known class defaults (remote code) lacks hidden_size and num_hidden_layers", () => {
    const rest = { ...omit(catalogConfig("meta-llama/Llama-3.1-8B-Instruct"), "hidden_size", "num_hidden_layers"), model_type: "my_remote_model" };
    const e = planningError(() => profileFromConfig(rest, "m"));
    expect(e.codes).toEqual(["CONFIG_INVALID"]);
    expect(e.findings[0].message).toContain("hidden_size");
    expect(e.findings[0].message).toContain("num_hidden_layers");
  });
});

describe("capability from the pinned vLLM model registry", () => {
  const cases: Array<[string, string, string]> = [
    ["meta-llama/Llama-3.1-8B-Instruct", "LlamaForCausalLM", "TEXT_TO_TEXT"],
    ["BAAI/bge-large-en-v1.5", "BertModel", "EMBEDDING"],
    ["BAAI/bge-reranker-v2-m3", "XLMRobertaForSequenceClassification", "RERANK"],
    ["Qwen/Qwen2-VL-7B-Instruct", "Qwen2VLForConditionalGeneration", "IMAGE_TEXT_TO_TEXT"],
  ];
  it.each(cases)("serves %s (%s) as %s", (id, arch, capability) => {
    const p = catalogProfile(id);
    expect(p.architecture).toBe(arch);
    expect(capabilityOf(p, id)).toEqual({ capability, findings: [] });
  });

  it("refuses an invented FooForCausalLM as ARCH_UNSUPPORTED, naming the pinned release", () => {
    const c = { ...catalogConfig("meta-llama/Llama-3.1-8B-Instruct"), architectures: ["FooForCausalLM"] };
    const r = capabilityOf(profileFromConfig(c, "acme/foo"), "stack/foo");
    expect(r.capability).toBeUndefined();
    expect(r.findings.map((f) => f.code)).toEqual(["ARCH_UNSUPPORTED"]);
    expect(r.findings[0].severity).toBe("error");
    expect(r.findings[0].message).toMatch(/^\[ARCH_UNSUPPORTED\] stack\/foo: FooForCausalLM .+\. .+\. Fix: .+\.$/);
  });

  it("refuses a registered speech-to-text architecture as CAPABILITY_UNSUPPORTED", () => {
    const c = { ...catalogConfig("meta-llama/Llama-3.1-8B-Instruct"), architectures: ["BertForTokenClassification"] };
    expect(capabilityOf(profileFromConfig(c, "m"), "m").findings.map((f) => f.code)).toEqual(["CAPABILITY_UNSUPPORTED"]);
  });

  it("refuses a sequence classifier with three labels as a reranker (vLLM's /rerank needs num_labels == 1)", () => {
    const c = { ...catalogConfig("BAAI/bge-reranker-v2-m3"), id2label: { 0: "neg", 1: "neutral", 2: "pos" } };
    const r = capabilityOf(profileFromConfig(c, "m"), "m");
    expect(r.capability).toBeUndefined();
    expect(r.findings.map((f) => f.code)).toEqual(["CAPABILITY_UNSUPPORTED"]);
  });
});

describe("import validation of a model's files", () => {
  const profile = catalogProfile("meta-llama/Llama-3.1-8B-Instruct");
  // The file list of meta-llama/Llama-3.1-8B-Instruct on the Hugging Face Hub.
  const llamaFiles = [
    ".gitattributes",
    "LICENSE",
    "README.md",
    "USE_POLICY.md",
    "config.json",
    "generation_config.json",
    "model-00001-of-00004.safetensors",
    "model-00002-of-00004.safetensors",
    "model-00003-of-00004.safetensors",
    "model-00004-of-00004.safetensors",
    "model.safetensors.index.json",
    "original/consolidated.00.pth",
    "original/params.json",
    "original/tokenizer.model",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer_config.json",
  ];
  const check = (files: string[], allowPickleWeights?: boolean) =>
    validateImport({ path: "stack/models/llama", modelId: "meta-llama/Llama-3.1-8B-Instruct", profile, files, ...(allowPickleWeights !== undefined ? { allowPickleWeights } : {}) });

  it("accepts the real Llama-3.1-8B-Instruct repository with no findings", () => {
    expect(check(llamaFiles)).toEqual({ capability: "TEXT_TO_TEXT", findings: [] });
  });

  it("refuses a model directory without config.json as CONFIG_MISSING", () => {
    const r = check(llamaFiles.filter((f) => f !== "config.json"));
    expect(r.findings.map((f) => [f.code, f.severity])).toEqual([["CONFIG_MISSING", "error"]]);
  });

  it("refuses pickle-only weights as UNSAFE_WEIGHTS_FORMAT", () => {
    const r = check(["config.json", "pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin", "pytorch_model.bin.index.json", "tokenizer.json", "tokenizer_config.json"]);
    expect(r.findings.map((f) => [f.code, f.severity])).toEqual([["UNSAFE_WEIGHTS_FORMAT", "error"]]);
    expect(r.findings[0].message).toContain("pytorch_model-00001-of-00002.bin");
  });

  it("turns pickle-only weights into an UNSAFE_WEIGHTS_FORMAT warning when allowPickleWeights is set", () => {
    const r = check(["config.json", "pytorch_model.bin", "tokenizer.json"], true);
    expect(r.findings.map((f) => [f.code, f.severity])).toEqual([["UNSAFE_WEIGHTS_FORMAT", "warning"]]);
  });

  it("does not count training_args.bin next to safetensors as pickle weights", () => {
    const r = check(["config.json", "model.safetensors", "training_args.bin", "tokenizer.json"]);
    expect(r.findings).toEqual([]);
  });

  it("refuses a directory with no weights at all as WEIGHTS_MISSING", () => {
    expect(check(["config.json", "tokenizer.json"]).findings.map((f) => f.code)).toEqual(["WEIGHTS_MISSING"]);
  });

  it("refuses a model without any tokenizer file as MODEL_ARTIFACT_INCOMPLETE", () => {
    const r = check(["config.json", "model.safetensors", "generation_config.json"]);
    expect(r.findings.map((f) => [f.code, f.severity])).toEqual([["MODEL_ARTIFACT_INCOMPLETE", "error"]]);
  });

  it("accepts an S3 prefix whose keys carry the prefix path", () => {
    const r = check(["models/llama/config.json", "models/llama/model.safetensors", "models/llama/tokenizer.json"]);
    expect(r.findings).toEqual([]);
  });

  it("reports every problem at once, not just the first", () => {
    const r = check(["pytorch_model.bin"]);
    expect(r.findings.map((f) => f.code).sort()).toEqual(["CONFIG_MISSING", "MODEL_ARTIFACT_INCOMPLETE", "UNSAFE_WEIGHTS_FORMAT"]);
  });

  it("checks only the capability when the file list is unknown", () => {
    expect(validateImport({ path: "p", modelId: "m", profile })).toEqual({ capability: "TEXT_TO_TEXT", findings: [] });
  });
});
