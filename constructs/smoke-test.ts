/**
 * Smoke tests: a one-shot Job that sends real requests after a rollout. An endpoint tests itself
 * and the gateway tests every model name behind it; both send the same request per kind of model,
 * check the answer the same way and run in the same restricted pod, defined once here.
 */
import type { ITerraformDependable } from "cdktf";
import type { Construct } from "constructs";
import type { Capability } from "../planner/plan-types";
import { JobV1, type JobV1SpecTemplateSpecContainerEnv } from "./bindings/k8s";
import { RESTRICTED_POD } from "./pod-security";

/** The kinds of answer a smoke test checks, with the Python expression that accepts the parsed answer `r`. */
export const SMOKE_CHECKS = {
  chat: "r['choices'][0]['message']['content'] is not None",
  embeddings: "len(r['data'][0]['embedding']) > 0",
  rerank: "len(r['results']) == 2 and all('relevance_score' in x for x in r['results'])",
} as const;

export type SmokeCheck = keyof typeof SMOKE_CHECKS;

/** The smallest real request a model of this capability answers, and the check its answer must pass. */
export function smokeRequest(capability: Capability, model: string): { body: unknown; check: SmokeCheck } {
  switch (capability) {
    case "EMBEDDING":
      return { body: { model, input: ["smoke test"] }, check: "embeddings" };
    case "RERANK":
      return { body: { model, query: "capital of France", documents: ["Paris is the capital of France.", "Bananas are yellow."] }, check: "rerank" };
    case "IMAGE_TEXT_TO_TEXT":
      return { body: { model, messages: [{ role: "user", content: [{ type: "text", text: "Reply with the word ok." }] }], max_tokens: 8 }, check: "chat" };
    case "TEXT_TO_TEXT":
      return { body: { model, messages: [{ role: "user", content: "Reply with the word ok." }], max_tokens: 8 }, check: "chat" };
  }
}

export interface SmokeTestJobProps {
  /** Job name, already derived and claimed by the caller. */
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly image: string;
  /** Python source run by `python3 -c`. */
  readonly script: string;
  /** Keys by reference only: `valueFrom.secretKeyRef`, never a value in the Job spec. */
  readonly env: JobV1SpecTemplateSpecContainerEnv[];
  readonly dependsOn: ITerraformDependable[];
  /** A Job runs once: replacing it when these change smoke-tests every rollout. */
  readonly replaceTriggeredBy: ITerraformDependable[];
}

export function smokeTestJob(scope: Construct, props: SmokeTestJobProps): JobV1 {
  return new JobV1(scope, "smoke-test", {
    metadata: { name: props.name, namespace: props.namespace, labels: props.labels },
    waitForCompletion: true,
    timeouts: { create: "20m", update: "20m" },
    spec: {
      backoffLimit: 1,
      ttlSecondsAfterFinished: "86400",
      template: {
        metadata: { labels: { "app.kubernetes.io/component": "smoke-test" } },
        spec: {
          restartPolicy: "Never",
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: RESTRICTED_POD,
          container: [
            {
              name: "smoke-test",
              image: props.image,
              command: ["python3", "-c", props.script],
              env: props.env,
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
              resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
            },
          ],
        },
      },
    },
    dependsOn: props.dependsOn,
    lifecycle: { replaceTriggeredBy: props.replaceTriggeredBy },
  });
}
