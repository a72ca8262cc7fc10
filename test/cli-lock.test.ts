/**
 * `model-serving lock`, end to end against real HTTP servers on 127.0.0.1: a Hub that serves the
 * routes @huggingface/hub calls (test/fixtures/hub-server.ts) and an S3-compatible server the AWS SDK
 * talks to path-style (test/fixtures/s3-server.ts). The checkpoints are real .safetensors files
 * written byte by byte (test/fixtures/safetensors.ts); expected sizes are computed here from the
 * tensor specs, independently of planner/safetensors.ts.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Testing } from "cdktf";
import { lockCommand } from "../cli/lock";
import { findLockedModel, readLock, type LockedModel } from "../constructs/lock-file";
import { ModelSource } from "../constructs/model-source";
import { ModelServingStack } from "../stacks/model-serving-stack";
import { REPO_ROOT } from "./fixtures/models";
import { startHubServer, type HubFixtureRepo, type HubServer, type ServedRequest } from "./fixtures/hub-server";
import { startS3Server, type S3Server } from "./fixtures/s3-server";
import { DTYPE_SIZE, encodeSafetensors, numel, TINY_LLAMA_CONFIG, tinyLlamaTensors, type TensorSpec } from "./fixtures/safetensors";

process.env.MODEL_SERVING_QUIET = "1";

// ------------------------------------------------------------------------------------------------
// Fixture repositories

const commit = (name: string) => createHash("sha1").update(name).digest("hex");
const SHA_V1 = commit("tiny-llama v1.0");
const SHA_MAIN = commit("tiny-llama main");
const SHA_GATED = commit("gated main");
const json = (v: unknown) => JSON.stringify(v, null, 2);

/** The tiny Llama with its norms in F32, so the checkpoint has two dtypes. */
const TENSORS: TensorSpec[] = tinyLlamaTensors("BF16").map((t) => (t.name.endsWith("norm.weight") ? { ...t, dtype: "F32" } : t));
const HALF = Math.ceil(TENSORS.length / 2);
const SHARD_SPECS = [TENSORS.slice(0, HALF), TENSORS.slice(HALF)];
const SHARD_NAMES = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];
const SHARDS = SHARD_SPECS.map((s) => encodeSafetensors(s));
const INDEX = {
  metadata: { total_size: TENSORS.reduce((a, t) => a + numel(t.shape) * DTYPE_SIZE[t.dtype], 0) },
  weight_map: Object.fromEntries(SHARD_SPECS.flatMap((s, k) => s.map((t) => [t.name, SHARD_NAMES[k]]))),
};
/** What the headers must sum to, computed from the specs. */
const EXPECTED = {
  parameters: TENSORS.reduce((a, t) => a + numel(t.shape), 0),
  bytes: TENSORS.reduce((a, t) => a + numel(t.shape) * DTYPE_SIZE[t.dtype], 0),
  dtypes: {
    BF16: TENSORS.filter((t) => t.dtype === "BF16").reduce((a, t) => a + numel(t.shape) * 2, 0),
    F32: TENSORS.filter((t) => t.dtype === "F32").reduce((a, t) => a + numel(t.shape) * 4, 0),
  },
  tensors: TENSORS.length,
};
/** N of each shard: the little-endian u64 at the start of the file. */
const headerLen = (file: Uint8Array) => Number(Buffer.from(file).readBigUInt64LE(0));

const TOKENIZER = { "tokenizer.json": json({ version: "1.0", model: { type: "BPE" } }), "tokenizer_config.json": json({ model_max_length: 2048 }) };

