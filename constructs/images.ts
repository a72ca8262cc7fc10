/**
 * Container images, each rendered by one helper: `repository:tag@sha256:…` when a digest is pinned,
 * so a node runs exactly the bytes that were reviewed (CKV_K8S_43), and the tag stays readable beside it.
 * The vLLM image's digest is recorded per release in catalog/vllm/releases.json; a release without
 * one is pinned by tag, and the plan carries a suppression saying so.
 */
import { findImage } from "../catalog/images";
import type { VllmRelease } from "../planner/engine";

/** `repository:tag@digest`, or `repository:tag` when no digest is known. */
export function imageReference(repository: string, tag: string, digest?: string | null): string {
  return `${repository}:${tag}${digest ? `@${digest}` : ""}`;
}

function catalogImage(name: string): string {
  const i = findImage(name);
  return imageReference(i.repository, i.tag, i.digest);
}

export const AWS_CLI_IMAGE = catalogImage("aws-cli");

/** The image of a vLLM release: `repository:tag`, pinned by its published multi-arch digest when one is known. */
export function vllmImage(release: VllmRelease): string {
  const i = release.imageTag.lastIndexOf(":");
  return imageReference(release.imageTag.slice(0, i), release.imageTag.slice(i + 1), release.digest?.value);
}
