/**
 * The same fleet written directly with the provider bindings (constructs/bindings/*.ts, deep paths):
 * what cdktf itself costs for these resources. No planner, no catalog, no library construct: shapes,
 * instances and sizes come verbatim from fleet-spec.ts, and the resources mirror what the library
 * emits — the same types and counts (the bench checks), with comparable contents.
 */
import { App, Fn, LocalBackend, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import {
  AwsProvider, CloudwatchLogGroup, DataAwsAvailabilityZones, DataAwsEksClusterAuth, DataAwsIamPolicyDocument, Eip, EksAddon, EksCluster,
  EksNodeGroup, EksPodIdentityAssociation, IamPolicy, IamRole, IamRolePolicyAttachment, InternetGateway, KmsKey, LaunchTemplate, NatGateway,
  RouteTable, RouteTableAssociation, S3Bucket, S3BucketOwnershipControls, S3BucketPolicy, S3BucketPublicAccessBlock,
  S3BucketServerSideEncryptionConfigurationA, S3BucketVersioningA, Subnet, Vpc,
} from "../constructs/bindings/aws";
import { DaemonSetV1, DeploymentV1, JobV1, KubernetesProvider, NamespaceV1, PodDisruptionBudgetV1, ServiceAccountV1, ServiceV1 } from "../constructs/bindings/k8s";
import { CLUSTER_NAME, MODELS, modelsOf, STACK_ID, type CatalogModelRef, type EndpointTemplate, type FleetEndpoint } from "./fleet-spec";

const VLLM_IMAGE = "vllm/vllm-openai:v0.24.0";
const AWS_CLI_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.22.35";
const DEVICE_PLUGIN_IMAGE = "nvcr.io/nvidia/k8s-device-plugin:v0.17.0";
const NAMESPACE = "model-serving";
/** GPUs per instance, for replicas per node (the only hardware fact the baseline needs). */
const INSTANCE_GPUS: Readonly<Record<string, number>> = { "g4dn.xlarge": 1, "g5.xlarge": 1, "g6.xlarge": 1, "g6e.xlarge": 1, "g6e.12xlarge": 4, "p4de.24xlarge": 8, "p5.4xlarge": 1, "p5.48xlarge": 8 };
const POD_TRUST = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] }] });
const restricted = { runAsNonRoot: true, runAsUser: "1000", runAsGroup: "1000", allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } };

function poolNameOf(t: EndpointTemplate): string {
  return `${t.expect.shape.toLowerCase().replace(/_/g, "-")}${t.capacityType === "SPOT" ? "-spot" : ""}`;
}

