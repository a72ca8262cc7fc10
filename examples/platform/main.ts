/**
 * Platform: a team's existing Terraform stack — its own VPC, database and log bucket, and one AWS
 * provider per region — that composes model serving into two EKS clusters it already runs, one in
 * us-east-1 and one in eu-west-1. The library's resources bind to the provider of their region, its
 * policy rules judge only what it creates, and each cluster gets its own serving plan.
 *
 *   cd examples/platform && npx cdktf synth
 *
 * writes cdktf.out/stacks/platform/{cdk.tf.json, serving-plan.us.json/md, serving-plan.eu.json/md}.
 */
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { DbInstance } from "@cdktf/provider-aws/lib/db-instance";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { App, LocalBackend, TerraformStack } from "cdktf";
import { GpuCluster, ImportedModel, InferenceEndpoint, ModelSource, SecretRef, synthOrExit } from "cdktf-model-serving";

const app = new App();
const platform = new TerraformStack(app, "platform");
new LocalBackend(platform, { path: "../../../terraform.platform.tfstate" });

// The team's providers: one per region, both aliased (there is no default AWS provider in this stack).
const us = new AwsProvider(platform, "aws-us", { alias: "us", region: "us-east-1" });
const eu = new AwsProvider(platform, "aws-eu", { alias: "eu", region: "eu-west-1" });

// What the stack already held before model serving: a VPC, a database and a log bucket of its own.
const vpc = new Vpc(platform, "vpc", { provider: us, cidrBlock: "10.20.0.0/16", tags: { Name: "platform" } });
const data = new Subnet(platform, "data-subnet", { provider: us, vpcId: vpc.id, cidrBlock: "10.20.1.0/24" });
new DbInstance(platform, "orders-db", { provider: us, identifier: "orders", engine: "postgres", engineVersion: "16.4", instanceClass: "db.t4g.medium", allocatedStorage: 50, username: "orders", manageMasterUserPassword: true, dbSubnetGroupName: data.id, storageEncrypted: true, skipFinalSnapshot: false, finalSnapshotIdentifier: "orders-final" });
new S3Bucket(platform, "access-logs", { provider: us, bucket: "acme-platform-access-logs" });

// The GPU clusters the platform team runs; External Secrets already syncs Secrets Manager secrets in both.
const clusters = {
  us: GpuCluster.fromExisting(platform, "us", {
    awsProvider: us,
    clusterName: "platform-use1",
    subnetIds: ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"],
    namespace: "llm",
    quotas: { "L-DB2E81BA": 192 },
    addons: { externalSecrets: true },
  }),
  eu: GpuCluster.fromExisting(platform, "eu", {
    awsProvider: eu,
    clusterName: "platform-euw1",
    subnetIds: ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
    namespace: "llm",
    quotas: { "L-DB2E81BA": 96 },
    addons: { externalSecrets: true },
  }),
};

// The same chat model in both regions (data stays in its region), embeddings only in the US.
const hfToken = SecretRef.fromSecretsManager("arn:aws:secretsmanager:us-east-1:111122223333:secret:hf-token");
for (const [region, cluster] of Object.entries(clusters)) {
  const llama = new ImportedModel(platform, `${region}-llama`, {
    source: ModelSource.huggingFace("meta-llama/Llama-3.1-8B-Instruct", { revision: "0e9e39f249a16976918f6564b8830bc894c89659", token: hfToken }),
  });
  new InferenceEndpoint(platform, `${region}-chat`, { cluster, model: llama, name: "chat", maxModelLen: 8192, minConcurrency: 4, replicas: 2 });
}
const bge = new ImportedModel(platform, "us-bge", { source: ModelSource.huggingFace("BAAI/bge-large-en-v1.5", { revision: "d4aa6901d3a41ba39fb536a557fa166f842b0e09" }) });
new InferenceEndpoint(platform, "us-embeddings", { cluster: clusters.us, model: bge, name: "embeddings", maxModelLen: 512 });

synthOrExit(app);
