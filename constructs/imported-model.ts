/**
 * ImportedModel: a model brought in from the Hugging Face Hub or S3, with the catalog metadata the
 * model-hub services ask for. It creates no resources itself; endpoints serve it. Its profile comes
 * from the built-in catalog, the lock file or an inline config.json — synth never touches the network.
 */
import { Construct } from "constructs";
import { findCatalogModel } from "../catalog/models";
import { error, PlanningError, type Finding } from "../planner/findings";
import { validateImport } from "../planner/import-validation";
import { profileFromConfig, type ModelProfile } from "../planner/model-profile";
import type { ModelDeclaration } from "../planner/plan";
import type { Capability } from "../planner/plan-types";
import { registerFindings } from "./preflight";
import { freeId, idFindings } from "./coded-errors";
import { findLockedModel } from "./lock-file";
import { ModelSource, rePath } from "./model-source";
import type { ModelStore } from "./model-store";
import type { JobV1 } from "./bindings/k8s";
import { checkpointBytes as checkpointBytesOfProfile, parameterCount } from "../planner/weights";
import { GiB } from "../planner/findings";
import { labelValueOf } from "../planner/names";

export interface ModelTags {
  readonly framework?: readonly string[];
  readonly architecture?: readonly string[];
  readonly domain?: readonly string[];
  readonly task?: readonly string[];
  readonly other?: readonly string[];
}

export interface ImportedModelProps {
  readonly source: ModelSource;
  /** Human title. @default - the repo id */
  readonly title?: string;
  readonly description?: string;
  /** The model this one was fine-tuned from, if any. */
  readonly baseModel?: string;
  readonly tags?: ModelTags;
  /**
   * The model's config.json, inline. @default - the built-in catalog (catalog/models), then
   * models.lock.json written by `npx model-serving lock`
   */
  readonly config?: Record<string, unknown>;
  /** Exact bytes of the safetensors files. @default - from the lock file, else estimated from config.json */
  readonly checkpointBytes?: number;
  /** Serve pickle-only (.bin) weights, which can execute code when loaded. @default false */
  readonly allowPickleWeights?: boolean;
  /**
   * Stage a Hub model into this S3 store (a Job copies the pinned revision and checks its files);
   * endpoints then load it from S3 with read access to its prefix only. @default - endpoints pull from the Hub
   */
  readonly store?: ModelStore;
}

/** Label values allow [A-Za-z0-9._-], ≤ 63 characters, alphanumeric at both ends (planner/names.ts). */
export const labelValue = labelValueOf;

export class ImportedModel extends Construct {
  readonly source: ModelSource;
  readonly profile: ModelProfile | undefined;
  readonly capability: Capability | undefined;
  /** Problems found importing the model; reported when the stack synthesizes. */
  readonly findings: Finding[] = [];
  private readonly props: ImportedModelProps;
  private readonly checkpointBytes: number | undefined;
  /** The Job that copies the weights into the model store, when the model is staged. */
  readonly stagingJob: JobV1 | undefined;

