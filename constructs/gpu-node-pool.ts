/**
 * GpuNodePool: one EKS managed node group per shape and way of buying its nodes. NVIDIA AMI, launch
 * template with IMDSv2 required and hop limit 1, encrypted gp3 root sized for the image and the
 * weights of every replica a node can run, the GPU taint, and min/max derived from the endpoints
 * placed on it. Terraform leaves desired_size alone after creation so it never fights an autoscaler.
 * A reservation or Capacity Block is targeted from the launch template (market type capacity-block
 * for a block) and the nodes are kept to the cluster's subnets in its Availability Zone; a Spot pool
 * may list fallback instance types.
 */
import { Fn, Lazy, Op, Token } from "cdktf";
import { Construct } from "constructs";
import type { CapacityType, NodePoolPlan } from "../planner/plan-types";
import { nodeGroupCapacityType, type EndpointCapacity } from "../planner/purchasing";
import type { GpuShape, Host } from "../planner/shapes";
import { DataAwsServicequotasServiceQuota, DataAwsSubnet, EksNodeGroup, LaunchTemplate, PlacementGroup, SecurityGroup, VpcSecurityGroupEgressRule, VpcSecurityGroupIngressRule } from "./bindings/aws";
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
  /** How the nodes are bought (wins over capacityType). @default - from capacityType */
  readonly capacity?: EndpointCapacity;
  /** Nodes one replica spans (a LeaderWorkerSet group). @default 1 */
  readonly nodesPerReplica?: number;
}

