import { Testing } from "cdktf";
import { ModelSource, SecretRef } from "../constructs/model-source";
import type { ClusterAddons } from "../constructs/gpu-cluster";
import { ModelServingStack } from "../stacks/model-serving-stack";
import { synthPhases } from "./fixtures/phases";

process.env.MODEL_SERVING_QUIET = "1";

const L405 = () => ModelSource.huggingFace("meta-llama/Llama-3.1-405B-Instruct", { revision: "be673f326cab4cd22ccfef76109faf68e41aa5f1", token: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:hf-token") });

function big(addons: ClusterAddons = { leaderWorkerSet: true, efa: true }, replicas = 1) {
  const app = Testing.app();
  const stack = new ModelServingStack(app, "s", { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: { "L-417A185B": 10000 }, addons } } });
  stack.addEndpoint("big", { model: stack.importModel("l405", { source: L405() }), shape: "H100_X8", maxModelLen: 8192, replicas });
  return stack;
}

describe("models bigger than one node", () => {
  test("with the EFA plugin declared, the group's nodes get one EFA interface per network card, in a security group that admits its own traffic beside the cluster's, in a cluster placement group", () => {
    const tf = synthPhases(big());
    const lt = (Object.values(tf.resource.aws_launch_template) as any[]).find((l) => l.name_prefix.startsWith("c-h100-x8-2n"))!;
    expect(lt.network_interfaces).toHaveLength(32);
    expect(lt.network_interfaces.map((n: any) => n.network_card_index)).toEqual([...Array(32).keys()]);
    expect(new Set(lt.network_interfaces.map((n: any) => n.interface_type))).toEqual(new Set(["efa"]));
    const [sgName] = Object.keys(tf.resource.aws_security_group);
    expect(lt.network_interfaces[0].security_groups).toEqual([expect.stringMatching(/cluster_security_group_id/), `\${aws_security_group.${sgName}.id}`]);
    for (const type of ["aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"]) {
      const rule = Object.values(tf.resource[type])[0] as any;
      expect(rule).toMatchObject({ ip_protocol: "-1", security_group_id: `\${aws_security_group.${sgName}.id}`, referenced_security_group_id: `\${aws_security_group.${sgName}.id}` });
    }
    expect(lt.placement.group_name).toMatch(/aws_placement_group/);
    expect((Object.values(tf.resource.aws_placement_group)[0] as any).strategy).toBe("cluster");
  });

  test("without the EFA plugin declared, no EFA interfaces are asked for (NCCL over TCP, with a warning)", () => {
    const tf = synthPhases(big({ leaderWorkerSet: true }));
    for (const lt of Object.values(tf.resource.aws_launch_template) as any[]) expect(lt.network_interfaces).toBeUndefined();
    expect(tf.resource.aws_security_group).toBeUndefined();
  });

  test("serves Llama-3.1-405B in bf16 as a LeaderWorkerSet of 2 × H100_X8: TP 8 inside each node, PP 2 across", () => {
    const stack = big();
    const e = stack.cluster.plan().endpoints[0];
    expect(e).toMatchObject({ shape: "H100_X8", nodesPerReplica: 2, tensorParallel: 8, pipelineParallel: 2, gpusPerReplica: 16 });
    const tf = synthPhases(stack);
    const lws = (Object.values(tf.resource.kubernetes_manifest) as any[])[0].manifest;
    expect(lws).toMatchObject({ apiVersion: "leaderworkerset.x-k8s.io/v1", kind: "LeaderWorkerSet", spec: { replicas: 1, leaderWorkerTemplate: { size: 2, restartPolicy: "RecreateGroupOnPodRestart" } } });
    const leader = lws.spec.leaderWorkerTemplate.leaderTemplate.spec.containers[0];
    expect(leader.command[2]).toMatch(/^ray start --head .* && exec vllm serve .*'--tensor-parallel-size' '8' '--pipeline-parallel-size' '2' .*'--distributed-executor-backend' 'ray'$/);
    expect(leader.resources.limits).toMatchObject({ "nvidia.com/gpu": "8", "vpc.amazonaws.com/efa": "32" });
    const worker = lws.spec.leaderWorkerTemplate.workerTemplate.spec.containers[0];
    expect(worker.command[2]).toMatch(/^ray start --address=\$LWS_LEADER_ADDRESS:6379 .*--block$/);
    expect(tf.resource.kubernetes_deployment_v1).toBeUndefined();
    const svc = (Object.values(tf.resource.kubernetes_service_v1) as any[])[0];
    expect(svc.spec.selector["leaderworkerset.sigs.k8s.io/worker-index"]).toBe("0");
  });

  test("waits until every group is ready (the LeaderWorkerSet's Available condition, not an unsupported rollout wait), then runs the smoke test", () => {
    const tf = synthPhases(big());
    const [address, lws] = Object.entries(tf.resource.kubernetes_manifest as Record<string, any>).find(([, m]) => m.manifest.kind === "LeaderWorkerSet")!;
    expect(lws.wait).toEqual({ condition: [{ type: "Available", status: "True" }] });
    const startup = big().cluster.plan().endpoints[0].startupSeconds;
    expect(parseInt(lws.timeouts.create, 10) * 60).toBeGreaterThan(startup);
    const smoke = (Object.values(tf.resource.kubernetes_job_v1) as any[]).find((j) => j.metadata.labels["app.kubernetes.io/component"] === "smoke-test");
    expect(smoke.wait_for_completion).toBe(true);
    expect(smoke.depends_on).toContain(`kubernetes_manifest.${address}`);
  });

  test("sizes the pool and the quota for whole groups", () => {
    const plan = big(undefined, 2).cluster.plan();
    expect(plan.nodePools[0]).toMatchObject({ name: "h100-x8-2n", nodes: { min: 4, expected: 4, max: 4 }, gpusFree: 0 });
    expect(plan.quotas[0].neededVcpus).toBe(192 * (4 + 2)); // 4 nodes + a surge of one whole group
  });

  test("the node group it synthesizes is the plan's pool: same name, whole groups of nodes, and the LeaderWorkerSet's pods select it", () => {
    const stack = big(undefined, 2);
    const tf = synthPhases(stack);
    const groups = Object.values(tf.resource.aws_eks_node_group as Record<string, any>).filter((g) => g.node_group_name !== "system");
    expect(groups.map((g) => [g.node_group_name, g.scaling_config])).toEqual([["h100-x8-2n", { min_size: 4, desired_size: 4, max_size: 4 }]]);
    const lws = (Object.values(tf.resource.kubernetes_manifest) as any[]).find((m) => m.manifest.kind === "LeaderWorkerSet").manifest;
    expect(lws.spec.leaderWorkerTemplate.workerTemplate.spec.nodeSelector["model-serving.io/pool"]).toBe("h100-x8-2n");
  });

  test("says when fp8 weights would fit one node, and what that saves", () => {
    const w = big().cluster.allFindings().find((f) => f.code === "FP8_FITS_ONE_NODE")!;
    expect(w.message).toMatch(/needs 2 × p5\.48xlarge per replica, but with fp8 weights it fits one p5\.48xlarge .*saves \$40,179 per replica-month/);
  });

  test("refuses a multi-node model when the cluster has no LeaderWorkerSet controller", () => {
    expect(() => Testing.synth(big({}), true)).toThrow(/\[LWS_MISSING\] s\/big: meta-llama\/Llama-3\.1-405B-Instruct needs 2 nodes per replica/);
  });

  test("warns when the nodes could use EFA but the cluster does not declare it", () => {
    const stack = big({ leaderWorkerSet: true });
    expect(stack.cluster.allFindings().find((f) => f.code === "MULTI_NODE_WITHOUT_EFA")).toMatchObject({ severity: "warning" });
  });
});