export function build(app: App, endpoints: readonly FleetEndpoint[]): void {
  const stack = new TerraformStack(app, STACK_ID);
  new LocalBackend(stack, { path: `terraform.${STACK_ID}.tfstate` });
  new AwsProvider(stack, "aws", { region: "us-east-1", defaultTags: [{ tags: { "managed-by": "cdktf-model-serving", team: "platform" } }] });

  // Cluster: network, control plane, node role, system nodes, add-ons, Kubernetes provider, namespace.
  const cluster = new Construct(stack, "cluster");
  const tags = { "model-serving:cluster": CLUSTER_NAME };
  const vpc = new Vpc(cluster, "vpc", { cidrBlock: "10.0.0.0/16", enableDnsHostnames: true, enableDnsSupport: true, tags: { ...tags, Name: CLUSTER_NAME } });
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
  const key = new KmsKey(cluster, "secrets-key", { description: `EKS secrets encryption for ${CLUSTER_NAME}`, enableKeyRotation: true, deletionWindowInDays: 30, tags });
  const logs = new CloudwatchLogGroup(cluster, "control-plane-logs", { name: `/aws/eks/${CLUSTER_NAME}/cluster`, retentionInDays: 90, tags });
  const clusterRole = new IamRole(cluster, "cluster-role", {
    name: `${CLUSTER_NAME}-cluster`,
    assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] }] }),
    tags,
  });
  const clusterPolicy = new IamRolePolicyAttachment(cluster, "cluster-policy", { role: clusterRole.name, policyArn: "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy" });
  const eks = new EksCluster(cluster, "Resource", {
    name: CLUSTER_NAME,
    version: "1.33",
    roleArn: clusterRole.arn,
    vpcConfig: { subnetIds, endpointPrivateAccess: true, endpointPublicAccess: false },
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
  const models = modelsOf(endpoints);
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
  for (const addon of ["vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent"]) {
    new EksAddon(cluster, `addon-${addon}`, { clusterName: eks.name, addonName: addon, resolveConflictsOnUpdate: "OVERWRITE", tags, ...(addon === "coredns" ? { dependsOn: [system] } : {}) });
  }
  const auth = new DataAwsEksClusterAuth(cluster, "auth", { name: eks.name });
  new KubernetesProvider(cluster, "kubernetes", { host: eks.endpoint, clusterCaCertificate: Fn.base64decode(eks.certificateAuthority.get(0).data), token: auth.token });
  const namespace = new NamespaceV1(cluster, "namespace", {
    metadata: { name: NAMESPACE, labels: { "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest", "app.kubernetes.io/managed-by": "cdktf-model-serving" } },
  });

  // Node pools: one launch template and one managed node group per (shape, capacity type).
  const pools = new Map<string, { t: EndpointTemplate; replicas: number; largestGiB: number }>();
  for (const e of endpoints) {
    const name = poolNameOf(e.template);
    const p = pools.get(name) ?? { t: e.template, replicas: 0, largestGiB: 0 };
    p.replicas += e.template.replicas;
    p.largestGiB = Math.max(p.largestGiB, MODELS[e.template.model].weightsGiB);
    pools.set(name, p);
  }
  const poolLabels = new Map<string, string>();
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
    poolLabels.set(name, p.t.expect.instanceType);
  }
  if (pools.size) {
    const labels = { "app.kubernetes.io/name": "nvidia-device-plugin" };
    new DaemonSetV1(cluster, "nvidia-device-plugin", {
      metadata: { name: "nvidia-device-plugin", namespace: "kube-system", labels },
      spec: {
        selector: { matchLabels: labels },
        strategy: { type: "RollingUpdate" },
        template: {
          metadata: { labels },
          spec: {
            priorityClassName: "system-node-critical",
            nodeSelector: { "model-serving.io/gpu": "true" },
            toleration: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
            container: [
              {
                name: "nvidia-device-plugin",
                image: DEVICE_PLUGIN_IMAGE,
                env: [{ name: "FAIL_ON_INIT_ERROR", value: "false" }],
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
                resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "200m", memory: "256Mi" } },
                volumeMount: [{ name: "device-plugin", mountPath: "/var/lib/kubelet/device-plugins" }],
              },
            ],
            volume: [{ name: "device-plugin", hostPath: { path: "/var/lib/kubelet/device-plugins", type: "Directory" } }],
          },
        },
      },
    });
  }

  // Model store: bucket, its guards, and one staging Job (with its own identity) per model.
  const storeScope = new Construct(stack, "model-store");
  const bucketName = `${CLUSTER_NAME}-models`;
  const bucket = new S3Bucket(storeScope, "Resource", { bucket: bucketName, forceDestroy: false, tags: { ...tags, "model-serving:purpose": "model-weights" }, lifecycle: { preventDestroy: true } });
  new S3BucketOwnershipControls(storeScope, "ownership", { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } });
  new S3BucketPublicAccessBlock(storeScope, "public-access-block", { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
  new S3BucketVersioningA(storeScope, "versioning", { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } });
  new S3BucketServerSideEncryptionConfigurationA(storeScope, "encryption", { bucket: bucket.id, rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" }, bucketKeyEnabled: true }] });
  const tlsOnly = new DataAwsIamPolicyDocument(storeScope, "tls-only", {
    statement: [
      { sid: "DenyInsecureTransport", effect: "Deny", actions: ["s3:*"], principals: [{ type: "*", identifiers: ["*"] }], resources: [bucket.arn, `${bucket.arn}/*`], condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }] },
    ],
  });
  new S3BucketPolicy(storeScope, "policy", { bucket: bucket.id, policy: tlsOnly.json });
  const stagingJobs = new Map<string, JobV1>();
  for (const m of models) stagingJobs.set(m.key, stage(storeScope, m, bucket, bucketName, namespace));

  // Endpoints.
  for (const e of endpoints) endpoint(stack, e, MODELS[e.template.model], stagingJobs.get(MODELS[e.template.model].key)!, bucketName, namespace, poolNameOf(e.template));
}

