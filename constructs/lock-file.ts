/**
 * models.lock.json: what `npx model-serving lock` read from the Hub or S3 (config.json, file list,
 * safetensors summary, commit sha). Synth reads only this file, found from the working directory.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface LockedModel {
  /** Hub repo id, or the s3://bucket/prefix/ URI. */
  readonly id: string;
  /** The 40-hex commit sha the lock resolved (null for S3, whose objects carry ETags instead). */
  readonly revision: string | null;
  /** Where the files were read. @default "huggingface" (entries written before this field) */
  readonly source?: "huggingface" | "s3";
  /** config.json, verbatim (keys sorted); `{}` for a PEFT adapter repository, which has none. */
  readonly config: Record<string, unknown>;
  /** Every file of the revision or prefix, relative to its root, sorted. */
  readonly files: readonly string[];
  /** Whether the files include a tokenizer vLLM can load. */
  readonly tokenizer?: boolean;
  /** adapter_config.json of a PEFT (LoRA) adapter, verbatim (keys sorted). */
  readonly adapterConfig?: Record<string, unknown>;
  /** Summed from the safetensors headers (elements, bytes, bytes per dtype). */
  readonly safetensors?: { readonly parameters: number; readonly bytes: number; readonly dtypes: Record<string, number>; readonly tensors?: number };
  /** S3 only: each object's ETag, keyed like `files` — what a commit sha is to the Hub. */
  readonly etags?: Record<string, string>;
}

export const LOCK_FILE = "models.lock.json";

let cached: { path: string; models: LockedModel[] } | undefined;

export function readLock(dir = process.cwd()): LockedModel[] {
  const path = join(dir, LOCK_FILE);
  if (cached?.path === path) return cached.models;
  const models = existsSync(path) ? ((JSON.parse(readFileSync(path, "utf8")) as { models?: LockedModel[] }).models ?? []) : [];
  cached = { path, models };
  return models;
}

export function findLockedModel(id: string, revision: string | null, dir?: string): LockedModel | undefined {
  return readLock(dir).find((m) => m.id === id && (revision === null || m.revision === revision));
}