function tinyLlamaFiles(config: Record<string, unknown>): Record<string, Uint8Array | string> {
  return {
    "README.md": "# tiny llama\n",
    "config.json": json(config),
    "generation_config.json": json({ bos_token_id: 1, eos_token_id: 2 }),
    ...TOKENIZER,
    "model.safetensors.index.json": json(INDEX),
    [SHARD_NAMES[0]]: SHARDS[0],
    [SHARD_NAMES[1]]: SHARDS[1],
    "original/params.json": json({ dim: 64 }),
  };
}
const TINY_FILES_SORTED = Object.keys(tinyLlamaFiles(TINY_LLAMA_CONFIG)).sort();
const CONFIG_MAIN = { ...TINY_LLAMA_CONFIG, max_position_embeddings: 4096 };

const SINGLE = encodeSafetensors(tinyLlamaTensors("BF16"));
const LORA_TENSORS: TensorSpec[] = [0, 1, 2].flatMap((l) => [
  { name: `base_model.model.model.layers.${l}.self_attn.q_proj.lora_A.weight`, dtype: "F32", shape: [8, 64] },
  { name: `base_model.model.model.layers.${l}.self_attn.q_proj.lora_B.weight`, dtype: "F32", shape: [64, 8] },
]);
const ADAPTER_CONFIG = { peft_type: "LORA", base_model_name_or_path: "acme/tiny-llama", r: 8, lora_alpha: 16, target_modules: ["q_proj"], task_type: "CAUSAL_LM" };

const HUB_REPOS: HubFixtureRepo[] = [
  {
    id: "acme/tiny-llama",
    refs: { main: SHA_MAIN, "v1.0": SHA_V1 },
    commits: { [SHA_V1]: tinyLlamaFiles(TINY_LLAMA_CONFIG), [SHA_MAIN]: tinyLlamaFiles(CONFIG_MAIN) },
  },
  { id: "acme/gated-llama", gated: true, refs: { main: SHA_GATED }, commits: { [SHA_GATED]: { "config.json": json(TINY_LLAMA_CONFIG), ...TOKENIZER, "model.safetensors": SINGLE } } },
  { id: "acme/weights-only", refs: { main: commit("weights-only") }, commits: { [commit("weights-only")]: { ...TOKENIZER, "model.safetensors": SINGLE } } },
  { id: "acme/pickle-llama", refs: { main: commit("pickle") }, commits: { [commit("pickle")]: { "config.json": json(TINY_LLAMA_CONFIG), ...TOKENIZER, "pytorch_model.bin": "PK\u0003\u0004 not weights", "training_args.bin": "x" } } },
  { id: "acme/tiny-lora", refs: { main: commit("lora") }, commits: { [commit("lora")]: { "README.md": "lora", "adapter_config.json": json(ADAPTER_CONFIG), "adapter_model.safetensors": encodeSafetensors(LORA_TENSORS) } } },
  { id: "acme/truncated", refs: { main: commit("truncated") }, commits: { [commit("truncated")]: { "config.json": json(TINY_LLAMA_CONFIG), ...TOKENIZER, "model.safetensors": SINGLE.subarray(0, SINGLE.length - 10) } } },
];
const TOKEN = "hf_granted0123456789";

// ------------------------------------------------------------------------------------------------
// Servers and helpers

let hub: HubServer;
let s3: S3Server;
const dirs: string[] = [];
const savedEnv = { ...process.env };
const AWS_KEY = ["AKIA", "FIXTURE000000000"].join(""); // built at run time so no credential-shaped literal sits in the tree

beforeAll(async () => {
  // The S3 client signs with the default credential chain: give it static keys and keep it off IMDS.
  process.env.AWS_ACCESS_KEY_ID = AWS_KEY;
  process.env.AWS_SECRET_ACCESS_KEY = "fixture-secret";
  process.env.AWS_REGION = "us-east-1";
  process.env.AWS_EC2_METADATA_DISABLED = "true";
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_ENDPOINT_URL;
  delete process.env.AWS_ENDPOINT_URL_S3;
  hub = await startHubServer({ repos: HUB_REPOS, tokens: [TOKEN], treePageSize: 4 });
  s3 = await startS3Server({
    accessKeyId: AWS_KEY,
    pageSize: 3,
    denied: ["locked-away"],
    buckets: {
      models: {
        ...Object.fromEntries(Object.entries(tinyLlamaFiles(TINY_LLAMA_CONFIG)).map(([k, v]) => [`tiny-llama/${k}`, v])),
        "tiny-llama-other/config.json": "{}",
        "pickle/config.json": json(TINY_LLAMA_CONFIG),
        "pickle/pytorch_model.bin": "not weights",
        "pickle/tokenizer.json": "{}",
        "no-config/model.safetensors": SINGLE,
      },
      "locked-away": { "m/config.json": "{}" },
    },
  });
});

