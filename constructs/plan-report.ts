/** The serving plan as a reviewer reads it: JSON with stable key order, Markdown tables, a short console table. */
import type { PlanDiff } from "../planner/plan-diff";
import type { AddonPlan, GatewayPlan, PhasePlan, ServingPlan } from "../planner/plan-types";

/** JSON with keys sorted at every level, so two synths are byte-identical. */
export function stableJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === "object") return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]));
    return v;
  };
  return JSON.stringify(sort(value), null, 2) + "\n";
}

/**
 * `v.toLocaleString("en-US", options)`, with each formatter built once: toLocaleString builds a new
 * Intl.NumberFormat on every call (about 50 µs), and a 500-endpoint plan formats thousands of cells.
 */
const formatters = new Map<string, Intl.NumberFormat>();
function formatNumber(v: number, options: Intl.NumberFormatOptions = {}): string {
  const key = JSON.stringify(options);
  let f = formatters.get(key);
  if (!f) formatters.set(key, (f = new Intl.NumberFormat("en-US", options)));
  return f.format(v);
}

const money = (n: number) => `$${formatNumber(n, { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const range = (r: { min: number; expected: number; max: number }) => `${money(r.min)} / ${money(r.expected)} / ${money(r.max)}`;
const cell = (v: unknown) => String(v).replace(/\|/g, "\\|");

function table(head: string[], rows: unknown[][]): string {
  return [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)].join("\n");
}

export function planMarkdown(stack: string, plan: ServingPlan & { policy?: unknown; addons?: readonly AddonPlan[]; phases?: readonly PhasePlan[]; gateway?: GatewayPlan }): string {
  const out: string[] = [];
  out.push(`# Serving plan — ${stack}`, "");
  out.push(`Prices: ${plan.catalog.region} On-Demand list prices captured ${plan.catalog.pricesCapturedAt}, 730 h/month. Image: \`${plan.catalog.vllmImage}\`.`, "");
  out.push("## Endpoints", "");
  out.push(
    table(
      ["endpoint", "model", "capability", "shape", "instance", "GPUs", "TP×PP", "max len", "weights GiB/GPU", "KV tokens", "max concurrency", "replicas (min/exp/max)", "$/h per replica", "$/month (min / expected / max)"],
      plan.endpoints.map((e) => [e.name, `${e.model}${e.revision ? `@${e.revision.slice(0, 7)}` : ""}`, e.capability, e.shape, e.instanceType, e.gpusPerReplica, `${e.tensorParallel}×${e.pipelineParallel}`, e.maxModelLen, e.weightsGiB, formatNumber(e.kvCacheTokens), `${e.maxConcurrency}×`, `${e.replicas.min}/${e.replicas.expected}/${e.replicas.max}`, e.hourlyUsd, range(e.monthlyUsd)]),
    ),
    "",
  );
  const perf = plan.endpoints.filter((e) => e.performance);
  if (perf.length) {
    out.push("## Performance and $ per 1M tokens (per replica, vLLM as `vllm bench serve` measures it)", "");
    const n = (v: number | null | undefined, d = 1) => (v === null || v === undefined ? "—" : formatNumber(v, { maximumFractionDigits: d }));
    const usd = (v: number | null | undefined) => (v === null || v === undefined ? "—" : `$${formatNumber(v, { minimumFractionDigits: 2, maximumFractionDigits: 4 })}`);
    out.push(
      table(
        ["endpoint", "workload in/out tokens", "targets p95 TTFT / TPOT ms", "at target: req/s, out tok/s", "at target: p95 TTFT / TPOT ms", "saturated: out / total tok/s", "declared load: req/s, replicas needed, headroom", "baseline → peak: replicas, headroom", "$/1M output (declared / saturated)", "$/1M total (declared / saturated)"],
        perf.map((e) => {
          const p = e.performance!;
          const at = p.perReplicaAtTarget;
          const d = p.declaredLoad;
          return [
            e.name,
            `${p.workload.inputTokens}/${p.workload.outputTokens} (${p.workload.basis})`,
            `${p.targets.p95TtftMs} / ${p.targets.p95TpotMs ?? "—"} (${p.targets.basis})`,
            at ? `${n(at.requestsPerSecond, 2)}, ${n(at.outputTokensPerSecond, 0)}` : "targets not met",
            at ? `${n(at.p95TtftMs, 0)} / ${n(at.p95TpotMs, 1)}` : "—",
            `${n(p.perReplicaAtSaturation.outputTokensPerSecond, 0)} / ${n(p.perReplicaAtSaturation.totalTokensPerSecond, 0)}`,
            d ? `${n(d.requestsPerSecond, 2)}, ${d.replicasNeeded}, ${Math.round(d.headroom * 100)}%` : "—",
            p.replicaRange
              ? `${n(p.replicaRange.baseline.requestsPerSecond, 2)} → ${n(p.replicaRange.peak.requestsPerSecond, 2)} req/s: ${p.replicaRange.baseline.replicas} → ${p.replicaRange.peak.replicas} replicas (${p.replicaRange.basis}), headroom ${p.replicaRange.baseline.headroom === null ? "—" : `${Math.round(p.replicaRange.baseline.headroom * 100)}%`} / ${p.replicaRange.peak.headroom === null ? "—" : `${Math.round(p.replicaRange.peak.headroom * 100)}%`}`
              : "—",
            `${usd(p.usdPer1MOutputTokens.atDeclaredLoad)} / ${usd(p.usdPer1MOutputTokens.atSaturation)}`,
            `${usd(p.usdPer1MTotalTokens.atDeclaredLoad)} / ${usd(p.usdPer1MTotalTokens.atSaturation)}`,
          ];
        }),
      ),
      "",
      "Predicted by the planner's performance model (step time from weights and KV bytes through HBM, tensor-core FLOPs and TP all-reduce; vLLM's scheduler simulated). Declared load: the expected replicas' cost over the tokens the declared traffic brings; saturated: each replica kept full.",
      "",
    );
  }
  out.push("## Node pools", "");
  out.push(
    table(
      ["pool", "instance", "capacity", "GPUs/node", "replicas/node", "nodes (min/exp/max)", "idle GPUs at max", "idle $/h", "root GiB", "$/month (min / expected / max)"],
      plan.nodePools.map((p) => [p.name, p.instanceType, p.capacityType, p.gpusPerNode, p.replicasPerNode, `${p.nodes.min}/${p.nodes.expected}/${p.nodes.max}`, p.gpusFree, p.strandedUsdPerHour, p.rootVolumeGiB, range(p.monthlyUsd)]),
    ),
    "",
  );
  out.push("## Capacity (how each pool's nodes are bought)", "");
  out.push(
    table(
      ["pool", "kind", "node group capacity type", "instance types", "reservation (zone, instances)", "$/node-hour (min / expected / max)", "price basis", "quota"],
      plan.nodePools.map((p) => {
        const c = p.capacity;
        const r = c.reservation;
        const rate = (v: number) => `$${v}`;
        return [
          p.name,
          c.kind,
          c.nodeGroupCapacityType,
          c.instanceTypes.join(", "),
          r ? `${r.id ?? r.resourceGroupArn} (${r.availabilityZone ?? "any zone"}, ${r.instances ?? "size not declared"})` : "—",
          `${rate(c.usdPerNodeHour.min)} / ${rate(c.usdPerNodeHour.expected)} / ${rate(c.usdPerNodeHour.max)}`,
          c.priceBasis,
          p.quota.length ? p.quota.map((q) => `${q.code}: ${q.vcpus} vCPUs`).join(", ") : "none (a Capacity Block is capped by its own size)",
        ];
      }),
    ),
    "",
  );
  if (plan.phases?.length) {
    out.push("## Deploy phases", "");
    out.push(`Apply in this order (\`npx cdktf deploy ${plan.phases.map((p) => p.stack).join(" ")}\`); \`cdktf destroy\` reverses it.`, "");
    out.push(table(["order", "stack", "creates"], plan.phases.map((p) => [p.order, p.stack, p.creates.join(", ")])), "");
  }
  if (plan.addons?.length) {
    out.push("## Cluster add-ons", "");
    out.push(table(["add-on", "chart", "version", "namespace", "status", "stack", "why"], plan.addons.map((a) => [a.name, a.chart, a.version, a.namespace, a.status, a.stack, a.why])), "");
  }
  if (plan.gateway) out.push(...gatewayMarkdown(plan.gateway));
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
  const tokS = (e: ServingPlan["endpoints"][number]) => {
    const p = e.performance;
    const v = p ? (p.perReplicaAtTarget?.outputTokensPerSecond ?? p.perReplicaAtTarget?.totalTokensPerSecond ?? null) : null;
    return v === null ? "—" : formatNumber(Math.round(v));
  };
  const perM = (e: ServingPlan["endpoints"][number]) => {
    const p = e.performance;
    const v = p ? (p.usdPer1MOutputTokens.atDeclaredLoad ?? p.usdPer1MOutputTokens.atSaturation ?? p.usdPer1MTotalTokens.atDeclaredLoad ?? p.usdPer1MTotalTokens.atSaturation) : null;
    return v === null || v === undefined ? "—" : `$${v.toFixed(2)}`;
  };
  const rows = plan.endpoints.map((e) => [e.name, e.model, e.shape, String(e.gpusPerReplica), formatNumber(e.kvCacheTokens), `${e.maxConcurrency}×`, `${money(e.monthlyUsd.min)}–${money(e.monthlyUsd.max)}`, tokS(e), perM(e)]);
  const head = ["endpoint", "model", "shape", "GPUs", "KV tokens", "max conc.", "$/month", "tok/s/replica", "$/1M tokens"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ");
  return [`Serving plan for ${stack} (total ${range(plan.totals.monthlyUsd)} per month, min / expected / max):`, line(head), ...rows.map(line)].join("\n");
}

