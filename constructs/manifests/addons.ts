/**
 * Helm values for the pinned add-ons, with the cluster's own facts filled in. The reviewed values
 * live in catalog/addons.json with `${placeholder}` strings for what only the cluster phase knows.
 */
import { findAddon, type AddonSpec } from "../../catalog/addons";
import { error, PlanningError } from "../../planner/findings";

export interface AddonContext {
  readonly clusterName: string;
  readonly region: string;
  /** EKS minor version, e.g. "1.33". */
  readonly kubernetesVersion: string;
  /** Needed by the AWS Load Balancer Controller. */
  readonly vpcId?: string;
}

function fill(value: unknown, vars: Record<string, string | undefined>, addon: string): unknown {
  if (typeof value === "string") {
    return value.replace(/\$\{(\w+)\}/g, (_, key: string) => {
      const v = vars[key];
      if (v === undefined) throw new PlanningError([error("ADDON_VALUE_MISSING", `addons/${addon}`, { field: key, problem: `the ${addon} chart needs ${key}`, why: "its reviewed values name it", fix: `pass ${key} in the add-on context` })]);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v) => fill(v, vars, addon));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v, vars, addon)]));
  return value;
}

/** The values to pass to the add-on's helm_release (placeholders resolved; `null` deletes a chart default). */
export function helmValues(name: string, ctx: AddonContext): Record<string, unknown> {
  const addon: AddonSpec | undefined = findAddon(name);
  if (!addon) throw new PlanningError([error("ADDON_UNKNOWN", `addons/${name}`, { problem: `no add-on "${name}" in catalog/addons.json`, why: "only pinned, reviewed charts are installed", fix: "use one of the catalog's add-on names" })]);
  const tag = addon.imageTagByKubernetesMinor?.[ctx.kubernetesVersion];
  if (addon.imageTagByKubernetesMinor && !tag) {
    throw new PlanningError([error("ADDON_KUBERNETES_UNSUPPORTED", `addons/${name}`, { field: "kubernetesVersion", problem: `${name} has no pinned image for Kubernetes ${ctx.kubernetesVersion}`, why: "its minor version must match the cluster's", fix: `use one of ${Object.keys(addon.imageTagByKubernetesMinor).join(", ")}` })]);
  }
  return fill(addon.values, { clusterName: ctx.clusterName, region: ctx.region, vpcId: ctx.vpcId, imageTagByKubernetesMinor: tag }, name) as Record<string, unknown>;
}