  constructor(scope: Construct, id: string, props: ImportedModelProps) {
    super(scope, freeId(scope, id));
    this.props = props;
    this.source = props.source;
    const path = this.node.path;
    this.findings.push(...idFindings(this, id, "ImportedModel"), ...rePath(props.source.findings, path));
    const tokenRefused = props.source.findings.some((f) => f.field === "token" && f.severity === "error");
    let config = props.config;
    let files: readonly string[] | undefined;
    let checkpointBytes = props.checkpointBytes;
    const locked = findLockedModel(props.source.id, props.source.revision);
    if (!config && locked) {
      config = locked.config;
      files = locked.files;
      checkpointBytes ??= locked.safetensors?.bytes;
    }
    const catalogEntry = props.source.kind === "huggingface" ? findCatalogModel(props.source.id) : undefined;
    if (!config && catalogEntry) config = catalogEntry.configJson;
    if (catalogEntry?.gated && !props.source.token && !tokenRefused) {
      this.findings.push(
        error("HF_TOKEN_REQUIRED", path, {
          field: "source.token",
          problem: `"${props.source.id}" is gated on the Hugging Face Hub and no token is given`,
          why: "the download would fail with 401 and the pods would never start",
          fix: 'accept the licence on the model page, store a read token, and pass token: SecretRef.fromKubernetesSecret("hf-token", "token") or SecretRef.fromSecretsManager(arn)',
        }),
      );
    }
    this.checkpointBytes = checkpointBytes;
    let profile: ModelProfile | undefined;
    // A source that is itself wrong (its id, revision, URI) is the whole story: no follow-on errors.
    const sourceBroken = props.source.findings.some((f) => f.severity === "error" && f.field !== "token");
    if (sourceBroken) {
      // reported above
    } else if (!config) {
      this.findings.push(
        error("MODEL_NOT_LOCKED", path, {
          field: "source",
          problem: `no config.json for ${props.source.id} in the built-in catalog or models.lock.json`,
          why: "synth is offline and sizes the model from its config.json",
          fix: `run: npx model-serving lock ${props.source.kind === "s3" ? props.source.id : `${props.source.id}@${props.source.revision}`}`,
        }),
      );
    } else {
      try {
        profile = profileFromConfig(config, path);
      } catch (e) {
        if (e instanceof PlanningError) this.findings.push(...e.findings);
        else throw e;
      }
    }
    this.profile = profile;
    if (profile && props.store && props.source.kind === "huggingface") {
      const bytes = checkpointBytes ?? checkpointBytesOfProfile(profile);
      this.stagingJob = props.store.stage(this.node.id, props.source, bytes / GiB, path);
      props.store.cluster.requireStagingDisk(bytes / GiB);
    }
    if (profile) {
      const check = validateImport({ path, modelId: props.source.id, profile, ...(files ? { files } : {}), ...(props.allowPickleWeights ? { allowPickleWeights: true } : {}) });
      this.findings.push(...check.findings);
      this.capability = check.capability;
    }
    registerFindings(this);
  }

  /** @internal */
  findingsForPreflight(): readonly Finding[] {
    return this.findings;
  }

  /** The planner's view of this model, or undefined when it cannot be planned (its findings say why). */
  declaration(): ModelDeclaration | undefined {
    if (!this.profile || !this.capability || this.findings.some((f) => f.severity === "error")) return undefined;
    return {
      name: this.node.id,
      path: this.node.path,
      modelId: this.source.id,
      revision: this.source.revision,
      capability: this.capability,
      profile: this.profile,
      storedInS3: this.source.kind === "s3" || !!this.props.store,
      ...(this.checkpointBytes ? { checkpointBytes: this.checkpointBytes } : {}),
    };
  }

  /** Where endpoints load the weights from: the store's copy when staged, else the source itself. */
  loadSource(): ModelSource {
    return this.props.store && this.source.kind === "huggingface" ? this.props.store.sourceFor(this.source) : this.source;
  }

  /** Kubernetes labels (sanitised values) describing the model. */
  labels(): Record<string, string> {
    const l: Record<string, string> = { "model-serving.io/model": labelValue(this.source.id.replace(/^s3:\/\//, "")) };
    if (this.capability) l["model-serving.io/capability"] = this.capability.toLowerCase().replace(/_/g, "-");
    return l;
  }

  /** Annotations carry the raw values labels cannot: the exact id, revision and catalog metadata. */
  annotations(): Record<string, string> {
    const p = this.props;
    const a: Record<string, string> = { "model-serving.io/model-id": this.source.id };
    if (this.source.revision) a["model-serving.io/revision"] = this.source.revision;
    if (p.title) a["model-serving.io/title"] = p.title;
    if (p.description) a["model-serving.io/description"] = p.description;
    if (p.baseModel) a["model-serving.io/base-model"] = p.baseModel;
    if (this.profile) a["model-serving.io/parameters"] = String(parameterCount(this.profile));
    for (const [k, v] of Object.entries(p.tags ?? {})) if (v && v.length) a[`model-serving.io/tags-${k}`] = [...v].sort().join(",");
    return a;
  }

  /** AWS tags (values ≤ 256 characters) for resources created for this model. */
  awsTags(): Record<string, string> {
    const t: Record<string, string> = { "model-serving:model": this.source.id.slice(0, 256) };
    if (this.source.revision) t["model-serving:revision"] = this.source.revision;
    for (const [k, v] of Object.entries(this.props.tags ?? {})) if (v && v.length) t[`model-serving:tags:${k}`] = [...v].sort().join(",").slice(0, 256);
    return t;
  }
}