afterAll(async () => {
  await Promise.all([hub?.close(), s3?.close()]);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "lock-"));
  dirs.push(d);
  return d;
}

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
  readonly lockPath: string;
  /** Requests the servers saw during this run. */
  readonly requests: ServedRequest[];
}

async function lock(args: string[], opts: { env?: NodeJS.ProcessEnv; dir?: string } = {}): Promise<Run> {
  const dir = opts.dir ?? tempDir();
  const lockPath = join(dir, "models.lock.json");
  const out: string[] = [];
  const err: string[] = [];
  const before = { hub: hub.requests.length, s3: s3.requests.length };
  const code = await lockCommand([...args, "--out", lockPath], { out: (l) => out.push(l), err: (l) => err.push(l) }, { HF_ENDPOINT: hub.url, AWS_ENDPOINT_URL_S3: s3.url, ...opts.env });
  return { code, out: out.join("\n"), err: err.join("\n"), lockPath, requests: [...hub.requests.slice(before.hub), ...s3.requests.slice(before.s3)] };
}

function entries(path: string): LockedModel[] {
  return (JSON.parse(readFileSync(path, "utf8")) as { models: LockedModel[] }).models;
}

const rangesOf = (requests: ServedRequest[], file: string) => requests.filter((r) => r.path.endsWith(`/${file}`));

// ------------------------------------------------------------------------------------------------

