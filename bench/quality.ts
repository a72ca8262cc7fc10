/**
 * Planning quality: for a fixed grid of (model, maxModelLen, min concurrency) cases, compare the shape
 * the planner chooses (placeEndpoint, the path InferenceEndpoint takes) with an exhaustive search over
 * the whole catalog — every shape × every instance that can host it × every tensor/pipeline layout —
 * and with choosing hardware by parameter count alone (the watsonx.ai rule, shared/seeds/004_*.txt).
 *
 *   npm run bench:quality             table + summary
 *   npm run bench:quality -- --write  also writes bench/QUALITY.md
 *
 * The watsonx rule (seed 004): WX-S for ≤ 26B parameters, WX-M for 27–53B, WX-L for 54–106B (nothing
 * larger); "if the chosen configuration fails in testing, try the next one up; Large is the highest".
 * The seed names no GPUs. The thresholds double with the size (≈ 2 bytes × 26/53/106 B = 52/106/212 GB
 * of 16-bit weights) and watsonx's on-premises docs require NVIDIA A100 or H100 80 GB, so the sizes are
 * read as 1, 2 and 4 × 80 GB GPUs: WX-S = A100_80G_X1, WX-M = A100_80G_X2, WX-L = A100_80G_X4
 * (and, as a sensitivity check, H100_X1/X2/X4). Parameter counts are the planner's own count from
 * config.json, rounded to whole billions.
 *
 * Costs are On-Demand (catalog/instances.json) × 730 h/month for the whole endpoint on the whole nodes
 * its replicas occupy, idle GPUs included — what the deployment pays. The packed price (instance price ÷
 * replicas per node, which only a completely full pool sees) is reported beside it.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { HOURS_PER_MONTH, SHAPES } from "../catalog";
import { catalogModelIds, findCatalogModel } from "../catalog/models";
import { VLLM_RELEASE } from "../catalog/vllm";
import { fitOnShape, type FitRequest, type ShapeFit } from "../planner/choose";
import { engineFor } from "../planner/engine";
import { capabilityOf } from "../planner/import-validation";
import { profileFromConfig, type ModelProfile } from "../planner/model-profile";
import { placeEndpoint, type EndpointDeclaration } from "../planner/plan";
import type { Capability } from "../planner/plan-types";
import { GpuShape } from "../planner/shapes";
import { derivedMaxModelLen } from "../planner/sizing";
import { parameterCount } from "../planner/weights";

const engine = engineFor(VLLM_RELEASE.version);
/** (maxModelLen, minConcurrency) per model; lengths above the model's own maximum are skipped. */
const GRID: ReadonlyArray<readonly [number, number]> = [
  [512, 1],
  [2048, 1],
  [8192, 1],
  [8192, 8],
  [32768, 4],
  [131072, 1],
];
/** Replicas per endpoint: one (a single replica pays for its whole node) and four (fills many nodes). */
const REPLICAS = [1, 4] as const;
const WATSONX = [
  { size: "WX-S", maxB: 26, a100: "A100_80G_X1", h100: "H100_X1" },
  { size: "WX-M", maxB: 53, a100: "A100_80G_X2", h100: "H100_X2" },
  { size: "WX-L", maxB: 106, a100: "A100_80G_X4", h100: "H100_X4" },
] as const;

interface Model { id: string; revision: string; profile: ModelProfile; capability: Capability; paramsB: number }

function models(): Model[] {
  const out: Model[] = [];
  for (const id of catalogModelIds()) {
    const m = findCatalogModel(id)!;
    if (!m.revision) continue; // only pinned models, as a fleet would use
    try {
      const profile = profileFromConfig(m.configJson, id);
      const capability = capabilityOf(profile, id).capability;
      if (!capability) continue;
      out.push({ id, revision: m.revision, profile, capability, paramsB: parameterCount(profile) / 1e9 });
    } catch {
      // Not servable (e.g. a time-series model): not part of the grid.
    }
  }
  return out;
}

