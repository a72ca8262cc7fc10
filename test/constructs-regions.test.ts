import "cdktf/lib/testing/adapters/jest";
/**
 * The cluster takes its region from the stack and plans there: the written serving plan names the
 * region and uses its prices, and the cost lines price exactly what the synthesized Terraform creates
 * around the GPU pools (NAT gateway, its Elastic IP, the KMS key, the control-plane log group).
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Testing } from "cdktf";
import { onDemandUsdPerHour } from "../catalog";
import { ModelSource, SecretRef } from "../constructs/model-source";
import { ModelServingStack, type ModelServingStackProps } from "../stacks/model-serving-stack";
import type { ServingPlan } from "../planner/plan-types";
import { synthPhases } from "./fixtures/phases";

process.env.MODEL_SERVING_QUIET = "1";

const QUOTAS = { "L-DB2E81BA": 1000, "L-417A185B": 1000, "L-3819A6DF": 1000 };
const LLAMA = () => ModelSource.huggingFace("meta-llama/Llama-3.1-8B-Instruct", { revision: "0e9e39f249a16976918f6564b8830bc894c89659", token: SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:hf-token") });

function stackIn(app: App, props: ModelServingStackProps, shape = "A10_X4") {
  const stack = new ModelServingStack(app, "serving", props);
  stack.addEndpoint("chat", { model: stack.importModel("llama", { source: LLAMA() }), maxModelLen: 8192, shape });
  return stack;
}

/** Synthesize into a fresh directory and read back the written serving plan. */
function writtenPlan(props: ModelServingStackProps): ServingPlan {
  const outdir = mkdtempSync(join(tmpdir(), "regions-"));
  try {
    const app = new App({ outdir });
    stackIn(app, props);
    app.synth();
    const dir = join(outdir, "stacks", "serving");
    expect(readdirSync(dir)).toContain("serving-plan.json");
    return JSON.parse(readFileSync(join(dir, "serving-plan.json"), "utf8"));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

describe("a stack in another region", () => {
  test.each([
    ["eu-west-1", 6.33167],
    ["ap-northeast-1", 8.22609],
  ])("in %s writes a serving plan that names the region and prices g5.12xlarge at its $%s/h", (region, usdPerHour) => {
    const plan = writtenPlan({ region, cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: QUOTAS } } });
    expect(plan.catalog.region).toBe(region);
    expect(plan.nodePools[0]).toMatchObject({ instanceType: "g5.12xlarge", hourlyUsdPerNode: usdPerHour });
    expect(plan.findings.filter((f) => f.severity === "error")).toEqual([]);
  });

  test("configures the AWS provider and the plan with the same region", () => {
    const app = Testing.app();
    const stack = stackIn(app, { region: "eu-west-1", cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: QUOTAS } } });
    const json = JSON.parse(Testing.synth(stack, true));
    expect(json.provider.aws[0].region).toBe("eu-west-1");
    expect(stack.cluster.region).toBe("eu-west-1");
    expect(stack.cluster.plan().catalog.region).toBe("eu-west-1");
  });

  test("composes an existing cluster in ap-northeast-1 and prices its pools there", () => {
    const app = Testing.app();
    const stack = stackIn(app, { region: "ap-northeast-1", cluster: { existing: { clusterName: "prod", subnetIds: ["subnet-a"], quotas: QUOTAS, addons: { externalSecrets: true } } } });
    Testing.synth(stack, true);
    expect(stack.cluster.plan().nodePools[0].hourlyUsdPerNode).toBe(onDemandUsdPerHour("ap-northeast-1", "g5.12xlarge"));
  });
});

