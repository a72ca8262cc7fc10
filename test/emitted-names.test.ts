/**
 * Every name the library writes into Terraform is one its API accepts (checked against the rules in
 * planner/names.ts, independently of how it was derived), distinct inputs give distinct names, default
 * physical names never collide across stacks or clusters, and synth refuses a collision it can see.
 */
import { App, Testing } from "cdktf";
import { GpuCluster } from "../constructs/gpu-cluster";
import { ModelSource, SecretRef } from "../constructs/model-source";
import { ModelStore } from "../constructs/model-store";
import { ModelServingStack, type ModelServingStackProps } from "../stacks/model-serving-stack";
import { each, invalidNames, type Obj } from "./fixtures/emitted-names";
import { DEPLOYER_CIDRS, synthPhases } from "./fixtures/phases";

process.env.MODEL_SERVING_QUIET = "1";
const QWEN = () => ModelSource.huggingFace("Qwen/Qwen2.5-7B-Instruct", { revision: "a09a35458c702b33eeacc393d103063234e8bc28" });
const BGE = () => ModelSource.huggingFace("BAAI/bge-large-en-v1.5", { revision: "d4aa6901d3a41ba39fb536a557fa166f842b0e09" });
const L405 = () => ModelSource.huggingFace("meta-llama/Llama-3.1-405B-Instruct", { revision: "be673f326cab4cd22ccfef76109faf68e41aa5f1", token: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:hf-token") });
const QUOTAS = { "L-DB2E81BA": 100000, "L-417A185B": 100000 };
const props = (over: object = {}): ModelServingStackProps => ({ cluster: { create: { publicAccessCidrs: DEPLOYER_CIDRS, clusterName: "c", quotas: QUOTAS, ...over } } });

function synth(build: (s: ModelServingStack) => void, over: object = {}): { tf: Obj; stack: ModelServingStack } {
  const stack = new ModelServingStack(Testing.app(), "s", props(over));
  build(stack);
  return { stack, tf: synthPhases(stack) };
}
function synthError(build: (app: App) => void): string {
  const app = Testing.app();
  build(app);
  try {
    app.synth();
    return "";
  } catch (e) {
    return (e as Error).message;
  }
}

describe("names the API server and AWS accept", () => {
  test("a model id with '_' and two ids sharing their first 57 characters give valid, distinct staging names", () => {
    const shared = "m".repeat(57);
    const { tf } = synth((s) => {
      const store = new ModelStore(s, "store", { cluster: s.cluster });
      for (const id of ["llama_8b", `${shared}-one`, `${shared}-two`]) s.addEndpoint(`e-${id.length > 20 ? id.slice(-3) : "us"}`, { model: s.importModel(id, { source: QWEN(), store }), maxModelLen: 4096 });
    });
    expect(invalidNames(tf)).toEqual([]);
    const jobs = each(tf, "kubernetes_job_v1").map(([, r]) => r.metadata.name).filter((n: string) => n.startsWith("stage-"));
    expect(new Set(jobs).size).toBe(3);
    for (const t of ["aws_iam_role", "aws_iam_policy"]) expect(new Set(each(tf, t).map(([, r]) => r.name)).size).toBe(each(tf, t).length);
    expect(new Set(each(tf, "kubernetes_service_account_v1").map(([, r]) => r.metadata.name)).size).toBe(each(tf, "kubernetes_service_account_v1").length);
  });

  test.each([53, 58, 63])("an endpoint name of %i characters gets a smoke-test Job name of at most 63", (n) => {
    const name = `e${"x".repeat(n - 1)}`;
    const { tf } = synth((s) => s.addEndpoint("chat", { name, model: s.importModel("m", { source: BGE() }), maxModelLen: 512 }));
    expect(invalidNames(tf)).toEqual([]);
    const job = each(tf, "kubernetes_job_v1").map(([, r]) => r.metadata.name)[0];
    expect(job.length).toBeLessThanOrEqual(63);
    expect(job.startsWith(name.slice(0, 40))).toBe(true);
  });

  test("a cluster name of 100 characters still gives valid role, policy, launch template and log group names", () => {
    const { tf } = synth((s) => s.addEndpoint("chat", { model: s.importModel("m", { source: QWEN() }), maxModelLen: 4096 }), { clusterName: `c${"l".repeat(99)}` });
    expect(invalidNames(tf)).toEqual([]);
  });

  test("a LeaderWorkerSet name too long for its revision-hash label is refused with a name that fits", () => {
    const msg = synthError((app) => {
      const s = new ModelServingStack(app, "s", props({ addons: { leaderWorkerSet: true, efa: true } }));
      s.addEndpoint("big", { name: `llama-405b-${"x".repeat(44)}`, model: s.importModel("l405", { source: L405() }), shape: "H100_X8", maxModelLen: 8192 });
    });
    expect(msg).toMatch(/\[NAME_TOO_LONG_FOR_LWS\] s\/big: name "llama-405b-x+" has 55 characters; a LeaderWorkerSet of 1 group\(s\) may have 50\..*Fix: use "[a-z0-9-]{1,50}"/);
  });

  test("a LeaderWorkerSet name that fits is kept", () => {
    const { tf } = synth((s) => s.addEndpoint("big", { name: `l${"x".repeat(49)}`, model: s.importModel("l405", { source: L405() }), shape: "H100_X8", maxModelLen: 8192 }), { addons: { leaderWorkerSet: true, efa: true } });
    expect(invalidNames(tf)).toEqual([]);
  });

  test('namespace "Model_Serving" is refused with a valid one', () => {
    const msg = synthError((app) => new ModelServingStack(app, "s", props({ namespace: "Model_Serving" })));
    expect(msg).toMatch(/\[NAMESPACE_INVALID\] s-cluster\/cluster: namespace "Model_Serving" is not valid: it has uppercase letters.*Fix: use "model-serving"/);
  });

  test("a cluster name EKS would refuse is refused at synth", () => {
    const msg = synthError((app) => new ModelServingStack(app, "s", props({ clusterName: "prod cluster" })));
    expect(msg).toMatch(/\[CLUSTER_NAME_INVALID\] s-cluster\/cluster: clusterName "prod cluster" is not valid: it contains a space/);
  });

  test("an endpoint name's suggestion is valid and not already taken (Llama_Chat beside llama-chat)", () => {
    const msg = synthError((app) => {
      const s = new ModelServingStack(app, "s", props());
      const m = s.importModel("m", { source: QWEN() });
      s.addEndpoint("a", { name: "llama-chat", model: m, maxModelLen: 4096 });
      s.addEndpoint("b", { name: "Llama_Chat", model: m, maxModelLen: 4096 });
    });
    const line = msg.split("\n").find((l) => l.includes("[NAME_INVALID]"))!;
    expect(line).toMatch(/Fix: use "llama-chat-[a-z0-9]+"/);
  });
});

describe("traffic groups", () => {
  const canary = (group: string, weights: [number, number], extra?: (s: ModelServingStack) => void) =>
    synthError((app) => {
      const s = new ModelServingStack(app, "s", props());
      const m = s.importModel("m", { source: QWEN() });
      extra?.(s);
      s.addEndpoint("blue", { model: m, maxModelLen: 4096, trafficGroup: { name: group, weight: weights[0] } });
      s.addEndpoint("green", { model: m, maxModelLen: 4096, trafficGroup: { name: group, weight: weights[1] } });
    });

  test("an invalid group name is refused (it names a Service and an HTTPRoute)", () => {
    expect(canary("Chat_Group", [90, 10])).toMatch(/\[TRAFFIC_GROUP_NAME_INVALID\] s\/blue: trafficGroup\.name "Chat_Group" is not valid.*Fix: use "chat-group"/);
  });

  test("fractional weights are refused: HTTPRoute weights are integers", () => {
    expect(canary("chat", [90.5, 9.5])).toMatch(/\[TRAFFIC_WEIGHTS_INVALID\] s\/blue: traffic group "chat" has a fractional weight \(blue 90\.5, green 9\.5\)/);
  });

  test("a group named like an existing endpoint is a NAME_COLLISION, not a second Service of that name", () => {
    const msg = canary("chat", [90, 10], (s) => s.addEndpoint("chat", { model: s.importModel("other", { source: BGE() }), maxModelLen: 512 }));
    expect(msg).toMatch(/\[NAME_COLLISION\] s\/cluster-workloads\/traffic-chat: Kubernetes Service "chat" \(namespace model-serving of cluster c\) is also the name of s\/chat/);
  });
});

describe("default physical names", () => {
  test("two stacks without a cluster name get different EKS clusters, IAM roles and log groups, and unique buckets", () => {
    const app = Testing.app();
    const stacks = ["team-a", "team-b"].map((id) => {
      const s = new ModelServingStack(app, id, { cluster: { create: { publicAccessCidrs: DEPLOYER_CIDRS, quotas: QUOTAS } } });
      new ModelStore(s, "store", { cluster: s.cluster });
      return synthPhases(s);
    });
    const names = (tf: Obj, type: string, key: string) => each(tf, type).map(([, r]) => r[key]);
    // ModelServingStack names its cluster after itself; its phases are <id>-cluster and <id>.
    expect(names(stacks[0], "aws_eks_cluster", "name")).toEqual(["team-a"]);
    expect(names(stacks[1], "aws_eks_cluster", "name")).toEqual(["team-b"]);
    for (const [type, key] of [["aws_iam_role", "name"], ["aws_cloudwatch_log_group", "name"]]) {
      const a = new Set(names(stacks[0], type, key));
      expect(names(stacks[1], type, key).filter((n) => a.has(n))).toEqual([]);
    }
    for (const tf of stacks) expect(names(tf, "aws_s3_bucket", "bucket")).toEqual([undefined]);
    expect(names(stacks[0], "aws_s3_bucket", "bucket_prefix")).toEqual(["team-a-models-"]);
  });

  test("two clusters in one stack get different names", () => {
    const app = Testing.app();
    const s = new ModelServingStack(app, "s", { cluster: { create: { publicAccessCidrs: DEPLOYER_CIDRS, quotas: QUOTAS } } });
    // A second cluster, created without a name in a stack of its own phase.
    new GpuCluster(s.clusterStack!, "second", { publicAccessCidrs: DEPLOYER_CIDRS, quotas: QUOTAS });
    const tf = synthPhases(s);
    expect(each(tf, "aws_eks_cluster").map(([, r]) => r.name).sort()).toEqual(["s", "s-cluster-second"]);
  });

  test("the same cluster name in two stacks is refused: its IAM roles would collide (IAM is global to the account)", () => {
    const msg = synthError((app) => {
      for (const id of ["a", "b"]) new ModelServingStack(app, id, { region: "us-east-1", cluster: { create: { publicAccessCidrs: DEPLOYER_CIDRS, clusterName: "shared", quotas: QUOTAS } } });
    });
    expect(msg).toMatch(/\[NAME_COLLISION\] b-cluster\/cluster: EKS cluster "shared" \(AWS region us-east-1\) is also the name of a-cluster\/cluster/);
    expect(msg).toMatch(/\[NAME_COLLISION\] b-cluster\/cluster: IAM role "shared-cluster" \(AWS account\) is also the name of a-cluster\/cluster\..*Fix: give one of them another name/);
  });

  test("one bucket name given to two stores is refused (S3 names are global)", () => {
    const msg = synthError((app) => {
      const s = new ModelServingStack(app, "s", props());
      new ModelStore(s, "one", { cluster: s.cluster, bucketName: "acme-models" });
      new ModelStore(s, "two", { cluster: s.cluster, bucketName: "acme-models" });
    });
    expect(msg).toMatch(/\[NAME_COLLISION\] s\/two: S3 bucket "acme-models" \(all of S3\) is also the name of s\/one/);
  });
});
