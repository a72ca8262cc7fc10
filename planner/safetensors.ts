/**
 * safetensors headers: an 8-byte little-endian header length, then a JSON header mapping tensor names
 * to dtype, shape and data offsets. Summing numel × dtype size over the headers gives a checkpoint's
 * exact parameter count and bytes without reading the weights. Sharded checkpoints list their files
 * in model.safetensors.index.json.
 */
import { error, PlanningError } from "./findings";

export const SAFETENSORS_DTYPE_BYTES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1, F8_E8M0: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, I64: 8, U64: 8, F64: 8,
};

export interface TensorInfo {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly dataOffsets: readonly [number, number];
}

export interface SafetensorsHeader {
  readonly headerBytes: number;
  readonly tensors: Readonly<Record<string, TensorInfo>>;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface WeightsSummary {
  /** Elements over all tensors (packed int4 tensors count their storage elements). */
  readonly parameters: number;
  readonly bytes: number;
  /** Bytes per dtype, sorted by dtype name. */
  readonly dtypes: Readonly<Record<string, number>>;
  readonly tensors: number;
}

function invalid(path: string, problem: string): PlanningError {
  return new PlanningError([
    error("SAFETENSORS_INVALID", path, { field: "safetensors header", problem, why: "vLLM would fail to load the checkpoint", fix: "re-save the weights with safetensors (save_file / save_pretrained(safe_serialization=True))" }),
  ]);
}

/** Length of the JSON header, from the first 8 bytes of a .safetensors file. */
export function headerLength(prefix: Uint8Array, path: string): number {
  if (prefix.byteLength < 8) throw invalid(path, "the file is shorter than the 8-byte header length");
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const n = Number(view.getBigUint64(0, true));
  if (n <= 0 || n > 100 * 1024 * 1024) throw invalid(path, `the header length ${n} is not a plausible size (1 byte to 100 MiB)`);
  return n;
}

/** Parse the header from the first 8 + N bytes of a .safetensors file. */
export function parseHeader(bytes: Uint8Array, path: string): SafetensorsHeader {
  const n = headerLength(bytes, path);
  if (bytes.byteLength < 8 + n) throw invalid(path, `the header claims ${n} bytes but only ${bytes.byteLength - 8} are present`);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
  } catch {
    throw invalid(path, "the header is not valid JSON");
  }
  const tensors: Record<string, TensorInfo> = {};
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json)) {
    if (name === "__metadata__") {
      metadata = raw as Record<string, string>;
      continue;
    }
    const t = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof t.dtype !== "string" || !(t.dtype in SAFETENSORS_DTYPE_BYTES)) throw invalid(path, `tensor "${name}" has unknown dtype ${JSON.stringify(t.dtype)}`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= 0)) throw invalid(path, `tensor "${name}" has an invalid shape`);
    if (!Array.isArray(t.data_offsets) || t.data_offsets.length !== 2) throw invalid(path, `tensor "${name}" has invalid data_offsets`);
    const [begin, end] = t.data_offsets as [number, number];
    const numel = (t.shape as number[]).reduce((a, d) => a * d, 1);
    if (end - begin !== numel * SAFETENSORS_DTYPE_BYTES[t.dtype]) throw invalid(path, `tensor "${name}" spans ${end - begin} bytes but ${t.dtype}${JSON.stringify(t.shape)} needs ${numel * SAFETENSORS_DTYPE_BYTES[t.dtype]}`);
    tensors[name] = { dtype: t.dtype, shape: t.shape as number[], dataOffsets: [begin, end] };
  }
  // The format stores tensors back to back: sorted by offset, each starts where the previous ended.
  const spans = Object.entries(tensors).sort(([, a], [, b]) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let cursor = 0;
  for (const [name, t] of spans) {
    if (t.dataOffsets[0] !== cursor) throw invalid(path, `tensor "${name}" starts at byte ${t.dataOffsets[0]} but the previous tensor ends at ${cursor} (offsets must be contiguous and must not overlap)`);
    cursor = t.dataOffsets[1];
  }
  return { headerBytes: n, tensors, metadata };
}

export function summarize(headers: readonly SafetensorsHeader[]): WeightsSummary {
  let parameters = 0;
  let bytes = 0;
  let count = 0;
  const dtypes: Record<string, number> = {};
  for (const h of headers) {
    for (const t of Object.values(h.tensors)) {
      const numel = t.shape.reduce((a, d) => a * d, 1);
      const b = numel * SAFETENSORS_DTYPE_BYTES[t.dtype];
      parameters += numel;
      bytes += b;
      count++;
      dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + b;
    }
  }
  const sorted = Object.fromEntries(Object.entries(dtypes).sort(([a], [b]) => a.localeCompare(b)));
  return { parameters, bytes, dtypes: sorted, tensors: count };
}

/** Shard file names from a model.safetensors.index.json, sorted and de-duplicated. */
export function shardsFromIndex(index: unknown, path: string): string[] {
  const map = (index as { weight_map?: Record<string, string> } | null)?.weight_map;
  if (!map || typeof map !== "object") throw invalid(path, "model.safetensors.index.json has no weight_map");
  return [...new Set(Object.values(map))].sort();
}
