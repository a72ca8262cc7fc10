/**
 * ClusterKey: the cluster's customer-managed KMS key, with an explicit key policy (CKV2_AWS_64) instead
 * of the implicit default: the account administers it through IAM, the EKS cluster role may use it for
 * envelope encryption of Secrets, and CloudWatch Logs may use it only for the cluster's own log groups
 * (control plane, VPC flow logs), named in the key policy's encryption-context condition.
 */
import { Lazy } from "cdktf";
import { Construct } from "constructs";
import { DataAwsCallerIdentity, DataAwsPartition, DataAwsRegion, KmsKey } from "./bindings/aws";

export interface ClusterKeyProps {
  readonly description: string;
  readonly tags?: Record<string, string>;
}

export class ClusterKey extends Construct {
  readonly key: KmsKey;
  private readonly logGroups: string[] = [];
  private readonly users: string[] = [];
  private readonly account: string;
  private readonly partition: string;
  private readonly region: string;

  constructor(scope: Construct, id: string, props: ClusterKeyProps) {
    super(scope, id);
    this.account = new DataAwsCallerIdentity(this, "account").accountId;
    this.partition = new DataAwsPartition(this, "partition").partition;
    this.region = new DataAwsRegion(this, "region").region;
    this.key = new KmsKey(this, "Resource", {
      description: props.description,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      // Rendered at synth: log groups and users are added after the key exists.
      policy: Lazy.stringValue({ produce: () => JSON.stringify(this.policyDocument()) }),
      ...(props.tags ? { tags: props.tags } : {}),
    });
  }

  get arn(): string {
    return this.key.arn;
  }

  /** The ARN a log group of this name has in the key's account and region. */
  logGroupArn(name: string): string {
    return `arn:${this.partition}:logs:${this.region}:${this.account}:log-group:${name}`;
  }

  /** Let CloudWatch Logs encrypt the log group of this name with the key. */
  allowLogGroup(name: string): void {
    this.logGroups.push(name);
  }

  /** Let this IAM role (by ARN) encrypt and decrypt with the key: the EKS cluster role, for Secrets. */
  allowUse(roleArn: string): void {
    this.users.push(roleArn);
  }

  private policyDocument() {
    const statements: Record<string, unknown>[] = [
      {
        Sid: "AccountAdministersThroughIam",
        Effect: "Allow",
        Principal: { AWS: `arn:${this.partition}:iam::${this.account}:root` },
        Action: "kms:*",
        Resource: "*",
      },
    ];
    if (this.users.length) {
      statements.push({
        Sid: "ClusterEncryptsSecrets",
        Effect: "Allow",
        Principal: { AWS: this.users.length === 1 ? this.users[0] : [...this.users] },
        Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:CreateGrant", "kms:ListGrants"],
        Resource: "*",
      });
    }
    if (this.logGroups.length) {
      statements.push({
        Sid: "CloudWatchLogsEncryptsTheClusterLogGroups",
        Effect: "Allow",
        Principal: { Service: `logs.${this.region}.amazonaws.com` },
        Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        Resource: "*",
        Condition: { ArnEquals: { "kms:EncryptionContext:aws:logs:arn": this.logGroups.map((g) => this.logGroupArn(g)) } },
      });
    }
    return { Version: "2012-10-17", Statement: statements };
  }
}
