/**
 * What changed between two serving plans, the way a cost review in a pull request reads it: cost per
 * endpoint, pool and total (min / expected / max), shapes, replicas, quota use, $ per 1M tokens, and
 * endpoints added or removed.
 */
import { round } from "./findings";
import type { EndpointPlan, NodePoolPlan, QuotaPlan, ServingPlan, UsdRange } from "./plan-types";

export type ChangeStatus = "added" | "removed" | "changed" | "unchanged";

export interface EndpointSnapshot {
  readonly shape: string;
  readonly instanceType: string;
  readonly gpusPerReplica: number;
  readonly tensorParallel: number;
  readonly pipelineParallel: number;
  readonly replicas: { readonly min: number; readonly expected: number; readonly max: number };
  readonly monthlyUsd: UsdRange;
  readonly usdPer1MOutputTokens: number | null;
  readonly usdPer1MTotalTokens: number | null;
  readonly outputTokensPerSecondPerReplica: number | null;
}

export interface EndpointChange {
  readonly name: string;
  readonly status: ChangeStatus;
  readonly before: EndpointSnapshot | null;
  readonly after: EndpointSnapshot | null;
  /** Human-readable changes, e.g. "shape A10_X1 → L4_X1". */
  readonly changes: readonly string[];
  readonly monthlyUsdDelta: UsdRange;
}

export interface PoolChange {
  readonly name: string;
  readonly status: ChangeStatus;
  readonly before: { readonly instanceType: string; readonly nodes: UsdRange; readonly monthlyUsd: UsdRange } | null;
  readonly after: { readonly instanceType: string; readonly nodes: UsdRange; readonly monthlyUsd: UsdRange } | null;
  readonly monthlyUsdDelta: UsdRange;
}

export interface QuotaChange {
  readonly code: string;
  readonly name: string;
  readonly neededVcpusBefore: number | null;
  readonly neededVcpusAfter: number | null;
  readonly limit: number | null;
  readonly statusAfter: QuotaPlan["status"] | null;
}

export interface StackDiff {
  readonly stack: string;
  readonly status: ChangeStatus;
  readonly totals: { readonly before: UsdRange | null; readonly after: UsdRange | null; readonly delta: UsdRange };
  readonly endpoints: readonly EndpointChange[];
  readonly nodePools: readonly PoolChange[];
  readonly quotas: readonly QuotaChange[];
  /** Error findings the new plan has that the base did not. */
  readonly newErrors: readonly string[];
}

export interface PlanDiff {
  readonly stacks: readonly StackDiff[];
  readonly totals: { readonly before: UsdRange; readonly after: UsdRange; readonly delta: UsdRange };
}

const ZERO: UsdRange = { min: 0, expected: 0, max: 0 };
const sub = (a: UsdRange | null | undefined, b: UsdRange | null | undefined): UsdRange => ({
  min: round((a?.min ?? 0) - (b?.min ?? 0), 2),
  expected: round((a?.expected ?? 0) - (b?.expected ?? 0), 2),
  max: round((a?.max ?? 0) - (b?.max ?? 0), 2),
});
const add = (a: UsdRange, b: UsdRange): UsdRange => ({ min: round(a.min + b.min, 2), expected: round(a.expected + b.expected, 2), max: round(a.max + b.max, 2) });

function snapshot(e: EndpointPlan): EndpointSnapshot {
  const p = e.performance;
  return {
    shape: e.shape,
    instanceType: e.instanceType,
    gpusPerReplica: e.gpusPerReplica,
    tensorParallel: e.tensorParallel,
    pipelineParallel: e.pipelineParallel,
    replicas: e.replicas,
    monthlyUsd: e.monthlyUsd,
    usdPer1MOutputTokens: p ? (p.usdPer1MOutputTokens.atDeclaredLoad ?? p.usdPer1MOutputTokens.atSaturation) : null,
    usdPer1MTotalTokens: p ? (p.usdPer1MTotalTokens.atDeclaredLoad ?? p.usdPer1MTotalTokens.atSaturation) : null,
    outputTokensPerSecondPerReplica: p ? (p.perReplicaAtTarget?.outputTokensPerSecond ?? null) : null,
  };
}

