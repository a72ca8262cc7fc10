/**
 * The serving workloads' custom resources — KEDA ScaledObject and LeaderWorkerSet — built in one
 * place so the endpoint construct, the plan and the tests all see the same objects.
 */
import type { K8sObject } from "./k8s-object";

export interface ScaledObjectInput {
  /** The Deployment to scale; also the ScaledObject's name and the vLLM served model name. */
  readonly name: string;
  readonly namespace: string;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** What drives replicas: requests waiting per replica, or KV-cache use. @default "queue" */
  readonly metric?: "queue" | "kv-cache";
  /** Waiting requests per replica (queue) or KV-cache fraction (kv-cache) to hold. @default 5 or 0.8 */
  readonly target?: number;
  /** Prometheus that scrapes the vLLM pods (their prometheus.io annotations). */
  readonly prometheusUrl: string;
}

/** The PromQL KEDA evaluates: vLLM's own gauges for this endpoint only. */
export function autoscalingQuery(name: string, namespace: string, metric: "queue" | "kv-cache"): string {
  const selector = `{namespace="${namespace}",model_name="${name}"}`;
  return metric === "queue" ? `sum(vllm:num_requests_waiting${selector})` : `avg(vllm:kv_cache_usage_perc${selector})`;
}

/** KEDA ScaledObject on vLLM's queue depth or KV-cache use, for one Deployment. */
export function scaledObject(input: ScaledObjectInput): K8sObject {
  const metric = input.metric ?? "queue";
  const target = input.target ?? (metric === "queue" ? 5 : 0.8);
  return {
    apiVersion: "keda.sh/v1alpha1",
    kind: "ScaledObject",
    metadata: { name: input.name, namespace: input.namespace },
    spec: {
      scaleTargetRef: { name: input.name },
      minReplicaCount: input.minReplicas,
      maxReplicaCount: input.maxReplicas,
      pollingInterval: 15,
      // Replicas are expensive to start: scale down slowly, to zero only after 15 idle minutes.
      cooldownPeriod: 900,
      advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 600, policies: [{ type: "Pods", value: 1, periodSeconds: 300 }] } } } },
      triggers: [
        {
          type: "prometheus",
          metadata: {
            serverAddress: input.prometheusUrl,
            query: autoscalingQuery(input.name, input.namespace, metric),
            threshold: String(target),
            // Wake from zero on the first waiting request (or any KV use).
            activationThreshold: "0",
          },
        },
      ],
    },
  };
}

/** A pod template as the Kubernetes API spells it (raw field names, numeric ids). */
export interface PodTemplate {
  readonly metadata?: { readonly labels?: Readonly<Record<string, string>>; readonly annotations?: Readonly<Record<string, string>> };
  readonly spec: Readonly<Record<string, unknown>>;
}

export interface LeaderWorkerSetInput {
  readonly name: string;
  readonly namespace: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Groups (model replicas). */
  readonly replicas: number;
  /** Pods per group, one per node: the leader and size − 1 workers. */
  readonly size: number;
  readonly leaderTemplate: PodTemplate;
  readonly workerTemplate: PodTemplate;
}

/**
 * The status condition a LeaderWorkerSet sets when all its groups are ready: what a
 * `kubernetes_manifest` wait should watch (its `rollout` wait only knows Deployments, DaemonSets
 * and StatefulSets). At lws v0.10.0 the controller sets Available only when every group below
 * spec.replicas is ready and at the current revision, Progressing otherwise
 * (kubernetes-sigs/lws pkg/controllers/leaderworkerset_controller.go, updateConditions, tag v0.10.0
 * = 2161f38ff333f9e24d3c44adef7cd5d9787cac00).
 */
export const LEADER_WORKER_SET_READY = { type: "Available", status: "True" } as const;

/** One group per model replica; a pod restart recreates the whole group (NCCL/Ray cannot rejoin). */
export function leaderWorkerSet(input: LeaderWorkerSetInput): K8sObject {
  return {
    apiVersion: "leaderworkerset.x-k8s.io/v1",
    kind: "LeaderWorkerSet",
    metadata: { name: input.name, namespace: input.namespace, ...(input.labels ? { labels: input.labels } : {}) },
    spec: {
      replicas: input.replicas,
      startupPolicy: "LeaderCreated",
      // GPUs are scarce: replace one group at a time, never surge a spare group.
      rolloutStrategy: { type: "RollingUpdate", rollingUpdateConfiguration: { maxUnavailable: 1, maxSurge: 0 } },
      leaderWorkerTemplate: { size: input.size, restartPolicy: "RecreateGroupOnPodRestart", leaderTemplate: input.leaderTemplate, workerTemplate: input.workerTemplate },
    },
  };
}
