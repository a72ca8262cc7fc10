/**
 * ModelServingStack: the easy way in. Declare one stack; it creates what the deploy needs:
 *
 * - with `cluster: { create }`, two cdktf stacks — `<id>-cluster` (network, EKS, node pools, access,
 *   cluster add-ons) and `<id>` (namespace, model store, endpoints, custom resources), linked by
 *   cross-stack references, so `npx cdktf deploy '*'` applies them in that order and `destroy`
 *   reverses it. Terraform plans Kubernetes objects against the cluster's API, which exists only
 *   after the first phase is applied.
 * - with `cluster: { existing }`, one stack: node pools and workloads on a cluster that already runs.
 *
 * Everything the planner decides is visible in serving-plan.json / serving-plan.md beside `<id>`'s
 * cdk.tf.json, including which stack creates what.
 */
import { App, LocalBackend, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { REGION } from "../catalog";
import { AwsProvider } from "../constructs/bindings/aws";
import { GpuCluster, GpuClusterBase, type ExistingClusterProps, type GpuClusterProps } from "../constructs/gpu-cluster";
import { ImportedModel, type ImportedModelProps } from "../constructs/imported-model";
import { InferenceEndpoint, type InferenceEndpointProps } from "../constructs/inference-endpoint";
import { ModelGateway, type ModelGatewayProps } from "../constructs/model-gateway";
import { ModelStore, type ModelStoreProps } from "../constructs/model-store";
import { takeRendering } from "../constructs/preflight";
import { stableJson } from "../constructs/plan-report";

export interface ModelServingStackProps {
  /** The AWS provider's region: the cluster lives there and its plan is placed and priced in it. @default "us-east-1" */
  readonly region?: string;
  /** Create a new cluster with these props, or compose into an existing one. @default - a new cluster */
  readonly cluster?: { readonly create: GpuClusterProps } | { readonly existing: ExistingClusterProps };
  /** Tags on every AWS resource. */
  readonly tags?: Readonly<Record<string, string>>;
  /**
   * Local Terraform state of this stack, relative to its directory in cdktf.out/stacks/. The default puts
   * it in the project directory (next to cdktf.json, as the cdktf CLI does), never inside cdktf.out,
   * which synth prunes. Teams should use a remote backend instead. @default "../../../terraform.<stack>.tfstate"
   */
  readonly stateFile?: string;
}

/** A stack of this library: local state outside cdktf.out, the AWS provider, and one rendering per synth. */
class ServingPhaseStack extends TerraformStack {
  constructor(scope: Construct, id: string, props: ModelServingStackProps, stateFile?: string) {
    super(scope, id);
    // A relative path keeps this machine's absolute paths out of the output; cross-stack references
    // read the other phase's state through the same path, valid from every stack directory.
    new LocalBackend(this, { path: stateFile ?? `../../../terraform.${id}.tfstate` });
    new AwsProvider(this, "aws", { region: props.region ?? REGION, defaultTags: [{ tags: { "managed-by": "cdktf-model-serving", ...(props.tags ?? {}) } }] });
  }

  toTerraform(): any { // eslint-disable-line @typescript-eslint/no-explicit-any
    // The whole-app check before writing already rendered this stack: do not resolve it twice.
    return takeRendering(this) ?? super.toTerraform();
  }
}

export class ModelServingStack extends ServingPhaseStack {
  readonly cluster: GpuClusterBase;
  /** The stack that creates the cluster (the first deploy phase), when this one creates a cluster. */
  readonly clusterStack: TerraformStack | undefined;

  constructor(scope: Construct, id: string, props: ModelServingStackProps = {}) {
    super(scope, id, props, props.stateFile);
    const c = props.cluster;
    if (c && "existing" in c) {
      this.clusterStack = undefined;
      this.cluster = GpuCluster.fromExisting(this, "cluster", c.existing);
    } else {
      this.clusterStack = new ServingPhaseStack(scope, `${id}-cluster`, props);
      this.cluster = new GpuCluster(this.clusterStack, "cluster", { clusterName: id, ...(c && "create" in c ? c.create : {}) });
    }
    this.cluster.workloadsIn(this);
  }

  /** An S3 bucket for model weights on this stack's cluster. */
  addModelStore(id: string, props: Omit<ModelStoreProps, "cluster"> = {}): ModelStore {
    return new ModelStore(this, id, { cluster: this.cluster, ...props });
  }

  importModel(id: string, props: ImportedModelProps): ImportedModel {
    return new ImportedModel(this, id, props);
  }

  addEndpoint(id: string, props: Omit<InferenceEndpointProps, "cluster">): InferenceEndpoint {
    return new InferenceEndpoint(this, id, { cluster: this.cluster, ...props });
  }

  /** One OpenAI-compatible entry point for every endpoint of this stack's cluster and the hosted models declared here. */
  addGateway(id: string, props: Omit<ModelGatewayProps, "cluster">): ModelGateway {
    return new ModelGateway(this, id, { cluster: this.cluster, ...props });
  }
}

/**
 * Synthesize, printing coded errors instead of a stack trace, and exit 1 when validation fails
 * (nothing is written: the library checks the whole app before the first stack is written).
 */
export function synthOrExit(app: App): void {
  if (process.env.MODEL_SERVING_PLAN_ONLY === "1") {
    // `npx model-serving plan`: print every cluster's serving plan and write no Terraform.
    const clusters = app.node.findAll().filter((c): c is GpuClusterBase => c instanceof GpuClusterBase);
    const stacks: Record<string, unknown> = {};
    let errors = 0;
    for (const c of clusters) {
      const findings = c.allFindings();
      errors += findings.filter((f) => f.severity === "error").length;
      stacks[TerraformStack.of(c.workloads ?? c).node.id] = { ...c.plan(), findings };
    }
    process.stdout.write(stableJson({ stacks }));
    process.exit(errors ? 1 : 0);
  }
  try {
    app.synth();
  } catch (e) {
    const message = (e as Error).message ?? String(e);
    console.error(message.replace(/\n\nIf you wish to ignore these validations[\s\S]*$/, ""));
    process.exit(1);
  }
}