export class GpuNodePool extends Construct {
  readonly poolName: string;
  readonly shape: GpuShape;
  readonly instanceType: string;
  /** The node group's instance types: the pool's own, then Spot fallbacks. */
  readonly instanceTypes: string[];
  /** How the pool's nodes are bought. */
  readonly capacity: EndpointCapacity;
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
    const capacity: EndpointCapacity = (this.capacity = props.capacity ?? (props.capacityType === "SPOT" ? { type: "spot" } : { type: "on-demand" }));
    this.instanceTypes = [this.instanceType, ...(capacity.type === "spot" ? (capacity.fallbackInstanceTypes ?? []).filter((t) => t !== this.instanceType) : [])];
    const reserved = capacity.type === "reservation" || capacity.type === "capacity-block" ? capacity : undefined;
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
      ...this.efaNetworking(props),
      // A target alone: the API takes one option at a time, and a target already means "launch into it".
      ...(reserved ? { capacityReservationSpecification: { capacityReservationTarget: reserved.type === "capacity-block" || reserved.reservationId ? { capacityReservationId: reserved.reservationId } : { capacityReservationResourceGroupArn: reserved.resourceGroupArn } } } : {}),
      ...(capacity.type === "capacity-block" ? { instanceMarketOptions: { marketType: "capacity-block" } } : {}),
      tags,
    });
    // A Capacity Block draws on no vCPU quota; a reservation on the On-Demand one (planner/purchasing.ts).
    const quotaCode = capacity.type === "capacity-block" ? undefined : capacity.type === "spot" ? props.host.instance.quota.spot : props.host.instance.quota.onDemand;
    // Opt-in plan-time guard: the live applied quota must cover what every pool on this quota code needs.
    const quota = props.cluster.planTimeQuotaCheck && quotaCode ? new DataAwsServicequotasServiceQuota(this, "quota", { serviceCode: "ec2", quotaCode }) : undefined;
    // A reservation lives in one Availability Zone: only the cluster's subnets there, checked at plan time.
    const zone = reserved?.availabilityZone;
    const subnetIds = zone ? this.subnetsIn(zone) : props.cluster.subnetIds;
    const needed = Lazy.numberValue({ produce: () => props.cluster.plan().quotas.find((q) => q.code === quotaCode)?.neededVcpus ?? 0 });
    this.nodeGroup = new EksNodeGroup(this, "Resource", {
      clusterName: props.cluster.clusterName,
      nodeGroupName: (claimName(this, "EKS node group", `cluster ${props.cluster.clusterName}`, props.poolName, "eksNodeGroupName"), props.poolName),
      nodeRoleArn: props.cluster.nodeRoleArn,
      subnetIds,
      amiType: "AL2023_x86_64_NVIDIA",
      capacityType: nodeGroupCapacityType(capacity),
      instanceTypes: this.instanceTypes,
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
        ...(quota || zone
          ? {
              precondition: [
                ...(quota ? [{ condition: Op.gte(quota.value, needed), errorMessage: `[QUOTA_EXCEEDED] EC2 quota ${quotaCode} is below the vCPUs the GPU node pools need at maximum scale (see serving-plan.json). Fix: request an increase in Service Quotas, or lower the endpoints' maximum replicas.` }] : []),
                ...(zone ? [{ condition: Op.gte(Fn.lengthOf(subnetIds), 1), errorMessage: `[CAPACITY_ZONE_NO_SUBNET] ${props.cluster.node.path}: node pool ${props.poolName} launches into a reservation in ${zone}, and none of the cluster's subnets is in ${zone}. Instances can only use a reservation in its own Availability Zone. Fix: give the cluster subnetIds that include a private subnet in ${zone}.` }] : []),
              ],
            }
          : {}),
      },
    });
  }

  /**
   * Multi-node replicas on EFA instances, with the EFA device plugin declared: one EFA interface per
   * network card (as eksctl's efaEnabled does), in a security group that admits all traffic from itself
   * (EFA's OS-bypass traffic needs it) beside the cluster's own, and a cluster placement group so a
   * group's nodes sit close. Without these the pods' vpc.amazonaws.com/efa requests could never be met.
   */
  private efaNetworking(props: GpuNodePoolProps) {
    const inst = props.host.instance;
    if (!props.cluster.addons.efa || (props.nodesPerReplica ?? 1) < 2 || inst.efaDevices < 1) return {};
    const net = props.cluster.network();
    const tags = { "model-serving:cluster": props.cluster.clusterName, "model-serving:pool": props.poolName };
    const sg = new SecurityGroup(this, "efa", { name: deriveName("securityGroupName", [props.cluster.clusterName, props.poolName, "efa"]), description: `EFA traffic between the ${props.poolName} nodes of ${props.cluster.clusterName}`, vpcId: net.vpcId, tags });
    new VpcSecurityGroupIngressRule(this, "efa-in", { securityGroupId: sg.id, referencedSecurityGroupId: sg.id, ipProtocol: "-1", description: "EFA and NCCL from the same pool", tags });
    new VpcSecurityGroupEgressRule(this, "efa-out", { securityGroupId: sg.id, referencedSecurityGroupId: sg.id, ipProtocol: "-1", description: "EFA and NCCL to the same pool", tags });
    const reserved = this.capacity.type === "reservation" || this.capacity.type === "capacity-block";
    // A reservation or block already places its instances; otherwise keep a group's nodes in one spine.
    const placement = reserved ? undefined : new PlacementGroup(this, "placement", { name: deriveName("placementGroupName", [props.cluster.clusterName, props.poolName]), strategy: "cluster", tags });
    return {
      networkInterfaces: Array.from({ length: inst.efaDevices }, (_, i) => ({ networkCardIndex: i, deviceIndex: i === 0 ? 0 : 1, interfaceType: "efa", deleteOnTermination: "true", associatePublicIpAddress: "false", securityGroups: [net.clusterSecurityGroupId, sg.id] })),
      ...(placement ? { placement: { groupName: placement.name } } : {}),
    };
  }

  /** Node selector the endpoints on this pool use: the same labels the node group sets (any of its instance types). */
  nodeSelector(): Record<string, string> {
    return { "model-serving.io/pool": this.poolName, ...(this.instanceTypes.length === 1 ? { "node.kubernetes.io/instance-type": this.instanceType } : {}) };
  }

  /** The cluster's subnets in one Availability Zone, as Terraform resolves them (the subnets may be created in this apply). */
  private subnetsIn(zone: string): string[] {
    const picks = this.cluster.subnetIds.map((id, i) => {
      const s = new DataAwsSubnet(this, `subnet-${i}`, { id });
      return Fn.conditional(Op.eq(s.availabilityZone, zone), s.id, "");
    });
    return Token.asList(Fn.compact(picks));
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
