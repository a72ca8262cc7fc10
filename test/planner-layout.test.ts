/**
 * One place resolves the parallel layout: a declared tensorParallel either constrains the shape
 * choice or is refused with the real reason (attention heads vs KV heads) and the values that work,
 * for every catalog model and every size a user could type. Shape names accept their obvious aliases;
 * "nothing fits" names the real shortfall.
 */
import { catalogModelIds, findCatalogModel } from "../catalog/models";
import { SHAPES } from "../catalog";
import { placeEndpoint, type EndpointDeclaration, type ModelDeclaration } from "../planner/plan";
import { tensorParallelProblem } from "../planner/sizing";
import { GpuShape } from "../planner/shapes";
import { capabilityOfCatalogModel, catalogProfile } from "./fixtures/models";
import { PlanningError } from "../planner/findings";

function model(id: string): ModelDeclaration {
  return { name: "m", path: "s/m", modelId: id, revision: findCatalogModel(id)!.revision, capability: capabilityOfCatalogModel(id), profile: catalogProfile(id), storedInS3: false };
}
function decl(id: string, over: Partial<EndpointDeclaration> = {}): EndpointDeclaration {
  const m = model(id);
  return { name: "chat", path: "s/chat", model: m, capability: m.capability, maxModelLen: Math.min(2048, m.profile.maxPositionEmbeddings), replicas: { min: 1, max: 1 }, capacityType: "ON_DEMAND", ...over };
}
const errorsOf = (r: ReturnType<typeof placeEndpoint>) => r.findings.filter((f) => f.severity === "error");

describe("a declared tensorParallel without a shape", () => {
  test("Qwen2.5-7B at TP 3: refused because 28 attention heads are not divisible by 3, with the valid sizes", () => {
    const [f] = errorsOf(placeEndpoint(decl("Qwen/Qwen2.5-7B-Instruct", { tensorParallel: 3 })));
    expect(f.code).toBe("TP_NOT_DIVISOR");
    expect(f.message).toContain("28 attention heads");
    expect(f.message).toContain("Fix: use tensorParallel 1, 2, 4 ");
  });

  test("Qwen2.5-7B at TP 7: refused for its 4 KV heads, not for its 28 attention heads (which 7 divides)", () => {
    const [f] = errorsOf(placeEndpoint(decl("Qwen/Qwen2.5-7B-Instruct", { tensorParallel: 7 })));
    expect(f.code).toBe("TP_NOT_DIVISOR");
    expect(f.message).toMatch(/4 KV heads \(its 28 attention heads are fine\)/);
    expect(f.message).not.toMatch(/Total number of attention heads/);
    expect(f.message).toContain('"7 is not divisible by 4"');
  });

  test("falcon-7b at TP 2: refused, its 71 heads allow TP 1 only", () => {
    const [f] = errorsOf(placeEndpoint(decl("tiiuae/falcon-7b", { tensorParallel: 2 })));
    expect(f.code).toBe("TP_NOT_DIVISOR");
    expect(f.message).toContain("Fix: use tensorParallel 1 ");
  });

  test("a valid TP with no shape of that many GPUs is refused as TP_NO_SHAPE", () => {
    const [f] = errorsOf(placeEndpoint(decl("meta-llama/Llama-3.1-70B-Instruct", { tensorParallel: 16 })));
    expect(f.code).toBe("TP_NO_SHAPE");
    expect(f.message).toMatch(/no GPU shape has 16 GPUs in one node/);
  });

  test("Qwen2.5-7B at TP 4 is placed on a 4-GPU shape with TP 4, not on the cheapest 1-GPU shape", () => {
    const r = placeEndpoint(decl("Qwen/Qwen2.5-7B-Instruct", { tensorParallel: 4 }));
    expect(r.placed!.fit.shape.gpus).toBe(4);
    expect(r.placed!.fit.tensorParallel).toBe(4);
    expect(r.placed!.alternatives.every((a) => SHAPES.find((s) => s.name === a.shape.split(" ")[0])!.gpus === 4)).toBe(true);
  });

  // The whole class: every catalog model, every size a user might type.
  const servable = (id: string) => { try { return catalogProfile(id) && true; } catch { return false; } };
  const generative = catalogModelIds().filter((id) => servable(id) && ["TEXT_TO_TEXT", "IMAGE_TEXT_TO_TEXT"].includes(capabilityOfCatalogModel(id)));
  test.each(generative)("%s: every TP 1–8 is either honoured exactly or refused with a coded reason", (id) => {
    for (let tp = 1; tp <= 8; tp++) {
      const r = placeEndpoint(decl(id, { tensorParallel: tp, minConcurrency: 0.01 }));
      const problem = tensorParallelProblem(catalogProfile(id), tp);
      if (problem || ![1, 2, 4, 8].includes(tp)) {
        expect([tp, errorsOf(r).map((f) => f.code)]).toEqual([tp, [problem ? "TP_NOT_DIVISOR" : "TP_NO_SHAPE"]]);
      } else if (r.placed) {
        expect([tp, r.placed.fit.tensorParallel]).toEqual([tp, tp]);
      } else {
        // A valid TP on which the model does not fit any shape of that size: said so, never silently changed.
        expect(errorsOf(r).length).toBeGreaterThan(0);
      }
    }
  });
});

