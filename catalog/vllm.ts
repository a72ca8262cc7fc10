/**
 * The pinned vLLM release: image, the architectures its model registry serves (with the capability
 * each maps to) and the routes of its OpenAI-compatible server — read from that release's source
 * (catalog/vllm/README.md says where).
 */
import release from "./vllm/release.json";
import registryJson from "./vllm/registry.json";

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

interface RegistryDiff {
  readonly commit: string;
  readonly notRegistered: readonly string[];
  readonly onlyHere: Readonly<Record<string, { capability: ArchitectureCapability | null; registryGroup: string }>>;
}
const registry = registryJson as unknown as { base: string; releases: Record<string, RegistryDiff> };

/** The releases whose registry was read: v0.24.0's in full, the other servable ones as differences from it. */
export function registryReleases(): string[] {
  return [registry.base, ...Object.keys(registry.releases)];
}

/**
 * The architecture's capability in a vLLM release's model registry: `null` when it is registered but not servable
 * as an endpoint, `undefined` when that release does not register it. Without a release (or for one whose registry
 * was not read), the pinned release's registry.
 */
export function architectureCapability(architecture: string, version?: string): ArchitectureCapability | null | undefined {
  const diff = version ? registry.releases[version] : undefined;
  if (diff?.onlyHere[architecture]) return diff.onlyHere[architecture].capability;
  if (diff?.notRegistered.includes(architecture)) return undefined;
  const row = r.architectures[architecture];
  return row === undefined ? undefined : row.capability;
}

/** The read releases that register the architecture, newest first. */
export function releasesRegistering(architecture: string): string[] {
  return registryReleases().filter((v) => architectureCapability(architecture, v) !== undefined);
}

export function supportedArchitectures(): string[] {
  return Object.keys(r.architectures).filter((a) => r.architectures[a].capability !== null);
}