describe("two revisions side by side", () => {
  const QWEN_A = "a09a35458c702b33eeacc393d103063234e8bc28";
  const QWEN_B = "bb46c15ee4bb56c5b63245ef50fd7637234d6f75"; // a second commit for the test (any 40-hex sha)
  function canary(addons: ClusterAddons, weights: [number, number], replicas: [number, number] = [9, 1], otherModel = false) {
    const app = Testing.app();
    const stack = new ModelServingStack(app, "s", { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: { "L-DB2E81BA": 10000 }, addons } } });
    const qwen = (rev: string) => stack.importModel(`qwen-${rev.slice(0, 7)}`, { source: ModelSource.huggingFace("Qwen/Qwen2.5-7B-Instruct", { revision: rev }) });
    const other = stack.importModel("llama", { source: ModelSource.huggingFace("meta-llama/Llama-3.1-8B-Instruct", { revision: "0e9e39f249a16976918f6564b8830bc894c89659", token: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:t") }) });
    stack.addEndpoint("chat-blue", { model: qwen(QWEN_A), shape: "L40S_X1", maxModelLen: 8192, replicas: replicas[0], trafficGroup: { name: "chat", weight: weights[0] } });
    stack.addEndpoint("chat-green", { model: otherModel ? other : qwen(QWEN_B), shape: "L40S_X1", maxModelLen: 8192, replicas: replicas[1], trafficGroup: { name: "chat", weight: weights[1] } });
    return stack;
  }

  test("runs each revision as its own Deployment behind one stable Service and served model name", () => {
    const tf = synthPhases(canary({}, [90, 10]));
    const deps = Object.values(tf.resource.kubernetes_deployment_v1) as any[];
    expect(deps.map((d) => d.metadata.name).sort()).toEqual(["chat-blue", "chat-green"]);
    for (const d of deps) {
      const args: string[] = d.spec.template.spec.container[0].args;
      expect(args.slice(args.indexOf("--served-model-name"), args.indexOf("--served-model-name") + 3)).toEqual(["--served-model-name", "chat", d.metadata.name]);
      expect(d.spec.template.metadata.labels["model-serving.io/traffic-group"]).toBe("chat");
    }
    const stable = (Object.values(tf.resource.kubernetes_service_v1) as any[]).find((s) => s.metadata.name === "chat");
    expect(stable.spec.selector).toEqual({ "model-serving.io/traffic-group": "chat" });
  });

  test("splits exactly by weight with an HTTPRoute when a Gateway is declared", () => {
    const tf = synthPhases(canary({ gateway: { name: "public", namespace: "gateways" } }, [80, 20], [1, 1]));
    const route = (Object.values(tf.resource.kubernetes_manifest) as any[]).find((m) => m.manifest.kind === "HTTPRoute").manifest;
    expect(route.spec.rules[0].backendRefs).toEqual([{ name: "chat-blue", port: 80, weight: 80 }, { name: "chat-green", port: 80, weight: 20 }]);
  });

  test("without a Gateway, states the split the replica ratio really gives", () => {
    const findings = canary({}, [80, 20], [1, 1]).cluster.allFindings();
    expect(findings.find((f) => f.code === "TRAFFIC_SPLIT_BY_REPLICAS")!.message).toMatch(/chat-blue 50% \(asked 80%\), chat-green 50% \(asked 20%\)/);
    expect(canary({}, [90, 10], [9, 1]).cluster.allFindings().find((f) => f.code === "TRAFFIC_SPLIT_BY_REPLICAS")).toBeUndefined();
  });

  test("refuses weights that do not add up to 100, or two different models under one name", () => {
    expect(() => Testing.synth(canary({}, [90, 20]), true)).toThrow(/\[TRAFFIC_WEIGHTS_INVALID\] s\/chat-blue: the weights of traffic group "chat" add up to 110/);
    expect(() => Testing.synth(canary({}, [90, 10], [9, 1], true), true)).toThrow(/\[TRAFFIC_GROUP_MODEL_MISMATCH\]/);
  });
});