describe("what the cluster creates is what the plan prices", () => {
  function synth(props: ModelServingStackProps) {
    const app = Testing.app();
    const stack = stackIn(app, props);
    const json = synthPhases(stack);
    return { json, plan: stack.cluster.plan() };
  }
  const count = (json: any, type: string) => Object.keys(json.resource[type] ?? {}).length;

  test("a new VPC's NAT gateway, its Elastic IP, the KMS key and the log group each get a cost line", () => {
    const { json, plan } = synth({ cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: QUOTAS } } });
    expect(count(json, "aws_nat_gateway")).toBe(1);
    expect(count(json, "aws_eip")).toBe(1);
    expect(count(json, "aws_kms_key")).toBe(1);
    // The control plane's and the VPC flow logs' groups.
    expect(count(json, "aws_cloudwatch_log_group")).toBe(2);
    const items = plan.costs.map((c) => c.item);
    expect(items.find((i) => i.startsWith("NAT gateway"))).toContain("1 × 730 h");
    expect(items.find((i) => i.startsWith("public IPv4 address"))).toContain("1 Elastic IP");
    expect(items.find((i) => i.startsWith("KMS key"))).toBeDefined();
    const logGroup = Object.values(json.resource.aws_cloudwatch_log_group as Record<string, { retention_in_days: number }>)[0];
    expect(items.find((i) => i.startsWith("CloudWatch Logs"))).toContain(`${logGroup.retention_in_days}-day retention`);
  });

  test("a cluster in existing subnets creates no NAT gateway and prices none", () => {
    const { json, plan } = synth({ cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: QUOTAS, subnetIds: ["subnet-a", "subnet-b"] } } });
    expect(count(json, "aws_nat_gateway")).toBe(0);
    expect(plan.costs.some((c) => c.item.startsWith("NAT gateway") || c.item.startsWith("public IPv4"))).toBe(false);
    expect(plan.costs.some((c) => c.item.startsWith("KMS key"))).toBe(true);
  });

  test("an existing cluster prices neither network, key nor logs: they are not this stack's", () => {
    const { plan } = synth({ cluster: { existing: { clusterName: "prod", subnetIds: ["subnet-a"], quotas: QUOTAS, addons: { externalSecrets: true } } } });
    for (const prefix of ["NAT gateway", "public IPv4", "KMS key", "CloudWatch Logs"]) expect(plan.costs.some((c) => c.item.startsWith(prefix))).toBe(false);
  });

  test("declared NAT traffic and log volume are priced", () => {
    const { plan } = synth({ cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: QUOTAS, natGatewayGbPerMonth: 100, controlPlaneLogGbPerMonth: 20 } } });
    expect(plan.costs.find((c) => c.item.startsWith("NAT gateway"))!.monthlyUsd.expected).toBeCloseTo(0.045 * 730 + 100 * 0.045, 2);
    expect(plan.costs.find((c) => c.item.startsWith("CloudWatch Logs: control-plane"))!.item).toContain("20 GB/month ingested");
  });

  test("the new VPC's flow logs get their own line: not priced until their volume is declared, then ingestion and a retention window of storage", () => {
    const unpriced = synth({ cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: QUOTAS } } }).plan;
    const line = unpriced.costs.find((c) => c.item.startsWith("CloudWatch Logs: VPC flow logs"))!;
    expect(line.item).toContain("declare flowLogGbPerMonth");
    expect(line.monthlyUsd.max).toBe(0);
    const priced = synth({ cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: QUOTAS, flowLogGbPerMonth: 30 } } }).plan;
    // 30 GB in at $0.50/GB, and 90 days of them (≈ 88.8 GB) stored at $0.03/GB-month.
    expect(priced.costs.find((c) => c.item.startsWith("CloudWatch Logs: VPC flow logs"))!.monthlyUsd.expected).toBeCloseTo(30 * 0.5 + ((30 * 90) / (365 / 12)) * 0.03, 2);
  });

  test("refuses NAT traffic declared for a cluster that creates no NAT gateway", () => {
    const app = Testing.app();
    const stack = stackIn(app, { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: QUOTAS, subnetIds: ["subnet-a"], natGatewayGbPerMonth: 100 } } });
    expect(() => Testing.synth(stack, true)).toThrow(/\[USAGE_WITHOUT_RESOURCE\] serving-cluster\/cluster: natGatewayGbPerMonth is set/);
  });
});

describe("Spot endpoints", () => {
  test("carry a declared Spot price into the plan", () => {
    const app = Testing.app();
    const stack = new ModelServingStack(app, "serving", { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "c", quotas: QUOTAS } } });
    stack.addEndpoint("chat", { model: stack.importModel("llama", { source: LLAMA() }), maxModelLen: 8192, shape: "A10_X1", instanceType: "g5.xlarge", capacityType: "SPOT", spotPriceUsdPerHour: 0.42, replicas: 2 });
    Testing.synth(stack, true);
    expect(stack.cluster.plan().nodePools[0].spot).toMatchObject({ basis: "declared", ceilingUsdPerHour: 0.42 });
  });
});
