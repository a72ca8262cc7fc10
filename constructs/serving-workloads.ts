/**
 * ServingWorkloads: the Kubernetes side of one cluster, in the stack that holds its workloads — the
 * namespace, the Kubernetes provider that reaches the cluster's API, the stable Services of traffic
 * groups, and the serving plan written beside that stack's Terraform.
 *
 * A new cluster is created in one stack and its workloads live in another (the deploy phases): the
 * Kubernetes provider, and `kubernetes_manifest` above all, needs the cluster's API when Terraform
 * plans, so the API must exist before the workloads stack is planned. For an existing cluster both
 * sides share one stack.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Lazy, TerraformStack, type TerraformProvider } from "cdktf";
import { addCustomSynthesis } from "cdktf/lib/synthesize/synthesizer";
import { Construct, type IConstruct } from "constructs";
import { createHash } from "node:crypto";
import { error, warning, type Finding } from "../planner/findings";
import type { Capability } from "../planner/plan-types";
import type { AwsProvider } from "./bindings/aws";
import { KubernetesProvider, Manifest, NamespaceV1, ServiceV1 } from "./bindings/k8s";
import type { GpuClusterBase } from "./gpu-cluster";
import { clusterSecretStore, externalSecret, regionOfSecretArn } from "./manifests/secrets";
import type { SecretRef } from "./model-source";
import { planConsoleTable, planMarkdown, stableJson } from "./plan-report";
import { claimName, namespaceScope, userNameFindings } from "./name-claims";
import { markOwned } from "./policy-scope";
import { registerFindings } from "./preflight";
import { bindProviders, providerAlias, resolveAwsProvider } from "./providers";

export interface WorkloadsOptions {
  /** AWS provider for the workloads' IAM roles and Pod Identity associations. @default - the stack's unaliased AWS provider */
  readonly awsProvider?: AwsProvider;
  /**
   * Kubernetes provider that reaches this cluster's API.
   * @default - an aliased provider the library configures from the cluster (exec auth through `aws eks get-token`)
   */
  readonly kubernetesProvider?: TerraformProvider;
}

interface TrafficMember {
  readonly endpoint: string;
  readonly path: string;
  readonly weight: number;
  readonly modelId: string;
  readonly capability: Capability;
  readonly replicas: number;
}

export class ServingWorkloads extends Construct {
  readonly cluster: GpuClusterBase;
  readonly namespace: string;
  readonly namespaceResource: NamespaceV1;
  readonly kubernetesProvider: TerraformProvider;
  readonly awsProvider: AwsProvider | undefined;
  readonly region: string | undefined;
  private readonly findings: Finding[] = [];
  private readonly trafficGroups = new Map<string, TrafficMember[]>();
  /** One ClusterSecretStore per Secrets Manager region (a store reads one region). */
  private readonly secretStores = new Map<string, Manifest>();
  private readonly syncedSecrets = new Map<string, { name: string; sync: Manifest }>();