function endpointChanges(a: EndpointSnapshot, b: EndpointSnapshot): string[] {
  const out: string[] = [];
  if (a.shape !== b.shape || a.instanceType !== b.instanceType) out.push(`shape ${a.shape} (${a.instanceType}) → ${b.shape} (${b.instanceType})`);
  if (a.tensorParallel !== b.tensorParallel || a.pipelineParallel !== b.pipelineParallel) out.push(`TP×PP ${a.tensorParallel}×${a.pipelineParallel} → ${b.tensorParallel}×${b.pipelineParallel}`);
  const r = (x: EndpointSnapshot["replicas"]) => `${x.min}/${x.expected}/${x.max}`;
  if (r(a.replicas) !== r(b.replicas)) out.push(`replicas ${r(a.replicas)} → ${r(b.replicas)}`);
  if (a.monthlyUsd.expected !== b.monthlyUsd.expected || a.monthlyUsd.max !== b.monthlyUsd.max || a.monthlyUsd.min !== b.monthlyUsd.min) out.push(`cost $${a.monthlyUsd.expected.toLocaleString("en-US")}/month → $${b.monthlyUsd.expected.toLocaleString("en-US")}/month (expected)`);
  if (a.usdPer1MOutputTokens !== b.usdPer1MOutputTokens && (a.usdPer1MOutputTokens !== null || b.usdPer1MOutputTokens !== null)) out.push(`$/1M output tokens ${a.usdPer1MOutputTokens ?? "—"} → ${b.usdPer1MOutputTokens ?? "—"}`);
  return out;
}

function diffStack(stack: string, before: ServingPlan | undefined, after: ServingPlan | undefined): StackDiff {
  const names = [...new Set([...(before?.endpoints ?? []).map((e) => e.name), ...(after?.endpoints ?? []).map((e) => e.name)])].sort();
  const endpoints: EndpointChange[] = names.map((name) => {
    const a = before?.endpoints.find((e) => e.name === name);
    const b = after?.endpoints.find((e) => e.name === name);
    const sa = a ? snapshot(a) : null;
    const sb = b ? snapshot(b) : null;
    const changes = sa && sb ? endpointChanges(sa, sb) : [];
    const status: ChangeStatus = !sa ? "added" : !sb ? "removed" : changes.length ? "changed" : "unchanged";
    return { name, status, before: sa, after: sb, changes, monthlyUsdDelta: sub(sb?.monthlyUsd, sa?.monthlyUsd) };
  });
  const poolNames = [...new Set([...(before?.nodePools ?? []).map((p) => p.name), ...(after?.nodePools ?? []).map((p) => p.name)])].sort();
  const poolSnap = (p: NodePoolPlan | undefined) => (p ? { instanceType: p.instanceType, nodes: p.nodes, monthlyUsd: p.monthlyUsd } : null);
  const nodePools: PoolChange[] = poolNames.map((name) => {
    const a = poolSnap(before?.nodePools.find((p) => p.name === name));
    const b = poolSnap(after?.nodePools.find((p) => p.name === name));
    const status: ChangeStatus = !a ? "added" : !b ? "removed" : JSON.stringify(a) !== JSON.stringify(b) ? "changed" : "unchanged";
    return { name, status, before: a, after: b, monthlyUsdDelta: sub(b?.monthlyUsd, a?.monthlyUsd) };
  });
  const codes = [...new Set([...(before?.quotas ?? []).map((q) => q.code), ...(after?.quotas ?? []).map((q) => q.code)])].sort();
  const quotas: QuotaChange[] = codes.map((code) => {
    const a = before?.quotas.find((q) => q.code === code);
    const b = after?.quotas.find((q) => q.code === code);
    return { code, name: (b ?? a)!.name, neededVcpusBefore: a?.neededVcpus ?? null, neededVcpusAfter: b?.neededVcpus ?? null, limit: b?.limit ?? a?.limit ?? null, statusAfter: b?.status ?? null };
  });
  const oldErrors = new Set((before?.findings ?? []).filter((f) => f.severity === "error").map((f) => f.message));
  const newErrors = (after?.findings ?? []).filter((f) => f.severity === "error" && !oldErrors.has(f.message)).map((f) => f.message);
  const totalsBefore = before?.totals.monthlyUsd ?? null;
  const totalsAfter = after?.totals.monthlyUsd ?? null;
  const changed = endpoints.some((e) => e.status !== "unchanged") || nodePools.some((p) => p.status !== "unchanged") || JSON.stringify(totalsBefore) !== JSON.stringify(totalsAfter);
  return {
    stack,
    status: !before ? "added" : !after ? "removed" : changed ? "changed" : "unchanged",
    totals: { before: totalsBefore, after: totalsAfter, delta: sub(totalsAfter, totalsBefore) },
    endpoints,
    nodePools,
    quotas,
    newErrors,
  };
}

/** Compare plans stack by stack (a stack present on one side only is added or removed). */
export function diffPlans(before: Readonly<Record<string, ServingPlan>>, after: Readonly<Record<string, ServingPlan>>): PlanDiff {
  const stacks = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort().map((s) => diffStack(s, before[s], after[s]));
  const totalOf = (plans: Readonly<Record<string, ServingPlan>>) => Object.values(plans).reduce((acc, p) => add(acc, p.totals.monthlyUsd), ZERO);
  const b = totalOf(before);
  const a = totalOf(after);
  return { stacks, totals: { before: b, after: a, delta: sub(a, b) } };
}