/** What an endpoint of `replicas` replicas pays per replica-hour: the whole nodes it occupies, idle GPUs included. */
function endpointHourly(f: ShapeFit, replicas: number): number {
  const nodes = f.nodesPerReplica > 1 ? replicas * f.nodesPerReplica : Math.ceil(replicas / f.host!.replicasPerNode);
  return (nodes * f.host!.instance.onDemandUsdPerHour!) / replicas;
}
/** A replica's share of full nodes (instance price ÷ replicas per node): what only a completely packed pool sees. */
function packedHourly(f: ShapeFit): number {
  return f.host!.usdPerReplicaHour * f.nodesPerReplica;
}

function layouts(gpus: number): Array<number | undefined> {
  return [undefined, ...[1, 2, 4, 8].filter((tp) => tp <= gpus && gpus % tp === 0)];
}

interface Search { endpoint: ShapeFit | undefined; packed: ShapeFit | undefined; evaluated: number }

/** Every shape × every instance that can host it × every TP×PP layout; the cheapest feasible one on each basis. */
function exhaustive(req: FitRequest, replicas: number): Search {
  let endpoint: ShapeFit | undefined;
  let packed: ShapeFit | undefined;
  let evaluated = 0;
  for (const spec of SHAPES) {
    const shape = GpuShape.of(spec.name);
    for (const host of shape.hosts().filter((h) => Number.isFinite(h.usdPerReplicaHour))) {
      for (const tp of layouts(shape.gpus)) {
        evaluated++;
        let fit: ShapeFit;
        try {
          fit = fitOnShape(req, shape, host, tp);
        } catch {
          continue; // a layout the sizing model rejects outright
        }
        if (!fit.feasible) continue;
        if (!endpoint || endpointHourly(fit, replicas) < endpointHourly(endpoint, replicas) - 1e-9) endpoint = fit;
        if (!packed || packedHourly(fit) < packedHourly(packed) - 1e-9) packed = fit;
      }
    }
  }
  return { endpoint, packed, evaluated };
}

/** The watsonx rule: size by parameter count, escalate to the next size while it does not fit. */
function byParameterCount(req: FitRequest, paramsB: number, gpu: "a100" | "h100"): { size: string; fit: ShapeFit | undefined; note: string } {
  const b = Math.round(paramsB);
  const start = WATSONX.findIndex((w) => b <= w.maxB);
  if (start < 0) return { size: "—", fit: undefined, note: `${b}B is above WX-L (106B): not deployable` };
  for (let i = start; i < WATSONX.length; i++) {
    const shape = GpuShape.of(WATSONX[i][gpu]);
    const fit = fitOnShape(req, shape);
    if (fit.feasible) return { size: WATSONX[i].size, fit, note: i > start ? `escalated from ${WATSONX[start].size}` : "" };
  }
  return { size: WATSONX[start].size, fit: undefined, note: "does not fit even on WX-L" };
}

