/**
 * The same fleet written directly with the provider bindings (constructs/bindings/*.ts, deep paths):
 * what cdktf itself costs for these resources. No planner, no catalog module, no library construct:
 * shapes, instances and sizes come verbatim from fleet-spec.ts, and the resources mirror what the
 * library emits — the same types and counts (the bench checks), with comparable contents — in the
 * same two stacks a team would write for a new cluster: `<id>-cluster` (network, KMS key, EKS, node
 * groups, add-on charts with their Pod Identity roles) and `<id>` (namespace, secret sync, model
 * store, staging Jobs, endpoints), linked by cdktf cross-stack references (the cluster's endpoint,
 * CA and name reach the workloads' Kubernetes provider through the first stack's outputs).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { App, Fn, LocalBackend, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import {
  AwsProvider, CloudwatchLogGroup, DataAwsAvailabilityZones, DataAwsCallerIdentity, DataAwsIamPolicyDocument, DataAwsPartition, DataAwsRegion, DefaultSecurityGroup, Eip,
  EksAddon, EksCluster, EksNodeGroup, EksPodIdentityAssociation, FlowLog, IamPolicy, IamRole, IamRolePolicyAttachment, InternetGateway, KmsKey, LaunchTemplate, NatGateway,
  RouteTable, RouteTableAssociation, S3Bucket, S3BucketLifecycleConfiguration, S3BucketOwnershipControls, S3BucketPolicy, S3BucketPublicAccessBlock,
  S3BucketServerSideEncryptionConfigurationA, S3BucketVersioningA, Subnet, Vpc,
} from "../constructs/bindings/aws";
import { HelmProvider, Release } from "../constructs/bindings/helm";
import { DeploymentV1, JobV1, KubernetesProvider, Manifest, NamespaceV1, PodDisruptionBudgetV1, ServiceAccountV1, ServiceV1 } from "../constructs/bindings/k8s";
import { CLUSTER_NAME, DEPLOYER_CIDRS, HF_TOKEN_SECRET_ARN, MODELS, modelsOf, STACK_ID, type CatalogModelRef, type EndpointTemplate, type FleetEndpoint } from "./fleet-spec";

const REGION = "us-east-1";
const VLLM_IMAGE = "vllm/vllm-openai:v0.24.0";
const AWS_CLI_IMAGE = "docker.io/amazon/aws-cli:2.22.35@sha256:6977c83ae3dc99f28fcf8276b9ea5eec33833cd5be40574b34112e98113ec7a2";
const NAMESPACE = "model-serving";
/** The Kubernetes secret External Secrets keeps in sync with the Hub token in Secrets Manager. */
const HF_TOKEN_SECRET = { name: "hf-token", key: "token" };
/** GPUs per instance, for replicas per node (the only hardware fact the baseline needs). */
const INSTANCE_GPUS: Readonly<Record<string, number>> = { "g4dn.xlarge": 1, "g5.xlarge": 1, "g6.xlarge": 1, "g6e.xlarge": 1, "g6e.12xlarge": 4, "p4de.24xlarge": 8, "p5.4xlarge": 1, "p5.48xlarge": 8 };
const POD_TRUST = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] }] });
const restricted = { runAsNonRoot: true, runAsUser: "1000", runAsGroup: "1000", allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } };
const podSecurity = { runAsNonRoot: true, runAsUser: "1000", runAsGroup: "1000", fsGroup: "1000", seccompProfile: { type: "RuntimeDefault" } };
/**
 * The AWS Load Balancer Controller's IAM policy as its project publishes it (docs/install/iam_policy.json at
 * v3.5.0): a team vendors that file; the copy in this repository is read as plain JSON.
 */
const LB_CONTROLLER_POLICY = readFileSync(join(repositoryRoot(), "catalog", "iam", "aws-load-balancer-controller.json"), "utf8");

