/**
 * Where a model's files come from, and how secrets are referenced. Value objects, apart from the
 * constructs: they validate what they are given and never hold a secret value.
 */
import { error, PlanningError, warning, type Finding } from "../planner/findings";

const TOKEN_LIKE = /^(hf_[A-Za-z0-9]{10,}|sk-[A-Za-z0-9_-]{10,}|AKIA[0-9A-Z]{16})/;

/** Rejects a literal that looks like a credential (hf_, sk-, AKIA): it would land in cdk.tf.json and state. */
export function assertNotSecretLiteral(value: string, field: string, path: string): void {
  if (TOKEN_LIKE.test(value.trim())) {
    throw new PlanningError([
      error("SECRET_INLINED", path, {
        field,
        problem: `${field} holds what looks like a literal credential (${value.slice(0, 3)}…)`,
        why: "a literal would be written to cdk.tf.json, the Terraform state and git history",
        fix: "reference it instead: SecretRef.fromSecretsManager(arn) or SecretRef.fromKubernetesSecret(name, key)",
      }),
    ]);
  }
}

/** A secret by reference only: an AWS Secrets Manager secret or a Kubernetes secret that already exists. */
export class SecretRef {
  /** A Secrets Manager secret, read at pod start by the endpoint's own IAM role. The value must be the token itself. */
  static fromSecretsManager(secretArn: string): SecretRef {
    assertNotSecretLiteral(secretArn, "secretArn", "SecretRef.fromSecretsManager");
    if (!/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/.test(secretArn)) {
      throw new PlanningError([
        error("SECRET_ARN_INVALID", "SecretRef.fromSecretsManager", { field: "secretArn", problem: `"${secretArn}" is not a Secrets Manager secret ARN`, why: "the endpoint's IAM policy is scoped to that ARN", fix: "pass arn:aws:secretsmanager:<region>:<account>:secret:<name>" }),
      ]);
    }
    return new SecretRef("secretsmanager", secretArn, "");
  }

  /** A key of a Kubernetes secret in the endpoints' namespace. */
  static fromKubernetesSecret(name: string, key: string): SecretRef {
    assertNotSecretLiteral(name, "name", "SecretRef.fromKubernetesSecret");
    if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(name) || !/^[-._a-zA-Z0-9]{1,253}$/.test(key)) {
      throw new PlanningError([
        error("SECRET_REF_INVALID", "SecretRef.fromKubernetesSecret", { field: "name", problem: `"${name}"/"${key}" is not a valid secret name and key`, why: "Kubernetes names are DNS subdomains and keys are [-._a-zA-Z0-9]", fix: 'for example SecretRef.fromKubernetesSecret("hf-token", "token")' }),
      ]);
    }
    return new SecretRef("kubernetes", name, key);
  }

  private constructor(
    readonly kind: "secretsmanager" | "kubernetes",
    /** Secret ARN, or Kubernetes secret name. */
    readonly ref: string,
    readonly key: string,
  ) {}
}

export interface HuggingFaceOptions {
  /** 40-hex commit sha; a branch or tag is allowed with a warning (replicas could load different weights). */
  readonly revision: string;
  /** Token for gated repositories, by reference. @default - none (public repositories only) */
  readonly token?: SecretRef;
}

const REPO_ID = /^(?:[A-Za-z0-9][A-Za-z0-9._-]*\/)?[A-Za-z0-9][A-Za-z0-9._-]*$/;

