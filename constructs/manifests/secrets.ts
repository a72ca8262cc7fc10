/**
 * Secrets that exist on a cluster the app creates: External Secrets Operator copies AWS Secrets
 * Manager values into Kubernetes Secrets. The operator reads with its own EKS Pod Identity role
 * (scoped to the declared ARNs), so the store carries no credentials and the values never pass
 * through Terraform state.
 */
import { error, PlanningError } from "../../planner/findings";
import { MANAGED_BY, type K8sObject } from "./k8s-object";

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):(\d{12}):secret:[A-Za-z0-9/_+=.@-]+$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]{1,253}$/;
const DNS_1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export interface ClusterSecretStoreInput {
  /** @default "aws-secrets-manager" */
  readonly name?: string;
  /** Region of the secrets (a store reads one region). */
  readonly region: string;
}

export const DEFAULT_SECRET_STORE = "aws-secrets-manager";

/** A cluster-wide store for Secrets Manager in one region, authenticated by the operator's pod identity (no `auth` block). */
export function clusterSecretStore(input: ClusterSecretStoreInput): K8sObject {
  return {
    apiVersion: "external-secrets.io/v1",
    kind: "ClusterSecretStore",
    metadata: { name: input.name ?? DEFAULT_SECRET_STORE, labels: { ...MANAGED_BY } },
    spec: { provider: { aws: { service: "SecretsManager", region: input.region } } },
  };
}

export interface SecretEntry {
  /** Key in the Kubernetes Secret. */
  readonly key: string;
  /** Secrets Manager secret ARN. */
  readonly secretArn: string;
  /** JSON property inside the secret value. @default - the whole value */
  readonly property?: string;
}

export interface ExternalSecretInput {
  /** Name of the ExternalSecret and of the Kubernetes Secret it creates. */
  readonly name: string;
  readonly namespace: string;
  readonly entries: readonly SecretEntry[];
  /** @default "aws-secrets-manager" */
  readonly storeName?: string;
  /** How often values are re-read, so a rotated key reaches the pods. @default "1h" */
  readonly refreshInterval?: string;
  /** Where the problem is reported. @default "ExternalSecret" */
  readonly path?: string;
}

/** The ARNs an ExternalSecret reads: the operator's IAM policy must allow exactly these. */
export function secretArnsOf(input: Pick<ExternalSecretInput, "entries">): string[] {
  return [...new Set(input.entries.map((e) => e.secretArn))].sort();
}

/** Syncs Secrets Manager values into one Kubernetes Secret that the operator owns (and deletes with it). */
export function externalSecret(input: ExternalSecretInput): K8sObject {
  const path = input.path ?? "ExternalSecret";
  const problems = [];
  if (!DNS_1123.test(input.name) || input.name.length > 253) problems.push(error("SECRET_NAME_INVALID", path, { field: "name", problem: `"${input.name}" is not a Kubernetes object name`, why: "it names the ExternalSecret and the Secret it creates", fix: "use lowercase letters, digits, '-' and '.'" }));
  if (input.entries.length === 0) problems.push(error("SECRET_ENTRIES_EMPTY", path, { field: "entries", problem: "no entries", why: "an ExternalSecret with nothing to copy creates an empty Secret", fix: "list at least one { key, secretArn }" }));
  const keys = new Set<string>();
  for (const e of input.entries) {
    if (!SECRET_ARN.test(e.secretArn)) problems.push(error("SECRET_ARN_INVALID", path, { field: "secretArn", problem: `"${e.secretArn}" is not a Secrets Manager secret ARN`, why: "the operator's IAM policy is scoped to declared ARNs", fix: "pass arn:aws:secretsmanager:<region>:<account>:secret:<name>" }));
    if (!SECRET_KEY.test(e.key)) problems.push(error("SECRET_KEY_INVALID", path, { field: "key", problem: `"${e.key}" is not a Secret key`, why: "Secret keys are [-._a-zA-Z0-9]", fix: 'for example "apiKey"' }));
    if (keys.has(e.key)) problems.push(error("SECRET_KEY_DUPLICATE", path, { field: "key", problem: `key "${e.key}" is listed twice`, why: "one key holds one value", fix: "give each entry its own key" }));
    keys.add(e.key);
  }
  if (problems.length) throw new PlanningError(problems);
  return {
    apiVersion: "external-secrets.io/v1",
    kind: "ExternalSecret",
    metadata: { name: input.name, namespace: input.namespace, labels: { ...MANAGED_BY } },
    spec: {
      refreshInterval: input.refreshInterval ?? "1h",
      secretStoreRef: { kind: "ClusterSecretStore", name: input.storeName ?? DEFAULT_SECRET_STORE },
      target: { name: input.name, creationPolicy: "Owner", deletionPolicy: "Retain" },
      data: input.entries.map((e) => ({ secretKey: e.key, remoteRef: { key: e.secretArn, ...(e.property ? { property: e.property } : {}) } })),
    },
  };
}

/** Region of a Secrets Manager ARN (stores are per region). */
export function regionOfSecretArn(arn: string): string | undefined {
  return SECRET_ARN.exec(arn)?.[1];
}