/** The plan diff as a pull-request comment: totals first, then what moved, endpoint by endpoint. */
export function planDiffMarkdown(diff: PlanDiff): string {
  const signed = (n: number) => `${n >= 0 ? "+" : "−"}${money(Math.abs(n))}`;
  const deltaRange = (r: { min: number; expected: number; max: number }) => `${signed(r.min)} / ${signed(r.expected)} / ${signed(r.max)}`;
  const pct = (a: number, b: number) => (a > 0 ? ` (${b >= a ? "+" : "−"}${Math.abs(((b - a) / a) * 100).toFixed(1)} %)` : "");
  const out: string[] = [];
  const t = diff.totals;
  out.push(`## Serving cost change: ${money(t.before.expected)} → ${money(t.after.expected)} per month expected${pct(t.before.expected, t.after.expected)}`, "");
  out.push(table(["", "min", "expected", "max"], [["before", money(t.before.min), money(t.before.expected), money(t.before.max)], ["after", money(t.after.min), money(t.after.expected), money(t.after.max)], ["change", signed(t.delta.min), signed(t.delta.expected), signed(t.delta.max)]]), "");
  const usd = (v: number | null | undefined) => (v === null || v === undefined ? "—" : `$${v.toFixed(4)}`);
  for (const s of diff.stacks) {
    out.push(`### Stack ${s.stack} (${s.status})`, "");
    const eps = s.endpoints.filter((e) => e.status !== "unchanged");
    if (eps.length) {
      out.push(
        table(
          ["endpoint", "status", "shape", "replicas (min/exp/max)", "$/month expected", "change $/month (min / exp / max)", "$/1M output tokens", "what changed"],
          eps.map((e) => {
            const b = e.before;
            const a = e.after;
            const arrow = <T,>(x: T | undefined, y: T | undefined) => (b && a ? (x === y ? String(y) : `${x} → ${y}`) : String((a ? y : x) ?? "—"));
            const reps = (x: { min: number; expected: number; max: number } | undefined) => (x ? `${x.min}/${x.expected}/${x.max}` : undefined);
            return [
              e.name,
              e.status,
              arrow(b?.shape, a?.shape),
              arrow(reps(b?.replicas), reps(a?.replicas)),
              arrow(b ? money(b.monthlyUsd.expected) : undefined, a ? money(a.monthlyUsd.expected) : undefined),
              deltaRange(e.monthlyUsdDelta),
              arrow(b ? usd(b.usdPer1MOutputTokens) : undefined, a ? usd(a.usdPer1MOutputTokens) : undefined),
              e.changes.join("; ") || (e.status === "added" ? "new endpoint" : e.status === "removed" ? "endpoint removed" : "—"),
            ];
          }),
        ),
        "",
      );
    } else out.push("No endpoint changed.", "");
    const pools = s.nodePools.filter((p) => p.status !== "unchanged");
    if (pools.length) {
      const nodes = (n: { min: number; expected: number; max: number } | undefined) => (n ? `${n.min}/${n.expected}/${n.max}` : "—");
      out.push(table(["node pool", "status", "instance", "nodes before", "nodes after", "change $/month (min / exp / max)"], pools.map((p) => [p.name, p.status, p.after?.instanceType ?? p.before?.instanceType ?? "—", nodes(p.before?.nodes), nodes(p.after?.nodes), deltaRange(p.monthlyUsdDelta)])), "");
    }
    const quotas = s.quotas.filter((q) => q.neededVcpusBefore !== q.neededVcpusAfter);
    if (quotas.length) out.push(table(["quota", "name", "vCPUs needed before", "after", "limit", "status"], quotas.map((q) => [q.code, q.name, q.neededVcpusBefore ?? "—", q.neededVcpusAfter ?? "—", q.limit ?? "undeclared", q.statusAfter ?? "removed"])), "");
    if (s.newErrors.length) out.push("New errors:", "", ...s.newErrors.map((m) => `- ${m}`), "");
  }
  return out.join("\n");
}

