/**
 * ClusterNetwork: the VPC a new GpuCluster creates when it is given no subnets — two public subnets
 * (load balancers, the NAT gateway) and two private ones (nodes), one NAT gateway — with the VPC's
 * default security group stripped of every rule (CKV2_AWS_12: nothing may silently use it) and VPC
 * flow logs of all traffic to a CloudWatch log group encrypted with the cluster's key (CKV2_AWS_11).
 */
import { Fn } from "cdktf";
import { Construct } from "constructs";
import {
  CloudwatchLogGroup, DataAwsAvailabilityZones, DataAwsIamPolicyDocument, DefaultSecurityGroup, Eip, FlowLog, IamPolicy, IamRole, IamRolePolicyAttachment,
  InternetGateway, NatGateway, RouteTable, RouteTableAssociation, Subnet, Vpc,
} from "./bindings/aws";
import type { ClusterKey } from "./cluster-key";
import { AWS_ACCOUNT, claimName, regionScope } from "./name-claims";
import { deriveName } from "../planner/names";

/** Days the VPC flow logs and control-plane logs are kept (a written choice: see the CKV_AWS_338 suppression). */
export const LOG_RETENTION_DAYS = 90;

export interface ClusterNetworkProps {
  /** Names the VPC and prefixes the flow-log names. */
  readonly clusterName: string;
  /** The cluster's key: the flow-log group is encrypted with it. */
  readonly key: ClusterKey;
  readonly tags: Record<string, string>;
}

export class ClusterNetwork extends Construct {
  readonly vpc: Vpc;
  readonly privateSubnetIds: string[] = [];
  readonly flowLogGroup: CloudwatchLogGroup;

  constructor(scope: Construct, id: string, props: ClusterNetworkProps) {
    super(scope, id);
    const { tags } = props;
    const vpc = (this.vpc = new Vpc(this, "vpc", { cidrBlock: "10.0.0.0/16", enableDnsHostnames: true, enableDnsSupport: true, tags: { ...tags, Name: props.clusterName } }));
    // Adopting the default security group with no ingress or egress blocks removes its allow-all rules.
    new DefaultSecurityGroup(this, "default-security-group", { vpcId: vpc.id, tags: { ...tags, Name: `${props.clusterName}-default-deny` } });

    const logGroupName = `/aws/vpc-flow-logs/${props.clusterName}`;
    claimName(this, "CloudWatch log group", regionScope(this), logGroupName, "logGroupName");
    props.key.allowLogGroup(logGroupName);
    this.flowLogGroup = new CloudwatchLogGroup(this, "flow-logs", { name: logGroupName, retentionInDays: LOG_RETENTION_DAYS, kmsKeyId: props.key.arn, tags });
    const roleName = deriveName("iamRoleName", [props.clusterName, "flow-logs"]);
    claimName(this, "IAM role", AWS_ACCOUNT, roleName, "iamRoleName");
    const role = new IamRole(this, "flow-logs-role", {
      name: roleName,
      assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "vpc-flow-logs.amazonaws.com" }, Action: "sts:AssumeRole" }] }),
      tags,
    });
    // Delivery needs only this log group's streams (AWS: IAM role for publishing flow logs to CloudWatch Logs).
    const doc = new DataAwsIamPolicyDocument(this, "flow-logs-policy-document", {
      statement: [{ effect: "Allow", actions: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"], resources: [this.flowLogGroup.arn, `${this.flowLogGroup.arn}:*`] }],
    });
    const policyName = deriveName("iamPolicyName", [props.clusterName, "flow-logs"]);
    claimName(this, "IAM policy", AWS_ACCOUNT, policyName, "iamPolicyName");
    const policy = new IamPolicy(this, "flow-logs-policy", { name: policyName, policy: doc.json, tags });
    new IamRolePolicyAttachment(this, "flow-logs-policy-attachment", { role: role.name, policyArn: policy.arn });
    new FlowLog(this, "flow-log", { vpcId: vpc.id, trafficType: "ALL", logDestinationType: "cloud-watch-logs", logDestination: this.flowLogGroup.arn, iamRoleArn: role.arn, maxAggregationInterval: 600, tags });

    const azs = new DataAwsAvailabilityZones(this, "azs", { state: "available" });
    const igw = new InternetGateway(this, "igw", { vpcId: vpc.id, tags });
    const publicRt = new RouteTable(this, "public-routes", { vpcId: vpc.id, route: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }], tags });
    let nat: NatGateway | undefined;
    for (const i of [0, 1]) {
      const az = Fn.element(azs.names, i);
      const pub = new Subnet(this, `public-${i}`, { vpcId: vpc.id, availabilityZone: az, cidrBlock: `10.0.${i}.0/24`, mapPublicIpOnLaunch: false, tags: { ...tags, "kubernetes.io/role/elb": "1" } });
      new RouteTableAssociation(this, `public-${i}-routes`, { subnetId: pub.id, routeTableId: publicRt.id });
      if (!nat) nat = new NatGateway(this, "nat", { allocationId: new Eip(this, "nat-ip", { domain: "vpc", tags }).id, subnetId: pub.id, tags, dependsOn: [igw] });
      const priv = new Subnet(this, `private-${i}`, { vpcId: vpc.id, availabilityZone: az, cidrBlock: `10.0.${16 * (i + 1)}.0/20`, tags: { ...tags, "kubernetes.io/role/internal-elb": "1" } });
      const rt = new RouteTable(this, `private-${i}-routes`, { vpcId: vpc.id, route: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }], tags });
      new RouteTableAssociation(this, `private-${i}-assoc`, { subnetId: priv.id, routeTableId: rt.id });
      this.privateSubnetIds.push(priv.id);
    }
  }
}