function stage(store: Construct, m: CatalogModelRef, bucket: S3Bucket, bucketName: string, namespace: NamespaceV1): JobV1 {
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
  const stageRestricted = { runAsNonRoot: true, runAsUser: "1000", allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } };
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
          securityContext: { runAsNonRoot: true, runAsUser: "1000", fsGroup: "1000", seccompProfile: { type: "RuntimeDefault" } },
          initContainer: [
            {
              name: "download",
              image: VLLM_IMAGE,
              command: ["python3", "-c", download],
              env: [{ name: "HOME", value: "/tmp" }, { name: "HF_HUB_DISABLE_TELEMETRY", value: "1" }, ...(m.gated ? [{ name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: "hf-token", key: "token" } } }] : [])],
              securityContext: stageRestricted,
              resources: { requests: { cpu: "1", memory: "2Gi" }, limits: { cpu: "1", memory: "2Gi" } },
              volumeMount: [{ name: "stage", mountPath: "/stage" }, { name: "tmp", mountPath: "/tmp" }],
            },
          ],
          container: [
            {
              name: "upload",
              image: AWS_CLI_IMAGE,
              command: ["aws", "s3", "sync", "--only-show-errors", "/stage/model", `s3://${bucketName}/${prefix}`],
              env: [{ name: "HOME", value: "/tmp" }],
              securityContext: stageRestricted,
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
    dependsOn: [bucket],
  });
}

function endpoint(stack: TerraformStack, e: FleetEndpoint, m: CatalogModelRef, stagingJob: JobV1, bucketName: string, namespace: NamespaceV1, pool: string): void {
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
  };
  const awsTags = { "model-serving:model": m.repo, "model-serving:revision": m.revision, "model-serving:tags:architecture": m.architecture, "model-serving:tags:task": m.task };
  const startupSeconds = Math.ceil((m.weightsGiB * 1024) / 200 + 180);

  const sa = new ServiceAccountV1(scope, "service-account", { metadata: { name, namespace: NAMESPACE, labels }, automountServiceAccountToken: false, dependsOn: [namespace] });
  const role = new IamRole(scope, "role", { name: `${CLUSTER_NAME}-${name}`, assumeRolePolicy: POD_TRUST, tags: awsTags });
  const doc = new DataAwsIamPolicyDocument(scope, "policy-document", {
    statement: [
      { effect: "Allow", actions: ["s3:GetObject"], resources: [`arn:aws:s3:::${bucketName}/${prefix}*`] },
      { effect: "Allow", actions: ["s3:ListBucket"], resources: [`arn:aws:s3:::${bucketName}`], condition: [{ test: "StringLike", variable: "s3:prefix", values: [`${prefix}*`] }] },
    ],
  });
  const policy = new IamPolicy(scope, "policy", { name: `${CLUSTER_NAME}-${name}-model-read`, policy: doc.json, tags: awsTags });
  new IamRolePolicyAttachment(scope, "policy-attachment", { role: role.name, policyArn: policy.arn });
  new EksPodIdentityAssociation(scope, "pod-identity", { clusterName: CLUSTER_NAME, namespace: NAMESPACE, serviceAccount: sa.metadata.name, roleArn: role.arn });

  const pooling = m.capability === "EMBEDDING" || m.capability === "RERANK";
  const args = [
    "--model", `/models/${name}`, "--served-model-name", name, "--host", "0.0.0.0", "--port", "8000",
    "--tensor-parallel-size", String(x.tensorParallel), ...(x.pipelineParallel > 1 ? ["--pipeline-parallel-size", String(x.pipelineParallel)] : []),
    "--max-model-len", String(t.maxModelLen), "--gpu-memory-utilization", "0.92", "--max-num-seqs", "256", "--max-num-batched-tokens", "8192", "--dtype", "auto",
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
        metadata: { labels, annotations },
        spec: {
          serviceAccountName: sa.metadata.name,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 120,
          nodeSelector: { "model-serving.io/pool": pool, "node.kubernetes.io/instance-type": x.instanceType },
          toleration: [{ key: "nvidia.com/gpu", operator: "Equal", value: "true", effect: "NoSchedule" }],
          securityContext: { runAsNonRoot: true, runAsUser: "1000", runAsGroup: "1000", fsGroup: "1000", seccompProfile: { type: "RuntimeDefault" } },
          initContainer: [
            {
              name: "fetch-weights",
              image: AWS_CLI_IMAGE,
              command: ["aws", "s3", "sync", "--only-show-errors", "--exclude", "*.bin", "--exclude", "*.pt", `s3://${bucketName}/${prefix}`, `/models/${name}`],
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
                { name: "models", mountPath: "/models" },
                { name: "cache", mountPath: "/cache" },
                { name: "tmp", mountPath: "/tmp" },
              ],
            },
          ],
          volume: [
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
        : { path: "/v1/chat/completions", body: { model: name, messages: [{ role: "user", content: "Reply with the word ok." }], max_tokens: 8 }, check: "r['choices'][0]['message']['content'] is not None" };
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
          securityContext: { runAsNonRoot: true, runAsUser: "1000", seccompProfile: { type: "RuntimeDefault" } },
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
  });
}
