/**
 * The cluster add-ons a new cluster gets in its own phase, installed by pinned Helm charts
 * (catalog/addons.json: chart, version, reviewed values, IAM): the AWS Load Balancer Controller and
 * the NVIDIA device plugin always, the rest when something needs them — KEDA and a Prometheus for
 * autoscaled endpoints, LeaderWorkerSet for multi-node replicas, Cluster Autoscaler, the EFA device
 * plugin, External Secrets for Secrets Manager references, Envoy Gateway and the AI gateway. An
 * add-on that needs AWS APIs gets its own Pod Identity role with exactly its documented policy.
 *
 * The charts install the CRDs the workloads' custom resources need, so those resources can only be
 * planned in the later workloads phase.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AssetType, Lazy, TerraformAsset, type ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import { ADDONS, findAddon, type AddonSpec } from "../catalog/addons";
import { DataAwsIamPolicyDocument, EksPodIdentityAssociation, IamPolicy, IamRole, IamRolePolicyAttachment } from "./bindings/aws";
import { HelmProvider, Release } from "./bindings/helm";
import { helmValues } from "./manifests/addons";
import { stableJson } from "./plan-report";
import type { Suppression } from "./policy";
import { providerAlias } from "./providers";

/** What the add-ons need to know about the cluster they run in. */
export interface AddonTarget {
  readonly clusterName: string;
  readonly region: string;
  readonly kubernetesVersion: string;
  readonly vpcId?: string;
  readonly access: { host: string; clusterCaCertificate: string; exec: { apiVersion: string; command: string; args: string[] } };
  /** Installed before any chart: the system nodes the add-on pods run on, the pod identity agent. */
  readonly installAfter: ITerraformDependable[];
  readonly tags: Record<string, string>;
}

/** An add-on as the serving plan lists it. */
export interface AddonRecord {
  readonly name: string;
  readonly chart: string;
  readonly version: string;
  readonly namespace: string;
  readonly why: string;
}

const CATALOG_DIR = join(__dirname, "..", "catalog");
const CHARTS_DIR = join(__dirname, "..", "charts");

export class InstalledAddons extends Construct {
  readonly helmProvider: HelmProvider;
  private readonly releases = new Map<string, Release>();
  private readonly reasons = new Map<string, string>();
  /** Policy suppressions these add-ons need, each scoped to one resource, with its reason. */
  readonly suppressions: Suppression[] = [];
  /** Secrets Manager ARNs External Secrets may read: exactly the ones the app references. */
  private readonly secretArns = new Set<string>();

  constructor(scope: Construct, id: string, private readonly target: AddonTarget) {
    super(scope, id);
    const a = target.access;
    this.helmProvider = new HelmProvider(this, "helm", {
      alias: providerAlias("model_serving", target.clusterName),
      kubernetes: { host: a.host, clusterCaCertificate: a.clusterCaCertificate, exec: a.exec },
    });
  }

  /** Install this add-on (and what it depends on) once; `why` is shown in the serving plan. */
  require(name: string, why: string): Release {
    const existing = this.releases.get(name);
    if (existing) return existing;
    const addon = findAddon(name);
    if (!addon) throw new Error(`catalog/addons.json has no add-on ${name}`); // a library bug, not user input
    const deps = addon.dependsOn.map((d) => this.require(d, `needed by ${name}`));
    const role = addon.iam ? this.podIdentity(addon) : undefined;
    const values = helmValues(name, { clusterName: this.target.clusterName, region: this.target.region, kubernetesVersion: this.target.kubernetesVersion, ...(this.target.vpcId ? { vpcId: this.target.vpcId } : {}) });
    const local = addon.chart.repository.startsWith("local:");
    const chart = local ? new TerraformAsset(this, `${name}-chart`, { path: join(CHARTS_DIR, addon.chart.repository.slice("local:charts/".length)), type: AssetType.DIRECTORY }).path : addon.chart.name;
    const release = new Release(this, name, {
      provider: this.helmProvider,
      name: addon.releaseName,
      chart,
      ...(local ? {} : { repository: addon.chart.repository }),
      version: addon.chart.version,
      namespace: addon.namespace,
      createNamespace: true,
      values: [stableJson(values)],
      // Fail the phase if the add-on does not come up, and roll a failed upgrade back.
      wait: true,
      atomic: true,
      cleanupOnFail: true,
      timeout: 900,
      maxHistory: 5,
      dependsOn: [...this.target.installAfter, ...deps, ...(role ? [role] : [])],
    });
    this.releases.set(name, release);
    this.reasons.set(name, why);
    return release;
  }

