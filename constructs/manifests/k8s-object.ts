/**
 * A Kubernetes object as the API takes it (the shape `kubernetes_manifest` wants): builders in this
 * folder return these plain, JSON-serialisable values and import nothing from cdktf, so the same
 * objects can be rendered by a construct, validated against the vendored CRD schemas in tests, or
 * printed in a plan.
 */
export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
  readonly [field: string]: unknown;
}

/** Labels every object the library creates carries. */
export const MANAGED_BY = { "app.kubernetes.io/managed-by": "cdktf-model-serving" } as const;