/** The checkout this file runs from: bench/ under tsx, a build directory under it when compiled. */
function repositoryRoot(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${__dirname}`);
  }
}

function poolNameOf(t: EndpointTemplate): string {
  return `${t.expect.shape.toLowerCase().replace(/_/g, "-")}${t.capacityType === "SPOT" ? "-spot" : ""}`;
}

/** A stack with local state beside the project and one AWS provider, as the cdktf CLI templates write it. */
function phaseStack(app: App, id: string): TerraformStack {
  const stack = new TerraformStack(app, id);
  new LocalBackend(stack, { path: `../../../terraform.${id}.tfstate` });
  new AwsProvider(stack, "aws", { region: REGION, defaultTags: [{ tags: { "managed-by": "cdktf-model-serving", team: "platform" } }] });
  return stack;
}

export function build(app: App, endpoints: readonly FleetEndpoint[]): void {
  const models = modelsOf(endpoints);
  const secretArns = models.some((m) => m.gated) ? [HF_TOKEN_SECRET_ARN] : [];
  const eks = clusterPhase(phaseStack(app, `${STACK_ID}-cluster`), endpoints, models, secretArns);
  workloadsPhase(phaseStack(app, STACK_ID), eks, endpoints, models, secretArns);
}

/** Phase 1: network, KMS key, EKS, node groups, add-on charts. Returns the cluster the workloads reach. */
function clusterPhase(stack: TerraformStack, endpoints: readonly FleetEndpoint[], models: readonly CatalogModelRef[], secretArns: readonly string[]): EksCluster {
  const cluster = new Construct(stack, "cluster");
  const tags = { "model-serving:cluster": CLUSTER_NAME };

  // The KMS key: explicit policy (account admin, the cluster role for Secrets, CloudWatch Logs for the two log groups).
  const account = new DataAwsCallerIdentity(cluster, "account").accountId;
  const partition = new DataAwsPartition(cluster, "partition").partition;
  const region = new DataAwsRegion(cluster, "region").region;
  const clusterRole = new IamRole(cluster, "cluster-role", {
    name: `${CLUSTER_NAME}-cluster`,
    assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] }] }),
    tags,
  });
  const clusterPolicy = new IamRolePolicyAttachment(cluster, "cluster-policy", { role: clusterRole.name, policyArn: "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy" });
  const flowLogGroupName = `/aws/vpc-flow-logs/${CLUSTER_NAME}`;
  const controlPlaneLogGroupName = `/aws/eks/${CLUSTER_NAME}/cluster`;
  const key = new KmsKey(cluster, "secrets-key", {
    description: `EKS secrets and log encryption for ${CLUSTER_NAME}`,
    enableKeyRotation: true,
    deletionWindowInDays: 30,
    policy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        { Sid: "AccountAdministersThroughIam", Effect: "Allow", Principal: { AWS: `arn:${partition}:iam::${account}:root` }, Action: "kms:*", Resource: "*" },
        { Sid: "ClusterEncryptsSecrets", Effect: "Allow", Principal: { AWS: clusterRole.arn }, Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:CreateGrant", "kms:ListGrants"], Resource: "*" },
        {
          Sid: "CloudWatchLogsEncryptsTheClusterLogGroups",
          Effect: "Allow",
          Principal: { Service: `logs.${region}.amazonaws.com` },
          Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
          Resource: "*",
          Condition: { ArnEquals: { "kms:EncryptionContext:aws:logs:arn": [flowLogGroupName, controlPlaneLogGroupName].map((g) => `arn:${partition}:logs:${region}:${account}:log-group:${g}`) } },
        },
      ],
    }),
    tags,
  });

  // Network: VPC with a rule-less default security group, flow logs, two public and two private subnets, one NAT.
  const vpc = new Vpc(cluster, "vpc", { cidrBlock: "10.0.0.0/16", enableDnsHostnames: true, enableDnsSupport: true, tags: { ...tags, Name: CLUSTER_NAME } });
  new DefaultSecurityGroup(cluster, "default-security-group", { vpcId: vpc.id, tags: { ...tags, Name: `${CLUSTER_NAME}-default-deny` } });
  const flowLogs = new CloudwatchLogGroup(cluster, "flow-logs", { name: flowLogGroupName, retentionInDays: 90, kmsKeyId: key.arn, tags });
  const flowLogsRole = new IamRole(cluster, "flow-logs-role", {
    name: `${CLUSTER_NAME}-flow-logs`,
    assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "vpc-flow-logs.amazonaws.com" }, Action: "sts:AssumeRole" }] }),
    tags,
  });
  const flowLogsDoc = new DataAwsIamPolicyDocument(cluster, "flow-logs-policy-document", {
    statement: [{ effect: "Allow", actions: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"], resources: [flowLogs.arn, `${flowLogs.arn}:*`] }],
  });
  const flowLogsPolicy = new IamPolicy(cluster, "flow-logs-policy", { name: `${CLUSTER_NAME}-flow-logs`, policy: flowLogsDoc.json, tags });
  new IamRolePolicyAttachment(cluster, "flow-logs-policy-attachment", { role: flowLogsRole.name, policyArn: flowLogsPolicy.arn });
  new FlowLog(cluster, "flow-log", { vpcId: vpc.id, trafficType: "ALL", logDestinationType: "cloud-watch-logs", logDestination: flowLogs.arn, iamRoleArn: flowLogsRole.arn, maxAggregationInterval: 600, tags });
  const azs = new DataAwsAvailabilityZones(cluster, "azs", { state: "available" });
  const igw = new InternetGateway(cluster, "igw", { vpcId: vpc.id, tags });
  const publicRt = new RouteTable(cluster, "public-routes", { vpcId: vpc.id, route: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }], tags });
  const subnetIds: string[] = [];
  let nat: NatGateway | undefined;
  for (const i of [0, 1]) {
    const az = Fn.element(azs.names, i);
    const pub = new Subnet(cluster, `public-${i}`, { vpcId: vpc.id, availabilityZone: az, cidrBlock: `10.0.${i}.0/24`, mapPublicIpOnLaunch: false, tags: { ...tags, "kubernetes.io/role/elb": "1" } });
    new RouteTableAssociation(cluster, `public-${i}-routes`, { subnetId: pub.id, routeTableId: publicRt.id });
    if (!nat) nat = new NatGateway(cluster, "nat", { allocationId: new Eip(cluster, "nat-ip", { domain: "vpc", tags }).id, subnetId: pub.id, tags, dependsOn: [igw] });
    const priv = new Subnet(cluster, `private-${i}`, { vpcId: vpc.id, availabilityZone: az, cidrBlock: `10.0.${16 * (i + 1)}.0/20`, tags: { ...tags, "kubernetes.io/role/internal-elb": "1" } });
    const rt = new RouteTable(cluster, `private-${i}-routes`, { vpcId: vpc.id, route: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }], tags });
    new RouteTableAssociation(cluster, `private-${i}-assoc`, { subnetId: priv.id, routeTableId: rt.id });
    subnetIds.push(priv.id);
  }

  // Control plane: public endpoint limited to where deploys run from, encrypted Secrets and logs.
  const logs = new CloudwatchLogGroup(cluster, "control-plane-logs", { name: controlPlaneLogGroupName, retentionInDays: 90, kmsKeyId: key.arn, tags });
  const eks = new EksCluster(cluster, "Resource", {
    name: CLUSTER_NAME,
    version: "1.33",
    roleArn: clusterRole.arn,
    vpcConfig: { subnetIds, endpointPrivateAccess: true, endpointPublicAccess: true, publicAccessCidrs: [...DEPLOYER_CIDRS] },
    encryptionConfig: { provider: { keyArn: key.arn }, resources: ["secrets"] },
    enabledClusterLogTypes: ["api", "audit", "authenticator", "controllerManager", "scheduler"],
    accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true },
    upgradePolicy: { supportType: "STANDARD" },
    tags,
    dependsOn: [logs, clusterPolicy],
  });
  const nodeRole = new IamRole(cluster, "node-role", {
    name: `${CLUSTER_NAME}-node`,
    assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] }),
    tags,
  });
  const nodePolicies = ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"].map(
    (p) => new IamRolePolicyAttachment(cluster, `node-${p}`, { role: nodeRole.name, policyArn: `arn:aws:iam::aws:policy/${p}` }),
  );
  const largestStagedGiB = Math.max(0, ...models.map((m) => m.weightsGiB));
  const system = new EksNodeGroup(cluster, "system-nodes", {
    clusterName: eks.name,
    nodeGroupName: "system",
    nodeRoleArn: nodeRole.arn,
    subnetIds,
    amiType: "AL2023_x86_64_STANDARD",
    capacityType: "ON_DEMAND",
    instanceTypes: ["m6i.large"],
    diskSize: Math.ceil((40 + largestStagedGiB * 1.3) / 10) * 10,
    scalingConfig: { minSize: 2, desiredSize: 2, maxSize: 3 },
    updateConfig: { maxUnavailable: 1 },
    labels: { "model-serving.io/pool": "system" },
    tags,
    dependsOn: nodePolicies,
    lifecycle: { ignoreChanges: ["scaling_config[0].desired_size"] },
  });
  const eksAddons = ["vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent"].map(
    (addon) => new EksAddon(cluster, `addon-${addon}`, { clusterName: eks.name, addonName: addon, resolveConflictsOnUpdate: "OVERWRITE", tags, ...(addon === "coredns" ? { dependsOn: [system] } : {}) }),
  );

  // Node pools: one launch template and one managed node group per (shape, capacity type).
  const pools = new Map<string, { t: EndpointTemplate; replicas: number; largestGiB: number }>();
  for (const e of endpoints) {
    const name = poolNameOf(e.template);
    const p = pools.get(name) ?? { t: e.template, replicas: 0, largestGiB: 0 };
    p.replicas += e.template.replicas;
    p.largestGiB = Math.max(p.largestGiB, MODELS[e.template.model].weightsGiB);
    pools.set(name, p);
  }
  for (const [name, p] of pools) {
    const scope = new Construct(cluster, `pool-${name}`);
    const rpn = Math.floor(INSTANCE_GPUS[p.t.expect.instanceType] / p.t.expect.gpus);
    const nodes = Math.ceil(p.replicas / rpn);
    const poolTags = { "model-serving:cluster": CLUSTER_NAME, "model-serving:pool": name, "model-serving:shape": p.t.expect.shape };
    const lt = new LaunchTemplate(scope, "launch-template", {
      namePrefix: `${CLUSTER_NAME}-${name}-`,
      updateDefaultVersion: true,
      metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1, instanceMetadataTags: "disabled" },
      blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: Math.ceil((80 + rpn * p.largestGiB * 1.1) / 10) * 10, volumeType: "gp3", iops: 3000, throughput: 250, encrypted: "true", deleteOnTermination: "true" } }],
      tagSpecifications: [
        { resourceType: "instance", tags: poolTags },
        { resourceType: "volume", tags: poolTags },
      ],
      tags: poolTags,
    });
    new EksNodeGroup(scope, "Resource", {
      clusterName: CLUSTER_NAME,
      nodeGroupName: name,
      nodeRoleArn: nodeRole.arn,
      subnetIds,
      amiType: "AL2023_x86_64_NVIDIA",
      capacityType: p.t.capacityType,
      instanceTypes: [p.t.expect.instanceType],
      launchTemplate: { id: lt.id, version: lt.latestVersion.toString() },
      scalingConfig: { minSize: nodes, desiredSize: nodes, maxSize: Math.max(1, nodes) },
      updateConfig: { maxUnavailable: 1 },
      labels: { "model-serving.io/pool": name, "model-serving.io/shape": p.t.expect.shape.toLowerCase().replace(/_/g, "-"), "model-serving.io/gpu": "true" },
      taint: [{ key: "nvidia.com/gpu", value: "true", effect: "NO_SCHEDULE" }],
      tags: poolTags,
      lifecycle: { ignoreChanges: ["scaling_config[0].desired_size"] },
    });
  }

  // Add-ons by pinned Helm charts, after the system nodes and EKS add-ons; those that call AWS get a Pod Identity role.
  const helm = new HelmProvider(cluster, "helm", {
    kubernetes: {
      host: eks.endpoint,
      clusterCaCertificate: Fn.base64decode(eks.certificateAuthority.get(0).data),
      exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: "aws", args: ["eks", "get-token", "--cluster-name", eks.name, "--region", REGION] },
    },
  });
  const podIdentity = (name: string, namespace: string, policy: string) => {
    const scope = new Construct(cluster, `${name}-identity`);
    const role = new IamRole(scope, "role", { name: `${CLUSTER_NAME}-${name}`, assumeRolePolicy: POD_TRUST, tags });
    const p = new IamPolicy(scope, "policy", { name: `${CLUSTER_NAME}-${name}`, policy, tags });
    new IamRolePolicyAttachment(scope, "policy-attachment", { role: role.name, policyArn: p.arn });
    return new EksPodIdentityAssociation(scope, "pod-identity", { clusterName: CLUSTER_NAME, namespace, serviceAccount: name, roleArn: role.arn, tags });
  };
  const chart = (name: string, repository: string, version: string, namespace: string, values: Record<string, unknown>, after: Array<Release | EksPodIdentityAssociation>) =>
    new Release(cluster, name, {
      provider: helm,
      name,
      chart: name,
      repository,
      version,
      namespace,
      createNamespace: true,
      values: [JSON.stringify(values, null, 2)],
      wait: true,
      atomic: true,
      cleanupOnFail: true,
      timeout: 900,
      maxHistory: 5,
      dependsOn: [system, ...eksAddons, ...after],
    });
  const lbController = chart(
    "aws-load-balancer-controller",
    "https://aws.github.io/eks-charts",
    "3.5.0",
    "kube-system",
    {
      clusterName: CLUSTER_NAME,
      region: REGION,
      vpcId: vpc.id,
      replicaCount: 2,
      serviceAccount: { create: true, name: "aws-load-balancer-controller" },
      resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
      podSecurityContext: { fsGroup: 65534, runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
      securityContext: { readOnlyRootFilesystem: true, runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
      createIngressClassResource: false,
      enableServiceMutatorWebhook: true,
      defaultTargetType: "ip",
    },
    [podIdentity("aws-load-balancer-controller", "kube-system", LB_CONTROLLER_POLICY)],
  );
  chart(
    "nvidia-device-plugin",
    "https://nvidia.github.io/k8s-device-plugin",
    "0.20.0",
    "kube-system",
    {
      affinity: null,
      nodeSelector: { "model-serving.io/gpu": "true" },
      tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
      priorityClassName: "system-node-critical",
      failOnInitError: false,
      gfd: { enabled: false },
      nfd: { enabled: false },
      securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } },
      resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "200m", memory: "256Mi" } },
    },
    [lbController],
  );
  if (secretArns.length) {
    const readSecrets = new DataAwsIamPolicyDocument(cluster, "external-secrets-policy-document", {
      statement: [{ effect: "Allow", actions: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy", "secretsmanager:ListSecretVersionIds"], resources: [...secretArns] }],
    });
    chart(
      "external-secrets",
      "https://charts.external-secrets.io",
      "2.9.0",
      "external-secrets",
      {
        installCRDs: true,
        serviceAccount: { create: true, name: "external-secrets" },
        replicaCount: 1,
        resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "256Mi" } },
        webhook: { resources: { requests: { cpu: "20m", memory: "64Mi" }, limits: { memory: "128Mi" } } },
        certController: { resources: { requests: { cpu: "20m", memory: "64Mi" }, limits: { memory: "128Mi" } } },
        processClusterPushSecret: false,
        processPushSecret: false,
        crds: { createPushSecret: false, createClusterPushSecret: false },
      },
      [lbController, podIdentity("external-secrets", "external-secrets", readSecrets.json)],
    );
  }
  return eks;
}

/** Phase 2: the Kubernetes side, through a provider configured from the first stack's outputs. */
function workloadsPhase(stack: TerraformStack, eks: EksCluster, endpoints: readonly FleetEndpoint[], models: readonly CatalogModelRef[], secretArns: readonly string[]): void {
  new KubernetesProvider(stack, "kubernetes", {
    host: eks.endpoint,
    clusterCaCertificate: Fn.base64decode(eks.certificateAuthority.get(0).data),
    exec: [{ apiVersion: "client.authentication.k8s.io/v1beta1", command: "aws", args: ["eks", "get-token", "--cluster-name", eks.name, "--region", REGION] }],
  });
  const namespace = new NamespaceV1(stack, "namespace", {
    metadata: { name: NAMESPACE, labels: { "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest", "app.kubernetes.io/managed-by": "cdktf-model-serving" } },
  });
  // The Hub token: synced from Secrets Manager into the namespace before the staging Jobs start.
  let tokenSync: Manifest | undefined;
  if (secretArns.length) {
    const store = new Manifest(stack, "secret-store", {
      manifest: { apiVersion: "external-secrets.io/v1", kind: "ClusterSecretStore", metadata: { name: "aws-secrets-manager", labels: { "app.kubernetes.io/managed-by": "cdktf-model-serving" } }, spec: { provider: { aws: { service: "SecretsManager", region: REGION } } } },
    });
    tokenSync = new Manifest(stack, "hf-token", {
      manifest: {
        apiVersion: "external-secrets.io/v1",
        kind: "ExternalSecret",
        metadata: { name: HF_TOKEN_SECRET.name, namespace: NAMESPACE, labels: { "app.kubernetes.io/managed-by": "cdktf-model-serving" } },
        spec: {
          refreshInterval: "1h",
          secretStoreRef: { kind: "ClusterSecretStore", name: "aws-secrets-manager" },
          target: { name: HF_TOKEN_SECRET.name, creationPolicy: "Owner", deletionPolicy: "Retain" },
          data: [{ secretKey: HF_TOKEN_SECRET.key, remoteRef: { key: HF_TOKEN_SECRET_ARN } }],
        },
      },
      wait: { condition: [{ type: "Ready", status: "True" }] },
      timeouts: { create: "10m", update: "10m" },
      dependsOn: [namespace, store],
    });
  }

  // Model store: bucket, its guards, and one staging Job (with its own identity) per model.
  const storeScope = new Construct(stack, "model-store");
  const tags = { "model-serving:cluster": CLUSTER_NAME };
  const bucket = new S3Bucket(storeScope, "Resource", { bucketPrefix: `${CLUSTER_NAME}-models-`, forceDestroy: false, tags: { ...tags, "model-serving:purpose": "model-weights" }, lifecycle: { preventDestroy: true } });
  new S3BucketOwnershipControls(storeScope, "ownership", { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } });
  new S3BucketPublicAccessBlock(storeScope, "public-access-block", { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
  const versioning = new S3BucketVersioningA(storeScope, "versioning", { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } });
  new S3BucketServerSideEncryptionConfigurationA(storeScope, "encryption", { bucket: bucket.id, rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" }, bucketKeyEnabled: true }] });
  new S3BucketLifecycleConfiguration(storeScope, "lifecycle", {
    bucket: bucket.id,
    rule: [{ id: "expire-old-versions-and-abandoned-uploads", status: "Enabled", filter: [{}], noncurrentVersionExpiration: [{ noncurrentDays: 30 }], abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }] }],
    dependsOn: [versioning],
  });
  const tlsOnly = new DataAwsIamPolicyDocument(storeScope, "tls-only", {
    statement: [
      { sid: "DenyInsecureTransport", effect: "Deny", actions: ["s3:*"], principals: [{ type: "*", identifiers: ["*"] }], resources: [bucket.arn, `${bucket.arn}/*`], condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }] },
    ],
  });
  new S3BucketPolicy(storeScope, "policy", { bucket: bucket.id, policy: tlsOnly.json });
  const stagingJobs = new Map<string, JobV1>();
  for (const m of models) stagingJobs.set(m.key, stage(storeScope, m, bucket, namespace, tokenSync));

  // Endpoints.
  for (const e of endpoints) endpoint(stack, e, MODELS[e.template.model], stagingJobs.get(MODELS[e.template.model].key)!, bucket, namespace, poolNameOf(e.template));
}

function stage(store: Construct, m: CatalogModelRef, bucket: S3Bucket, namespace: NamespaceV1, tokenSync: Manifest | undefined): JobV1 {
  const scope = new Construct(store, `stage-${m.key}`);
  const name = `stage-${m.key}`;
  const prefix = `models/${m.repo}/${m.revision}/`;
  const role = new IamRole(scope, "role", { name: `${CLUSTER_NAME}-${name}`.slice(0, 64), assumeRolePolicy: POD_TRUST });
  const doc = new DataAwsIamPolicyDocument(scope, "policy-document", {
    statement: [
      { effect: "Allow", actions: ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"], resources: [`${bucket.arn}/${prefix}*`] },
      { effect: "Allow", actions: ["s3:ListBucket"], resources: [bucket.arn], condition: [{ test: "StringLike", variable: "s3:prefix", values: [`${prefix}*`] }] },
    ],
  });
  const policy = new IamPolicy(scope, "policy", { name: `${CLUSTER_NAME}-${name}`, policy: doc.json });
  new IamRolePolicyAttachment(scope, "policy-attachment", { role: role.name, policyArn: policy.arn });
  const sa = new ServiceAccountV1(scope, "service-account", { metadata: { name, namespace: NAMESPACE }, automountServiceAccountToken: false, dependsOn: [namespace] });
  new EksPodIdentityAssociation(scope, "pod-identity", { clusterName: CLUSTER_NAME, namespace: NAMESPACE, serviceAccount: sa.metadata.name, roleArn: role.arn });
  const download = [
    "import os, sys",
    "from huggingface_hub import snapshot_download",
    `d = snapshot_download(${JSON.stringify(m.repo)}, revision=${JSON.stringify(m.revision)}, local_dir="/stage/model",`,
    "    allow_patterns=['*.json', '*.safetensors', 'tokenizer*', '*.model', '*.tiktoken', 'vocab.txt', 'merges.txt'])",
    "names = os.listdir(d)",
    "missing = [m for m, ok in [('config.json', 'config.json' in names), ('*.safetensors weights', any(n.endswith('.safetensors') for n in names)), ('a tokenizer', any(n.startswith('tokenizer') or n in ('vocab.txt', 'tekken.json') or n.endswith('.model') for n in names))] if not ok]",
    "if missing: sys.exit('staging refused: the snapshot lacks ' + ', '.join(missing))",
    "print('staged', len(names), 'files')",
  ].join("\n");
  return new JobV1(scope, "job", {
    metadata: { name, namespace: NAMESPACE, labels: { "app.kubernetes.io/component": "model-staging", "app.kubernetes.io/managed-by": "cdktf-model-serving" } },
    waitForCompletion: true,
    timeouts: { create: "120m", update: "120m" },
    spec: {
      backoffLimit: 2,
      template: {
        metadata: { labels: { "app.kubernetes.io/component": "model-staging" } },
        spec: {
          restartPolicy: "Never",
          serviceAccountName: sa.metadata.name,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: podSecurity,
          initContainer: [
            {
              name: "download",
              image: VLLM_IMAGE,
              command: ["python3", "-c", download],
              env: [{ name: "HOME", value: "/tmp" }, { name: "HF_HUB_DISABLE_TELEMETRY", value: "1" }, ...(m.gated ? [{ name: "HF_TOKEN", valueFrom: { secretKeyRef: HF_TOKEN_SECRET } }] : [])],
              securityContext: restricted,
              resources: { requests: { cpu: "1", memory: "2Gi" }, limits: { cpu: "1", memory: "2Gi" } },
              volumeMount: [{ name: "stage", mountPath: "/stage" }, { name: "tmp", mountPath: "/tmp" }],
            },
          ],
          container: [
            {
              name: "upload",
              image: AWS_CLI_IMAGE,
              command: ["aws", "s3", "sync", "--only-show-errors", "/stage/model", `s3://${bucket.bucket}/${prefix}`],
              env: [{ name: "HOME", value: "/tmp" }],
              securityContext: restricted,
              resources: { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "1", memory: "1Gi" } },
              volumeMount: [{ name: "stage", mountPath: "/stage" }, { name: "tmp", mountPath: "/tmp" }],
            },
          ],
          volume: [
            { name: "stage", emptyDir: { sizeLimit: `${Math.ceil(m.weightsGiB * 1.2) + 2}Gi` } },
            { name: "tmp", emptyDir: { sizeLimit: "1Gi" } },
          ],
        },
      },
    },
    dependsOn: [bucket, ...(m.gated && tokenSync ? [tokenSync] : [])],
  });
}

function endpoint(stack: TerraformStack, e: FleetEndpoint, m: CatalogModelRef, stagingJob: JobV1, bucket: S3Bucket, namespace: NamespaceV1, pool: string): void {
  const scope = new Construct(stack, e.name);
  const t = e.template;
  const x = t.expect;
  const name = e.name;
  const prefix = `models/${m.repo}/${m.revision}/`;
  const selector = { "app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": name };
  const capability = m.capability.toLowerCase().replace(/_/g, "-");
  const labels = { ...selector, "app.kubernetes.io/managed-by": "cdktf-model-serving", "model-serving.io/model": m.repo.replace(/[^A-Za-z0-9._-]+/g, "-"), "model-serving.io/capability": capability };
  const annotations = {
    "model-serving.io/model-id": m.repo,
    "model-serving.io/revision": m.revision,
    "model-serving.io/title": m.repo.split("/")[1],
    "model-serving.io/tags-architecture": m.architecture,
    "model-serving.io/tags-task": m.task,
    "model-serving.io/shape": x.shape,
    "model-serving.io/parameters": String(m.parameters),
  };
  const awsTags = { "model-serving:model": m.repo, "model-serving:revision": m.revision, "model-serving:tags:architecture": m.architecture, "model-serving:tags:task": m.task };
  const startupSeconds = Math.ceil((m.weightsGiB * 1024) / 200 + 180);

  const sa = new ServiceAccountV1(scope, "service-account", { metadata: { name, namespace: NAMESPACE, labels }, automountServiceAccountToken: false, dependsOn: [namespace] });
  const role = new IamRole(scope, "role", { name: `${CLUSTER_NAME}-${name}`, assumeRolePolicy: POD_TRUST, tags: awsTags });
  const doc = new DataAwsIamPolicyDocument(scope, "policy-document", {
    statement: [
      { effect: "Allow", actions: ["s3:GetObject"], resources: [`arn:aws:s3:::${bucket.bucket}/${prefix}*`] },
      { effect: "Allow", actions: ["s3:ListBucket"], resources: [`arn:aws:s3:::${bucket.bucket}`], condition: [{ test: "StringLike", variable: "s3:prefix", values: [`${prefix}*`] }] },
    ],
  });
  const policy = new IamPolicy(scope, "policy", { name: `${CLUSTER_NAME}-${name}-model-read`, policy: doc.json, tags: awsTags });
  new IamRolePolicyAttachment(scope, "policy-attachment", { role: role.name, policyArn: policy.arn });
  new EksPodIdentityAssociation(scope, "pod-identity", { clusterName: CLUSTER_NAME, namespace: NAMESPACE, serviceAccount: sa.metadata.name, roleArn: role.arn });

  const pooling = m.capability === "EMBEDDING" || m.capability === "RERANK";
  const args = [
    "--model", `/models/${name}`, "--served-model-name", name, "--host", "0.0.0.0", "--port", "8000",
    "--tensor-parallel-size", String(x.tensorParallel), ...(x.pipelineParallel > 1 ? ["--pipeline-parallel-size", String(x.pipelineParallel)] : []),
    "--max-model-len", String(t.maxModelLen), "--gpu-memory-utilization", "0.92", "--max-num-seqs", String(x.maxNumSeqs), "--max-num-batched-tokens", String(x.maxNumBatchedTokens), "--dtype", x.dtype,
    ...(pooling ? ["--runner", "pooling"] : ["--enable-prefix-caching"]),
    ...(m.capability === "IMAGE_TEXT_TO_TEXT" ? ["--limit-mm-per-prompt", JSON.stringify({ image: 4, video: 0 })] : []),
    "--uvicorn-log-level", "warning", "--no-enable-log-requests",
  ];
  const probe = (path: string, period: number, failures: number, timeout = 5) => ({ httpGet: { path, port: "8000" }, periodSeconds: period, failureThreshold: failures, timeoutSeconds: timeout });
  const timeout = `${Math.max(30, Math.ceil(startupSeconds / 60) + 15)}m`;
  const deployment = new DeploymentV1(scope, "deployment", {
    metadata: { name, namespace: NAMESPACE, labels, annotations },
    waitForRollout: true,
    timeouts: { create: timeout, update: timeout },
    spec: {
      replicas: String(t.replicas),
      revisionHistoryLimit: 5,
      selector: { matchLabels: selector },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "0", maxUnavailable: "1" } },
      template: {
        metadata: { labels, annotations: { ...annotations, "prometheus.io/scrape": "true", "prometheus.io/port": "8000", "prometheus.io/path": "/metrics" } },
        spec: {
          serviceAccountName: sa.metadata.name,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 120,
          nodeSelector: { "model-serving.io/pool": pool, "node.kubernetes.io/instance-type": x.instanceType },
          toleration: [{ key: "nvidia.com/gpu", operator: "Equal", value: "true", effect: "NoSchedule" }],
          securityContext: podSecurity,
          initContainer: [
            {
              name: "fetch-weights",
              image: AWS_CLI_IMAGE,
              command: ["aws", "s3", "sync", "--only-show-errors", "--exclude", "*.bin", "--exclude", "*.pt", `s3://${bucket.bucket}/${prefix}`, `/models/${name}`],
              env: [{ name: "HOME", value: "/tmp" }],
              securityContext: restricted,
              resources: { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "1", memory: "1Gi" } },
              volumeMount: [{ name: "models", mountPath: "/models" }, { name: "tmp", mountPath: "/tmp" }],
            },
          ],
          container: [
            {
              name: "vllm",
              image: VLLM_IMAGE,
              imagePullPolicy: "IfNotPresent",
              command: ["vllm", "serve"],
              args,
              port: [{ name: "http", containerPort: 8000, protocol: "TCP" }],
              env: [
                { name: "HOME", value: "/cache" },
                { name: "HF_HOME", value: "/cache/huggingface" },
                { name: "VLLM_CACHE_ROOT", value: "/cache/vllm" },
                { name: "TRITON_CACHE_DIR", value: "/cache/triton" },
                { name: "VLLM_NO_USAGE_STATS", value: "1" },
                { name: "DO_NOT_TRACK", value: "1" },
                { name: "HF_HUB_OFFLINE", value: "1" },
              ],
              resources: {
                requests: { cpu: String(x.cpu), memory: `${x.memoryGiB}Gi`, "nvidia.com/gpu": String(x.gpus) },
                limits: { cpu: String(x.cpu), memory: `${x.memoryGiB}Gi`, "nvidia.com/gpu": String(x.gpus) },
              },
              securityContext: restricted,
              startupProbe: probe("/health", 10, Math.ceil(startupSeconds / 10)),
              readinessProbe: probe("/health", 10, 3),
              livenessProbe: probe("/health", 30, 5, 10),
              lifecycle: { preStop: [{ exec: { command: ["sleep", "20"] } }] },
              volumeMount: [
                { name: "dshm", mountPath: "/dev/shm" },
                { name: "adapters", mountPath: "/adapters", readOnly: true },
                { name: "models", mountPath: "/models" },
                { name: "cache", mountPath: "/cache" },
                { name: "tmp", mountPath: "/tmp" },
              ],
            },
          ],
          volume: [
            // Where LoRA adapters would be fetched to: empty in this fleet, mounted so adding one changes no volume.
            { name: "adapters", emptyDir: { sizeLimit: "1Gi" } },
            { name: "dshm", emptyDir: { medium: "Memory", sizeLimit: `${x.shmGiB}Gi` } },
            { name: "models", emptyDir: { sizeLimit: `${Math.ceil(m.weightsGiB * 1.2) + 5}Gi` } },
            { name: "cache", emptyDir: { sizeLimit: "20Gi" } },
            { name: "tmp", emptyDir: { sizeLimit: "10Gi" } },
          ],
        },
      },
    },
    dependsOn: [stagingJob],
  });
  new ServiceV1(scope, "service", {
    metadata: { name, namespace: NAMESPACE, labels },
    spec: { type: "ClusterIP", selector, port: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }] },
    dependsOn: [namespace],
  });
  new PodDisruptionBudgetV1(scope, "pdb", { metadata: { name, namespace: NAMESPACE, labels }, spec: { maxUnavailable: "1", selector: { matchLabels: selector } }, dependsOn: [namespace] });
  if (t.replicas > 0) smokeTest(scope, name, m.capability, deployment, labels);
}

function smokeTest(scope: Construct, name: string, capability: CatalogModelRef["capability"], deployment: DeploymentV1, labels: Record<string, string>): void {
  const base = `http://${name}.${NAMESPACE}.svc.cluster.local`;
  const q =
    capability === "EMBEDDING"
      ? { path: "/v1/embeddings", body: { model: name, input: ["smoke test"] }, check: "len(r['data'][0]['embedding']) > 0" }
      : capability === "RERANK"
        ? { path: "/v1/rerank", body: { model: name, query: "capital of France", documents: ["Paris is the capital of France.", "Bananas are yellow."] }, check: "len(r['results']) == 2 and all('relevance_score' in x for x in r['results'])" }
        : {
            path: "/v1/chat/completions",
            body: { model: name, messages: [{ role: "user", content: capability === "IMAGE_TEXT_TO_TEXT" ? [{ type: "text", text: "Reply with the word ok." }] : "Reply with the word ok." }], max_tokens: 8 },
            check: "r['choices'][0]['message']['content'] is not None",
          };
  const script = [
    "import json, os, sys, time, urllib.request",
    `url = ${JSON.stringify(base + q.path)}`,
    `body = json.dumps(${JSON.stringify(JSON.stringify(q.body))}).encode()`,
    "headers = {'Content-Type': 'application/json'}",
    "if os.environ.get('VLLM_API_KEY'): headers['Authorization'] = 'Bearer ' + os.environ['VLLM_API_KEY']",
    "for attempt in range(30):",
    "    try:",
    "        r = json.load(urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers), timeout=60))",
    "        break",
    "    except Exception as e:",
    "        print('waiting for the endpoint:', e); time.sleep(10)",
    "else:",
    "    sys.exit('endpoint did not answer')",
    `ok = ${q.check}`,
    "print('smoke test', 'passed' if ok else 'FAILED', json.dumps(r)[:500])",
    "sys.exit(0 if ok else 1)",
  ].join("\n");
  new JobV1(scope, "smoke-test", {
    metadata: { name: `${name}-smoke-test`, namespace: NAMESPACE, labels: { ...labels, "app.kubernetes.io/component": "smoke-test" } },
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
          securityContext: podSecurity,
          container: [
            {
              name: "smoke-test",
              image: VLLM_IMAGE,
              command: ["python3", "-c", script],
              env: [],
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
              resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
            },
          ],
        },
      },
    },
    dependsOn: [deployment],
    // A new rollout is tested again.
    lifecycle: { replaceTriggeredBy: [deployment] },
  });
}
