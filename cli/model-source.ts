/** Resolve `--config`: a catalog model id or a path to any real config.json. */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { catalogModelIds, findCatalogModel } from "../catalog/models";
import { error, PlanningError } from "../planner/findings";

export interface LoadedConfig {
  readonly id: string;
  readonly config: unknown;
}

export function loadConfig(ref: string): LoadedConfig {
  const model = findCatalogModel(ref);
  if (model) return { id: model.id, config: model.configJson };
  const file = existsSync(ref) && statSync(ref).isDirectory() ? join(ref, "config.json") : ref;
  if (existsSync(file)) {
    try {
      return { id: ref, config: JSON.parse(readFileSync(file, "utf8")) };
    } catch (e) {
      throw new PlanningError([
        error("CONFIG_INVALID", "--config", { field: "--config", problem: `${file} is not valid JSON (${(e as Error).message})`, why: "config.json must parse to read the model's sizes", fix: "point at the model's real config.json" }),
      ]);
    }
  }
  throw new PlanningError([
    error("CONFIG_NOT_FOUND", "--config", {
      field: "--config",
      problem: `"${ref}" is neither a file nor a model in the built-in catalog`,
      why: "the sizer needs the model's config.json",
      fix: `pass a path to a config.json, or one of: ${catalogModelIds().join(", ")}`,
    }),
  ]);
}
