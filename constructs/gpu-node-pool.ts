/**
 * GpuNodePool: one EKS managed node group per shape. NVIDIA AMI, launch template with IMDSv2 required
 * and hop limit 1, encrypted gp3 root sized for the image and the weights of every replica a node can
 * run, the GPU taint, and min/max derived from the endpoints placed on it. Terraform leaves
 * desired_size alone after creation so it never fights an autoscaler.
 */
import { Lazy, Op } from "cdktf";
import { Construct } from "constructs";
import type { CapacityType, NodePoolPlan } from "../planner/plan-types";
import type { GpuShape, Host } from "../planner/shapes";
import { DataAwsServicequotasServiceQuota, EksNodeGroup, LaunchTemplate } from "./bindings/aws";
import type { GpuClusterBase } from "./gpu-cluster";
import { GPU_TAINT_KEY } from "./gpu-cluster";
import { deriveName } from "../planner/names";
import { claimName } from "./name-claims";
import { markOwned } from "./policy-scope";

export interface GpuNodePoolProps {
  readonly cluster: GpuClusterBase;
  readonly poolName: string;
  readonly shape: GpuShape;
  readonly host: Host;
  /** @default "ON_DEMAND" */
  readonly capacityType?: CapacityType;
}

export class GpuNodePool extends Construct {
  readonly poolName: string;
  readonly shape: GpuShape;
  readonly instanceType: string;
  readonly nodeGroup: EksNodeGroup;
  readonly launchTemplate: LaunchTemplate;
  private readonly cluster: GpuClusterBase;

  constructor(scope: Construct, id: string, props: GpuNodePoolProps) {
    super(scope, id);
    this.cluster = props.cluster;
    markOwned(this, () => props.cluster);
    this.poolName = props.poolName;
    this.shape = props.shape;
    this.instanceType = props.host.instance.instanceType;
    const tags: Record<string, string> = { "model-serving:cluster": props.cluster.clusterName, "model-serving:pool": props.poolName, "model-serving:shape": props.shape.name };
    if (props.cluster.addons.nodeAutoscaler === "cluster-autoscaler") {
      // Auto-discovery, plus node-template hints so Cluster Autoscaler can scale this group up from zero.
      Object.assign(tags, {
        "k8s.io/cluster-autoscaler/enabled": "true",
        [`k8s.io/cluster-autoscaler/${props.cluster.clusterName}`]: "owned",
        "k8s.io/cluster-autoscaler/node-template/label/model-serving.io/pool": props.poolName,
        "k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu": "true:NoSchedule",
        "k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu": String(props.host.instance.gpus),
      });
    }
    this.launchTemplate = new LaunchTemplate(this, "launch-template", {
      namePrefix: `${deriveName("launchTemplatePrefix", [props.cluster.clusterName, props.poolName], { maxLength: 101 })}-`,
      updateDefaultVersion: true,
      metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1, instanceMetadataTags: "disabled" },
      blockDeviceMappings: [
        {
          deviceName: "/dev/xvda",
          ebs: { volumeSize: Lazy.numberValue({ produce: () => this.planned().rootVolumeGiB }), volumeType: "gp3", iops: 3000, throughput: 250, encrypted: "true", deleteOnTermination: "true" },
        },
      ],
      tagSpecifications: [
        { resourceType: "instance", tags },
        { resourceType: "volume", tags },
      ],
      tags,
    });
    const quotaCode = (props.capacityType ?? "ON_DEMAND") === "SPOT" ? props.host.instance.quota.spot : props.host.instance.quota.onDemand;
    // Opt-in plan-time guard: the live applied quota must cover what every pool on this quota code needs.
    const quota = props.cluster.planTimeQuotaCheck ? new DataAwsServicequotasServiceQuota(this, "quota", { serviceCode: "ec2", quotaCode }) : undefined;
    const needed = Lazy.numberValue({ produce: () => props.cluster.plan().quotas.find((q) => q.code === quotaCode)?.neededVcpus ?? 0 });
    this.nodeGroup = new EksNodeGroup(this, "Resource", {
      clusterName: props.cluster.clusterName,
      nodeGroupName: (claimName(this, "EKS node group", `cluster ${props.cluster.clusterName}`, props.poolName, "eksNodeGroupName"), props.poolName),
      nodeRoleArn: props.cluster.nodeRoleArn,
      subnetIds: props.cluster.subnetIds,
      amiType: "AL2023_x86_64_NVIDIA",
      capacityType: props.capacityType ?? "ON_DEMAND",
      instanceTypes: [this.instanceType],
      launchTemplate: { id: this.launchTemplate.id, version: this.launchTemplate.latestVersion.toString() },
      scalingConfig: {
        minSize: Lazy.numberValue({ produce: () => this.planned().nodes.min }),
        desiredSize: Lazy.numberValue({ produce: () => this.planned().nodes.expected }),
        maxSize: Lazy.numberValue({ produce: () => Math.max(1, this.planned().nodes.max) }),
      },
      updateConfig: { maxUnavailable: 1 },
      labels: { "model-serving.io/pool": props.poolName, "model-serving.io/shape": props.shape.name.toLowerCase().replace(/_/g, "-"), "model-serving.io/gpu": "true" },
      taint: [{ key: GPU_TAINT_KEY, value: "true", effect: "NO_SCHEDULE" }],
      tags,
      lifecycle: {
        ignoreChanges: ["scaling_config[0].desired_size"],
        ...(quota
          ? { precondition: [{ condition: Op.gte(quota.value, needed), errorMessage: `[QUOTA_EXCEEDED] EC2 quota ${quotaCode} is below the vCPUs the GPU node pools need at maximum scale (see serving-plan.json). Fix: request an increase in Service Quotas, or lower the endpoints' maximum replicas.` }] }
          : {}),
      },
    });
  }

  /** Node selector the endpoints on this pool use: the same labels the node group sets. */
  nodeSelector(): Record<string, string> {
    return { "model-serving.io/pool": this.poolName, "node.kubernetes.io/instance-type": this.instanceType };
  }

  /** Toleration for the pool's taint. */
  toleration(): { key: string; operator: string; value: string; effect: string } {
    return { key: GPU_TAINT_KEY, operator: "Equal", value: "true", effect: "NoSchedule" };
  }

  private planned(): NodePoolPlan {
    const p = this.cluster.plan().nodePools.find((x) => x.name === this.poolName);
    // A pool whose endpoints all failed planning still renders; synth stops at validation anyway.
    return p ?? ({ nodes: { min: 0, expected: 0, max: 1 }, rootVolumeGiB: 100 } as NodePoolPlan);
  }
}
