/**
 * ModelServingStack: a stack with the AWS provider, a GPU cluster (new, or an existing one) and
 * helpers to import models and add endpoints. Everything the planner decides is visible in
 * serving-plan.json / serving-plan.md next to cdk.tf.json.
 */
import { App, LocalBackend, TerraformStack } from "cdktf";
import { stableJson } from "../constructs/plan-report";
import { GpuClusterBase } from "../constructs/gpu-cluster";
import type { Construct } from "constructs";
import { REGION } from "../catalog";
import { error } from "../planner/findings";
import { AwsProvider } from "../constructs/bindings/aws";
import { reportFindings } from "../constructs/coded-errors";
import { GpuCluster, type ExistingClusterProps, type GpuClusterProps } from "../constructs/gpu-cluster";
import { ImportedModel, type ImportedModelProps } from "../constructs/imported-model";
import { InferenceEndpoint, type InferenceEndpointProps } from "../constructs/inference-endpoint";
import { ModelStore, type ModelStoreProps } from "../constructs/model-store";

export interface ModelServingStackProps {
  /** @default "us-east-1" (the region the price catalog covers) */
  readonly region?: string;
  /** Create a new cluster with these props, or compose into an existing one. @default - a new cluster */
  readonly cluster?: { readonly create: GpuClusterProps } | { readonly existing: ExistingClusterProps };
  /** Tags on every AWS resource. */
  readonly tags?: Readonly<Record<string, string>>;
  /** Terraform state file, relative to the stack directory. @default "terraform.<stack>.tfstate" */
  readonly stateFile?: string;
}

export class ModelServingStack extends TerraformStack {
  readonly cluster: GpuClusterBase;

  constructor(scope: Construct, id: string, props: ModelServingStackProps = {}) {
    super(scope, id);
    // A relative state path keeps the synthesized JSON free of this machine's absolute paths.
    new LocalBackend(this, { path: props.stateFile ?? `terraform.${id}.tfstate` });
    const region = props.region ?? REGION;
    if (region !== REGION) {
      const finding = error("REGION_NOT_PRICED", this.node.path, { field: "region", problem: `region ${region} has no prices in the catalog (it covers ${REGION})`, why: "the plan never prices capacity at $0, and instance offerings differ by region", fix: `deploy in ${REGION}, or add ${region} prices with their source to catalog/instances.json` });
      reportFindings(this, () => [finding]);
    }
    new AwsProvider(this, "aws", { region, defaultTags: [{ tags: { "managed-by": "cdktf-model-serving", ...(props.tags ?? {}) } }] });
    const c = props.cluster;
    this.cluster = c && "existing" in c ? GpuCluster.fromExisting(this, "cluster", c.existing) : new GpuCluster(this, "cluster", c && "create" in c ? c.create : {});
  }

  /** An S3 bucket for model weights on this stack's cluster. */
  addModelStore(id: string, props: Omit<ModelStoreProps, "cluster"> = {}): ModelStore {
    return new ModelStore(this, id, { cluster: this.cluster, ...props });
  }

  private rendered: unknown;

  /**
   * Render the stack for the policy rules, and keep the result for the write that follows: resolving
   * a large stack is the costliest step of synth, and the policy check must not double it.
   * @internal
   */
  renderForPolicy(): unknown {
    this.rendered = super.toTerraform();
    return this.rendered;
  }

  /** Drop a kept rendering (validation failed: nothing will be written from it). @internal */
  discardRendered(): void {
    this.rendered = undefined;
  }

  toTerraform(): any { // eslint-disable-line @typescript-eslint/no-explicit-any
    if (this.rendered !== undefined) {
      const r = this.rendered;
      this.rendered = undefined; // one use: the next synth renders afresh
      return r;
    }
    return super.toTerraform();
  }

  importModel(id: string, props: ImportedModelProps): ImportedModel {
    return new ImportedModel(this, id, props);
  }

  addEndpoint(id: string, props: Omit<InferenceEndpointProps, "cluster">): InferenceEndpoint {
    return new InferenceEndpoint(this, id, { cluster: this.cluster, ...props });
  }
}

/**
 * Synthesize, printing coded errors instead of a stack trace, and exit 1 when validation fails
 * (nothing is written: cdktf validates every construct before it writes a stack).
 */
export function synthOrExit(app: App): void {
  if (process.env.MODEL_SERVING_PLAN_ONLY === "1") {
    // `npx model-serving plan`: print every stack's serving plan and write no Terraform.
    const clusters = app.node.findAll().filter((c): c is GpuClusterBase => c instanceof GpuClusterBase);
    const stacks: Record<string, unknown> = {};
    let errors = 0;
    for (const c of clusters) {
      const findings = c.allFindings();
      errors += findings.filter((f) => f.severity === "error").length;
      stacks[TerraformStack.of(c).node.id] = { ...c.plan(), findings };
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
