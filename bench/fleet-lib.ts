/**
 * The fleet through the library: one ModelServingStack, a model store, every model imported (and
 * staged) once, one addEndpoint per fleet endpoint. Shapes are chosen by the planner unless the
 * template declares one.
 */
import { App } from "cdktf";
import { ModelSource, SecretRef } from "../constructs/model-source";
import type { ImportedModel } from "../constructs/imported-model";
import { ModelServingStack } from "../stacks/model-serving-stack";
import { CLUSTER_NAME, MODELS, modelsOf, QUOTAS, STACK_ID, type FleetEndpoint } from "./fleet-spec";

export function build(app: App, endpoints: readonly FleetEndpoint[]): void {
  const stack = new ModelServingStack(app, STACK_ID, { cluster: { create: { clusterName: CLUSTER_NAME, quotas: QUOTAS } }, tags: { team: "platform" } });
  const store = stack.addModelStore("model-store");
  const hfToken = SecretRef.fromKubernetesSecret("hf-token", "token");
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

