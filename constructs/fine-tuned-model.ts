/**
 * FineTunedModel: a LoRA adapter from the Hub (pinned revision) or S3, served on the GPUs of an
 * endpoint of its base model under its own model name. Its adapter_config.json (inline or from
 * models.lock.json) gives the base model and the rank the planner checks.
 */
import { Construct } from "constructs";
import { error, type Finding } from "../planner/findings";
import type { AdapterSpec } from "../planner/lora";
import { freeId, idFindings } from "./coded-errors";
import { userNameFindings } from "./name-claims";
import { findLockedModel } from "./lock-file";
import { rePath, type ModelSource } from "./model-source";
import { registerFindings } from "./preflight";

export interface FineTunedModelProps {
  readonly source: ModelSource;
  /** Served model name clients ask for. @default - the construct id */
  readonly name?: string;
  /** The adapter's adapter_config.json. @default - from models.lock.json (`npx model-serving lock`) */
  readonly adapterConfig?: Record<string, unknown>;
}

export class FineTunedModel extends Construct {
  readonly source: ModelSource;
  readonly name: string;
  readonly findings: Finding[] = [];
  private readonly config: Record<string, unknown> | undefined;

  constructor(scope: Construct, id: string, props: FineTunedModelProps) {
    super(scope, freeId(scope, id));
    const path = this.node.path;
    this.source = props.source;
    this.name = props.name ?? id;
    this.findings.push(...idFindings(this, id, "FineTunedModel"), ...rePath(props.source.findings, path));
    // The served model name clients send and a directory in the pod: a DNS-1123 name of at most 63.
    this.findings.push(...userNameFindings("NAME_INVALID", path, "name", "dns1123Subdomain", this.name, [], 63));
    this.config = props.adapterConfig ?? (findLockedModel(props.source.id, props.source.revision)?.adapterConfig as Record<string, unknown> | undefined);
    if (!this.config) {
      this.findings.push(error("ADAPTER_NOT_LOCKED", path, { field: "adapterConfig", problem: `no adapter_config.json for ${props.source.id} inline or in models.lock.json`, why: "the planner needs the adapter's base model and rank, and synth is offline", fix: `run: npx model-serving lock ${props.source.kind === "s3" ? props.source.id : `${props.source.id}@${props.source.revision}`}` }));
    } else if (String(this.config["peft_type"] ?? "LORA").toUpperCase() !== "LORA") {
      this.findings.push(error("ADAPTER_UNSUPPORTED", path, { field: "adapter_config.json peft_type", problem: `peft_type ${JSON.stringify(this.config["peft_type"])} is not LoRA`, why: "vLLM serves LoRA adapters only", fix: "merge the adapter into the base weights and import it as a model" }));
    }
    registerFindings(this);
  }

  /** @internal */
  findingsForPreflight(): readonly Finding[] {
    return this.findings;
  }

  /** What the planner checks, or undefined when the adapter's config is missing. */
  spec(): AdapterSpec | undefined {
    if (!this.config) return undefined;
    return {
      name: this.name,
      repoId: this.source.id,
      baseModel: String(this.config["base_model_name_or_path"] ?? ""),
      rank: Number(this.config["r"] ?? 0),
      path: this.node.path,
    };
  }
}
