/**
 * Container images, each rendered by one helper: `repository:tag@sha256:…` when a digest is pinned,
 * so a node runs exactly the bytes that were reviewed (CKV_K8S_43), and the tag stays readable beside it.
 * The vLLM image's digest is recorded per release in catalog/vllm/release.json (`imageDigest`);
 * until a release has one it is pinned by tag, and the plan carries a suppression saying so.
 */
import { findImage } from "../catalog/images";
import { VLLM_RELEASE } from "../catalog/vllm";

/** `repository:tag@digest`, or `repository:tag` when no digest is known. */
export function imageReference(repository: string, tag: string, digest?: string | null): string {
  return `${repository}:${tag}${digest ? `@${digest}` : ""}`;
}

function catalogImage(name: string): string {
  const i = findImage(name);
  return imageReference(i.repository, i.tag, i.digest);
}

export const AWS_CLI_IMAGE = catalogImage("aws-cli");
export const NVIDIA_DEVICE_PLUGIN_IMAGE = catalogImage("nvidia-device-plugin");

/** The pinned vLLM release's digest, once the release data records one (`imageDigest` in catalog/vllm/release.json). */
export const VLLM_IMAGE_DIGEST: string | undefined = (VLLM_RELEASE as { readonly imageDigest?: string | null }).imageDigest ?? undefined;
const [vllmRepository, vllmTag] = [VLLM_RELEASE.image.slice(0, VLLM_RELEASE.image.lastIndexOf(":")), VLLM_RELEASE.image.slice(VLLM_RELEASE.image.lastIndexOf(":") + 1)];
export const VLLM_IMAGE = imageReference(vllmRepository, vllmTag, VLLM_IMAGE_DIGEST);