  constructor(scope: Construct, id: string, cluster: GpuClusterBase, options: WorkloadsOptions = {}) {
    super(scope, id);
    this.cluster = cluster;
    this.namespace = cluster.namespace;
    markOwned(this, () => cluster);
    // Beside its cluster, the workloads use the cluster's AWS provider unless told otherwise.
    const sameStack = TerraformStack.of(this) === TerraformStack.of(cluster);
    const aws = resolveAwsProvider(this, options.awsProvider ?? (sameStack ? cluster.awsProvider : undefined), this.node.path);
    this.findings.push(...aws.findings);
    this.awsProvider = aws.provider;
    this.region = aws.region;
    if (aws.region && cluster.providerRegion && aws.region !== cluster.providerRegion) {
      this.findings.push(error("REGION_MISMATCH", this.node.path, { field: "awsProvider", problem: `the workloads' AWS provider is in ${aws.region} and cluster ${cluster.clusterName} in ${cluster.providerRegion}`, why: "Pod Identity associations and the model bucket must be in the cluster's region", fix: `give the workloads an AWS provider for ${cluster.providerRegion}` }));
    }
    this.kubernetesProvider = options.kubernetesProvider ?? this.defaultKubernetesProvider(cluster);
    bindProviders(this, { ...(this.awsProvider ? { aws: this.awsProvider } : {}), kubernetes: this.kubernetesProvider });
    this.namespaceResource = new NamespaceV1(this, "namespace", {
      metadata: {
        name: this.namespace,
        labels: {
          "pod-security.kubernetes.io/enforce": "restricted",
          "pod-security.kubernetes.io/enforce-version": "latest",
          "app.kubernetes.io/managed-by": "cdktf-model-serving",
        },
      },
    });
    registerFindings(this);
    addCustomSynthesis(this, {
      onSynthesize: (session) => {
        const stack = TerraformStack.of(this);
        const dir = join(session.outdir, session.manifest.forStack(stack).workingDirectory);
        mkdirSync(dir, { recursive: true });
        // Two clusters' workloads in one stack: one plan file each, never one overwriting the other.
        const others = stack.node.findAll().filter((c) => c instanceof ServingWorkloads && c !== this);
        const base = others.length ? `serving-plan.${cluster.node.id}` : "serving-plan";
        const plan = cluster.writtenPlan();
        writeFileSync(join(dir, `${base}.json`), stableJson(plan));
        writeFileSync(join(dir, `${base}.md`), planMarkdown(`${stack.node.id} (cluster ${cluster.clusterName})`, plan));
        if (process.env.MODEL_SERVING_QUIET !== "1") console.log(planConsoleTable(others.length ? `${stack.node.id} (cluster ${cluster.clusterName})` : stack.node.id, plan));
      },
    });
  }

  private defaultKubernetesProvider(cluster: GpuClusterBase): KubernetesProvider {
    const access = cluster.kubernetesAccess();
    return new KubernetesProvider(this, "kubernetes", { alias: providerAlias("model_serving", cluster.node.id), host: access.host, clusterCaCertificate: access.clusterCaCertificate, exec: [access.exec] });
  }

  /** Bind a library construct's resources in this stack to the workloads' providers. */
  adopt(c: IConstruct): void {
    bindProviders(c, { ...(this.awsProvider ? { aws: this.awsProvider } : {}), kubernetes: this.kubernetesProvider });
  }

