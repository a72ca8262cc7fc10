/**
 * One measured fleet synthesis, in a process of its own so that peak memory belongs to this run only.
 * Spawned by bench/fleet.ts:
 *
 *   node --import tsx bench/fleet-child.ts <lib|base> <endpoints> <outdir>
 *
 * Prints one JSON line: module load, construct building and app.synth() times, peak RSS, and what was
 * written (resource counts by type, bytes of cdk.tf.json) so the parent can check both modes emit the
 * same resources. In lib mode it also checks the serving plan against the shapes fleet-spec.ts expects.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { performance } from "node:perf_hooks";
import { fleet, STACK_ID, TEMPLATES } from "./fleet-spec";

export interface ChildResult {
  mode: "lib" | "base";
  endpoints: number;
  loadMs: number;
  buildMs: number;
  synthMs: number;
  /** construct building + app.synth() */
  wallMs: number;
  /** CPU time (user + system, all threads) over building + synth: less sensitive than wall time to other load on the machine. */
  cpuMs: number;
  /**
   * The main thread's time on a CPU over building + synth, and its time runnable but waiting for one
   * (Linux schedstat): the first is the work itself, the second what other load on the machine cost this run.
   */
  mainThreadCpuMs?: number;
  runQueueWaitMs?: number;
  maxRssMiB: number;
  heapUsedMiB: number;
  /** Bytes of every cdk.tf.json the app wrote. */
  tfJsonBytes: number;
  /** lib mode: the file the package name "cdktf-model-serving" resolved to (index.ts under tsx, lib/index.js compiled). */
  library?: string;
  /** The stacks written (directory names under cdktf.out/stacks). */
  stacks: string[];
  /** Resources, data sources and providers by type, summed over every stack. */
  counts: Record<string, number>;
  /** lib mode: endpoints whose planned shape/instance/TP/resources differ from fleet-spec's `expect`. */
  planMismatches: string[];
  error?: string;
}

/** The main thread's [on-CPU, waiting-to-run] nanoseconds (Linux /proc schedstat), or undefined elsewhere. */
function schedstat(): [number, number] | undefined {
  try {
    const [run, wait] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ").map(Number);
    return Number.isFinite(run) && Number.isFinite(wait) ? [run, wait] : undefined;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const [mode, sizeArg, outdir] = process.argv.slice(2);
  if ((mode !== "lib" && mode !== "base") || !sizeArg || !outdir) {
    console.error("usage: fleet-child.ts <lib|base> <endpoints> <outdir>");
    process.exit(2);
  }
  process.env.MODEL_SERVING_QUIET = "1";
  const size = Number(sizeArg);
  const endpoints = fleet(size);

  // Experiment switch (npm run bench -- --no-source-maps): tsx turns on source-mapped stack traces, and
  // cdktf captures a full stack trace for every token it creates; this shows what that costs.
  if (process.env.BENCH_SOURCE_MAPS === "off") process.setSourceMapsEnabled(false);
  const t0 = performance.now();
  const cdktf = await import("cdktf");
  const builder = mode === "lib" ? await import("./fleet-lib") : await import("./fleet-baseline");
  const t1 = performance.now();
  // Which build of the library this run measured: the TypeScript entry point (tsx) or the compiled lib/index.js.
  const library = mode === "lib" ? Object.keys(require.cache).find((f) => !f.includes("node_modules") && /[\\/](?:lib[\\/]index\.js|index\.ts)$/.test(f)) : undefined;
  const cpu0 = process.cpuUsage();
  const sched0 = schedstat();
  const app = new cdktf.App({ outdir });
  builder.build(app, endpoints);
  const t2 = performance.now();
  let error: string | undefined;
  try {
    app.synth();
  } catch (e) {
    error = ((e as Error).message ?? String(e)).slice(0, 2000);
  }
  const t3 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const sched1 = schedstat();
  const usage = process.resourceUsage();
  const heapUsedMiB = process.memoryUsage().heapUsed / 2 ** 20;

  const counts: Record<string, number> = {};
  let tfJsonBytes = 0;
  const stacks: string[] = [];
  const planMismatches: string[] = [];
  if (!error) {
    // Every stack the app wrote (a new cluster is two: `<id>-cluster` and `<id>`), counted together.
    const add = (k: string, n: number) => (counts[k] = (counts[k] ?? 0) + n);
    for (const stackDir of readdirSync(join(outdir, "stacks")).sort()) {
      const text = readFileSync(join(outdir, "stacks", stackDir, "cdk.tf.json"), "utf8");
      tfJsonBytes += Buffer.byteLength(text);
      stacks.push(stackDir);
      const tf = JSON.parse(text) as { resource?: Record<string, Record<string, unknown>>; data?: Record<string, Record<string, unknown>>; provider?: Record<string, unknown[]> };
      for (const [type, byId] of Object.entries(tf.resource ?? {})) add(type, Object.keys(byId).length);
      for (const [type, byId] of Object.entries(tf.data ?? {})) add(`data.${type}`, Object.keys(byId).length);
      for (const [type, list] of Object.entries(tf.provider ?? {})) add(`provider.${type}`, list.length);
    }
    const dir = join(outdir, "stacks", STACK_ID);
    if (mode === "lib") {
      interface PlannedEndpoint { name: string; shape: string; instanceType: string; tensorParallel: number; pipelineParallel: number; resources: { cpu: number; memoryGiB: number; shmGiB: number }; dtype: string; maxNumSeqs: number; maxNumBatchedTokens: number }
      const plan = JSON.parse(readFileSync(join(dir, "serving-plan.json"), "utf8")) as { endpoints: PlannedEndpoint[] };
      const byName = new Map(plan.endpoints.map((p) => [p.name, p]));
      for (const e of endpoints) {
        const p = byName.get(e.name);
        const x = e.template.expect;
        const got = p ? `${p.shape}@${p.instanceType} tp${p.tensorParallel}×pp${p.pipelineParallel} ${p.resources.cpu}cpu/${p.resources.memoryGiB}Gi/shm${p.resources.shmGiB} ${p.dtype} seqs${p.maxNumSeqs} batched${p.maxNumBatchedTokens}` : "not planned";
        const want = `${x.shape}@${x.instanceType} tp${x.tensorParallel}×pp${x.pipelineParallel} ${x.cpu}cpu/${x.memoryGiB}Gi/shm${x.shmGiB} ${x.dtype} seqs${x.maxNumSeqs} batched${x.maxNumBatchedTokens}`;
        if (got !== want && planMismatches.length < TEMPLATES.length) planMismatches.push(`${e.name} (${e.template.model}): planned ${got}, fleet-spec expects ${want}`);
      }
    }
  }
  const result: ChildResult = {
    mode,
    endpoints: size,
    loadMs: t1 - t0,
    buildMs: t2 - t1,
    synthMs: t3 - t2,
    wallMs: t3 - t1,
    cpuMs: (cpu.user + cpu.system) / 1000,
    ...(sched0 && sched1 ? { mainThreadCpuMs: (sched1[0] - sched0[0]) / 1e6, runQueueWaitMs: (sched1[1] - sched0[1]) / 1e6 } : {}),
    maxRssMiB: usage.maxRSS / 1024,
    heapUsedMiB,
    tfJsonBytes,
    ...(library ? { library: relative(process.cwd(), library) } : {}),
    stacks,
    counts,
    planMismatches,
    ...(error ? { error } : {}),
  };
  process.stdout.write(JSON.stringify(result) + "\n");
}

void main();