/** The gateway: entry point, one row per model name with its price per 1M tokens (hosted list price or self-hosted cost), consumers and their limits. */
function gatewayMarkdown(g: GatewayPlan): string[] {
  const out: string[] = [];
  const e = g.entryPoint;
  const usd = (v: number | null | undefined) => (v === null || v === undefined ? "—" : `$${v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 4 })}`);
  out.push(`## Model gateway — ${g.name}`, "");
  out.push(
    `Envoy AI Gateway ${g.implementation.aiGateway} on Envoy Gateway ${g.implementation.envoyGateway}${g.implementation.inferenceExtension ? `, InferencePool endpoint picker ${g.implementation.inferenceExtension}` : ""}. ` +
      `Entry point: ${e.loadBalancer}, ${e.scheme}, HTTPS :${e.port} with \`${e.certificateArn}\` (${e.tlsPolicy}), from ${e.allowedCidrs.join(", ")}; in the cluster ${e.inClusterUrl}. ` +
      `Paths: ${e.paths.map((p) => `\`${p}\``).join(", ")}. Unknown model: ${e.unknownModel}.`,
    "",
  );
  out.push(
    table(
      ["model", "backend", "provider / model id", "balancing", "path", "consumers", "$/1M input (list)", "$/1M output: list, or self-hosted declared / saturated", "$/1M total self-hosted (declared / saturated)", "price source"],
      g.routes.map((r) => {
        const l = r.listPrice;
        const own = r.selfHostedUsdPer1M;
        const mine = (f: (p: NonNullable<typeof own>[number]) => string) => (own ? own.map((p) => `${own.length > 1 ? `${p.endpoint}: ` : ""}${f(p)}`).join("; ") : "—");
        return [
          r.model,
          r.backend,
          r.provider === "self-hosted" ? `self-hosted ${r.providerModelId}` : `${r.provider} ${r.providerModelId}`,
          r.balancing,
          r.path,
          r.consumers.join(", ") || "nobody",
          r.provider === "self-hosted" ? "—" : l ? usd(l.inputUsdPer1M) : "no sourced price",
          r.provider === "self-hosted" ? mine((p) => `${usd(p.output.atDeclaredLoad)} / ${usd(p.output.atSaturation)}`) : l ? usd(l.outputUsdPer1M) : "no sourced price",
          r.provider === "self-hosted" ? mine((p) => `${usd(p.total.atDeclaredLoad)} / ${usd(p.total.atSaturation)}`) : "—",
          r.provider === "self-hosted" ? (own ? "performance model (this plan)" : "no performance figures") : l ? `${l.sourceKind} ${l.source}${l.asOf ? ` (as of ${l.asOf})` : ""}, captured ${l.capturedAt}` : "catalog/external-models.json has no row",
        ];
      }),
    ),
    "",
    "Self-hosted $/1M is the endpoint's always-on cost over the tokens it serves (adapters share their base model's GPUs); hosted prices are list prices per 1M tokens without batch or cache discounts.",
    "",
  );
  const rate = (r: { limit: number; per: string } | undefined) => (r ? `${r.limit.toLocaleString("en-US")}/${r.per.toLowerCase()}` : "—");
  out.push(
    table(
      ["consumer", "models", "requests", "total tokens", "input tokens", "output tokens", "API key (Secrets Manager)"],
      g.consumers.map((c) => [c.name, c.models === "*" ? "all" : c.models.join(", "), rate(c.limits.requests), rate(c.limits.totalTokens), rate(c.limits.inputTokens), rate(c.limits.outputTokens), c.apiKeySecret]),
    ),
    "",
  );
  if (g.usageMetrics) out.push(`Usage: \`${g.usageMetrics.metric}\` by ${g.usageMetrics.labels.join(", ")} in ${g.usageMetrics.prometheus}, e.g. \`${g.usageMetrics.query}\`.`, "");
  if (g.bedrock) out.push(`Bedrock: the Envoy pods' role ${g.bedrock.role} may ${g.bedrock.actions.join(", ")} on ${g.bedrock.resources.map((r) => `\`${r}\``).join(", ")} only.`, "");
  if (g.smokeTest) out.push(`Smoke test: Job ${g.smokeTest.job} calls ${g.smokeTest.models.join(", ")} through the gateway after each rollout, and checks that an unknown model gets 404.`, "");
  return out;
}