  /**
   * Where a pod reads a secret: a Kubernetes secret key that exists when the pod starts. A Secrets
   * Manager secret is synced into the namespace by External Secrets (its ExternalSecret waits until
   * the copy is there; depend on `sync`). A Kubernetes secret by name is only trusted on an existing
   * cluster: in a namespace this deploy creates on a new cluster, nothing could have created it.
   */
  secretKeyRef(ref: SecretRef, consumerPath: string, field: string): { name: string; key: string; sync?: Manifest } | undefined {
    if (ref.kind === "kubernetes") {
      if (this.cluster.createsCluster) {
        this.findings.push(error("SECRET_NOT_CREATED", consumerPath, { field, problem: `Kubernetes secret "${ref.ref}" (key "${ref.key}") is read in namespace ${this.namespace}, which this deploy creates on a cluster it creates`, why: "nothing can have created the secret there before the pods start, so they would never start", fix: `store the value in AWS Secrets Manager and pass SecretRef.fromSecretsManager("arn:aws:secretsmanager:<region>:<account>:secret:<name>"): it is synced into the namespace before the pods start` }));
        return undefined;
      }
      this.findings.push(warning("SECRET_MUST_EXIST", consumerPath, { field, problem: `Kubernetes secret "${ref.ref}" (key "${ref.key}") must exist in namespace ${this.namespace} of cluster ${this.cluster.clusterName}`, why: "this deploy creates the namespace and then the pods that read it; they wait (and the apply times out) until the secret is there", fix: `create it right after the namespace (kubectl -n ${this.namespace} create secret generic ${ref.ref} --from-literal=${ref.key}=…), or reference it in Secrets Manager` }));
      return { name: ref.ref, key: ref.key };
    }
    if (!this.cluster.allowSecret(ref.ref)) {
      this.findings.push(error("EXTERNAL_SECRETS_MISSING", consumerPath, { field, problem: `Secrets Manager secret ${ref.ref} is referenced on existing cluster ${this.cluster.clusterName}, which does not declare External Secrets`, why: "pods read secrets from Kubernetes secrets; External Secrets Operator copies them from Secrets Manager", fix: "install External Secrets Operator in the cluster and declare addons: { externalSecrets: true } (give its role secretsmanager:GetSecretValue on this ARN), or reference a Kubernetes secret by name" }));
      return undefined;
    }
    const id = `${ref.ref}#${ref.key}`;
    let synced = this.syncedSecrets.get(id);
    if (!synced) {
      const region = regionOfSecretArn(ref.ref) ?? this.cluster.region; // SecretRef checked the ARN
      const { name: storeName, store } = this.secretStore(region);
      // One Kubernetes secret per Secrets Manager secret (and JSON key): a short hash keeps names valid and distinct.
      const name = `ms-secret-${createHash("sha256").update(id).digest("hex").slice(0, 12)}`;
      const sync = new Manifest(this, `secret-${name}`, {
        manifest: externalSecret({ name, namespace: this.namespace, storeName, entries: [{ key: "value", secretArn: ref.ref, ...(ref.key ? { property: ref.key } : {}) }], path: consumerPath }),
        // The copy must be there before any pod that reads it starts.
        wait: { condition: [{ type: "Ready", status: "True" }] },
        timeouts: { create: "10m", update: "10m" },
        dependsOn: [this.namespaceResource, store],
      });
      synced = { name, sync };
      this.syncedSecrets.set(id, synced);
    }
    return { name: synced.name, key: "value", sync: synced.sync };
  }

