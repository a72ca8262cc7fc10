/**
 * The vLLM release a user runs: sizing, image and `vllm serve` flags follow it, on the command line
 * and in a stack; versions outside what was read are coded errors that list what is supported.
 */
import "cdktf/lib/testing/adapters/jest";
import { Testing } from "cdktf";
import flags from "../catalog/vllm/flags.json";
import releases from "../catalog/vllm/releases.json";
import { main } from "../cli/main";
import { ModelSource } from "../constructs/model-source";
import { DEFAULT_VLLM_VERSION, engineFor, servableVllmVersions, vllmRelease } from "../planner/engine";
import { PlanningError } from "../planner/findings";
import { ModelServingStack } from "../stacks/model-serving-stack";
import { catalogProfile } from "./fixtures/models";

const QWEN = { repo: "Qwen/Qwen2.5-7B-Instruct", revision: "a09a35458c702b33eeacc393d103063234e8bc28" };

function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) }) as number;
  return { code, out: out.join("\n"), err: err.join("\n") };
}

function stackServing(clusterVllm?: string, endpointVllm?: string) {
  const app = Testing.app();
  const stack = new ModelServingStack(app, "serving", { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "test", quotas: { "L-DB2E81BA": 1000, "L-417A185B": 1000 }, ...(clusterVllm ? { vllm: clusterVllm } : {}) } } });
  const qwen = stack.importModel("qwen", { source: ModelSource.huggingFace(QWEN.repo, { revision: QWEN.revision }) });
  stack.addEndpoint("chat", { model: qwen, maxModelLen: 8192, ...(endpointVllm ? { vllm: endpointVllm } : {}) });
  return stack;
}

function vllmContainer(json: any) {
  const d = Object.values(json.resource.kubernetes_deployment_v1 as Record<string, any>)[0];
  return d.spec.template.spec.container[0];
}

describe("a stack serving a chosen vLLM release", () => {
  test("serving vLLM 0.19.1 renders that image, only flags its parser defines, and v0.19's 0.9 default utilisation", () => {
    const stack = stackServing("0.19.1");
    const json = JSON.parse(Testing.synth(stack, true));
    const c = vllmContainer(json);
    expect(c.image).toBe("vllm/vllm-openai:v0.19.1");
    const known = new Set(flags.releases["0.19.1"].exists);
    const rendered = (c.args as string[]).filter((a) => a.startsWith("--"));
    expect(rendered.length).toBeGreaterThan(8);
    for (const f of rendered) expect(known).toContain(f);
    expect(c.args[c.args.indexOf("--gpu-memory-utilization") + 1]).toBe("0.9");
    const plan = stack.cluster.plan();
    expect(plan.catalog.vllmImage).toBe("vllm/vllm-openai:v0.19.1");
    expect(plan.endpoints[0].vllm).toBe("0.19.1");
  });

  test("without a release the stack serves the default, pinned by digest when the release's digest is known", () => {
    const c = vllmContainer(JSON.parse(Testing.synth(stackServing(), true)));
    const row = releases.releases.find((r) => r.version === DEFAULT_VLLM_VERSION)!;
    expect(c.image).toBe(`vllm/vllm-openai:v${DEFAULT_VLLM_VERSION}${row.digest ? `@${row.digest.value}` : ""}`);
    const v23 = JSON.parse(Testing.synth(stackServing("0.23.0"), true));
    expect(vllmContainer(v23).image).toBe("vllm/vllm-openai:v0.23.0@sha256:6d8429e38e3747723ca07ee1b17972e09bb9c51c4032b266f24fb1cc3b22ed8f");
  });

  test("an endpoint may run another release than its cluster, and its sizing follows that release", () => {
    const stack = stackServing("0.24.0", "0.19.0");
    const c = vllmContainer(JSON.parse(Testing.synth(stack, true)));
    expect(c.image).toBe("vllm/vllm-openai:v0.19.0");
    expect(stack.cluster.plan().endpoints[0]).toMatchObject({ vllm: "0.19.0", gpuMemoryUtilization: 0.9 });
  });

  test("a release that was not read at its tag is refused with VLLM_VERSION_UNSUPPORTED listing the servable ones", () => {
    expect(() => Testing.synth(stackServing("0.27.1"), true)).toThrow(/\[VLLM_VERSION_UNSUPPORTED\] serving-cluster\/cluster: vLLM "0\.27\.1" is not a release this library can serve\..*0\.27\.1 can be sized.*Fix: use one of 0\.24\.0, 0\.23\.0, 0\.19\.1, 0\.19\.0 \(served\)/s);
    expect(() => Testing.synth(stackServing(undefined, "latest"), true)).toThrow(/\[VLLM_VERSION_UNSUPPORTED\] serving\/chat: vLLM "latest"/);
  });
});

describe("model-serving --vllm", () => {
  test("replays the v0.19.0 H100 log of Llama-3.1-8B at 0.95 (476,000 tokens printed) with --vllm 0.19.0", () => {
    const r = cli("size", "--config", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "H100", "--util", "0.95", "--max-model-len", "8192", "--vllm", "0.19.0", "--json");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out);
    expect(out.vllm).toBe("0.19.0");
    expect(Math.abs(out.kvCacheTokens - 476000) / 476000).toBeLessThan(0.005);
  });

  test("sizes the same start differently for v0.19 and v0.21+, which charges CUDA graphs to the budget", () => {
    const qwen = (v: string) => JSON.parse(cli("size", "--config", "Qwen/Qwen2.5-7B-Instruct", "--gpu", "H100", "--util", "0.9", "--max-model-len", "8192", "--vllm", v, "--json").out);
    expect(qwen("0.21.0").kvCacheGiB).toBeLessThan(qwen("0.19.1").kvCacheGiB - 0.5);
  });

  test("accepts any release v0.6–v0.29 for sizing and refuses others with the supported list", () => {
    expect(cli("size", "--config", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "H100", "--vllm", "0.27.1", "--json").code).toBe(0);
    expect(cli("size", "--config", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "H100", "--vllm", "v0.6.4", "--json").code).toBe(0);
    const bad = cli("size", "--config", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "H100", "--vllm", "0.31.0", "--json");
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.out).errors[0].message).toMatch(/^\[VLLM_VERSION_UNSUPPORTED\] --vllm: vLLM "0\.31\.0".*Fix: use one of 0\.24\.0, 0\.23\.0, 0\.19\.1, 0\.19\.0 \(served\), or any of v0\.6–v0\.29 for sizing\.$/s);
  });
});

describe("engine profile per release", () => {
  const qwen2 = catalogProfile("Qwen/Qwen2.5-7B-Instruct");
  test("from v0.25 every dense generative model runs on Model Runner V2, whose CUDA graphs are not charged; MoE models stay on V1", () => {
    expect(engineFor("0.24.0").runner(qwen2).cudaGraphsInBudget).toBe(true);
    expect(engineFor("0.25.0").runner(qwen2).cudaGraphsInBudget).toBe(false);
    expect(engineFor("0.27.1").runner(catalogProfile("mistralai/Mixtral-8x7B-Instruct-v0.1")).cudaGraphsInBudget).toBe(true);
  });

  test("the default release is servable and is the newest one read in full", () => {
    expect(servableVllmVersions()[0]).toBe(DEFAULT_VLLM_VERSION);
    expect(vllmRelease(undefined, "x", "serve").servable).toBe(true);
    expect(() => vllmRelease("0.5.4", "x")).toThrow(PlanningError);
  });
});
