/**
 * Which GPU generations each quantization format runs on, as the release's code decides
 * (catalog/vllm/quantization.json): native kernels, Marlin weight-only emulation, or refusal with the GPUs that work.
 */
import { findGpu, findGpuByName, GPUS } from "../catalog";
import quantJson from "../catalog/vllm/quantization.json";
import { engineFor } from "../planner/engine";
import { quantSupport } from "../planner/quant-support";
import { size } from "../planner/sizing";
import { benchConfig, catalogProfile } from "./fixtures/models";
import { profileFromConfig } from "../planner/model-profile";

const cc = (id: string) => (findGpu(id) ?? findGpuByName(id))!.computeCapability;
const support = (method: Parameters<typeof quantSupport>[0], gpu: string, version = "0.24.0") => quantSupport(method, cc(gpu), version)?.support;

describe("quantization support per GPU generation (v0.19–v0.24 code)", () => {
  it("runs FP8 natively from Ada (8.9) and through Marlin weight-only kernels on Turing and Ampere", () => {
    expect(["L4", "L40S", "H100", "B200"].map((g) => support("fp8", g))).toEqual(["native", "native", "native", "native"]);
    expect(["T4", "A10G", "A100-80G"].map((g) => support("fp8", g))).toEqual(["emulated", "emulated", "emulated"]);
  });

  it("refuses ModelOpt FP8 below 8.9 (no Marlin fallback) but emulates ModelOpt NVFP4 there", () => {
    expect(support("modelopt-fp8", "A100-80G")).toBe("refused");
    expect(support("nvfp4", "A100-80G")).toBe("emulated");
    expect(support("nvfp4", "H100")).toBe("emulated");
    expect(support("nvfp4", "B200")).toBe("native");
    expect(support("nvfp4", "RTX-PRO-6000")).toBe("native");
  });

  it("runs MXFP4 (gpt-oss) natively on Hopper and Blackwell data-centre GPUs, through Marlin on Ampere/Ada and sm120, never below 8.0", () => {
    expect(["H100", "H200", "B200"].map((g) => support("mxfp4", g))).toEqual(["native", "native", "native"]);
    expect(["A100-80G", "L40S", "RTX-PRO-6000"].map((g) => support("mxfp4", g))).toEqual(["emulated", "emulated", "emulated"]);
    expect(support("mxfp4", "T4")).toBe("refused");
  });

  it("sizes gpt-oss-20b on a T4 as QUANT_UNSUPPORTED_ON_GPU naming the GPUs that run MXFP4, and on an A100 with a Marlin warning", () => {
    const p = catalogProfile("openai/gpt-oss-20b");
    const base = { profile: p, engine: engineFor("0.24.0"), tensorParallel: 1, maxModelLen: 8192, path: "s/oss" };
    const t4 = size({ ...base, gpu: findGpu("T4")!, tensorParallel: 4 });
    expect(t4.errors.map((e) => e.code)).toContain("QUANT_UNSUPPORTED_ON_GPU");
    expect(t4.errors.find((e) => e.code === "QUANT_UNSUPPORTED_ON_GPU")!.message).toMatch(/natively: .*H100.*B200.*; as Marlin weight-only: .*A100/);
    const a100 = size({ ...base, gpu: findGpu("A100-80G")! });
    expect(a100.errors).toEqual([]);
    expect(a100.warnings.map((w) => w.code)).toContain("QUANT_EMULATED_ON_GPU");
    expect(size({ ...base, gpu: findGpu("H100")! }).warnings.map((w) => w.code)).not.toContain("QUANT_EMULATED_ON_GPU");
  });

  it("warns that an NVFP4 checkpoint runs weight-only on an H100 and not on a B200", () => {
    const p = profileFromConfig(benchConfig("configs/nvidia__Qwen3.6-27B-NVFP4.json"), "q");
    const base = { profile: p, engine: engineFor("0.24.0"), tensorParallel: 1, maxModelLen: 32768, path: "s/q" };
    expect(size({ ...base, gpu: findGpu("H100")! }).warnings.map((w) => w.code)).toContain("QUANT_EMULATED_ON_GPU");
    expect(size({ ...base, gpu: findGpu("B200")! }).warnings.map((w) => w.code)).not.toContain("QUANT_EMULATED_ON_GPU");
  });

  it("says when a release's quantization support was not read instead of assuming v0.24's", () => {
    const r = size({ profile: catalogProfile("openai/gpt-oss-20b"), gpu: findGpu("H100")!, engine: engineFor("0.15.1"), tensorParallel: 1, maxModelLen: 8192, path: "s/oss" });
    expect(r.warnings.map((w) => w.code)).toContain("QUANT_SUPPORT_UNCHECKED");
  });

  it("has a sourced row for every format the planner reads, and every catalog GPU falls in exactly one verdict per format", () => {
    const methods = (quantJson as { methods: Array<{ method: string; source: string; minCapability: number }> }).methods;
    expect(methods.map((m) => m.method).sort()).toEqual(["awq", "fp8", "gptq", "modelopt-fp8", "modelopt-mixed", "mxfp4", "nvfp4", "w4a16", "w8a8-fp8", "w8a8-int8"]);
    for (const m of methods) expect(m.source).toMatch(/\.py/);
    for (const m of methods) for (const g of GPUS) expect(["native", "emulated", "refused"]).toContain(quantSupport(m.method as never, g.computeCapability, "0.24.0")!.support);
  });
});
