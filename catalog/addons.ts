/**
 * Cluster add-ons the deploy installs with pinned Helm charts in the cluster phase: chart, version,
 * images, CRDs, reviewed values and the IAM each needs — every row sourced at a tag and commit
 * (catalog/addons.json). Checked once at load so a bad edit fails loudly.
 */
import { z } from "zod";
import addonsJson from "./addons.json";

const Source = z.object({ repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/), tag: z.string().min(1), commit: z.string().regex(/^[0-9a-f]{40}$/), path: z.string().min(1) });

const Image = z.object({
  image: z.string().regex(/^[\w.-]+(?::\d+)?(\/[\w.-]+)*:[\w.-]+$/).refine((i) => !/:(latest|main)$/.test(i), "an image must be pinned, not latest/main"),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/).nullable(),
  digestSeenAt: z.string().nullable(),
  note: z.string().nullable(),
});

const Crd = z.object({ group: z.string().min(1), kind: z.string().min(1), versions: z.array(z.string().min(1)).min(1) });

const IamStatement = z.object({
  actions: z.array(z.string().regex(/^[a-z0-9-]+:[A-Za-z*]+$/)).min(1),
  resources: z.array(z.string().min(1)).min(1),
  condition: z.object({ test: z.string(), variable: z.string(), values: z.array(z.string()) }).optional(),
});

const Addon = z.object({
  name: z.string().regex(/^[a-z0-9-]+$/),
  purpose: z.string().min(1),
  chart: z.object({
    name: z.string().min(1),
    repository: z.string().regex(/^(https:\/\/|oci:\/\/|local:)/),
    // An exact version: no ranges, no "latest".
    version: z.string().regex(/^v?\d+\.\d+\.\d+$/),
  }),
  appVersion: z.string().min(1),
  namespace: z.string().regex(/^[a-z0-9-]+$/),
  releaseName: z.string().regex(/^[a-z0-9-]+$/),
  installOrder: z.number().int().positive(),
  dependsOn: z.array(z.string()),
  when: z.string().min(1),
  images: z.array(Image),
  imageTagByKubernetesMinor: z.record(z.string(), z.string()).optional(),
  crds: z.array(Crd),
  crdInstall: z.string().min(1),
  waitFor: z.object({ kind: z.string(), condition: z.object({ type: z.string(), status: z.string() }) }).optional(),
  prometheusUrl: z.string().url().optional(),
  values: z.record(z.string(), z.unknown()),
  valuesNotes: z.array(z.string()),
  iam: z
    .object({
      serviceAccount: z.string(),
      namespace: z.string(),
      policyDocument: z.string().nullable(),
      statements: z.array(IamStatement).nullable(),
      source: Source,
      note: z.string().optional(),
    })
    .nullable(),
  kubernetes: z.object({ supported: z.string().min(1), source: Source }),
  source: Source,
  capturedAt: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
});
export type AddonSpec = z.infer<typeof Addon>;

const Catalog = z.object({
  capturedAt: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  kubernetesVersions: z.array(z.string().regex(/^1\.\d+$/)),
  addons: z.array(Addon),
  extras: z.object({ rateLimitRedis: z.object({ image: Image, why: z.string(), source: Source, license: z.string() }) }),
});

const data = Catalog.parse(addonsJson);
for (const a of data.addons) {
  for (const d of a.dependsOn) if (!data.addons.some((b) => b.name === d)) throw new Error(`catalog/addons.json: ${a.name} depends on unknown add-on ${d}`);
  for (const d of a.dependsOn) {
    const dep = data.addons.find((b) => b.name === d)!;
    if (dep.installOrder >= a.installOrder) throw new Error(`catalog/addons.json: ${a.name} (order ${a.installOrder}) depends on ${d} (order ${dep.installOrder}), which is not installed before it`);
  }
  if (a.imageTagByKubernetesMinor) for (const v of data.kubernetesVersions) if (!a.imageTagByKubernetesMinor[v]) throw new Error(`catalog/addons.json: ${a.name} has no image for Kubernetes ${v}`);
}

export const ADDONS_CAPTURED_AT = data.capturedAt;
/** Kubernetes minor versions the pinned add-ons were checked against (EKS standard support). */
export const ADDON_KUBERNETES_VERSIONS: readonly string[] = data.kubernetesVersions;
export const ADDONS: readonly AddonSpec[] = data.addons;
export const RATE_LIMIT_REDIS_IMAGE = data.extras.rateLimitRedis;

export function findAddon(name: string): AddonSpec | undefined {
  return ADDONS.find((a) => a.name === name);
}

/** The add-on whose chart installs this custom resource kind, e.g. ("keda.sh", "ScaledObject") → keda. */
export function addonInstallingCrd(group: string, kind: string): AddonSpec | undefined {
  return ADDONS.find((a) => a.crds.some((c) => c.group === group && c.kind === kind));
}
