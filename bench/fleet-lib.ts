/**
 * The fleet through the library: one ModelServingStack creating a new cluster (two stacks: the
 * cluster phase and the workloads), a model store, every model imported (and staged) once, one
 * addEndpoint per fleet endpoint. Shapes are chosen by the planner unless the template declares one.
 * The gated models' Hub token is a Secrets Manager secret (a new cluster refuses Kubernetes secrets
 * by name: nothing could have created them in the namespace its deploy creates).
 */
import { App } from "cdktf";
// The package by name, as users import it: the TypeScript entry point under tsx (tsconfig paths), the
// compiled lib/index.js under plain node (the package's self-reference through its "exports").
import { ModelServingStack, ModelSource, SecretRef, type ImportedModel } from "cdktf-model-serving";
import { CLUSTER_NAME, DEPLOYER_CIDRS, HF_TOKEN_SECRET_ARN, MODELS, modelsOf, QUOTAS, STACK_ID, type FleetEndpoint } from "./fleet-spec";

export function build(app: App, endpoints: readonly FleetEndpoint[]): void {
  const stack = new ModelServingStack(app, STACK_ID, { cluster: { create: { clusterName: CLUSTER_NAME, quotas: QUOTAS, publicAccessCidrs: [...DEPLOYER_CIDRS] } }, tags: { team: "platform" } });
  const store = stack.addModelStore("model-store");
  const hfToken = SecretRef.fromSecretsManager(HF_TOKEN_SECRET_ARN);
  const imported = new Map<string, ImportedModel>();
  for (const m of modelsOf(endpoints)) {
    imported.set(
      m.key,
      stack.importModel(m.key, {
        source: ModelSource.huggingFace(m.repo, { revision: m.revision, ...(m.gated ? { token: hfToken } : {}) }),
        store,
        title: m.repo.split("/")[1],
        tags: { architecture: [m.architecture], task: [m.task] },
      }),
    );
  }
  for (const e of endpoints) {
    const t = e.template;
    const model = imported.get(MODELS[t.model].key)!;
    stack.addEndpoint(e.name, {
      model,
      maxModelLen: t.maxModelLen,
      replicas: t.replicas,
      capacityType: t.capacityType,
      ...(t.minConcurrency !== undefined ? { minConcurrency: t.minConcurrency } : {}),
      ...(t.shape ? { shape: t.shape } : {}),
    });
  }
}

