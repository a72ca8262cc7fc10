import { waitProblems } from "./fixtures/waits";
import { LEADER_WORKER_SET_READY } from "../constructs/manifests/workloads";

const manifest = (apiVersion: string, kind: string, wait?: unknown) => ({ manifest: { apiVersion, kind, metadata: { name: "x" } }, ...(wait ? { wait } : {}) });
const stack = (resource: Record<string, Record<string, unknown>>) => ({ resource });

describe("the wait check the example tests run", () => {
  test("refuses a rollout wait on a kind the provider's rollout waiter does not know (a LeaderWorkerSet)", () => {
    const problems = waitProblems(stack({ kubernetes_manifest: { lws: manifest("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet", { rollout: true }) } }));
    expect(problems).toEqual([expect.stringMatching(/^kubernetes_manifest\.lws: wait \{ rollout = true \} on LeaderWorkerSet .*only Deployments, DaemonSets and StatefulSets/)]);
  });

  test("accepts the LeaderWorkerSet's Available condition, and rollout on an apps/v1 StatefulSet", () => {
    expect(waitProblems(stack({ kubernetes_manifest: { lws: manifest("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet", { condition: [{ ...LEADER_WORKER_SET_READY }] }), sts: manifest("apps/v1", "StatefulSet", { rollout: true }) } }))).toEqual([]);
  });

  test("refuses two waiters in one block (the provider would silently use only the first) and a condition without a status", () => {
    const problems = waitProblems(stack({ kubernetes_manifest: { a: manifest("apps/v1", "Deployment", { rollout: true, condition: [{ type: "Available", status: "True" }] }), b: manifest("keda.sh/v1alpha1", "ScaledObject", { condition: [{ type: "Ready" }] }) } }));
    expect(problems).toEqual([expect.stringMatching(/^kubernetes_manifest\.a: wait sets rollout and condition/), expect.stringMatching(/^kubernetes_manifest\.b: a wait condition needs both type and status/)]);
  });

  test("refuses a Job that does not wait for completion and a Deployment that does not wait for its rollout", () => {
    const problems = waitProblems(stack({ kubernetes_job_v1: { smoke: { wait_for_completion: false } }, kubernetes_deployment_v1: { vllm: {} } }));
    expect(problems).toEqual([expect.stringMatching(/^kubernetes_job_v1\.smoke: a Job must wait_for_completion/), expect.stringMatching(/^kubernetes_deployment_v1\.vllm: a Deployment must wait_for_rollout/)]);
  });
});
