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
 * Costs are per replica, On-Demand, at the planner's price basis (instance price ÷ replicas per node,
 * catalog/instances.json) × 730 h/month.
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

/** The planner's price basis: a replica's share of a full node (instance price ÷ replicas per node). */
const monthly = (f: ShapeFit | undefined) => (f ? f.host!.usdPerReplicaHour * HOURS_PER_MONTH : undefined);
/** What one replica deployed alone really costs: the whole node it needs, idle GPUs included. */
const monthlyAlone = (f: ShapeFit | undefined) => (f ? f.host!.instance.onDemandUsdPerHour! * HOURS_PER_MONTH : undefined);

function layouts(gpus: number): Array<number | undefined> {
  return [undefined, ...[1, 2, 4, 8].filter((tp) => tp <= gpus && gpus % tp === 0)];
}

/** Every shape × host × layout in the catalog; the cheapest feasible one, and the cheapest with the default layout. */
function exhaustive(req: FitRequest): { any: ShapeFit | undefined; defaultLayout: ShapeFit | undefined; alone: ShapeFit | undefined; evaluated: number } {
  let any: ShapeFit | undefined;
  let defaultLayout: ShapeFit | undefined;
  let alone: ShapeFit | undefined;
  let evaluated = 0;
  const better = (a: ShapeFit, b: ShapeFit | undefined) => !b || a.host!.usdPerReplicaHour < b.host!.usdPerReplicaHour - 1e-12;
  const betterAlone = (a: ShapeFit, b: ShapeFit | undefined) => !b || a.host!.instance.onDemandUsdPerHour! < b.host!.instance.onDemandUsdPerHour! - 1e-12;
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
        if (better(fit, any)) any = fit;
        if (betterAlone(fit, alone)) alone = fit;
        if (tp === undefined && better(fit, defaultLayout)) defaultLayout = fit;
      }
    }
  }
  return { any, defaultLayout, alone, evaluated };
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
  let cheapest = 0;
  let cheapestDefault = 0;
  let evaluated = 0;
  const misses: string[] = [];
  const totals = { planner: 0, a100: 0, h100: 0, both: 0, a100Only: 0, plannerWhereA100: 0, plannerWhereH100: 0, h100Only: 0 };
  let ruleInfeasible = 0;
  let plannerInfeasible = 0;
  for (const m of models()) {
    for (const [len, conc] of GRID) {
      if (len > derivedMaxModelLen(m.profile)) continue;
      cases++;
      const path = `quality/${m.id}/${len}/${conc}`;
      const decl: EndpointDeclaration = {
        name: "q",
        path,
        model: { name: "q", path, modelId: m.id, revision: m.revision, capability: m.capability, profile: m.profile, storedInS3: true },
        capability: m.capability,
        maxModelLen: len,
        minConcurrency: conc,
        replicas: { min: 1, max: 1, expected: 1 },
        capacityType: "ON_DEMAND",
      };
      const req: FitRequest = { profile: m.profile, engine, maxModelLen: len, minConcurrency: conc, path };
      const chosen = placeEndpoint(decl, engine).placed?.fit;
      const ex = exhaustive(req);
      evaluated += ex.evaluated;
      const pc = monthly(chosen);
      const best = monthly(ex.any);
      const bestDefault = monthly(ex.defaultLayout);
      const same = (a: number | undefined, b: number | undefined) => (a === undefined && b === undefined) || (a !== undefined && b !== undefined && Math.abs(a - b) < 1e-6);
      if (same(pc, best)) cheapest++;
      else misses.push(`${m.id} len ${len} conc ${conc}: planner ${chosen ? `${chosen.shape.name}@${chosen.host!.instance.instanceType} $${pc!.toFixed(0)}` : "nothing"}, exhaustive ${ex.any ? `${ex.any.shape.name}@${ex.any.host!.instance.instanceType} tp${ex.any.tensorParallel}×pp${ex.any.pipelineParallel} $${best!.toFixed(0)}` : "nothing"}`);
      if (same(pc, bestDefault)) cheapestDefault++;
      if (!chosen) plannerInfeasible++;
      const a100 = byParameterCount(req, m.paramsB, "a100");
      const h100 = byParameterCount(req, m.paramsB, "h100");
      const ac = monthly(a100.fit);
      const hc = monthly(h100.fit);
      if (ac === undefined) ruleInfeasible++;
      if (pc !== undefined && ac !== undefined) {
        totals.plannerWhereA100 += pc;
        totals.a100 += ac;
        totals.both++;
      }
      if (pc !== undefined && hc !== undefined) {
        totals.plannerWhereH100 += pc;
        totals.h100 += hc;
        totals.h100Only++;
      }
      const usd = (v: number | undefined) => (v === undefined ? "—" : `$${v.toLocaleString("en-US", { maximumFractionDigits: 0 })}`);
      rows.push(
        `| ${m.id} | ${m.paramsB.toFixed(1)} | ${len} | ${conc} | ${chosen ? `${chosen.shape.name} (${chosen.host!.instance.instanceType})` : "none fits"} | ${usd(pc)} | ${ex.any ? `${ex.any.shape.name} (${ex.any.host!.instance.instanceType})` : "none fits"} | ${usd(best)} | ${same(pc, best) ? "yes" : "**no**"} | ${a100.size}${a100.fit ? ` → ${a100.fit.shape.name}` : ""}${a100.note ? ` (${a100.note})` : ""} | ${usd(ac)} | ${usd(hc)} |`,
      );
    }
  }
  const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(0)}%`;
  const money = (v: number) => `$${v.toLocaleString("en-US", { maximumFractionDigits: 0 })}`;
  const summary = [
    `- Cases: ${cases} (${models().length} pinned catalog models × up to ${GRID.length} (maxModelLen, min concurrency) pairs, lengths above a model's maximum skipped); ${evaluated.toLocaleString("en-US")} shape × instance × layout fits evaluated by the exhaustive search.`,
    `- Planner's choice is the cheapest feasible option in the catalog (any instance, any TP×PP layout): **${cheapest}/${cases}** (${pct(cheapest, cases)}); against the cheapest with the default layout only: ${cheapestDefault}/${cases}. Target: always — ${cheapest === cases ? "**met**" : "**missed**"}.`,
    ...(misses.length ? ["- Misses:", ...misses.map((x) => `  - ${x}`)] : []),
    `- Cases where nothing in the catalog fits: ${plannerInfeasible}.`,
    `- Parameter-count rule (watsonx WX-S/M/L → A100_80G_X1/X2/X4, escalating when it does not fit): no fitting configuration in ${ruleInfeasible}/${cases} cases (models above 106B, or too long a context for 4 × A100-80G). Where both fit (${totals.both} cases), monthly cost per replica: planner ${money(totals.plannerWhereA100)} vs rule ${money(totals.a100)} — the rule costs ${(totals.a100 / totals.plannerWhereA100).toFixed(2)}× the planner (${money(totals.a100 - totals.plannerWhereA100)}/month more over the grid, ${pct(totals.a100 - totals.plannerWhereA100, totals.a100)} saved by the planner).`,
    `- Same rule on H100_X1/X2/X4 (${totals.h100Only} cases where both fit): planner ${money(totals.plannerWhereH100)} vs rule ${money(totals.h100)} (${(totals.h100 / totals.plannerWhereH100).toFixed(2)}×).`,
    `- Run time ${((Date.now() - t0) / 1000).toFixed(1)} s.`,
  ];
  const table = [
    "| model | params B | maxModelLen | min conc. | planner's shape | $/month | exhaustive cheapest | $/month | planner cheapest? | watsonx size (A100-80G) | $/month | $/month (H100 mapping) |",
    "|---|---:|---:|---:|---|---:|---|---:|---|---|---:|---:|",
    ...rows,
  ];
  const doc = [
    "# Planning quality",
    "",
    "Generated by `npm run bench:quality` (bench/quality.ts). Per replica, On-Demand, 730 h/month, the planner's price basis",
    "(instance price ÷ replicas per node). Mapping of the watsonx sizes (seed 004 gives only parameter thresholds):",
    "WX-S (≤ 26B) = A100_80G_X1, WX-M (27–53B) = A100_80G_X2, WX-L (54–106B) = A100_80G_X4; sensitivity: H100_X1/X2/X4.",
    "",
    ...summary,
    "",
    ...table,
    "",
  ].join("\n");
  console.log(doc);
  if (process.argv.includes("--write")) writeFileSync(join(__dirname, "QUALITY.md"), doc);
  if (cheapest !== cases) process.exitCode = 1;
}

main();