  /** External Secrets reads this Secrets Manager secret (its policy lists exactly these). */
  allowSecret(arn: string): void {
    this.secretArns.add(arn);
    this.require("external-secrets", "syncs Secrets Manager secrets into the workloads' namespace before pods start");
  }

  installed(): AddonRecord[] {
    return [...this.releases.keys()].map((name) => {
      const a = findAddon(name)!;
      return { name, chart: `${a.chart.repository.replace(/^local:/, "")}/${a.chart.name}`, version: a.chart.version, namespace: a.namespace, why: this.reasons.get(name)! };
    });
  }

  /** A Pod Identity role with the add-on's documented policy, bound to its service account. */
  private podIdentity(addon: AddonSpec): EksPodIdentityAssociation {
    const iam = addon.iam!;
    const scope = new Construct(this, `${addon.name}-identity`);
    const role = new IamRole(scope, "role", {
      name: `${this.target.clusterName}-${addon.name}`.slice(0, 64),
      assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] }] }),
      tags: this.target.tags,
    });
    const fill = (v: string) => v.replace(/\$\{clusterName\}/g, this.target.clusterName);
    let document: DataAwsIamPolicyDocument | undefined;
    const policyJson = iam.policyDocument
      ? readFileSync(join(CATALOG_DIR, iam.policyDocument.replace(/^catalog\//, "")), "utf8")
      : (document = new DataAwsIamPolicyDocument(scope, "policy-document", {
          statement: iam.statements!.map((s) => ({
            effect: "Allow",
            actions: s.actions,
            // `${declaredSecretArns}` stands for the secrets the app references, known only when the tree is complete.
            resources: s.resources.includes("${declaredSecretArns}") ? Lazy.listValue({ produce: () => [...this.secretArns].sort() }) : s.resources.map(fill),
            ...(s.condition ? { condition: [{ test: s.condition.test, variable: fill(s.condition.variable), values: s.condition.values }] } : {}),
          })),
        })).json;
    if (document && iam.statements!.some((st) => st.resources.includes("*"))) {
      this.suppressions.push({ ruleId: "MS-IAM-1", address: `data.aws_iam_policy_document.${document.friendlyUniqueId}`, reason: `${addon.name}'s documented policy (${iam.source.repo} ${iam.source.path} at ${iam.source.tag}) grants read-only Describe actions on "*": those EC2/Auto Scaling/EKS actions support no resource-level permissions. Its write actions are limited by a tag condition.` });
    }
    const policy = new IamPolicy(scope, "policy", { name: `${this.target.clusterName}-${addon.name}`.slice(0, 128), policy: policyJson, tags: this.target.tags });
    if (iam.policyDocument) {
      this.suppressions.push({ ruleId: "MS-IAM-1", address: `aws_iam_policy.${policy.friendlyUniqueId}`, reason: `${addon.name}'s policy is the one its project publishes (${iam.source.repo} ${iam.source.path} at ${iam.source.tag}), copied unchanged: its Describe actions support no resource-level permissions, and the actions that create or change load balancers, target groups and security groups are limited by the elbv2.k8s.aws/cluster tag condition.` });
    }
    new IamRolePolicyAttachment(scope, "policy-attachment", { role: role.name, policyArn: policy.arn });
    return new EksPodIdentityAssociation(scope, "pod-identity", { clusterName: this.target.clusterName, namespace: iam.namespace, serviceAccount: iam.serviceAccount, roleArn: role.arn, tags: this.target.tags });
  }
}

/** Every add-on the catalog pins, for documentation and the plan of an existing cluster. */
export function addonCatalog(): readonly AddonSpec[] {
  return ADDONS;
}
