/**
 * ModelStore: the S3 bucket that holds model weights — private, versioned, encrypted, public access
 * blocked, TLS only, and protected from `terraform destroy` unless deletion is explicitly allowed —
 * plus one staging Job per Hub model that copies the pinned revision into the bucket and refuses to
 * report success unless config.json, safetensors weights and a tokenizer arrived.
 */
import { TerraformStack } from "cdktf";
import { Construct } from "constructs";
import type { Finding } from "../planner/findings";
import {
  DataAwsIamPolicyDocument, EksPodIdentityAssociation, IamPolicy, IamRole, IamRolePolicyAttachment, S3Bucket, S3BucketOwnershipControls,
  S3BucketLifecycleConfiguration, S3BucketPolicy, S3BucketPublicAccessBlock, S3BucketServerSideEncryptionConfigurationA, S3BucketVersioningA,
} from "./bindings/aws";
import { JobV1, ServiceAccountV1 } from "./bindings/k8s";
import type { GpuClusterBase } from "./gpu-cluster";
import { AWS_CLI_IMAGE, vllmImage } from "./images";
import { freeId, idFindings } from "./coded-errors";
import { markOwned } from "./policy-scope";
import { RESTRICTED_CONTAINER, RESTRICTED_POD } from "./pod-security";
import { registerFindings } from "./preflight";
import { ModelSource } from "./model-source";
import { deriveName } from "../planner/names";
import { ALL_OF_S3, AWS_ACCOUNT, claimName, namespaceScope, userNameFindings } from "./name-claims";

export interface ModelStoreProps {
  readonly cluster: GpuClusterBase;
  /**
   * The bucket's name (S3 names are global across all accounts). @default - a unique name Terraform
   * makes from bucket_prefix "<cluster>-models-" (shortened with a hash when long) and a suffix
   */
  readonly bucketName?: string;
  /**
   * Allow `terraform destroy` to delete the bucket and the weights in it: the code form of the
   * managed services' "type confirm to delete". @default false (lifecycle.prevent_destroy)
   */
  readonly allowDestroy?: boolean;
}

const STAGE_DIR = "/stage";
/** Days an overwritten (noncurrent) object version is kept before it expires. */
export const NONCURRENT_VERSION_DAYS = 30;
/** Days before the parts of an unfinished multipart upload are deleted. */
export const ABORTED_UPLOAD_DAYS = 7;

export class ModelStore extends Construct {
  readonly bucket: S3Bucket;
  readonly bucketName: string;
  readonly findings: Finding[] = [];
  readonly cluster: GpuClusterBase;