describe("lock <hf-repo-id>@<revision> against a Hub on 127.0.0.1", () => {
  it("records the commit sha, every file (across tree pages), the tokenizer and config.json of a sharded checkpoint", async () => {
    const r = await lock([`acme/tiny-llama@${SHA_V1}`]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const [m] = entries(r.lockPath);
    expect(m).toMatchObject({ id: "acme/tiny-llama", revision: SHA_V1, source: "huggingface", tokenizer: true, config: TINY_LLAMA_CONFIG });
    expect(m.files).toEqual(TINY_FILES_SORTED);
    expect(r.requests.filter((q) => q.path.includes("/tree/")).length).toBeGreaterThan(1); // page size 4: the Link header was followed
    expect(r.out).toContain(`locked acme/tiny-llama@${SHA_V1}: ${TINY_FILES_SORTED.length} files, tokenizer yes`);
    expect(r.out).not.toContain("pinned");
  });

  it("sums the exact parameter count, bytes and bytes per dtype from the two shard headers", async () => {
    const r = await lock([`acme/tiny-llama@${SHA_V1}`]);
    expect(entries(r.lockPath)[0].safetensors).toEqual(EXPECTED);
    expect(r.out).toContain(`${EXPECTED.parameters.toLocaleString("en-US")} parameters`);
  });

  it("fetches only the header bytes of each shard: a 1-byte probe, 8 bytes of length, then exactly the header", async () => {
    const r = await lock([`acme/tiny-llama@${SHA_V1}`]);
    SHARD_NAMES.forEach((name, k) => {
      const n = headerLen(SHARDS[k]);
      const served = rangesOf(r.requests, name);
      expect(served.map((q) => [q.status, q.range])).toEqual([
        [206, "bytes=0-0"],
        [206, "bytes=0-7"],
        [206, `bytes=8-${8 + n - 1}`],
      ]);
      const bytes = served.reduce((a, q) => a + q.bytes, 0);
      expect(bytes).toBe(1 + 8 + n);
      expect(bytes).toBeLessThan(SHARDS[k].length / 10);
    });
    // Only header bytes of weights, in total: every .safetensors byte served is accounted for above.
    const weightBytes = r.requests.filter((q) => q.path.endsWith(".safetensors")).reduce((a, q) => a + q.bytes, 0);
    expect(weightBytes).toBe(SHARDS.reduce((a, s) => a + 9 + headerLen(s), 0));
  });

  it("resolves a branch to its 40-hex commit sha, records the sha and prints that it pinned it", async () => {
    const r = await lock(["acme/tiny-llama@main"]);
    expect(r.code).toBe(0);
    const [m] = entries(r.lockPath);
    expect(m.revision).toBe(SHA_MAIN);
    expect(m.config).toEqual(CONFIG_MAIN);
    expect(r.out).toContain(`pinned acme/tiny-llama "main" → ${SHA_MAIN}`);
    expect(r.out).toContain(`Use revision: "${SHA_MAIN}" in ModelSource.huggingFace`);
    // Every file request after the resolution named the sha, never the branch.
    expect(r.requests.filter((q) => q.path.includes("/resolve/") || q.path.includes("/tree/")).every((q) => q.path.includes(SHA_MAIN))).toBe(true);
  });

  it("normalises an uppercase 40-hex revision to the Hub's lowercase sha before asking for it", async () => {
    const r = await lock([`acme/tiny-llama@${SHA_MAIN.toUpperCase()}`]);
    expect(r.code).toBe(0);
    expect(entries(r.lockPath)[0].revision).toBe(SHA_MAIN);
    expect(r.requests.some((q) => q.path.includes(SHA_MAIN.toUpperCase()))).toBe(false);
  });

  it("resolves the default branch when no revision is given, and a tag like a branch", async () => {
    const head = await lock(["acme/tiny-llama"]);
    expect(entries(head.lockPath)[0].revision).toBe(SHA_MAIN);
    expect(head.out).toContain(`pinned acme/tiny-llama the default branch → ${SHA_MAIN}`);
    const tag = await lock(["acme/tiny-llama@v1.0"]);
    expect(entries(tag.lockPath)[0].revision).toBe(SHA_V1);
  });

  it("merges into an existing lock: re-locking a model replaces its entry, other models stay, and the bytes are stable", async () => {
    const dir = tempDir();
    const path = join(dir, "models.lock.json");
    const other = { revision: null, id: "s3://zz-bucket/other/", files: ["config.json"], config: { b: 1, a: 2 } };
    const first = { id: "aaa/first", revision: "f".repeat(40), config: { architectures: ["X"] }, files: [] };
    writeFileSync(path, JSON.stringify({ models: [other, first] }));

    const a = await lock([`acme/tiny-llama@${SHA_V1}`], { dir });
    expect(a.out).toContain("acme/tiny-llama added, 3 models");
    const text = readFileSync(path, "utf8");
    expect(entries(path).map((m) => m.id)).toEqual(["aaa/first", "acme/tiny-llama", "s3://zz-bucket/other/"]);
    expect(text).toBe(`${JSON.stringify(JSON.parse(text), null, 2)}\n`); // pretty, with a final newline
    expect(Object.keys(entries(path)[1])).toEqual(["id", "revision", "source", "tokenizer", "safetensors", "files", "config"]);
    expect(Object.keys(entries(path)[2].config)).toEqual(["a", "b"]); // nested keys sorted

    const again = await lock([`acme/tiny-llama@${SHA_V1}`], { dir });
    expect(again.out).toContain("acme/tiny-llama replaced, 3 models");
    expect(readFileSync(path, "utf8")).toBe(text);
    await lock(["acme/tiny-llama@v1.0"], { dir }); // the same commit by its tag
    expect(readFileSync(path, "utf8")).toBe(text);

    await lock(["acme/tiny-llama@main"], { dir }); // another commit is another entry
    const tiny = [SHA_V1, SHA_MAIN].sort().map((sha) => `acme/tiny-llama@${sha}`); // by id, then revision
    expect(entries(path).map((m) => `${m.id}@${m.revision}`)).toEqual([`aaa/first@${"f".repeat(40)}`, ...tiny, "s3://zz-bucket/other/@null"]);
  });

  it("refuses to merge into a lock file that is not { models: [...] } with LOCK_FILE_INVALID, before any request", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "models.lock.json"), '{"models": {"acme/x": {}}}');
    const r = await lock([`acme/tiny-llama@${SHA_V1}`], { dir });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^\[LOCK_FILE_INVALID\] .*models\.lock\.json is not \{ "models": \[/);
    expect(r.requests).toEqual([]);
    expect(readFileSync(join(dir, "models.lock.json"), "utf8")).toBe('{"models": {"acme/x": {}}}');
  });

  it("records a PEFT adapter's adapter_config.json and adapter weights, and that it ships no tokenizer", async () => {
    const r = await lock(["acme/tiny-lora@main"]);
    expect(r.code).toBe(0);
    const [m] = entries(r.lockPath);
    expect(m).toMatchObject({ config: {}, adapterConfig: { ...ADAPTER_CONFIG }, tokenizer: false, files: ["README.md", "adapter_config.json", "adapter_model.safetensors"] });
    expect(m.safetensors).toEqual({ parameters: 6 * 512, bytes: 6 * 512 * 4, dtypes: { F32: 6 * 512 * 4 }, tensors: 6 });
    expect(r.err).toContain("[MODEL_ARTIFACT_INCOMPLETE]");
  });

  it("refuses a gated repository without HF_TOKEN with HF_TOKEN_REQUIRED, exit code 1 and no lock written", async () => {
    const r = await lock(["acme/gated-llama@main"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^\[HF_TOKEN_REQUIRED\] acme\/gated-llama@main: acme\/gated-llama needs a Hub token \(the Hub answered 401 GatedRepo for config\.json\)\. .+\. Fix: .*export HF_TOKEN=hf_…\.$/);
    expect(existsSync(r.lockPath)).toBe(false);
  });

  it("refuses a token without access with HF_TOKEN_REQUIRED, and locks the gated repository with one that has access", async () => {
    const refused = await lock(["acme/gated-llama@main"], { env: { HF_TOKEN: "hf_notgranted000000" } });
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^\[HF_TOKEN_REQUIRED\] .*HF_TOKEN was refused for acme\/gated-llama \(the Hub answered 403 GatedRepo/);
    const ok = await lock(["acme/gated-llama@main"], { env: { HF_TOKEN: TOKEN } });
    expect(ok.code).toBe(0);
    expect(entries(ok.lockPath)[0]).toMatchObject({ revision: SHA_GATED, tokenizer: true, safetensors: { tensors: tinyLlamaTensors().length } });
    expect(ok.requests.every((q) => q.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it("rejects an HF_TOKEN that is not a Hub token with HF_TOKEN_INVALID before any request", async () => {
    const r = await lock(["acme/gated-llama@main"], { env: { HF_TOKEN: "ghp_notahubtoken" } });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^\[HF_TOKEN_INVALID\] HF_TOKEN: /);
    expect(r.requests).toEqual([]);
  });

  it("reports a repository that does not exist as MODEL_NOT_FOUND, though the Hub answers 401 to anonymous callers", async () => {
    const anonymous = await lock(["acme/no-such-model@main"]);
    expect(anonymous.code).toBe(1);
    expect(anonymous.err).toMatch(/^\[MODEL_NOT_FOUND\] acme\/no-such-model@main: .* has no model "acme\/no-such-model" \(the Hub answered 401 RepoNotFound for the model info\)\. .*private and HF_TOKEN is not set\. Fix: /);
    const withToken = await lock(["acme/no-such-model@main"], { env: { HF_TOKEN: TOKEN } });
    expect(withToken.err).toMatch(/^\[MODEL_NOT_FOUND\] .*answered 404 RepoNotFound/);
  });

  it("reports an unknown branch as MODEL_REVISION_NOT_FOUND", async () => {
    const r = await lock(["acme/tiny-llama@no-such-branch"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^\[MODEL_REVISION_NOT_FOUND\] acme\/tiny-llama@no-such-branch: acme\/tiny-llama has no branch, tag or commit "no-such-branch"/);
  });

  it("refuses a repository without config.json with CONFIG_MISSING before reading any weights", async () => {
    const r = await lock(["acme/weights-only@main"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^\[CONFIG_MISSING\] acme\/weights-only@main: acme\/weights-only has no config\.json \(it has model\.safetensors, tokenizer\.json, tokenizer_config\.json\)\. .+ Fix: /);
    expect(r.requests.filter((q) => q.path.includes("/resolve/"))).toEqual([]);
  });

  it("refuses pickle-only weights with UNSAFE_WEIGHTS_FORMAT unless --allow-pickle-weights, and never downloads the .bin", async () => {
    const refused = await lock(["acme/pickle-llama@main"]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^\[UNSAFE_WEIGHTS_FORMAT\] acme\/pickle-llama@main: acme\/pickle-llama has only pickle weights \(pytorch_model\.bin\)\. .+Fix: .*--allow-pickle-weights/);
    const allowed = await lock(["acme/pickle-llama@main", "--allow-pickle-weights"]);
    expect(allowed.code).toBe(0);
    const [m] = entries(allowed.lockPath);
    expect(m.safetensors).toBeUndefined();
    expect(m.files).toContain("pytorch_model.bin");
    expect(allowed.err).toContain("warning (synth will report it): [UNSAFE_WEIGHTS_FORMAT]");
    expect([...refused.requests, ...allowed.requests].filter((q) => q.path.endsWith(".bin"))).toEqual([]);
  });

  it("refuses a truncated safetensors file with SAFETENSORS_INVALID, having read only its header", async () => {
    const r = await lock(["acme/truncated@main"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^\[SAFETENSORS_INVALID\] acme\/truncated@main\/model\.safetensors: .*but the file has \d+ bytes \(truncated or padded upload\)/);
    expect(rangesOf(r.requests, "model.safetensors").reduce((a, q) => a + q.bytes, 0)).toBe(9 + headerLen(SINGLE));
  });

  it.each([
    ["a repo id with two slashes", "acme/x/y@main", /^\[MODEL_ID_INVALID\] acme\/x\/y@main: "acme\/x\/y" is not a Hugging Face repo id/],
    ["a short sha", "acme/tiny-llama@3f5c1e0", /^\[MODEL_REVISION_INVALID\] .*looks like a short sha/],
    ["an empty revision", "acme/tiny-llama@", /^\[MODEL_REVISION_INVALID\] /],
    ["a token pasted as the id", "hf_" + "abcdefghijklmnopqrstu", /^\[SECRET_INLINED\] /],
    ["an S3 URI without a trailing slash", "s3://models/tiny-llama", /^\[S3_URI_INVALID\] s3:\/\/models\/tiny-llama: expected "s3:\/\/<bucket>\/<prefix>\/"/],
    ["an invalid bucket name", "s3://Models_Bucket/x/", /^\[S3_BUCKET_NAME_INVALID\] /],
    ["a prefix with ..", "s3://models/a/../b/", /^\[S3_PREFIX_INVALID\] /],
  ])("rejects %s with the validators ModelSource uses, before any request", async (_what, ref, message) => {
    const r = await lock([ref]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(message);
    expect(r.requests).toEqual([]);
  });

  it.each([
    ["no model", []],
    ["two models", ["acme/a@main", "acme/b@main"]],
    ["an unknown option", ["acme/a@main", "--frobnicate"]],
  ])("exits 2 with the usage for %s", async (_what, argv) => {
    const r = await lock(argv);
    expect(r.code).toBe(2);
    expect(r.err).toContain("usage:");
    expect(r.requests).toEqual([]);
  });

  it("reports a Hub that cannot be reached as HUB_UNREACHABLE", async () => {
    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, "127.0.0.1", ok));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((ok) => closed.close(() => ok()));
    const r = await lock(["acme/tiny-llama@main"], { env: { HF_ENDPOINT: `http://127.0.0.1:${port}` } });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^\[HUB_UNREACHABLE\] acme\/tiny-llama@main: could not reach http:\/\/127\.0\.0\.1:\d+ while reading the model info \(ECONNREFUSED\)/);
  });
});

describe("lock s3://bucket/prefix/ against an S3-compatible server on 127.0.0.1", () => {
  const md5 = (c: Uint8Array | string) => createHash("md5").update(c).digest("hex");

  it("records the prefix's files with their ETags, config.json, the tokenizer and the summed headers, across list pages", async () => {
    const r = await lock(["s3://models/tiny-llama/"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const [m] = entries(r.lockPath);
    const files = tinyLlamaFiles(TINY_LLAMA_CONFIG);
    expect(m).toMatchObject({ id: "s3://models/tiny-llama/", revision: null, source: "s3", tokenizer: true, config: TINY_LLAMA_CONFIG, safetensors: EXPECTED });
    expect(m.files).toEqual(TINY_FILES_SORTED); // not tiny-llama-other/, which shares the prefix string
    expect(m.etags).toEqual(Object.fromEntries(TINY_FILES_SORTED.map((f) => [f, md5(files[f])])));
    expect(r.requests.filter((q) => q.query.includes("list-type=2")).length).toBe(Math.ceil(TINY_FILES_SORTED.length / 3));
  });

  it("reads only the header of each shard with two GetObject Range requests, and never the weights", async () => {
    const r = await lock(["s3://models/tiny-llama/"]);
    SHARD_NAMES.forEach((name, k) => {
      const n = headerLen(SHARDS[k]);
      const served = rangesOf(r.requests, name);
      expect(served.map((q) => [q.status, q.range, q.bytes])).toEqual([
        [206, "bytes=0-7", 8],
        [206, `bytes=8-${8 + n - 1}`, n],
      ]);
    });
    expect(r.requests.every((q) => q.authorization?.startsWith(`AWS4-HMAC-SHA256 Credential=${AWS_KEY}/`))).toBe(true);
  });

  it.each([
    ["a bucket that does not exist", "s3://no-such-bucket/m/", /^\[MODEL_NOT_FOUND\] s3:\/\/no-such-bucket\/m\/: bucket no-such-bucket does not exist \(S3 answered 404 NoSuchBucket for the object list\)/],
    ["an empty prefix", "s3://models/nothing-here/", /^\[MODEL_NOT_FOUND\] .*s3:\/\/models has no objects under nothing-here\//],
    ["a bucket the credentials cannot read", "s3://locked-away/m/", /^\[S3_ACCESS_DENIED\] s3:\/\/locked-away\/m\/: the credentials in use cannot read s3:\/\/locked-away\/m\/ \(S3 answered 403 AccessDenied .*Fix: grant s3:ListBucket/],
    ["a prefix without config.json", "s3://models/no-config/", /^\[CONFIG_MISSING\] s3:\/\/models\/no-config\/: /],
    ["a prefix with only pickle weights", "s3://models/pickle/", /^\[UNSAFE_WEIGHTS_FORMAT\] s3:\/\/models\/pickle\/: /],
  ])("refuses %s with a coded error and exit code 1", async (_what, ref, message) => {
    const r = await lock([ref]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(message);
    expect(existsSync(r.lockPath)).toBe(false);
  });

  it("reports credentials S3 does not know as S3_ACCESS_DENIED", async () => {
    const saved = process.env.AWS_ACCESS_KEY_ID;
    process.env.AWS_ACCESS_KEY_ID = ["AKIA", "UNKNOWN000000000"].join("");
    try {
      const r = await lock(["s3://models/tiny-llama/"]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/^\[S3_ACCESS_DENIED\] .*403 InvalidAccessKeyId/);
    } finally {
      process.env.AWS_ACCESS_KEY_ID = saved;
    }
  });
});

describe("synth reads what lock wrote", () => {
  it("sizes an ImportedModel that is not in the built-in catalog from the lock file's config and header bytes", async () => {
    const dir = tempDir();
    expect((await lock([`acme/tiny-llama@${SHA_V1}`], { dir })).code).toBe(0);
    expect((await lock(["s3://models/tiny-llama/"], { dir })).code).toBe(0);
    expect(findLockedModel("acme/tiny-llama", SHA_V1, dir)?.safetensors?.bytes).toBe(EXPECTED.bytes);
    expect(readLock(dir).map((m) => m.id)).toEqual(["acme/tiny-llama", "s3://models/tiny-llama/"]);

    const cwd = process.cwd();
    process.chdir(dir); // synth finds models.lock.json from the working directory
    try {
      const app = Testing.app();
      const stack = new ModelServingStack(app, "serving", { cluster: { create: { publicAccessCidrs: ["203.0.113.0/24"], clusterName: "lock-test", quotas: { "L-DB2E81BA": 1000, "L-417A185B": 1000 } } } });
      const hubModel = stack.importModel("tiny", { source: ModelSource.huggingFace("acme/tiny-llama", { revision: SHA_V1 }) });
      const s3Model = stack.importModel("tiny-s3", { source: ModelSource.s3("s3://models/tiny-llama/") });
      for (const model of [hubModel, s3Model]) {
        expect(model.findings.filter((f) => f.severity === "error")).toEqual([]);
        expect(model.profile?.architecture).toBe("LlamaForCausalLM");
        expect(model.capability).toBe("TEXT_TO_TEXT");
        expect(model.declaration()?.checkpointBytes).toBe(EXPECTED.bytes);
      }
      stack.addEndpoint("tiny-chat", { model: hubModel, maxModelLen: 2048 });
      const plan = stack.cluster.plan();
      expect(plan.endpoints[0]).toMatchObject({ model: "acme/tiny-llama", revision: SHA_V1 });
      // An unlocked, uncatalogued model is still reported, so the lock is what made the difference.
      const unlocked = stack.importModel("unlocked", { source: ModelSource.huggingFace("acme/not-locked", { revision: SHA_V1 }) });
      expect(unlocked.findings.map((f) => f.code)).toContain("MODEL_NOT_LOCKED");
    } finally {
      process.chdir(cwd);
    }
  });
});

describe("the model-serving executable", () => {
  function runBin(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((ok, ko) => {
      const env: NodeJS.ProcessEnv = { ...process.env, HF_ENDPOINT: hub.url };
      delete env.HF_TOKEN;
      const child = spawn(process.execPath, [join(REPO_ROOT, "bin", "model-serving.cjs"), "lock", ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("error", ko);
      child.on("close", (code) => ok({ code, stdout, stderr }));
    });
  }

  it("writes ./models.lock.json and exits 0, or prints the coded error and exits 1, as a child process", async () => {
    const dir = tempDir();
    const [ok, missing] = await Promise.all([runBin(["acme/tiny-llama@main"], dir), runBin(["acme/no-such-model@main"], dir)]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`pinned acme/tiny-llama "main" → ${SHA_MAIN}`);
    expect(entries(join(dir, "models.lock.json"))[0].revision).toBe(SHA_MAIN);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^\[MODEL_NOT_FOUND\] acme\/no-such-model@main: /);
  });
});