function main(): void {
  const t0 = Date.now();
  const rows: string[] = [];
  let cases = 0;
  let evaluated = 0;
  let plannerInfeasible = 0;
  let ruleInfeasible = 0;
  const hit = { endpoint: 0, packed: 0 };
  const misses = { endpoint: [] as string[], packed: [] as string[] };
  // Monthly cost of whole endpoints (all replicas) summed over the cases where both sides have an answer.
  const sum = { plannerVsA100: 0, a100: 0, nA100: 0, plannerVsH100: 0, h100: 0, nH100: 0, plannerPackedVsA100: 0, a100Packed: 0, bestEndpoint: 0, plannerEndpoint: 0 };
  const usd = (v: number | undefined) => (v === undefined ? "—" : `$${v.toLocaleString("en-US", { maximumFractionDigits: 0 })}`);
  const label = (f: ShapeFit | undefined) => (f ? `${f.shape.name}${f.nodesPerReplica > 1 ? ` × ${f.nodesPerReplica} nodes` : ""} (${f.host!.instance.instanceType}${f.tensorParallel * f.pipelineParallel === f.shape.gpus && f.pipelineParallel > 1 ? `, TP${f.tensorParallel}×PP${f.pipelineParallel}` : ""})` : "none fits");
  for (const m of models()) {
    for (const [len, conc] of GRID) {
      if (len > derivedMaxModelLen(m.profile)) continue;
      for (const replicas of REPLICAS) {
        cases++;
        const path = `quality/${m.id}/${len}/${conc}/${replicas}`;
        const decl: EndpointDeclaration = {
          name: "q",
          path,
          model: { name: "q", path, modelId: m.id, revision: m.revision, capability: m.capability, profile: m.profile, storedInS3: true },
          capability: m.capability,
          maxModelLen: len,
          minConcurrency: conc,
          replicas: { min: replicas, max: replicas, expected: replicas },
          capacityType: "ON_DEMAND",
        };
        const req: FitRequest = { profile: m.profile, engine, maxModelLen: len, minConcurrency: conc, replicas, path };
        const chosen = placeEndpoint(decl, engine).placed?.fit;
        const ex = exhaustive(req, replicas);
        evaluated += ex.evaluated;
        if (!chosen) plannerInfeasible++;
        const month = (hourly: number | undefined) => (hourly === undefined ? undefined : hourly * replicas * HOURS_PER_MONTH);
        const pe = month(chosen && endpointHourly(chosen, replicas));
        const be = month(ex.endpoint && endpointHourly(ex.endpoint, replicas));
        const pp = month(chosen && packedHourly(chosen));
        const bp = month(ex.packed && packedHourly(ex.packed));
        const same = (a: number | undefined, b: number | undefined) => (a === undefined && b === undefined) || (a !== undefined && b !== undefined && Math.abs(a - b) < 1e-6 * Math.max(1, b));
        const what = `${m.id} len ${len} conc ${conc} × ${replicas}`;
        if (same(pe, be)) hit.endpoint++;
        else misses.endpoint.push(`${what}: planner ${label(chosen)} ${usd(pe)}/month, cheapest ${label(ex.endpoint)} ${usd(be)}`);
        if (same(pp, bp)) hit.packed++;
        else misses.packed.push(`${what}: planner ${label(chosen)} ${usd(pp)}, cheapest packed ${label(ex.packed)} ${usd(bp)}`);
        if (pe !== undefined && be !== undefined) {
          sum.plannerEndpoint += pe;
          sum.bestEndpoint += be;
        }
        const a100 = byParameterCount(req, m.paramsB, "a100");
        const h100 = byParameterCount(req, m.paramsB, "h100");
        const ae = month(a100.fit && endpointHourly(a100.fit, replicas));
        const he = month(h100.fit && endpointHourly(h100.fit, replicas));
        if (ae === undefined) ruleInfeasible++;
        if (pe !== undefined && ae !== undefined) {
          sum.plannerVsA100 += pe;
          sum.a100 += ae;
          sum.nA100++;
          sum.plannerPackedVsA100 += pp!;
          sum.a100Packed += month(packedHourly(a100.fit!))!;
        }
        if (pe !== undefined && he !== undefined) {
          sum.plannerVsH100 += pe;
          sum.h100 += he;
          sum.nH100++;
        }
        rows.push(
          `| ${m.id} | ${m.paramsB.toFixed(1)} | ${len} | ${conc} | ${replicas} | ${label(chosen)} | ${usd(pe)} | ${label(ex.endpoint)} | ${usd(be)} | ${same(pe, be) ? "yes" : "**no**"} | ${a100.size}${a100.fit ? ` → ${a100.fit.shape.name}` : ""}${a100.note ? ` (${a100.note})` : ""} | ${usd(ae)} | ${usd(he)} |`,
        );
      }
    }
  }
  const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(0)}%`;
  const money = (v: number) => `$${v.toLocaleString("en-US", { maximumFractionDigits: 0 })}`;
  const list = (xs: string[]) => [...xs.slice(0, 15).map((x) => `  - ${x}`), ...(xs.length > 15 ? [`  - … and ${xs.length - 15} more`] : [])];
  const summary = [
    `- Cases: ${cases} — ${models().length} pinned catalog models × up to ${GRID.length} (maxModelLen, min concurrency) pairs (lengths above a model's maximum skipped) × ${REPLICAS.join(" or ")} replicas; the exhaustive search evaluated ${evaluated.toLocaleString("en-US")} shape × instance × layout fits.`,
    `- **Cheapest feasible for what the endpoint pays** (its replicas' whole nodes, idle GPUs included): the planner's choice matches the exhaustive search in **${hit.endpoint}/${cases}** cases (${pct(hit.endpoint, cases)}). Target: always — ${hit.endpoint === cases ? "**met**" : "**missed**"}.${misses.endpoint.length ? " Misses:" : ""}`,
    ...list(misses.endpoint),
    `- On the packed price (instance price ÷ replicas per node, what only a full pool sees): ${hit.packed}/${cases}.${misses.packed.length ? " Differences (expected where packing is not reached):" : ""}`,
    ...list(misses.packed),
    `- Over the grid the planner's endpoints cost ${money(sum.plannerEndpoint)}/month against ${money(sum.bestEndpoint)} for the cheapest feasible choices (${(sum.plannerEndpoint / sum.bestEndpoint).toFixed(3)}×). Cases where nothing in the catalog fits: ${plannerInfeasible}.`,
    `- **Against choosing by parameter count alone** (watsonx WX-S/M/L → A100_80G_X1/X2/X4, next size up when it does not fit): no size fits in ${ruleInfeasible}/${cases} cases (models above 106B). Where both fit (${sum.nA100} cases): planner ${money(sum.plannerVsA100)}/month vs rule ${money(sum.a100)} — the rule costs ${(sum.a100 / sum.plannerVsA100).toFixed(2)}× (${pct(sum.a100 - sum.plannerVsA100, sum.a100)} saved by the planner). Even on the packed price, which flatters the rule's 8-GPU p4de hosts, the rule costs ${(sum.a100Packed / sum.plannerPackedVsA100).toFixed(2)}× (${money(sum.a100Packed)} vs ${money(sum.plannerPackedVsA100)}).`,
    `- Same rule on H100_X1/X2/X4 (${sum.nH100} cases): ${money(sum.h100)} vs the planner's ${money(sum.plannerVsH100)} (${(sum.h100 / sum.plannerVsH100).toFixed(2)}×).`,
    `- Run time ${((Date.now() - t0) / 1000).toFixed(1)} s.`,
  ];
  const table = [
    "| model | params B | maxModelLen | min conc. | replicas | planner's shape | $/month | exhaustive cheapest | $/month | planner cheapest? | watsonx size (A100-80G) | $/month | $/month (H100 mapping) |",
    "|---|---:|---:|---:|---:|---|---:|---|---:|---|---|---:|---:|",
    ...rows,
  ];
  const doc = [
    "# Planning quality",
    "",
    "Generated by `npm run bench:quality` (bench/quality.ts). Costs are On-Demand, 730 h/month, for the whole endpoint",
    "(all its replicas) on the whole nodes it occupies, idle GPUs included, unless a line says \"packed\".",
    "Mapping of the watsonx sizes (seed 004 gives only parameter thresholds): WX-S (≤ 26B) = A100_80G_X1,",
    "WX-M (27–53B) = A100_80G_X2, WX-L (54–106B) = A100_80G_X4; sensitivity: H100_X1/X2/X4.",
    "",
    ...summary,
    "",
    ...table,
    "",
  ].join("\n");
  console.log(doc);
  if (process.argv.includes("--write")) writeFileSync(join(__dirname, "QUALITY.md"), doc);
  if (hit.endpoint !== cases) process.exitCode = 1;
}

main();
