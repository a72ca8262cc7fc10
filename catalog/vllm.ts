/**
 * The pinned vLLM release: image, the architectures its model registry serves (with the capability
 * each maps to) and the routes of its OpenAI-compatible server — read from that release's source
 * (catalog/vllm/README.md says where).
 */
import release from "./vllm/release.json";

export type ArchitectureCapability = "TEXT_TO_TEXT" | "IMAGE_TEXT_TO_TEXT" | "EMBEDDING" | "RERANK";

interface ArchitectureRow {
  readonly capability: ArchitectureCapability | null;
  readonly registryGroup: string;
  readonly runner?: string;
}

const r = release as unknown as {
  version: string;
  image: string;
  releasedAt: string;
  source: string;
  architectures: Record<string, ArchitectureRow>;
  flags?: Record<string, { exists: boolean }>;
};

export const VLLM_RELEASE = {
  version: r.version.replace(/^v/, ""),
  image: r.image,
  releasedAt: r.releasedAt,
  source: r.source,
} as const;

/** The architecture's capability in the pinned release, `null` when it is registered but not servable here, `undefined` when unknown. */
export function architectureCapability(architecture: string): ArchitectureCapability | null | undefined {
  const row = r.architectures[architecture];
  return row === undefined ? undefined : row.capability;
}

export function supportedArchitectures(): string[] {
  return Object.keys(r.architectures).filter((a) => r.architectures[a].capability !== null);
}
