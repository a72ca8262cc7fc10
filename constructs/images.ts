import type { VllmRelease } from "../planner/engine";

/** Container images the library runs besides vLLM (whose release comes from catalog/vllm/releases.json). */
export const AWS_CLI_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.22.35";
export const NVIDIA_DEVICE_PLUGIN_IMAGE = "nvcr.io/nvidia/k8s-device-plugin:v0.17.0";

/** The image of a vLLM release: `repository:tag`, pinned by its published multi-arch digest when one is known. */
export function vllmImage(release: VllmRelease): string {
  return release.digest ? `${release.imageTag}@${release.digest.value}` : release.imageTag;
}
