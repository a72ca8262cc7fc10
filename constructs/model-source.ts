/**
 * Where a model's files come from, and how secrets are referenced. Value objects, apart from the
 * constructs: they validate what they are given and never hold a secret value.
 */
import { error, PlanningError, warning, type Finding } from "../planner/findings";
import { nameProblem, nameRuleText } from "../planner/names";

const TOKEN_LIKE = /^(hf_[A-Za-z0-9]{10,}|sk-[A-Za-z0-9_-]{10,}|AKIA[0-9A-Z]{16})/;

/**
 * Value objects do not throw: a problem found while building one is kept and reported by the
 * construct that consumes it, at that construct's path, when the stack synthesizes — so a user sees
 * a coded error, never a stack trace from inside their own `ModelSource.…` call.
 */
export function rePath(findings: readonly Finding[], path: string): Finding[] {
  return findings.map((f) => ({ ...f, path, message: f.message.replace(`] ${f.path}: `, `] ${path}: `) }));
}

/** SECRET_INLINED when a literal looks like a credential (hf_, sk-, AKIA): it would land in cdk.tf.json and state. */
export function secretLiteralProblem(value: string, field: string, path: string): Finding | undefined {
  if (typeof value !== "string" || !TOKEN_LIKE.test(value.trim())) return undefined;
  return error("SECRET_INLINED", path, {
    field,
    problem: `${field} holds what looks like a literal credential (${value.trim().slice(0, 3)}…)`,
    why: "a literal would be written to cdk.tf.json, the Terraform state and git history",
    fix: "reference it instead: SecretRef.fromSecretsManager(arn) or SecretRef.fromKubernetesSecret(name, key)",
  });
}

/** Throws SECRET_INLINED for a literal that looks like a credential. */
export function assertNotSecretLiteral(value: string, field: string, path: string): void {
  const f = secretLiteralProblem(value, field, path);
  if (f) throw new PlanningError([f]);
}

/** A secret by reference only: an AWS Secrets Manager secret or a Kubernetes secret that already exists. */
export class SecretRef {
  /** A Secrets Manager secret, read at pod start by the endpoint's own IAM role. The value must be the token itself. */
  static fromSecretsManager(secretArn: string): SecretRef {
    const path = "SecretRef.fromSecretsManager";
    const literal = secretLiteralProblem(secretArn, "secretArn", path);
    const problems = literal
      ? [literal]
      : !/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/.test(String(secretArn))
        ? [error("SECRET_ARN_INVALID", path, { field: "secretArn", problem: `"${secretArn}" is not a Secrets Manager secret ARN`, why: "the endpoint's IAM policy is scoped to that ARN", fix: "pass arn:aws:secretsmanager:<region>:<account>:secret:<name>" })]
        : [];
    return new SecretRef("secretsmanager", literal ? "<redacted>" : secretArn, "", problems);
  }

  /** A key of a Kubernetes secret in the endpoints' namespace. */
  static fromKubernetesSecret(name: string, key: string): SecretRef {
    const path = "SecretRef.fromKubernetesSecret";
    const literal = secretLiteralProblem(name, "name", path);
    const nameIssue = literal ? undefined : nameProblem("dns1123Subdomain", name);
    const keyIssue = typeof key === "string" && /^[-._a-zA-Z0-9]{1,253}$/.test(key) ? undefined : `key ${JSON.stringify(key)} has characters outside [-._a-zA-Z0-9] or is empty`;
    const problems = literal
      ? [literal]
      : nameIssue || keyIssue
        ? [error("SECRET_REF_INVALID", path, { field: nameIssue ? "name" : "key", problem: `"${name}"/"${key}" is not a valid secret name and key: ${nameIssue ? `the name: ${nameIssue}` : keyIssue}`, why: `${nameRuleText("dns1123Subdomain")}, and keys are [-._a-zA-Z0-9]`, fix: 'for example SecretRef.fromKubernetesSecret("hf-token", "token")' })]
        : [];
    return new SecretRef("kubernetes", literal ? "<redacted>" : name, key, problems);
  }

