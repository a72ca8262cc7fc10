/**
 * The model registry per served release (catalog/vllm/registry.json): what each release's registry.py registers,
 * where it differs from v0.24.0's — read at the tag commits.
 */
import registry from "../catalog/vllm/registry.json";
import { architectureCapability, registryReleases, releasesRegistering } from "../catalog/vllm";
import { servableVllmVersions } from "../planner/engine";
import { capabilityOf } from "../planner/import-validation";
import { catalogProfile } from "./fixtures/models";

describe("model registry per release", () => {
  it("has been read for every servable release", () => {
    expect([...registryReleases()].sort()).toEqual([...servableVllmVersions()].sort());
  });

  it("serves Qwen-1 (QWenLMHeadModel) and MiniMax-Text-01 up to v0.23.0 but not in v0.24.0, which moved them to _PREVIOUSLY_SUPPORTED_MODELS", () => {
    for (const arch of ["QWenLMHeadModel", "MiniMaxText01ForCausalLM"]) {
      expect(architectureCapability(arch, "0.19.1")).toBe("TEXT_TO_TEXT");
      expect(architectureCapability(arch, "0.23.0")).toBe("TEXT_TO_TEXT");
      expect(architectureCapability(arch, "0.24.0")).toBeUndefined();
      expect(releasesRegistering(arch)).toEqual(["0.23.0", "0.19.1", "0.19.0"]);
    }
    // JAIS left between v0.19.1 and v0.23.0.
    expect(releasesRegistering("JAISLMHeadModel")).toEqual(["0.19.1", "0.19.0"]);
  });

  it("registers DeepSeek-V4 and Gemma 4's unified model only from v0.24.0 / v0.23.0", () => {
    expect(architectureCapability("DeepseekV4ForCausalLM", "0.19.1")).toBeUndefined();
    expect(architectureCapability("DeepseekV4ForCausalLM", "0.23.0")).toBe("TEXT_TO_TEXT");
    expect(architectureCapability("DeepseekV4ForCausalLM", "0.24.0")).toBe("TEXT_TO_TEXT");
    expect(architectureCapability("HrmTextForCausalLM", "0.23.0")).toBeUndefined();
  });

  it("lets an import through when any served release registers the architecture, and refuses it for a release that does not, naming the ones that do", () => {
    const p = { ...catalogProfile("Qwen/Qwen2.5-7B-Instruct"), architecture: "QWenLMHeadModel" };
    expect(capabilityOf(p, "s/m").capability).toBe("TEXT_TO_TEXT");
    const refused = capabilityOf(p, "s/m", "0.24.0");
    expect(refused.findings.map((f) => f.code)).toEqual(["ARCH_UNSUPPORTED"]);
    expect(refused.findings[0].message).toContain("0.23.0, 0.19.1, 0.19.0");
  });

  it("records each release's commit and source", () => {
    for (const [v, d] of Object.entries((registry as { releases: Record<string, { commit: string; source: string }> }).releases)) {
      expect(d.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(d.source).toContain("registry.py");
      expect(v).toMatch(/^0\.\d+\.\d+$/);
    }
  });
});
