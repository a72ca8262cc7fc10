/**
 * `model-serving perf`, the traffic flags of `size` and `shapes`, and `plan --compare`, run in-process
 * through main(argv, io) (and `plan` as the real executable, since it runs the app of ./cdktf.json).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../cli/main";
import { REPO_ROOT } from "./fixtures/models";

function cli(...argv: string[]): { code: number; out: string; err: string } {
  const out: string[] = [];
  const err: string[] = [];
  const code = main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  if (typeof code !== "number") throw new Error("perf, size and shapes answer synchronously");
  return { code, out: out.join("\n"), err: err.join("\n") };
}
const LLAMA_8B = "meta-llama/Llama-3.1-8B-Instruct";

describe("model-serving perf", () => {
  const r = cli("perf", "--config", LLAMA_8B, "--gpu", "H100", "--input", "1024", "--output", "128", "--request-rate", "inf", "--num-prompts", "400", "--json");
  const p = JSON.parse(r.out);

  it("prints what vllm bench serve would: tokens/s, requests/s, TTFT, TPOT and ITL (exit 0)", () => {
    expect(r.code).toBe(0);
    for (const k of ["outputTokensPerSecond", "totalTokensPerSecond", "requestsPerSecond", "meanTtftMs", "meanTpotMs", "meanItlMs"]) expect(p[k]).toBeGreaterThan(0);
    expect(p).toMatchObject({ model: LLAMA_8B, gpu: "H100", gpus: 1, completed: 400, load: { requestRate: "inf", numPrompts: 400, maxConcurrency: null } });
    // The figures are one run's: tokens over the same duration, in the request's proportions.
    expect(p.totalTokensPerSecond / p.outputTokensPerSecond).toBeCloseTo((1024 + 128) / 128, 2);
    expect(p.requestsPerSecond * p.durationSeconds).toBeCloseTo(400, 0);
  });

  it("reports the engine settings it assumed: the pinned release's batch defaults for an H100 and the sized KV cache", () => {
    expect(p.engine).toMatchObject({ maxNumSeqs: 1024, maxNumBatchedTokens: 8192, chunkedPrefill: true, asyncScheduling: true });
    expect(p.engine.kvCacheTokens).toBeGreaterThan(100000);
  });

  it("caps the requests in flight with --concurrency, and spreads 4 GPUs as tensor parallel 4", () => {
    const q = JSON.parse(cli("perf", "--config", "meta-llama/Llama-3.1-70B-Instruct", "--gpu", "H100", "--gpus", "4", "--input", "1000", "--output", "200", "--concurrency", "8", "--num-prompts", "64", "--json").out);
    expect(q).toMatchObject({ tensorParallel: 4, pipelineParallel: 1, load: { maxConcurrency: 8, requestRate: "inf" } });
    expect(q.meanBatch).toBeLessThanOrEqual(8);
  });

  it("is faster per token with fewer requests in flight: TPOT at concurrency 1 is below TPOT with everything released at once", () => {
    const one = JSON.parse(cli("perf", "--config", LLAMA_8B, "--gpu", "L40S", "--input", "512", "--output", "128", "--concurrency", "1", "--num-prompts", "5", "--json").out);
    const all = JSON.parse(cli("perf", "--config", LLAMA_8B, "--gpu", "L40S", "--input", "512", "--output", "128", "--request-rate", "inf", "--num-prompts", "200", "--json").out);
    expect(one.meanTpotMs).toBeLessThan(all.meanTpotMs);
    expect(one.outputTokensPerSecond).toBeLessThan(all.outputTokensPerSecond);
  });

  it.each([
    [["--gpu", "H100", "--output", "128", "--request-rate", "inf"], /needs --input N and --output N/],
    [["--gpu", "H100", "--input", "128", "--output", "128"], /needs --concurrency N or --request-rate R\|inf/],
    [["--gpu", "H100", "--input", "128", "--output", "128", "--request-rate", "fast"], /--request-rate must be a positive number/],
    [["--gpu", "X9", "--input", "128", "--output", "128", "--concurrency", "2"], /--gpu must be one of/],
    [["--input", "128", "--output", "128", "--concurrency", "2"], /perf needs --gpu/],
  ])("exits 2 with the usage on %j", (args, message) => {
    const u = cli("perf", "--config", LLAMA_8B, ...args);
    expect(u.code).toBe(2);
    expect(u.err).toMatch(message);
  });

  it("exits 1 with the sizing's coded error when the model does not fit the GPU", () => {
    const u = cli("perf", "--config", "meta-llama/Llama-3.1-70B-Instruct", "--gpu", "L4", "--input", "128", "--output", "128", "--concurrency", "2", "--json");
    expect(u.code).toBe(1);
    expect(JSON.parse(u.out).errors[0].code).toBe("MODEL_DOES_NOT_FIT");
  });
});

describe("traffic flags on size and shapes", () => {
  it("size --input/--output/--concurrency adds the predicted run to the fit", () => {
    const s = JSON.parse(cli("size", "--config", LLAMA_8B, "--gpu", "L40S", "--max-model-len", "8192", "--input", "1000", "--output", "200", "--concurrency", "16", "--num-prompts", "64", "--json").out);
    expect(s.fits).toBe(true);
    expect(s.performance.outputTokensPerSecond).toBeGreaterThan(0);
    expect(s.performance.meanBatch).toBeLessThanOrEqual(16);
  });

  it("shapes with a request rate ranks every shape that holds the model by $ per 1M output tokens, with the replicas the rate needs", () => {
    const r = cli("shapes", "--config", "meta-llama/Llama-3.2-1B-Instruct", "--max-model-len", "4096", "--input", "1000", "--output", "200", "--request-rate", "20", "--p95-tpot-ms", "40", "--json");
    expect(r.code).toBe(0);
    const ranked = JSON.parse(r.out).ranked as Array<{ shape: string; replicas: number | null; usdPerHour: number | null; perReplicaRequestsPerSecond: number | null; usdPer1MOutputTokens: number | null }>;
    const meeting = ranked.filter((x) => x.usdPer1MOutputTokens !== null);
    expect(meeting.length).toBeGreaterThan(3);
    for (let i = 1; i < meeting.length; i++) expect(meeting[i].usdPer1MOutputTokens!).toBeGreaterThanOrEqual(meeting[i - 1].usdPer1MOutputTokens!);
    for (const x of meeting) {
      expect(x.replicas! * x.perReplicaRequestsPerSecond!).toBeGreaterThanOrEqual(20);
      expect(x.usdPer1MOutputTokens!).toBeCloseTo((x.usdPerHour! / (20 * 200 * 3600)) * 1e6, 3);
    }
  });
});

describe("model-serving plan --compare", () => {
  const dir = mkdtempSync(join(tmpdir(), "compare-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(REPO_ROOT, "bin", "model-serving.cjs");
  const current = JSON.parse(spawnSync(bin, ["plan", "--json"], { cwd: REPO_ROOT, encoding: "utf8" }).stdout).stacks.quickstart;
  // The base: yesterday's plan had llama-chat on one A10 replica and no rerank endpoint.
  const base = JSON.parse(JSON.stringify(current));
  const chat = base.endpoints.find((e: { name: string }) => e.name === "llama-chat");
  Object.assign(chat, { shape: "A10_X1", instanceType: "g5.xlarge", replicas: { min: 1, expected: 1, max: 1 }, monthlyUsd: { min: 734.38, expected: 734.38, max: 734.38 } });
  base.endpoints = base.endpoints.filter((e: { name: string }) => e.name !== "rerank");
  base.totals.monthlyUsd = { min: 2000, expected: 2000, max: 2000 };
  const file = join(dir, "serving-plan.json");
  writeFileSync(file, JSON.stringify(base));

  it("prints the change as markdown for a pull request: totals, the moved endpoint's shape, replicas and cost, and the new endpoint", () => {
    const r = spawnSync(bin, ["plan", "--compare", file], { cwd: REPO_ROOT, encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`## Serving cost change: $2,000.00 → $${current.totals.monthlyUsd.expected.toLocaleString("en-US", { minimumFractionDigits: 2 })} per month expected`);
    expect(r.stdout).toMatch(/\| llama-chat \| changed \| A10_X1 → L4_X1 \| 1\/1\/1 → 2\/2\/2 \|/);
    expect(r.stdout).toMatch(/\| rerank \| added \| T4_X1 \|.*new endpoint \|/);
  });

  it("gives the same diff as JSON with --json", () => {
    const r = spawnSync(bin, ["plan", "--compare", file, "--json"], { cwd: REPO_ROOT, encoding: "utf8" });
    const diff = JSON.parse(r.stdout);
    expect(diff.totals.delta.expected).toBeCloseTo(current.totals.monthlyUsd.expected - 2000, 2);
    const stack = diff.stacks[0];
    expect(stack.endpoints.find((e: { name: string }) => e.name === "rerank").status).toBe("added");
    expect(stack.endpoints.find((e: { name: string }) => e.name === "llama-chat").changes).toEqual(expect.arrayContaining([expect.stringContaining("shape A10_X1 (g5.xlarge) → L4_X1"), "replicas 1/1/1 → 2/2/2"]));
  });
});
