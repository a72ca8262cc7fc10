/**
 * safetensors headers of real files written to a temp dir: header parsing, exact summaries over a
 * sharded checkpoint, and coded SAFETENSORS_INVALID errors for broken files.
 */
import { closeSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PlanningError } from "../planner/findings";
import { profileFromConfig } from "../planner/model-profile";
import { headerLength, parseHeader, shardsFromIndex, summarize } from "../planner/safetensors";
import { parameterCount } from "../planner/weights";
import { DTYPE_SIZE, encodeRaw, encodeSafetensors, numel, tempDir, TINY_LLAMA_CONFIG, tinyLlamaTensors, writeShardedCheckpoint, type TensorSpec } from "./fixtures/safetensors";

let dir: string;
beforeAll(() => {
  dir = tempDir();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** Read only the header of a file: 8 bytes, then N more — the way a lock reads a remote file with range requests. */
function readHeaderPrefix(path: string): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const len = Buffer.alloc(8);
    readSync(fd, len, 0, 8, 0);
    const n = Number(len.readBigUInt64LE(0));
    const out = Buffer.alloc(8 + n);
    len.copy(out, 0);
    readSync(fd, out, 8, n, 8);
    return out;
  } finally {
    closeSync(fd);
  }
}

function invalid(bytes: Uint8Array, path = "weights/model.safetensors"): PlanningError {
  try {
    parseHeader(bytes, path);
  } catch (e) {
    if (e instanceof PlanningError) return e;
    throw e;
  }
  throw new Error("expected SAFETENSORS_INVALID, but the header parsed");
}

const SAMPLE: TensorSpec[] = [
  { name: "embed.weight", dtype: "BF16", shape: [10, 4] },
  { name: "norm.weight", dtype: "F32", shape: [4] },
  { name: "qweight", dtype: "I32", shape: [4, 2] },
  { name: "scalar", dtype: "F16", shape: [] },
];

describe("safetensors header parsing", () => {
  it("reads the header length from the first 8 bytes, little-endian", () => {
    const bytes = encodeSafetensors(SAMPLE);
    const expected = bytes[0] + bytes[1] * 256 + bytes[2] * 65536; // the JSON here is far below 16 MiB
    expect(headerLength(bytes, "f")).toBe(expected);
    expect(expected % 8).toBe(0); // the writer pads the JSON with spaces to 8-byte alignment
  });

  it("returns every tensor's dtype, shape and data offsets, and the __metadata__ map", () => {
    const path = write("sample.safetensors", encodeSafetensors(SAMPLE, { format: "pt", producer: "test" }));
    const h = parseHeader(readFileSync(path), path);
    expect(h.metadata).toEqual({ format: "pt", producer: "test" });
    expect(Object.keys(h.tensors).sort()).toEqual(["embed.weight", "norm.weight", "qweight", "scalar"]);
    // Offsets as the writer laid the tensors out: 80 bytes of BF16, 16 of F32, 32 of I32, 2 of F16.
    expect(h.tensors["embed.weight"]).toEqual({ dtype: "BF16", shape: [10, 4], dataOffsets: [0, 80] });
    expect(h.tensors["norm.weight"]).toEqual({ dtype: "F32", shape: [4], dataOffsets: [80, 96] });
    expect(h.tensors["qweight"]).toEqual({ dtype: "I32", shape: [4, 2], dataOffsets: [96, 128] });
    expect(h.tensors["scalar"]).toEqual({ dtype: "F16", shape: [], dataOffsets: [128, 130] });
  });

  it("parses from the header bytes alone, without the tensor data", () => {
    const path = write("prefix.safetensors", encodeSafetensors(SAMPLE));
    const prefix = readHeaderPrefix(path);
    expect(prefix.byteLength).toBeLessThan(readFileSync(path).byteLength);
    expect(parseHeader(prefix, path)).toEqual(parseHeader(readFileSync(path), path));
  });

  it("reads a header that is a multi-byte UTF-8 tensor name correctly", () => {
    const bytes = encodeSafetensors([{ name: "größe.weight", dtype: "F32", shape: [3] }]);
    expect(Object.keys(parseHeader(bytes, "f").tensors)).toEqual(["größe.weight"]);
  });
});