function repoIdProblems(id: string): string | undefined {
  if (id.length === 0 || id.length > 96) return `it is ${id.length} characters; a repo id has 1–96`;
  const slashes = (id.match(/\//g) ?? []).length;
  if (slashes > 1) return `it has ${slashes} "/" (a file path inside the repo does not belong in the id)`;
  const bad = id.replace(/[A-Za-z0-9._/-]/g, "");
  if (bad) return `it contains ${JSON.stringify(bad[0])}; only letters, digits, ".", "_", "-" and one "/" are allowed`;
  if (/--|\.\./.test(id)) return 'it contains "--" or ".."';
  if (!REPO_ID.test(id) || /[-.]$/.test(id) || /[-.]\//.test(id)) return 'a part starts or ends with "-" or "."';
  return undefined;
}

/** True for a full 40-hex commit sha, the only revision that cannot move. */
export function isCommitSha(revision: string): boolean {
  return /^[0-9a-f]{40}$/.test(revision);
}

/** Throws SECRET_INLINED or MODEL_ID_INVALID (naming `path`) unless `repoId` is a Hugging Face repo id. */
export function assertRepoId(repoId: string, path: string): void {
  assertNotSecretLiteral(repoId, "repoId", path);
  const problem = repoIdProblems(repoId);
  if (problem) {
    throw new PlanningError([error("MODEL_ID_INVALID", path, { field: "repoId", problem: `"${repoId}" is not a Hugging Face repo id: ${problem}`, why: "the Hub and vLLM resolve models by namespace/name", fix: 'use the id shown on the model page, e.g. "meta-llama/Llama-3.1-8B-Instruct"' })]);
  }
}

/**
 * Throws MODEL_REVISION_INVALID for an empty, whitespace or short-sha revision; returns a
 * MODEL_REVISION_UNPINNED warning for a branch or tag (which can move), none for a 40-hex sha.
 */
export function checkRevision(rev: unknown, path: string): Finding[] {
  if (typeof rev !== "string" || rev.trim() !== rev || rev.length === 0 || /[\s\x00-\x1f]/.test(rev)) {
    throw new PlanningError([error("MODEL_REVISION_INVALID", path, { field: "revision", problem: `revision ${JSON.stringify(rev)} is empty or contains whitespace or control characters`, why: "the Hub resolves a revision by exact name", fix: "pin the full 40-hex commit sha" })]);
  }
  if (/^[0-9a-f]{7,39}$/.test(rev)) {
    throw new PlanningError([error("MODEL_REVISION_INVALID", path, { field: "revision", problem: `"${rev}" looks like a short sha`, why: "Hub revisions are a branch, a tag or the full 40-character sha", fix: "use the full sha" })]);
  }
  if (isCommitSha(rev)) return [];
  return [warning("MODEL_REVISION_UNPINNED", path, { field: "revision", problem: `"${rev}" is a branch or tag, which can move`, why: "replicas started on different days could serve different weights", fix: "pin the 40-hex commit sha (npx model-serving lock prints it)" })];
}

/** Splits "s3://<bucket>/<prefix>/" after checking the bucket name and prefix; throws S3_* errors naming `path`. */
export function parseS3Uri(uri: string, path: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/(.+\/)$/.exec(uri);
  if (!m) {
    throw new PlanningError([error("S3_URI_INVALID", path, { field: "uri", problem: `expected "s3://<bucket>/<prefix>/" (got "${uri}")`, why: "the weights are read from a directory-like prefix", fix: "for example s3://my-models/llama-3.1-8b/" })]);
  }
  const [, bucket, prefix] = m;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || /\.\./.test(bucket) || /^\d+\.\d+\.\d+\.\d+$/.test(bucket) || bucket.startsWith("xn--") || bucket.endsWith("-s3alias")) {
    throw new PlanningError([error("S3_BUCKET_NAME_INVALID", path, { field: "uri", problem: `"${bucket}" is not a valid bucket name`, why: 'bucket names are 3–63 lowercase letters, digits, "." and "-", start and end alphanumeric, and are not IP addresses', fix: "use the bucket's real name" })]);
  }
  if (prefix.split("/").some((seg) => seg === ".." || seg === ".")) {
    throw new PlanningError([error("S3_PREFIX_INVALID", path, { field: "uri", problem: `prefix "${prefix}" has a "." or ".." segment`, why: "the endpoint's read permission is scoped to the prefix", fix: "use a plain prefix such as models/llama-3.1-8b/" })]);
  }
  return { bucket, prefix };
}

export type ModelSourceKind = "huggingface" | "s3";

export class ModelSource {
  /** A Hugging Face Hub repository at a pinned revision. */
  static huggingFace(repoId: string, options: HuggingFaceOptions): ModelSource {
    const path = `ModelSource.huggingFace("${repoId}")`;
    assertRepoId(repoId, path);
    const warnings = checkRevision(options?.revision, path);
    return new ModelSource("huggingface", repoId, options.revision, options.token, warnings);
  }

  /** An S3 prefix that holds config.json, the tokenizer and *.safetensors. */
  static s3(uri: string): ModelSource {
    const { bucket, prefix } = parseS3Uri(uri, `ModelSource.s3("${uri}")`);
    return new ModelSource("s3", `s3://${bucket}/${prefix}`, null, undefined, [], bucket, prefix);
  }

  private constructor(
    readonly kind: ModelSourceKind,
    /** Repo id, or the s3:// URI. */
    readonly id: string,
    readonly revision: string | null,
    readonly token: SecretRef | undefined,
    readonly warnings: readonly Finding[],
    readonly bucket?: string,
    readonly prefix?: string,
  ) {}
}