  /**
   * The ClusterSecretStore that reads Secrets Manager in `region` (a store reads one region), created
   * on first use. Whoever syncs through it must also have the cluster allow each ARN (`allowSecret`).
   */
  secretStore(region: string): { name: string; store: Manifest } {
    const name = `model-serving-${this.cluster.node.id}-${region}`.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63);
    let store = this.secretStores.get(region);
    if (!store) {
      store = new Manifest(this, `secret-store-${region}`, { manifest: clusterSecretStore({ region, name }) });
      this.secretStores.set(region, store);
    }
    return { name, store };
  }

  /** The traffic groups joined so far: each stable name with its member endpoints, their weights and the API they serve. */
  trafficGroupMembers(): Array<{ readonly name: string; readonly capability: Capability; readonly members: ReadonlyArray<{ readonly endpoint: string; readonly weight: number }> }> {
    return [...this.trafficGroups]
      .filter(([, members]) => members.length > 0)
      .map(([name, members]) => ({ name, capability: members[0]!.capability, members: members.map((m) => ({ endpoint: m.endpoint, weight: m.weight })) }));
  }

  findingsForPreflight(): readonly Finding[] {
    return [...this.findings, ...this.trafficFindings()];
  }

  /**
   * Join an endpoint to a traffic group: one stable Service (and served model name) in front of
   * several Deployments, e.g. two revisions of a model during a canary. Weighted exactly by an
   * HTTPRoute when a Gateway is declared, else by the replica ratio (the plan says what that gives).
   */
  joinTrafficGroup(group: string, member: TrafficMember): void {
    if (!this.trafficGroups.has(group)) {
      this.trafficGroups.set(group, []);
      const invalid = userNameFindings("TRAFFIC_GROUP_NAME_INVALID", member.path, "trafficGroup.name", "dns1035Label", group, this.cluster.serviceNames());
      this.findings.push(...invalid);
      if (invalid.length) {
        this.trafficGroups.get(group)!.push(member);
        return;
      }
      const scope = new Construct(this, `traffic-${group}`);
      // The group's Service shares the namespace with the endpoints' own Services.
      claimName(scope, "Kubernetes Service", namespaceScope(this.cluster.clusterName, this.namespace), group, "dns1035Label");
      new ServiceV1(scope, "service", {
        metadata: { name: group, namespace: this.namespace, labels: { "app.kubernetes.io/managed-by": "cdktf-model-serving", "model-serving.io/traffic-group": group } },
        spec: { type: "ClusterIP", selector: { "model-serving.io/traffic-group": group }, port: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }] },
        dependsOn: [this.namespaceResource],
      });
      const gw = this.cluster.addons.gateway;
      if (gw) {
        new Manifest(scope, "route", {
          manifest: {
            apiVersion: "gateway.networking.k8s.io/v1",
            kind: "HTTPRoute",
            metadata: { name: group, namespace: this.namespace },
            spec: {
              parentRefs: [{ name: gw.name, namespace: gw.namespace }],
              rules: Lazy.anyValue({ produce: () => [{ backendRefs: (this.trafficGroups.get(group) ?? []).map((m) => ({ name: m.endpoint, port: 80, weight: m.weight })) }] }),
            },
          },
          dependsOn: [this.namespaceResource],
        });
      }
    }
    this.trafficGroups.get(group)!.push(member);
  }

  private trafficFindings(): Finding[] {
    const out: Finding[] = [];
    for (const [group, members] of this.trafficGroups) {
      const total = members.reduce((a, m) => a + m.weight, 0);
      const fractional = members.filter((m) => !Number.isInteger(m.weight));
      if (fractional.length) {
        out.push(error("TRAFFIC_WEIGHTS_INVALID", fractional[0].path, { field: "trafficGroup.weight", problem: `traffic group "${group}" has a fractional weight (${fractional.map((m) => `${m.endpoint} ${m.weight}`).join(", ")})`, why: "Gateway API HTTPRoute backend weights are integers", fix: "use whole percentages that sum to 100, e.g. 95 and 5" }));
      } else if (Math.abs(total - 100) > 1e-9 || members.some((m) => !(m.weight >= 0))) {
        out.push(error("TRAFFIC_WEIGHTS_INVALID", members[0].path, { field: "trafficGroup.weight", problem: `the weights of traffic group "${group}" add up to ${total}, not 100 (${members.map((m) => `${m.endpoint} ${m.weight}`).join(", ")})`, why: "each weight is the share of requests one version receives", fix: "make them sum to 100, e.g. 90 and 10" }));
      }
      const models = new Set(members.map((m) => m.modelId));
      const kinds = new Set(members.map((m) => m.capability));
      if (models.size > 1 || kinds.size > 1) {
        out.push(error("TRAFFIC_GROUP_MODEL_MISMATCH", members[1].path, { field: "trafficGroup", problem: `traffic group "${group}" mixes ${[...models].join(" and ")}`, why: "one stable name must mean one model; only its revisions (or shapes) may differ", fix: "put different models behind different names" }));
      }
      // A Gateway API gateway, or the model gateway, weighs the members exactly.
      if (!this.cluster.addons.gateway && !this.cluster.hasModelGateway) {
        const replicas = members.reduce((a, m) => a + m.replicas, 0);
        const effective = members.map((m) => `${m.endpoint} ${replicas ? Math.round((100 * m.replicas) / replicas) : 0}% (asked ${m.weight}%)`);
        if (members.some((m) => replicas && Math.abs((100 * m.replicas) / replicas - m.weight) > 1)) {
          out.push({ ...error("TRAFFIC_SPLIT_BY_REPLICAS", members[0].path, { field: "addons.gateway", problem: `traffic group "${group}" splits by ready replicas: ${effective.join(", ")}`, why: "a Kubernetes Service balances across pods, so without a Gateway the weights are the replica ratio", fix: "declare a Gateway API gateway in addons.gateway for exact weights, or set replicas in the ratio you want" }), severity: "warning" });
        }
      }
    }
    return out;
  }
}
