/**
 * Built-in model catalog: real config.json files with their public source, revision and licence
 * (catalog/models/sources.json). Synth and the CLI read these offline; `lock` adds models that are
 * not here.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

const Row = z.object({
  id: z.string(),
  config: z.string(),
  source: z.string().min(1),
  capturedAt: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  transcribed: z.boolean(),
  revision: z.string().regex(/^[0-9a-f]{40}$/).nullable(),
  revisionSource: z.string().nullable(),
  parameterCount: z.number().int().positive().nullable(),
  parameterCountSource: z.string().nullable().optional(),
  gated: z.boolean(),
  license: z.string(),
  notes: z.string().optional(),
});
export type CatalogModel = z.infer<typeof Row> & { readonly configJson: Record<string, unknown> };

const dir = join(__dirname, "models");
const rows = z.array(Row).parse(JSON.parse(readFileSync(join(dir, "sources.json"), "utf8")));
const cache = new Map<string, CatalogModel>();

export function catalogModelIds(): string[] {
  return rows.map((r) => r.id);
}

export function findCatalogModel(id: string): CatalogModel | undefined {
  const hit = cache.get(id);
  if (hit) return hit;
  const row = rows.find((r) => r.id === id || r.id.toLowerCase() === id.toLowerCase());
  if (!row) return undefined;
  const model = { ...row, configJson: JSON.parse(readFileSync(join(dir, row.config), "utf8")) as Record<string, unknown> };
  cache.set(id, model);
  return model;
}