describe("shape names", () => {
  test.each([
    ["A10G_X1", "A10_X1"],
    ["a10_x1", "A10_X1"],
    ["l4_x1", "L4_X1"],
    ["A100-80G_X8", "A100_80G_X8"],
    ["h100_x8", "H100_X8"],
  ])("%s is accepted as %s", (typed, canonical) => {
    expect(GpuShape.of(typed).name).toBe(canonical);
  });

  test("every shape answers to its GPU's catalog id (the CLI's --gpu) with its count", () => {
    for (const s of SHAPES) expect(GpuShape.of(`${s.gpu}_X${s.gpus}`).name).toBe(s.name);
  });

  test("a typo is told the nearest shape; a count the GPU lacks is told the counts it has", () => {
    const msg = (n: string) => {
      try {
        GpuShape.of(n, "s/chat");
      } catch (e) {
        return (e as PlanningError).findings[0].message;
      }
      return "";
    };
    expect(msg("H1OO_X8")).toMatch(/\[SHAPE_UNKNOWN\] s\/chat: .*did you mean H100_X8\?/);
    expect(msg("L4_X3")).toMatch(/use one of L4_X1, L4_X2, L4_X4, L4_X8/);
  });
});

describe("nothing fits", () => {
  const r = placeEndpoint(decl("meta-llama/Llama-3.1-70B-Instruct", { maxModelLen: 131072, minConcurrency: 1000 }));
  const [f] = errorsOf(r);

  test("explains the real shortfall (concurrency on the closest shape), not a small shape's weights", () => {
    expect(f.code).toBe("MODEL_DOES_NOT_FIT");
    expect(f.message).toMatch(/the weights fit, but the KV cache is too small: the closest, \S+/);
    expect(f.message).toMatch(/and 1000 were asked for/);
    expect(f.message).not.toMatch(/T4/);
  });

  test('says "Fix:" exactly once', () => {
    expect(f.message.match(/Fix:/g)).toHaveLength(1);
  });

  test("a model no candidate can hold is explained by the weights on the largest candidate", () => {
    // Llama-3.1-70B at TP 1: only 1-GPU shapes are candidates, and none holds 131 GiB of bf16 weights.
    const [e] = errorsOf(placeEndpoint(decl("meta-llama/Llama-3.1-70B-Instruct", { tensorParallel: 1 })));
    expect(e.code).toBe("MODEL_DOES_NOT_FIT");
    expect(e.message).toMatch(/even the largest, H200_X1 \(p5en?\.48xlarge\), cannot hold the weights: the weights alone need/);
    expect(e.message.match(/Fix:/g)).toHaveLength(1);
  });
});