  /**
   * What a props field given as a secret holds: the SecretRef, or — for a plain string, which the
   * types forbid but JavaScript (`token: process.env.HF_TOKEN`) cannot stop — a coded error saying so.
   * Never silently dropped.
   */
  static check(value: unknown, field: string, path: string): { ref?: SecretRef; problems: Finding[] } {
    if (value === undefined || value === null) return { problems: [] };
    if (value instanceof SecretRef) return { ref: value, problems: [...value.problems] };
    const literal = typeof value === "string" ? secretLiteralProblem(value, field, path) : undefined;
    if (literal) return { problems: [literal] };
    return {
      problems: [
        error("SECRET_REF_REQUIRED", path, {
          field,
          problem: `${field} is a ${typeof value === "string" ? `plain string (${value === "" ? "empty" : `${JSON.stringify(value.slice(0, 12))}${value.length > 12 ? "…" : ""}`})` : typeof value}, not a SecretRef`,
          why: "a secret is passed by reference only, and a plain value would either be inlined into cdk.tf.json and state or be ignored, leaving the pods to fail with 401",
          fix: 'store it and reference it: SecretRef.fromKubernetesSecret("hf-token", "token") or SecretRef.fromSecretsManager(arn)',
        }),
      ],
    };
  }

  private constructor(
    readonly kind: "secretsmanager" | "kubernetes",
    /** Secret ARN, or Kubernetes secret name. */
    readonly ref: string,
    readonly key: string,
    /** Problems found building the reference; the construct that consumes it reports them. */
    readonly problems: readonly Finding[] = [],
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
  if (typeof id !== "string") return `it is ${JSON.stringify(id)}, not a string`;
  if (id.length === 0 || id.length > 96) return `it is ${id.length} characters; a repo id has 1–96`;
  const slashes = (id.match(/\//g) ?? []).length;
  if (slashes > 1) return `it has ${slashes} "/" (a file path inside the repo does not belong in the id)`;
  const bad = id.replace(/[A-Za-z0-9._/-]/g, "");
  if (bad) return `it contains ${JSON.stringify(bad[0])}; only letters, digits, ".", "_", "-" and one "/" are allowed`;
  if (/--|\.\./.test(id)) return 'it contains "--" or ".."';
  if (!REPO_ID.test(id) || /[-.]$/.test(id) || /[-.]\//.test(id)) return 'a part starts or ends with "-" or "."';
  return undefined;
}

/** True for a full 40-hex commit sha (lowercase, as the Hub writes it), the only revision that cannot move. */
export function isCommitSha(revision: string): boolean {
  return /^[0-9a-f]{40}$/.test(revision);
}

/** A revision as the Hub names it: a 40-hex sha in lowercase (the Hub's own form), anything else as given. */
export function normaliseRevision(revision: string): string {
  return typeof revision === "string" && /^[0-9a-fA-F]{40}$/.test(revision) ? revision.toLowerCase() : revision;
}

/** MODEL_ID_INVALID or SECRET_INLINED (naming `path`) unless `repoId` is a Hugging Face repo id. */
export function repoIdFindings(repoId: string, path: string): Finding[] {
  const literal = secretLiteralProblem(repoId, "repoId", path);
  if (literal) return [literal];
  const problem = repoIdProblems(repoId);
  return problem ? [error("MODEL_ID_INVALID", path, { field: "repoId", problem: `"${repoId}" is not a Hugging Face repo id: ${problem}`, why: "the Hub and vLLM resolve models by namespace/name", fix: 'use the id shown on the model page, e.g. "meta-llama/Llama-3.1-8B-Instruct"' })] : [];
}

/** Throws SECRET_INLINED or MODEL_ID_INVALID (naming `path`) unless `repoId` is a Hugging Face repo id. */
export function assertRepoId(repoId: string, path: string): void {
  const f = repoIdFindings(repoId, path);
  if (f.length) throw new PlanningError(f);
}

/**
 * MODEL_REVISION_INVALID (error) for an empty, whitespace or short-sha revision; MODEL_REVISION_UNPINNED
 * (warning) for a branch or tag, which can move; nothing for a 40-hex sha in either case.
 */
export function revisionFindings(rev: unknown, path: string): Finding[] {
  if (typeof rev !== "string" || rev.trim() !== rev || rev.length === 0 || /[\s\x00-\x1f]/.test(rev)) {
    return [error("MODEL_REVISION_INVALID", path, { field: "revision", problem: `revision ${JSON.stringify(rev)} is empty or contains whitespace or control characters`, why: "the Hub resolves a revision by exact name", fix: "pin the full 40-hex commit sha" })];
  }
  if (/^[0-9a-fA-F]{7,39}$/.test(rev)) {
    return [error("MODEL_REVISION_INVALID", path, { field: "revision", problem: `"${rev}" looks like a short sha`, why: "Hub revisions are a branch, a tag or the full 40-character sha", fix: "use the full sha" })];
  }
  if (isCommitSha(normaliseRevision(rev))) return [];
  return [warning("MODEL_REVISION_UNPINNED", path, { field: "revision", problem: `"${rev}" is a branch or tag, which can move`, why: "replicas started on different days could serve different weights", fix: "pin the 40-hex commit sha (npx model-serving lock prints it)" })];
}

/** Throws MODEL_REVISION_INVALID; returns the MODEL_REVISION_UNPINNED warning for a branch or tag. */
export function checkRevision(rev: unknown, path: string): Finding[] {
  const f = revisionFindings(rev, path);
  if (f.some((x) => x.severity === "error")) throw new PlanningError(f.filter((x) => x.severity === "error"));
  return f;
}

/**
 * Splits "s3://<bucket>/<prefix>/", reporting every problem at once: the bucket name against S3's
 * naming rules, the form of the URI, and the prefix.
 */
export function s3UriFindings(uri: string, path: string): { bucket: string; prefix: string; findings: Finding[] } {
  const findings: Finding[] = [];
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/.exec(String(uri));
  const bucket = m?.[1] ?? "";
  const prefix = m?.[2] ?? "";
  if (m && bucket) {
    const problem = nameProblem("s3BucketName", bucket);
    if (problem) findings.push(error("S3_BUCKET_NAME_INVALID", path, { field: "uri", problem: `"${bucket}" is not a valid bucket name: ${problem}`, why: nameRuleText("s3BucketName"), fix: "use the bucket's real name" }));
  }
  if (!m || !bucket || !prefix || !prefix.endsWith("/")) {
    findings.push(error("S3_URI_INVALID", path, { field: "uri", problem: `expected "s3://<bucket>/<prefix>/" (got "${uri}")${m && bucket && prefix && !prefix.endsWith("/") ? ': the prefix must end with "/"' : ""}`, why: "the weights are read from a directory-like prefix", fix: "for example s3://my-models/llama-3.1-8b/" }));
  } else if (prefix.split("/").some((seg) => seg === ".." || seg === ".")) {
    findings.push(error("S3_PREFIX_INVALID", path, { field: "uri", problem: `prefix "${prefix}" has a "." or ".." segment`, why: "the endpoint's read permission is scoped to the prefix", fix: "use a plain prefix such as models/llama-3.1-8b/" }));
  }
  return { bucket, prefix, findings };
}

/** Splits "s3://<bucket>/<prefix>/" after checking it; throws the S3_* errors naming `path`. */
export function parseS3Uri(uri: string, path: string): { bucket: string; prefix: string } {
  const r = s3UriFindings(uri, path);
  if (r.findings.length) throw new PlanningError(r.findings);
  return { bucket: r.bucket, prefix: r.prefix };
}

export type ModelSourceKind = "huggingface" | "s3";

export class ModelSource {
  /** A Hub repository at a pinned revision. Problems are reported by the construct that uses the source. */
  static huggingFace(repoId: string, options: HuggingFaceOptions): ModelSource {
    const path = `ModelSource.huggingFace("${repoId}")`;
    const revision = normaliseRevision(options?.revision);
    const token = SecretRef.check(options?.token, "token", path);
    const findings = [...repoIdFindings(repoId, path), ...revisionFindings(revision, path), ...token.problems];
    return new ModelSource("huggingface", repoId, revision, token.ref, findings);
  }

  /** An S3 prefix that holds config.json, the tokenizer and *.safetensors. Problems are reported by the construct that uses it. */
  static s3(uri: string): ModelSource {
    const { bucket, prefix, findings } = s3UriFindings(uri, `ModelSource.s3("${uri}")`);
    return new ModelSource("s3", `s3://${bucket}/${prefix}`, null, undefined, findings, bucket, prefix);
  }

  /**
   * Where the model store keeps a staged model: its bucket may be known only at apply (a
   * bucket_prefix name), so it is not checked here; the store validated its own name.
   * @internal
   */
  static fromStore(bucket: string, prefix: string): ModelSource {
    return new ModelSource("s3", `s3://${bucket}/${prefix}`, null, undefined, [], bucket, prefix);
  }

  /** Warnings (a branch revision) about this source. */
  get warnings(): readonly Finding[] {
    return this.findings.filter((f) => f.severity === "warning");
  }

  private constructor(
    readonly kind: ModelSourceKind,
    /** Repo id, or the s3:// URI. */
    readonly id: string,
    readonly revision: string | null,
    readonly token: SecretRef | undefined,
    /** Everything found while building the source, errors and warnings; reported at the consuming construct's path. */
    readonly findings: readonly Finding[],
    readonly bucket?: string,
    readonly prefix?: string,
  ) {}
}
