// Every Kubernetes provider class the library uses, by deep path (see ./aws.ts for why).
export { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
export { DaemonSetV1 } from "@cdktf/provider-kubernetes/lib/daemon-set-v1";
export { DeploymentV1 } from "@cdktf/provider-kubernetes/lib/deployment-v1";
export { JobV1 } from "@cdktf/provider-kubernetes/lib/job-v1";
export { NamespaceV1 } from "@cdktf/provider-kubernetes/lib/namespace-v1";
export { PodDisruptionBudgetV1 } from "@cdktf/provider-kubernetes/lib/pod-disruption-budget-v1";
export { ServiceAccountV1 } from "@cdktf/provider-kubernetes/lib/service-account-v1";
export { ServiceV1 } from "@cdktf/provider-kubernetes/lib/service-v1";
export { deploymentV1SpecTemplateSpecInitContainerToTerraform } from "@cdktf/provider-kubernetes/lib/deployment-v1";
export type { DeploymentV1SpecTemplateSpecContainerEnv, DeploymentV1SpecTemplateSpecInitContainer, DeploymentV1SpecTemplateSpecVolume } from "@cdktf/provider-kubernetes/lib/deployment-v1";
export type { JobV1SpecTemplateSpecContainerEnv } from "@cdktf/provider-kubernetes/lib/job-v1";
export { Manifest } from "@cdktf/provider-kubernetes/lib/manifest";
