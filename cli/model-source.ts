/** Resolve `--config`: a catalog model id or a path to any real config.json. */
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { catalogModelIds, findCatalogModel } from "../catalog/models";
import { error, PlanningError } from "../planner/findings";
import { parseConfigJson } from "../planner/config-json";
import { headerLength, parseHeader, shardsFromIndex, summarize, type SafetensorsHeader, type WeightsSummary } from "../planner/safetensors";

export interface LoadedConfig {
  readonly id: string;
  readonly config: unknown;
  /** Exact weights from the safetensors headers, when the model directory has them. */
  readonly safetensors?: WeightsSummary;
}

/** Read only the header of a .safetensors file: 8 bytes of length, then the JSON header. */
function readHeader(file: string): SafetensorsHeader {
  const fd = openSync(file, "r");
  try {
    const prefix = Buffer.alloc(8);
    readSync(fd, prefix, 0, 8, 0);
    const n = headerLength(prefix, file);
    const bytes = Buffer.alloc(8 + n);
    readSync(fd, bytes, 0, 8 + n, 0);
    return parseHeader(bytes, file);
  } finally {
    closeSync(fd);
  }
}

/** Summarise the safetensors weights of a model directory (sharded via model.safetensors.index.json). */
export function readSafetensorsDir(dir: string): WeightsSummary | undefined {
  const index = join(dir, "model.safetensors.index.json");
  const files = existsSync(index) ? shardsFromIndex(JSON.parse(readFileSync(index, "utf8")), index) : readdirSync(dir).filter((f) => f.endsWith(".safetensors")).sort();
  if (!files.length) return undefined;
  return summarize(files.map((f) => readHeader(join(dir, f))));
}

export function loadConfig(ref: string): LoadedConfig {
  const model = findCatalogModel(ref);
  if (model) return { id: model.id, config: model.configJson };
  const isDir = existsSync(ref) && statSync(ref).isDirectory();
  const file = isDir ? join(ref, "config.json") : ref;
  if (existsSync(file)) {
    let config: unknown;
    try {
      config = parseConfigJson(readFileSync(file, "utf8"));
    } catch (e) {
      throw new PlanningError([
        error("CONFIG_INVALID", "--config", { field: "--config", problem: `${file} is not valid JSON (${(e as Error).message})`, why: "config.json must parse to read the model's sizes", fix: "point at the model's real config.json" }),
      ]);
    }
    // Safetensors problems surface with their own code (SAFETENSORS_INVALID), not as a config.json error.
    const safetensors = isDir ? readSafetensorsDir(ref) : undefined;
    return { id: ref, config, ...(safetensors ? { safetensors } : {}) };
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
