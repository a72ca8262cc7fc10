/** The serving plan as a reviewer reads it: JSON with stable key order, Markdown tables, a short console table. */
import type { ServingPlan } from "../planner/plan-types";

/** JSON with keys sorted at every level, so two synths are byte-identical. */
export function stableJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === "object") return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]));
    return v;
  };
  return JSON.stringify(sort(value), null, 2) + "\n";
}

const money = (n: number) => `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const range = (r: { min: number; expected: number; max: number }) => `${money(r.min)} / ${money(r.expected)} / ${money(r.max)}`;
const cell = (v: unknown) => String(v).replace(/\|/g, "\\|");

function table(head: string[], rows: unknown[][]): string {
  return [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)].join("\n");
}

export function planMarkdown(stack: string, plan: ServingPlan & { policy?: unknown }): string {
  const out: string[] = [];
  out.push(`# Serving plan — ${stack}`, "");
  out.push(`Prices: ${plan.catalog.region} On-Demand list prices captured ${plan.catalog.pricesCapturedAt}, 730 h/month. Image: \`${plan.catalog.vllmImage}\`.`, "");
  out.push("## Endpoints", "");
  out.push(
    table(
      ["endpoint", "model", "capability", "shape", "instance", "GPUs", "TP×PP", "max len", "weights GiB/GPU", "KV tokens", "max concurrency", "replicas (min/exp/max)", "$/h per replica", "$/month (min / expected / max)"],
      plan.endpoints.map((e) => [e.name, `${e.model}${e.revision ? `@${e.revision.slice(0, 7)}` : ""}`, e.capability, e.shape, e.instanceType, e.gpusPerReplica, `${e.tensorParallel}×${e.pipelineParallel}`, e.maxModelLen, e.weightsGiB, e.kvCacheTokens.toLocaleString("en-US"), `${e.maxConcurrency}×`, `${e.replicas.min}/${e.replicas.expected}/${e.replicas.max}`, e.hourlyUsd, range(e.monthlyUsd)]),
    ),
    "",
  );
  out.push("## Node pools", "");
  out.push(
    table(
      ["pool", "instance", "capacity", "GPUs/node", "replicas/node", "nodes (min/exp/max)", "idle GPUs at max", "idle $/h", "root GiB", "$/month (min / expected / max)"],
      plan.nodePools.map((p) => [p.name, p.instanceType, p.capacityType, p.gpusPerNode, p.replicasPerNode, `${p.nodes.min}/${p.nodes.expected}/${p.nodes.max}`, p.gpusFree, p.strandedUsdPerHour, p.rootVolumeGiB, range(p.monthlyUsd)]),
    ),
    "",
  );
  out.push("## Quotas (vCPUs at maximum scale, plus one surge node per pool)", "");
  out.push(table(["code", "name", "needed", "limit", "status"], plan.quotas.map((q) => [q.code, q.name, q.neededVcpus, q.limit ?? "undeclared", q.status])), "");
  out.push("## Cost", "");
  out.push(table(["item", "$/month (min / expected / max)"], [...plan.costs.map((c) => [c.item, range(c.monthlyUsd)]), ["**total**", range(plan.totals.monthlyUsd)]]), "");
  if (plan.totals.budgetUsdPerMonth !== null) out.push(`Budget: ${money(plan.totals.budgetUsdPerMonth)}/month.`, "");
  const policy = (plan as ServingPlan & { policy?: { scope?: string; rules: Array<{ id: string; title: string; severity: string; result: string; references: { checkovTerraform: string[]; checkovKubernetes: string[]; trivy: string[]; kics: string[] } }>; suppressions: Array<{ ruleId: string; address?: string | string[]; check?: string; reason: string }> } }).policy;
  if (policy) {
    out.push("## Policy rules", "");
    if (policy.scope) out.push(`Judged: ${policy.scope === "stack" ? "every resource in the stack" : "the resources this library creates"}.`, "");
    const ids = (r: { references: { checkovTerraform: string[]; checkovKubernetes: string[]; trivy: string[]; kics: string[] } }) =>
      [r.references.checkovTerraform.join(" "), r.references.checkovKubernetes.length ? `(k8s manifests: ${r.references.checkovKubernetes.join(" ")})` : "", r.references.trivy.join(" "), r.references.kics.length ? `KICS ×${r.references.kics.length}` : ""].filter(Boolean).join(" · ") || "—";
    out.push(table(["rule", "severity", "result", "Checkov / Trivy / KICS", "what it demands"], policy.rules.map((r) => [r.id, r.severity, r.result, ids(r), r.title])), "");
    const where = (s: { address?: string | string[]; check?: string }) => {
      const list = s.address === undefined ? [] : Array.isArray(s.address) ? s.address : [s.address];
      return `${list.length ? ` for ${list.length > 3 ? `${list.length} resources` : list.map((a) => `\`${a}\``).join(", ")}` : ""}${s.check ? ` (finding \`${s.check}\` only)` : ""}`;
    };
    out.push(policy.suppressions.length ? policy.suppressions.map((s) => `- suppressed **${s.ruleId}**${where(s)}: ${s.reason}`).join("\n") : "No suppressions.", "");
  }
  out.push("## Findings", "");
  out.push(plan.findings.length ? plan.findings.map((f) => `- **${f.severity}** ${f.message}`).join("\n") : "None.", "");
  return out.join("\n");
}

export function planConsoleTable(stack: string, plan: ServingPlan): string {
  const rows = plan.endpoints.map((e) => [e.name, e.model, e.shape, String(e.gpusPerReplica), e.kvCacheTokens.toLocaleString("en-US"), `${e.maxConcurrency}×`, `${money(e.monthlyUsd.min)}–${money(e.monthlyUsd.max)}`]);
  const head = ["endpoint", "model", "shape", "GPUs", "KV tokens", "max conc.", "$/month"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ");
  return [`Serving plan for ${stack} (total ${range(plan.totals.monthlyUsd)} per month, min / expected / max):`, line(head), ...rows.map(line)].join("\n");
}