  constructor(scope: Construct, id: string, props: ModelStoreProps) {
    super(scope, freeId(scope, id));
    this.findings.push(...idFindings(this, id, "ModelStore"));
    this.cluster = props.cluster;
    markOwned(this, () => props.cluster);
    if (props.bucketName !== undefined) {
      this.findings.push(...userNameFindings("S3_BUCKET_NAME_INVALID", this.node.path, "bucketName", "s3BucketName", props.bucketName));
      claimName(this, "S3 bucket", ALL_OF_S3, props.bucketName, "s3BucketName");
    }
    registerFindings(this);
    // The bucket and the staging Jobs are workloads of the cluster: they live beside its endpoints.
    props.cluster.workloadsIn(TerraformStack.of(this)).adopt(this);
    props.cluster.attach(this);
    const tags = { "model-serving:cluster": props.cluster.clusterName, "model-serving:purpose": "model-weights" };
    // S3 names are global: without a given name, Terraform makes a unique one from the prefix (37 characters at most).
    const bucketPrefix = `${deriveName("s3BucketPrefix", [props.cluster.clusterName.toLowerCase(), "models"], { maxLength: 36 })}-`;
    this.bucket = new S3Bucket(this, "Resource", {
      ...(props.bucketName !== undefined ? { bucket: props.bucketName } : { bucketPrefix }),
      forceDestroy: false,
      tags,
      lifecycle: { preventDestroy: props.allowDestroy !== true },
    });
    this.bucketName = props.bucketName ?? this.bucket.bucket;
    new S3BucketOwnershipControls(this, "ownership", { bucket: this.bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } });
    new S3BucketPublicAccessBlock(this, "public-access-block", { bucket: this.bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
    const versioning = new S3BucketVersioningA(this, "versioning", { bucket: this.bucket.id, versioningConfiguration: { status: "Enabled" } });
    // Versioning keeps every overwritten copy of multi-GB weights: expire old versions, and drop the parts
    // of uploads a staging Job abandoned (CKV2_AWS_61, CKV_AWS_300).
    new S3BucketLifecycleConfiguration(this, "lifecycle", {
      bucket: this.bucket.id,
      rule: [
        {
          id: "expire-old-versions-and-abandoned-uploads",
          status: "Enabled",
          filter: [{}],
          noncurrentVersionExpiration: [{ noncurrentDays: NONCURRENT_VERSION_DAYS }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: ABORTED_UPLOAD_DAYS }],
        },
      ],
      dependsOn: [versioning],
    });
    new S3BucketServerSideEncryptionConfigurationA(this, "encryption", { bucket: this.bucket.id, rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" }, bucketKeyEnabled: true }] });
    const tlsOnly = new DataAwsIamPolicyDocument(this, "tls-only", {
      statement: [
        {
          sid: "DenyInsecureTransport",
          effect: "Deny",
          actions: ["s3:*"],
          principals: [{ type: "*", identifiers: ["*"] }],
          resources: [this.bucket.arn, `${this.bucket.arn}/*`],
          condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
        },
      ],
    });
    new S3BucketPolicy(this, "policy", { bucket: this.bucket.id, policy: tlsOnly.json });
  }

  /** @internal */
  findingsForPreflight(): readonly Finding[] {
    return this.findings;
  }

  /** Where a Hub model at a revision lives in the store. */
  uriFor(source: ModelSource): string {
    return `s3://${this.bucketName}/${this.prefixFor(source)}`;
  }

  /** The store's copy of a Hub model, as a source endpoints load from. */
  sourceFor(source: ModelSource): ModelSource {
    return ModelSource.fromStore(this.bucketName, this.prefixFor(source));
  }

  private prefixFor(source: ModelSource): string {
    return `models/${source.id}/${source.revision}/`;
  }

  /** Copy a Hub model at its pinned revision into the store, checking the files vLLM needs. */
  stage(id: string, source: ModelSource, weightsGiB: number, modelPath = this.node.path): JobV1 {
    const scope = new Construct(this, `stage-${id}`);
    const cluster = this.cluster;
    const token = source.token ? cluster.workloadsIn(TerraformStack.of(this)).secretKeyRef(source.token, modelPath, "source.token") : undefined;
    const namespace = cluster.namespace;
    // The Job's name becomes its pods' job-name label: a DNS-1123 label of at most 63 characters.
    const name = deriveName("jobName", ["stage", id]);
    const prefix = this.prefixFor(source);
    const k8sScope = namespaceScope(cluster.clusterName, namespace);
    claimName(scope, "Kubernetes Job", k8sScope, name, "jobName");
    claimName(scope, "Kubernetes ServiceAccount", k8sScope, name);
    const roleName = deriveName("iamRoleName", [cluster.clusterName, "stage", id]);
    const policyName = deriveName("iamPolicyName", [cluster.clusterName, "stage", id]);
    claimName(scope, "IAM role", AWS_ACCOUNT, roleName, "iamRoleName");
    claimName(scope, "IAM policy", AWS_ACCOUNT, policyName, "iamPolicyName");
    const role = new IamRole(scope, "role", {
      name: roleName,
      assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] }] }),
    });
    const statements = [
      { effect: "Allow", actions: ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"], resources: [`${this.bucket.arn}/${prefix}*`] },
      { effect: "Allow", actions: ["s3:ListBucket"], resources: [this.bucket.arn], condition: [{ test: "StringLike", variable: "s3:prefix", values: [`${prefix}*`] }] },
    ];
    const doc = new DataAwsIamPolicyDocument(scope, "policy-document", { statement: statements });
    const policy = new IamPolicy(scope, "policy", { name: policyName, policy: doc.json });
    new IamRolePolicyAttachment(scope, "policy-attachment", { role: role.name, policyArn: policy.arn });
    const sa = new ServiceAccountV1(scope, "service-account", { metadata: { name, namespace }, automountServiceAccountToken: false, dependsOn: [cluster.namespaceResource()] });
    new EksPodIdentityAssociation(scope, "pod-identity", { clusterName: cluster.clusterName, namespace, serviceAccount: sa.metadata.name, roleArn: role.arn });

    const restricted = RESTRICTED_CONTAINER;
    const download = [
      "import os, sys",
      "from huggingface_hub import snapshot_download",
      `d = snapshot_download(${JSON.stringify(source.id)}, revision=${JSON.stringify(source.revision)}, local_dir=${JSON.stringify(`${STAGE_DIR}/model`)},`,
      "    allow_patterns=['*.json', '*.safetensors', 'tokenizer*', '*.model', '*.tiktoken', 'vocab.txt', 'merges.txt'])",
      "names = os.listdir(d)",
      "missing = [m for m, ok in [('config.json', 'config.json' in names), ('*.safetensors weights', any(n.endswith('.safetensors') for n in names)), ('a tokenizer', any(n.startswith('tokenizer') or n in ('vocab.txt', 'tekken.json') or n.endswith('.model') for n in names))] if not ok]",
      "if missing: sys.exit('staging refused: the snapshot lacks ' + ', '.join(missing))",
      "print('staged', len(names), 'files')",
    ].join("\n");
    const tokenEnv = token ? [{ name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: token.name, key: token.key } } }] : [];
    return new JobV1(scope, "job", {
      metadata: { name, namespace, labels: { "app.kubernetes.io/component": "model-staging", "app.kubernetes.io/managed-by": "cdktf-model-serving" } },
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
            securityContext: RESTRICTED_POD,
            initContainer: [
              {
                name: "download",
                image: vllmImage(cluster.vllm),
                command: ["python3", "-c", download],
                env: [{ name: "HOME", value: "/tmp" }, { name: "HF_HUB_DISABLE_TELEMETRY", value: "1" }, ...tokenEnv],
                securityContext: restricted,
                resources: { requests: { cpu: "1", memory: "2Gi" }, limits: { cpu: "1", memory: "2Gi" } },
                volumeMount: [{ name: "stage", mountPath: STAGE_DIR }, { name: "tmp", mountPath: "/tmp" }],
              },
            ],
            container: [
              {
                name: "upload",
                image: AWS_CLI_IMAGE,
                command: ["aws", "s3", "sync", "--only-show-errors", `${STAGE_DIR}/model`, `s3://${this.bucketName}/${prefix}`],
                env: [{ name: "HOME", value: "/tmp" }],
                securityContext: restricted,
                resources: { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "1", memory: "1Gi" } },
                volumeMount: [{ name: "stage", mountPath: STAGE_DIR }, { name: "tmp", mountPath: "/tmp" }],
              },
            ],
            volume: [
              { name: "stage", emptyDir: { sizeLimit: `${Math.ceil(weightsGiB * 1.2) + 2}Gi` } },
              { name: "tmp", emptyDir: { sizeLimit: "1Gi" } },
            ],
          },
        },
      },
      dependsOn: [this.bucket, ...(token?.sync ? [token.sync] : [])],
    });
  }
}