describe("summary of a sharded checkpoint", () => {
  const shard1: TensorSpec[] = [
    { name: "model.embed_tokens.weight", dtype: "BF16", shape: [128, 32] },
    { name: "model.layers.0.self_attn.qkv.weight", dtype: "BF16", shape: [96, 32] },
  ];
  const shard2: TensorSpec[] = [
    { name: "model.layers.0.mlp.qweight", dtype: "I32", shape: [4, 64] },
    { name: "model.layers.0.mlp.scales", dtype: "F16", shape: [1, 64] },
    { name: "model.norm.weight", dtype: "F32", shape: [32] },
    { name: "lm_head.weight", dtype: "BF16", shape: [128, 32] },
  ];

  it("lists the shards of model.safetensors.index.json once each, sorted", () => {
    const sub = tempDir("sharded-");
    try {
      const { indexPath, files } = writeShardedCheckpoint(sub, [shard1, shard2]);
      const shards = shardsFromIndex(JSON.parse(readFileSync(indexPath, "utf8")), indexPath);
      expect(shards).toEqual(["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]);
      expect(shards).toEqual([...files].sort());
    } finally {
      rmSync(sub, { recursive: true, force: true });
    }
  });

  it("sums exact parameters, bytes and bytes per dtype over every shard", () => {
    const sub = tempDir("sharded-");
    try {
      const { indexPath, totalSize } = writeShardedCheckpoint(sub, [shard1, shard2]);
      const shards = shardsFromIndex(JSON.parse(readFileSync(indexPath, "utf8")), indexPath);
      const headers = shards.map((f) => parseHeader(readHeaderPrefix(join(sub, f)), f));
      const s = summarize(headers);

      const all = [...shard1, ...shard2];
      const bytesOf = (dtype: string) => all.filter((t) => t.dtype === dtype).reduce((a, t) => a + numel(t.shape) * DTYPE_SIZE[t.dtype], 0);
      // 128·32 + 96·32 + 4·64 + 64 + 32 + 128·32 = 15,424 elements.
      expect(s.parameters).toBe(128 * 32 + 96 * 32 + 4 * 64 + 64 + 32 + 128 * 32);
      expect(s.bytes).toBe(totalSize); // what save_pretrained writes as metadata.total_size
      expect(s.tensors).toBe(6);
      expect(s.dtypes).toEqual({ BF16: bytesOf("BF16"), F16: bytesOf("F16"), F32: bytesOf("F32"), I32: bytesOf("I32") });
      expect(Object.keys(s.dtypes)).toEqual(["BF16", "F16", "F32", "I32"]);
    } finally {
      rmSync(sub, { recursive: true, force: true });
    }
  });

  it("counts a Hugging Face-layout Llama checkpoint exactly as the planner counts its config.json", () => {
    const sub = tempDir("tiny-llama-");
    try {
      const tensors = tinyLlamaTensors();
      const half = Math.ceil(tensors.length / 2);
      const { indexPath } = writeShardedCheckpoint(sub, [tensors.slice(0, half), tensors.slice(half)]);
      const shards = shardsFromIndex(JSON.parse(readFileSync(indexPath, "utf8")), indexPath);
      const s = summarize(shards.map((f) => parseHeader(readFileSync(join(sub, f)), f)));
      expect(s.parameters).toBe(parameterCount(profileFromConfig(TINY_LLAMA_CONFIG, "tiny-llama")));
      expect(s.bytes).toBe(2 * s.parameters); // all BF16
    } finally {
      rmSync(sub, { recursive: true, force: true });
    }
  });

  it("refuses an index without a weight_map as SAFETENSORS_INVALID", () => {
    for (const index of [{ metadata: { total_size: 0 } }, null, { weight_map: "model.safetensors" }]) {
      let thrown: unknown;
      try {
        shardsFromIndex(index, "model.safetensors.index.json");
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(PlanningError);
      expect((thrown as PlanningError).codes).toEqual(["SAFETENSORS_INVALID"]);
    }
  });
});

describe("broken safetensors files are SAFETENSORS_INVALID", () => {
  const good = () => encodeSafetensors(SAMPLE);

  it("refuses a file shorter than the 8-byte length prefix", () => {
    const e = invalid(good().subarray(0, 5));
    expect(e.codes).toEqual(["SAFETENSORS_INVALID"]);
    expect(e.findings[0].path).toBe("weights/model.safetensors");
  });

  it("refuses a file truncated inside its JSON header", () => {
    const bytes = good();
    const path = write("truncated.safetensors", bytes.subarray(0, 8 + 20));
    const e = invalid(readFileSync(path), path);
    expect(e.codes).toEqual(["SAFETENSORS_INVALID"]);
    expect(e.findings[0].message).toMatch(/^\[SAFETENSORS_INVALID\] .+truncated\.safetensors: .+\. .+\. Fix: .+\.$/);
  });

  it("refuses a header length of zero", () => {
    expect(invalid(new Uint8Array(16)).codes).toEqual(["SAFETENSORS_INVALID"]);
  });

  it("refuses an implausible header length (2^40 bytes)", () => {
    const bytes = new Uint8Array(64);
    bytes[5] = 1; // 2^40, little-endian
    expect(invalid(bytes).codes).toEqual(["SAFETENSORS_INVALID"]);
  });

  it("refuses a header that is not JSON", () => {
    const e = invalid(encodeRaw('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]', new Uint8Array(4)));
    expect(e.codes).toEqual(["SAFETENSORS_INVALID"]);
    expect(e.findings[0].message).toContain("not valid JSON");
  });

  it("refuses a tensor with a dtype the format does not define", () => {
    const e = invalid(encodeRaw(JSON.stringify({ w: { dtype: "Q4_K", shape: [2], data_offsets: [0, 2] } }), new Uint8Array(2)));
    expect(e.codes).toEqual(["SAFETENSORS_INVALID"]);
    expect(e.findings[0].message).toContain("Q4_K");
  });

  it("refuses data offsets that disagree with dtype × shape", () => {
    // F32[3, 4] needs 48 bytes; the header claims 40.
    const e = invalid(encodeRaw(JSON.stringify({ w: { dtype: "F32", shape: [3, 4], data_offsets: [0, 40] } }), new Uint8Array(40)));
    expect(e.codes).toEqual(["SAFETENSORS_INVALID"]);
    expect(e.findings[0].message).toContain('"w"');
  });

  it("refuses a negative or fractional dimension", () => {
    expect(invalid(encodeRaw(JSON.stringify({ w: { dtype: "F32", shape: [-1], data_offsets: [0, 0] } }), new Uint8Array())).codes).toEqual(["SAFETENSORS_INVALID"]);
    expect(invalid(encodeRaw(JSON.stringify({ w: { dtype: "F32", shape: [1.5], data_offsets: [0, 6] } }), new Uint8Array(6))).codes).toEqual(["SAFETENSORS_INVALID"]);
  });

  it("refuses data_offsets that are not a [begin, end] pair", () => {
    expect(invalid(encodeRaw(JSON.stringify({ w: { dtype: "F32", shape: [1], data_offsets: [4] } }), new Uint8Array(4))).codes).toEqual(["SAFETENSORS_INVALID"]);
  });

  it("refuses two tensors that claim the same bytes (the format requires contiguous, non-overlapping offsets)", () => {
    // safetensors' own loader rejects this header with InvalidOffset, so vLLM could not load the file.
    const header = { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [2], data_offsets: [0, 8] } };
    expect(invalid(encodeRaw(JSON.stringify(header), new Uint8Array(8))).codes).toEqual(["SAFETENSORS_INVALID"]);
  });
});
