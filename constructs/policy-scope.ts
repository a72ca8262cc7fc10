/**
 * Which resources the policy rules judge, and the suppressions the library itself needs. A library
 * construct is marked with the cluster it belongs to; a resource is the library's when a marked
 * construct is its ancestor, and a cluster judges its own (or, with `policy: { scope: "stack" }`,
 * everything in its stack). Library suppressions name exactly the resources and findings they cover.
 */
import { TerraformDataSource, TerraformResource, TerraformStack } from "cdktf";
import type { IConstruct } from "constructs";
import type { Suppression } from "./policy";
import { LOG_RETENTION_DAYS } from "./cluster-network";

const OWNER = Symbol.for("cdktf-model-serving.owner");

/** Mark `c` (and everything under it) as created by the library for `cluster`. */
export function markOwned(c: IConstruct, cluster: () => IConstruct): void {
  Object.defineProperty(c, OWNER, { value: cluster, enumerable: false });
}

/** The cluster a construct was created for, when a library construct is it or its ancestor. */
export function owningCluster(c: IConstruct): IConstruct | undefined {
  for (let n: IConstruct | undefined = c; n; n = n.node.scope) {
    const owner = (n as unknown as Record<symbol, (() => IConstruct) | undefined>)[OWNER];
    if (owner) return owner();
  }
  return undefined;
}

export type PolicyScopeOption = "library" | "stack";

export interface StackPolicyView {
  /** Addresses the cluster's rules judge. */
  readonly judged: Set<string>;
  /** Addresses of resources the library created for this cluster. */
  readonly library: Set<string>;
  readonly constructPaths: Map<string, string>;
  /** Address of each library resource, by the construct that is it. */
  readonly addressOf: Map<IConstruct, string>;
}

function addressOf(c: IConstruct): string | undefined {
  if (TerraformResource.isTerraformResource(c)) return `${c.terraformResourceType}.${c.friendlyUniqueId}`;
  if (TerraformDataSource.isTerraformDataSource(c)) return `data.${c.terraformResourceType}.${c.friendlyUniqueId}`;
  return undefined;
}

/** The resources of a stack (the cluster's own by default), split into the library's (for this cluster) and the rest. */
export function stackPolicyView(cluster: IConstruct, scope: PolicyScopeOption, stack: TerraformStack = TerraformStack.of(cluster)): StackPolicyView {
  const view: StackPolicyView = { judged: new Set(), library: new Set(), constructPaths: new Map(), addressOf: new Map() };
  for (const c of stack.node.findAll()) {
    const address = addressOf(c);
    if (!address) continue;
    view.constructPaths.set(address, c.node.path);
    const mine = owningCluster(c) === cluster;
    if (mine) {
      view.library.add(address);
      view.addressOf.set(c, address);
    }
    if (mine || scope === "stack") view.judged.add(address);
  }
  return view;
}

const ofType = (addresses: Iterable<string>, ...types: string[]) => [...addresses].filter((a) => types.some((t) => a.startsWith(`${t}.`))).sort();
const POD_TYPES = ["kubernetes_deployment_v1", "kubernetes_daemon_set_v1", "kubernetes_job_v1", "kubernetes_manifest"];

/**
 * What the library chose not to do, each with its reason, scoped to the library's own resources and
 * (where one finding is meant) to that finding only. Shown in the serving plan.
 */
export function librarySuppressions(view: StackPolicyView, devicePlugin: IConstruct | undefined, undigestedVllmImages: readonly string[] = []): Suppression[] {
  const out: Suppression[] = [];
  const plugin = devicePlugin && view.addressOf.get(devicePlugin);
  if (plugin) {
    out.push({
      ruleId: "MS-POD-1",
      address: [plugin],
      check: "run-as-non-root",
      reason: "The NVIDIA device plugin must run as root: it registers with the kubelet through the root-owned socket directory /var/lib/kubelet/device-plugins (hostPath). It runs in kube-system, outside the endpoints' restricted namespace, and every other restriction still applies to it.",
    });
  }
  const pods = ofType(view.library, ...POD_TYPES);
  for (const image of pods.length ? undigestedVllmImages : []) {
    out.push({
      ruleId: "MS-IMG-1",
      address: pods,
      check: image,
      reason: `No multi-arch digest of ${image} is recorded (catalog/vllm/releases.json keeps one per release where a public pin names the index), and the public pins found for that tag name per-platform manifests that differ, so none is trusted here; the image is pinned by its release tag until the release data records the digest.`,
    });
  }
  if (pods.length) {
    out.push({
      ruleId: "MS-IMG-2",
      address: pods,
      reason: "Every image is pinned (by digest, and vLLM by its release tag), so IfNotPresent can only run the reviewed image; Always would re-pull the 10+ GB vLLM image on every pod start and slow cold starts and scale-from-zero.",
    });
  }
  const logGroups = ofType(view.library, "aws_cloudwatch_log_group");
  if (logGroups.length) {
    out.push({
      ruleId: "MS-LOG-2",
      address: logGroups,
      reason: `Control-plane and VPC flow logs are kept ${LOG_RETENTION_DAYS} days in CloudWatch, which bills storage per GB-month; export them to S3 or a SIEM for longer audit retention.`,
    });
  }
  const buckets = ofType(view.library, "aws_s3_bucket");
  if (buckets.length) {
    out.push(
      { ruleId: "MS-S3-3", address: buckets, reason: "The model bucket is written only by the staging Job's role and read only by the endpoints' own roles; CloudTrail data events audit that access without a second log bucket to secure and pay for." },
      { ruleId: "MS-S3-4", address: buckets, reason: "The weights are a copy of a pinned Hub revision that the staging Job can rebuild in any region; replicating multi-GB checkpoints doubles storage cost for no recovery the source does not already give." },
      { ruleId: "MS-S3-5", address: buckets, reason: "Nothing consumes object events: endpoints load a pinned prefix when they start, and deploy waits for the staging Job itself." },
    );
  }
  return out;
}
