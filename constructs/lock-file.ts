/**
 * models.lock.json: what `npx model-serving lock` read from the Hub or S3 (config.json, file list,
 * safetensors summary, commit sha). Synth reads only this file, found from the working directory.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface LockedModel {
  readonly id: string;
  readonly revision: string | null;
  readonly config: Record<string, unknown>;
  readonly files: readonly string[];
  readonly safetensors?: { readonly parameters: number; readonly bytes: number; readonly dtypes: Record<string, number> };
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
