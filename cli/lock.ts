/**
 * `model-serving lock`: read what sizing and validation need from the Hugging Face Hub or S3 and
 * record it in models.lock.json, which synth reads offline.
 *
 *   model-serving lock <hf-repo-id>[@<revision>] | s3://<bucket>/<prefix>/ [--out models.lock.json] [--allow-pickle-weights]
 *
 * What it reads: the commit sha of the revision, the file list, config.json, adapter_config.json
 * when present, model.safetensors.index.json when sharded, and of every .safetensors file only its
 * header — 8 bytes of length, then the JSON header, by HTTP Range requests. Weights are never
 * downloaded. Parameter count, bytes and dtypes are summed from the headers (planner/safetensors).
 *
 * Revisions: a branch or tag is accepted only to be resolved. The lock records the 40-hex commit
 * sha it pointed at and prints that it pinned it, with the sha to put in ModelSource.huggingFace —
 * a lock is the one place a moving name can safely turn into an immutable one. Without
 * "@<revision>" the repository's default branch is resolved the same way.
 *
 * The file is merged: an entry is keyed by (id, revision), so re-locking a model at the same
 * commit (or an S3 prefix) replaces its entry and other entries are kept. Models are sorted by id
 * then revision, entry fields in a fixed order, nested keys sorted, 2-space JSON: the same inputs
 * always give the same bytes.
 *
 * Environment:
 *   HF_TOKEN              Hub token (hf_…) for gated and private repositories
 *   HF_ENDPOINT           Hub base URL (default https://huggingface.co), e.g. a mirror
 *   AWS_ENDPOINT_URL_S3   S3-compatible endpoint (or AWS_ENDPOINT_URL); path-style addressing is then used
 *   AWS_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID, …  the AWS SDK's default region and credential chains
 *
 * Exit codes: 0 written, 1 coded error ([CODE] <model>: problem. why. Fix: …), 2 usage.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { S3Client } from "@aws-sdk/client-s3";
import { error, PlanningError, warning, type Finding } from "../planner/findings";
import { TOKENIZER_FILES, validateImport } from "../planner/import-validation";
import { profileFromConfig } from "../planner/model-profile";
import { parseConfigJson } from "../planner/config-json";
import { headerLength, parseHeader, shardsFromIndex, summarize, type SafetensorsHeader } from "../planner/safetensors";
import { LOCK_FILE, type LockedModel } from "../constructs/lock-file";
import { assertRepoId, checkRevision, isCommitSha, normaliseRevision, parseS3Uri } from "../constructs/model-source";

export const LOCK_USAGE = `  model-serving lock   <hf-repo-id>[@<revision>] | s3://<bucket>/<prefix>/ [--out ${LOCK_FILE}] [--allow-pickle-weights]
                       reads config.json, the file list, tokenizer presence and the safetensors headers (Range
                       requests, never the weights) and records them with the commit sha; a branch is resolved
                       to its sha. Env: HF_TOKEN, HF_ENDPOINT, AWS_ENDPOINT_URL_S3 and the AWS credential chain`;

export interface LockIo {
  out(line: string): void;
  err(line: string): void;
}

/** Per-request limit: every call to the Hub or S3 ends within it. */
const REQUEST_TIMEOUT_MS = 30_000;
/** Bounds on what a listing may return, so a hostile or broken server cannot keep the lock looping. */
const MAX_FILES = 100_000;
const MAX_LIST_PAGES = 1_000;
/** config.json, adapter_config.json and the shard index are read whole; refuse anything larger. */
const MAX_JSON_BYTES = 32 * 1024 * 1024;
/** Shard headers read at once. */
const HEADER_CONCURRENCY = 8;

const PICKLE = /\.(bin|pt|pth|ckpt)$/;
const INDEX_FILE = "model.safetensors.index.json";

class UsageError extends Error {}

interface RemoteFile {
  readonly path: string;
  readonly size: number;
  readonly etag?: string;
}

/** A Hub revision or an S3 prefix, as the lock sees it: a file list and byte ranges of files. */
interface Remote {
  readonly files: readonly RemoteFile[];
  /** Bytes [start, end) of a file, by one Range request. */
  range(path: string, start: number, end: number): Promise<Uint8Array>;
  /** A whole (small) file. */
  whole(path: string): Promise<Uint8Array>;
}

export interface LockOptions {
  readonly allowPickleWeights?: boolean;
  /** Where HF_TOKEN, HF_ENDPOINT and AWS_ENDPOINT_URL_S3 are read. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

export interface LockResult {
  readonly entry: LockedModel;
  /** The branch or tag that was resolved to `entry.revision`, when one was given (or "HEAD" for the default branch). */
  readonly pinnedFrom?: string;
  /** Import findings synth will report about this model (tokenizer missing, unsupported architecture, …). */
  readonly notes: readonly Finding[];
}

// ---------------------------------------------------------------------------------------------
// Shared: from a file list and byte ranges to a lock entry

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

function fail(code: string, path: string, problem: string, why: string, fix: string): PlanningError {
  return new PlanningError([error(code, path, { problem, why, fix })]);
}

async function readJson(remote: Remote, file: RemoteFile, where: string): Promise<Record<string, unknown>> {
  if (file.size > MAX_JSON_BYTES) {
    throw fail("CONFIG_INVALID", where, `${file.path} is ${file.size} bytes`, `the lock reads JSON files whole and stops at ${MAX_JSON_BYTES} bytes`, "check that the file is the model's real JSON");
  }
  const text = new TextDecoder().decode(await remote.whole(file.path));
  try {
    const json = parseConfigJson(text);
    if (!json || typeof json !== "object" || Array.isArray(json)) throw new Error("not a JSON object");
    return json as Record<string, unknown>;
  } catch (e) {
    throw fail("CONFIG_INVALID", where, `${file.path} is not a JSON object (${(e as Error).message})`, "the lock records it for synth, which sizes the model from it", `re-upload ${file.path} as saved by transformers / peft`);
  }
}

function safetensorsInvalid(where: string, problem: string): PlanningError {
  return fail("SAFETENSORS_INVALID", where, problem, "vLLM would fail to load the checkpoint", "re-save the weights with safetensors (save_file / save_pretrained(safe_serialization=True))");
}

/** The header of one .safetensors file: 8 bytes, then exactly the header — two Range requests. */
async function readHeader(remote: Remote, file: RemoteFile, where: string): Promise<SafetensorsHeader> {
  if (file.size < 8) throw safetensorsInvalid(where, `the file is ${file.size} bytes, shorter than the 8-byte header length`);
  const prefix = await remote.range(file.path, 0, 8);
  const n = headerLength(prefix, where);
  if (8 + n > file.size) throw safetensorsInvalid(where, `the header claims ${n} bytes but the file has ${file.size}`);
  const rest = await remote.range(file.path, 8, 8 + n);
  const bytes = new Uint8Array(8 + n);
  bytes.set(prefix.subarray(0, 8), 0);
  bytes.set(rest.subarray(0, n), 8);
  const header = parseHeader(bytes, where);
  const dataBytes = Object.values(header.tensors).reduce((m, t) => Math.max(m, t.dataOffsets[1]), 0);
  if (8 + n + dataBytes !== file.size) {
    throw safetensorsInvalid(where, `the header describes ${dataBytes} bytes of tensor data after ${8 + n} header bytes, but the file has ${file.size} bytes (truncated or padded upload)`);
  }
  return header;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

interface Described {
  readonly config: Record<string, unknown>;
  readonly adapterConfig?: Record<string, unknown>;
  readonly files: string[];
  readonly tokenizer: boolean;
  readonly safetensors?: LockedModel["safetensors"];
  readonly notes: Finding[];
}

/** Everything the lock records, from a remote's file list and byte ranges. */
async function describe(remote: Remote, modelId: string, where: string, allowPickleWeights: boolean): Promise<Described> {
  const byPath = new Map(remote.files.map((f) => [f.path, f]));
  const files = [...byPath.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const configFile = byPath.get("config.json");
  const adapterFile = byPath.get("adapter_config.json");
  const shown = files.slice(0, 6).join(", ") + (files.length > 6 ? `, … (${files.length} files)` : "");
  if (!configFile && !adapterFile) {
    throw fail(
      "CONFIG_MISSING",
      where,
      `${modelId} has no config.json (it has ${shown || "no files"})`,
      "vLLM and every managed import service read the architecture and sizes from config.json",
      "upload the model's config.json next to the weights, or lock the repository or prefix that has it",
    );
  }

  // Which safetensors files vLLM loads: the shards of the index, else every top-level .safetensors file.
  const indexFile = byPath.get(INDEX_FILE);
  let weightFiles: RemoteFile[];
  if (indexFile) {
    const shards = shardsFromIndex(await readJson(remote, indexFile, `${where}/${INDEX_FILE}`), `${where}/${INDEX_FILE}`);
    const missing = shards.filter((s) => !byPath.has(s));
    if (missing.length) throw safetensorsInvalid(`${where}/${INDEX_FILE}`, `the index names ${missing.slice(0, 3).join(", ")}, which ${missing.length === 1 ? "is" : "are"} not in ${modelId}`);
    weightFiles = shards.map((s) => byPath.get(s)!);
  } else {
    weightFiles = files.filter((f) => !f.includes("/") && f.endsWith(".safetensors")).map((f) => byPath.get(f)!);
  }
  const pickle = files.filter((f) => PICKLE.test(baseName(f)) && !baseName(f).startsWith("training_args"));
  if (!weightFiles.length && pickle.length && !allowPickleWeights) {
    throw fail(
      "UNSAFE_WEIGHTS_FORMAT",
      where,
      `${modelId} has only pickle weights (${pickle.slice(0, 2).join(", ")})`,
      "loading pickle can execute arbitrary code; the managed import services require safetensors",
      "convert the weights to safetensors, or pass --allow-pickle-weights after an audit (and set allowPickleWeights: true on the ImportedModel)",
    );
  }

  const config = configFile ? await readJson(remote, configFile, `${where}/config.json`) : {};
  const adapterConfig = adapterFile ? await readJson(remote, adapterFile, `${where}/adapter_config.json`) : undefined;
  const headers = await mapLimit(weightFiles, HEADER_CONCURRENCY, (f) => readHeader(remote, f, `${where}/${f.path}`));
  const summary = headers.length ? summarize(headers) : undefined;
  const tokenizer = files.some((f) => TOKENIZER_FILES.includes(baseName(f)));

  // What synth will say about this model, printed now so the lock is not a surprise later.
  const notes: Finding[] = [];
  if (configFile) {
    try {
      const profile = profileFromConfig(config, where);
      notes.push(...validateImport({ path: where, modelId, profile, files, allowPickleWeights }).findings);
    } catch (e) {
      if (!(e instanceof PlanningError)) throw e;
      notes.push(...e.findings);
    }
  } else if (!tokenizer) {
    notes.push(warning("MODEL_ARTIFACT_INCOMPLETE", where, { problem: `${modelId} has no tokenizer`, why: "vLLM serves an adapter with the base model's tokenizer unless the adapter ships one", fix: "nothing, if the base model's tokenizer is right for it" }));
  }

  return {
    config,
    ...(adapterConfig ? { adapterConfig } : {}),
    files,
    tokenizer,
    ...(summary ? { safetensors: { parameters: summary.parameters, bytes: summary.bytes, dtypes: { ...summary.dtypes }, tensors: summary.tensors } } : {}),
    notes,
  };
}

// ---------------------------------------------------------------------------------------------
// The Hugging Face Hub, through @huggingface/hub

function hubUrlFrom(env: NodeJS.ProcessEnv): string {
  const raw = env.HF_ENDPOINT?.trim() || "https://huggingface.co";
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) {
    throw fail("HF_ENDPOINT_INVALID", "HF_ENDPOINT", `"${raw}" is not an http(s) URL`, "the lock sends every Hub request to this base URL", "unset HF_ENDPOINT, or set it to a Hub mirror such as https://hf-mirror.example.com");
  }
  return raw.replace(/\/+$/, "");
}

function tokenFrom(env: NodeJS.ProcessEnv): string | undefined {
  const token = env.HF_TOKEN?.trim();
  if (!token) return undefined;
  if (!token.startsWith("hf_")) {
    throw fail("HF_TOKEN_INVALID", "HF_TOKEN", `HF_TOKEN does not look like a Hub access token (it starts with "${token.slice(0, 3)}", not "hf_")`, "the Hub only accepts user access tokens, which start with hf_", "create a read token at https://huggingface.co/settings/tokens and export HF_TOKEN=hf_…");
  }
  return token;
}

function causeOf(e: unknown): string {
  let c: unknown = e;
  for (let depth = 0; depth < 5 && c && typeof c === "object"; depth++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === "string" && code) return code;
    c = (c as { cause?: unknown }).cause;
  }
  return (e as Error)?.name === "TimeoutError" ? `no answer in ${REQUEST_TIMEOUT_MS / 1000} s` : String((e as Error)?.message ?? e);
}

async function lockHub(ref: string, repoId: string, revision: string | undefined, opts: LockOptions): Promise<LockResult> {
  const env = opts.env ?? process.env;
  const hubUrl = hubUrlFrom(env);
  const token = tokenFrom(env);
  const hub = await import("@huggingface/hub");
  // The Hub says what went wrong in X-Error-Code (RepoNotFound answers 401 to anonymous callers, so
  // the status alone cannot tell a typo from a gated repository); remember it per URL.
  const errorCodes = new Map<string, string>();
  const hubFetch: typeof fetch = async (input, init) => {
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    const res = await fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout });
    const code = res.headers.get("x-error-code");
    if (!res.ok && code) errorCodes.set(res.url, code);
    return res;
  };
  const common = { hubUrl, fetch: hubFetch, ...(token ? { accessToken: token } : {}) };
  const repo = { type: "model" as const, name: repoId };
  let step = "the model info";

  try {
    const info = await hub.modelInfo({ name: repoId, additionalFields: ["sha"], ...(revision ? { revision } : {}), ...common });
    const sha = info.sha;
    if (typeof sha !== "string" || !isCommitSha(sha)) {
      throw fail("HUB_RESPONSE_INVALID", ref, `${hubUrl} answered a commit sha of ${JSON.stringify(sha)} for ${repoId}@${revision ?? "HEAD"}`, "the lock records the 40-hex commit sha", "check that HF_ENDPOINT points at a Hugging Face Hub (or mirror)");
    }
    if (revision && isCommitSha(revision) && sha !== revision) {
      throw fail("HUB_RESPONSE_INVALID", ref, `${hubUrl} resolved commit ${revision} to a different commit, ${sha}`, "a commit sha names exactly one commit", "check that HF_ENDPOINT points at a Hugging Face Hub (or mirror)");
    }

    step = "the file list";
    const files: RemoteFile[] = [];
    let seen = 0;
    for await (const entry of hub.listFiles({ repo, revision: sha, recursive: true, ...common })) {
      if (++seen > MAX_FILES) throw fail("MODEL_TOO_MANY_FILES", ref, `${repoId} lists more than ${MAX_FILES} entries`, "the lock keeps the whole file list", "lock a repository that holds one model");
      if (entry.type === "file") files.push({ path: entry.path, size: entry.lfs?.size ?? entry.size });
    }

    const blobs = new Map<string, Promise<Blob>>();
    const blob = (path: string): Promise<Blob> => {
      let b = blobs.get(path);
      if (!b) {
        // xet: false — plain HTTP Range requests (the Hub redirects them to its CDN), byte-exact, rather
        // than xet reconstruction, which fetches whole compressed chunks around the header.
        b = hub.downloadFile({ repo, path, revision: sha, xet: false, ...common }).then((found) => {
          if (!found) throw fail("MODEL_FILE_MISSING", `${ref}/${path}`, `${repoId}@${sha} lists ${path} but the Hub has no such file`, "the listing and the files disagree", "re-run the lock; if it persists, report it to the repository owner");
          return found;
        });
        blobs.set(path, b);
      }
      return b;
    };
    const remote: Remote = {
      files,
      range: async (path, start, end) => {
        step = path;
        const bytes = new Uint8Array(await (await blob(path)).slice(start, end).arrayBuffer());
        if (bytes.byteLength !== end - start) throw safetensorsInvalid(`${ref}/${path}`, `asked for bytes ${start}–${end - 1}, got ${bytes.byteLength} bytes`);
        return bytes;
      },
      whole: async (path) => {
        step = path;
        return new Uint8Array(await (await blob(path)).arrayBuffer());
      },
    };
    const d = await describe(remote, repoId, ref, opts.allowPickleWeights ?? false);
    const { notes, ...fields } = d;
    return { entry: { id: repoId, revision: sha, source: "huggingface", ...fields }, notes, ...(revision === sha ? {} : { pinnedFrom: revision ?? "HEAD" }) };
  } catch (e) {
    throw hubFailure(e, hub.HubApiError, { ref, repoId, revision: revision ?? "HEAD", hubUrl, token: !!token, step, errorCodes });
  }
}

interface HubContext {
  readonly ref: string;
  readonly repoId: string;
  readonly revision: string;
  readonly hubUrl: string;
  readonly token: boolean;
  readonly step: string;
  readonly errorCodes: Map<string, string>;
}

function hubFailure(e: unknown, HubApiError: new (...args: never[]) => Error, c: HubContext): unknown {
  if (e instanceof PlanningError) return e;
  const page = `${c.hubUrl}/${c.repoId}`;
  if (e instanceof HubApiError) {
    const { statusCode, url } = e as unknown as { statusCode: number; url: string };
    const code = c.errorCodes.get(url);
    const answered = `the Hub answered ${statusCode}${code ? ` ${code}` : ""} for ${c.step}`;
    if (code === "RepoNotFound" || (statusCode === 404 && !code)) {
      return fail(
        "MODEL_NOT_FOUND",
        c.ref,
        `${c.hubUrl} has no model "${c.repoId}" (${answered})`,
        c.token ? "the id is misspelled, or the token's account cannot see this private repository" : "the id is misspelled, or the repository is private and HF_TOKEN is not set",
        `check the id on ${page}${c.token ? "" : "; for a private repository export HF_TOKEN=hf_…"}`,
      );
    }
    if (code === "RevisionNotFound") {
      return fail("MODEL_REVISION_NOT_FOUND", c.ref, `${c.repoId} has no branch, tag or commit "${c.revision}" (${answered})`, "the Hub resolves a revision by exact name", `use a branch or tag listed on ${page}/tree/main, or a full commit sha`);
    }
    if (code === "GatedRepo" || statusCode === 401 || statusCode === 403) {
      return c.token
        ? fail("HF_TOKEN_REQUIRED", c.ref, `HF_TOKEN was refused for ${c.repoId} (${answered})`, "the repository is gated or private and the token's account has not been granted access", `accept the model's terms on ${page} with the account that owns the token, or use a read token of an account that has access`)
        : fail("HF_TOKEN_REQUIRED", c.ref, `${c.repoId} needs a Hub token (${answered})`, "the repository is gated or private; the Hub serves its files only to accounts that were granted access", `accept the model's terms on ${page}, create a read token at https://huggingface.co/settings/tokens and export HF_TOKEN=hf_…`);
    }
    return fail("HUB_REQUEST_FAILED", c.ref, `${answered}: ${e.message}`, "the lock could not read what synth needs", "re-run the lock; if it persists check https://status.huggingface.co or HF_ENDPOINT");
  }
  // By name, not class: fetch fails with a TypeError, and test sandboxes have their own TypeError.
  if (["TypeError", "TimeoutError", "AbortError"].includes((e as Error)?.name)) {
    return fail("HUB_UNREACHABLE", c.ref, `could not reach ${c.hubUrl} while reading ${c.step} (${causeOf(e)})`, "the lock reads the Hub over HTTPS", "check the network, a proxy, or HF_ENDPOINT");
  }
  if ((e as Error)?.name === "SafetensorParseError" || (e as Error)?.name === "InvalidApiResponseFormatError") {
    return fail("HUB_RESPONSE_INVALID", c.ref, `${c.hubUrl} gave an unexpected answer for ${c.step}: ${(e as Error).message}`, "the lock needs sizes and byte ranges the Hub API returns", "check that HF_ENDPOINT points at a Hugging Face Hub (or mirror)");
  }
  return e;
}

// ---------------------------------------------------------------------------------------------
// S3, through @aws-sdk/client-s3

async function lockS3(ref: string, opts: LockOptions): Promise<LockResult> {
  const { bucket, prefix } = parseS3Uri(ref, ref);
  const id = `s3://${bucket}/${prefix}`;
  const env = opts.env ?? process.env;
  const s3 = await import("@aws-sdk/client-s3");
  const endpoint = env.AWS_ENDPOINT_URL_S3?.trim() || env.AWS_ENDPOINT_URL?.trim() || undefined;
  const client: S3Client = new s3.S3Client({
    // An S3-compatible endpoint (MinIO, a test server) is addressed path-style: http://host/bucket/key.
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    maxAttempts: 3,
    requestHandler: { connectionTimeout: REQUEST_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS },
  });
  let step = "the object list";
  try {
    const files: RemoteFile[] = [];
    let pages = 0;
    for await (const page of s3.paginateListObjectsV2({ client, pageSize: 1000 }, { Bucket: bucket, Prefix: prefix })) {
      if (++pages > MAX_LIST_PAGES) throw fail("MODEL_TOO_MANY_FILES", ref, `${id} lists more than ${MAX_LIST_PAGES} pages of objects`, "the lock keeps the whole file list", "lock a prefix that holds one model");
      for (const o of page.Contents ?? []) {
        if (!o.Key || o.Key.endsWith("/")) continue; // folder markers
        if (files.length >= MAX_FILES) throw fail("MODEL_TOO_MANY_FILES", ref, `${id} holds more than ${MAX_FILES} objects`, "the lock keeps the whole file list", "lock a prefix that holds one model");
        files.push({ path: o.Key.slice(prefix.length), size: o.Size ?? 0, ...(o.ETag ? { etag: o.ETag.replace(/^"|"$/g, "") } : {}) });
      }
    }
    if (!files.length) {
      throw fail("MODEL_NOT_FOUND", ref, `s3://${bucket} has no objects under ${prefix}`, "the lock reads config.json, the tokenizer and the weights from the prefix", "check the prefix (it is case-sensitive and ends with /), or upload the model there");
    }
    const get = async (path: string, range?: [number, number]): Promise<Uint8Array> => {
      step = path;
      const res = await client.send(new s3.GetObjectCommand({ Bucket: bucket, Key: prefix + path, ...(range ? { Range: `bytes=${range[0]}-${range[1] - 1}` } : {}) }));
      const bytes = res.Body ? await res.Body.transformToByteArray() : new Uint8Array(0);
      if (range && bytes.byteLength !== range[1] - range[0]) throw safetensorsInvalid(`${id}${path}`, `asked for bytes ${range[0]}–${range[1] - 1}, got ${bytes.byteLength} bytes`);
      return bytes;
    };
    const remote: Remote = { files, range: (path, start, end) => get(path, [start, end]), whole: (path) => get(path) };
    const d = await describe(remote, id, id, opts.allowPickleWeights ?? false);
    const etags = Object.fromEntries(files.filter((f) => f.etag).map((f) => [f.path, f.etag!]));
    const { notes, ...fields } = d;
    return { entry: { id, revision: null, source: "s3", ...fields, etags }, notes };
  } catch (e) {
    throw s3Failure(e, { ref, id, bucket, prefix, endpoint, step });
  } finally {
    client.destroy();
  }
}

function s3Failure(e: unknown, c: { ref: string; id: string; bucket: string; prefix: string; endpoint: string | undefined; step: string }): unknown {
  if (e instanceof PlanningError) return e;
  const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = err.$metadata?.httpStatusCode;
  const answered = `S3 answered ${status ?? "an error"} ${err.name ?? ""} for ${c.step}`.replace(/\s+/g, " ");
  if (err.name === "NoSuchBucket") return fail("MODEL_NOT_FOUND", c.ref, `bucket ${c.bucket} does not exist (${answered})`, "the lock reads the model's files from the bucket", "check the bucket name, and the region or AWS_ENDPOINT_URL_S3 it lives behind");
  if (err.name === "NoSuchKey") return fail("MODEL_NOT_FOUND", c.ref, `${c.id}${c.step} was listed but is gone (${answered})`, "the prefix changed while the lock read it", "re-run the lock once the upload is complete");
  if (status === 403 || err.name === "AccessDenied" || err.name === "InvalidAccessKeyId" || err.name === "SignatureDoesNotMatch") {
    return fail("S3_ACCESS_DENIED", c.ref, `the credentials in use cannot read ${c.id} (${answered})`, "the lock lists the prefix and reads config.json and the safetensors headers", `grant s3:ListBucket on arn:aws:s3:::${c.bucket} (prefix ${c.prefix}) and s3:GetObject on arn:aws:s3:::${c.bucket}/${c.prefix}*, or pick other credentials (AWS_PROFILE)`);
  }
  if (err.name === "CredentialsProviderError" || /Could not load credentials/i.test(err.message ?? "")) {
    return fail("S3_CREDENTIALS_MISSING", c.ref, `no AWS credentials were found (${err.message})`, "S3 requests are signed with the default credential chain", "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where an instance or SSO role is available");
  }
  if (/Region is missing/i.test(err.message ?? "")) {
    return fail("S3_REGION_MISSING", c.ref, "no AWS region is configured", "S3 requests are signed for a region", "set AWS_REGION (for example us-east-1) or a region in the AWS profile");
  }
  if (status === undefined) {
    return fail("S3_UNREACHABLE", c.ref, `could not reach ${c.endpoint ?? "S3"} while reading ${c.step} (${causeOf(e)})`, "the lock reads the prefix over HTTPS", "check the network, a proxy, or AWS_ENDPOINT_URL_S3");
  }
  return fail("S3_REQUEST_FAILED", c.ref, `${answered}: ${err.message}`, "the lock could not read what synth needs", "re-run the lock; check the endpoint and the credentials' permissions");
}

// ---------------------------------------------------------------------------------------------
// Entry point and the lock file

/** Read one model's facts from the Hub (`<repo-id>[@<revision>]`) or S3 (`s3://bucket/prefix/`). */
export async function lockModel(ref: string, opts: LockOptions = {}): Promise<LockResult> {
  if (ref.startsWith("s3://")) return lockS3(ref, opts);
  const at = ref.indexOf("@");
  const repoId = at < 0 ? ref : ref.slice(0, at);
  const revision = at < 0 ? undefined : normaliseRevision(ref.slice(at + 1));
  assertRepoId(repoId, ref);
  if (revision !== undefined) checkRevision(revision, ref); // throws on empty, whitespace or short sha; a branch is resolved
  return lockHub(ref, repoId, revision, opts);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** Entry fields in this order (unknown fields after them, sorted); nested keys sorted. */
const FIELD_ORDER = ["id", "revision", "source", "tokenizer", "safetensors", "files", "config", "adapterConfig", "etags"];

function canonical(entry: LockedModel): LockedModel {
  const raw = entry as unknown as Record<string, unknown>;
  const keys = [...FIELD_ORDER.filter((k) => k in raw), ...Object.keys(raw).filter((k) => !FIELD_ORDER.includes(k)).sort()];
  return Object.fromEntries(keys.filter((k) => raw[k] !== undefined).map((k) => [k, sortKeys(raw[k])])) as unknown as LockedModel;
}

const byIdThenRevision = (a: LockedModel, b: LockedModel): number => {
  const x = `${a.id}\u0000${a.revision ?? ""}`;
  const y = `${b.id}\u0000${b.revision ?? ""}`;
  return x < y ? -1 : x > y ? 1 : 0;
};

/** The lock file text with `entry` merged in: same (id, revision) replaced, others kept, sorted. */
export function mergeLock(existing: readonly LockedModel[], entry: LockedModel): { text: string; action: "added" | "replaced"; count: number } {
  const same = (m: LockedModel) => m.id === entry.id && (m.revision ?? null) === (entry.revision ?? null);
  const action = existing.some(same) ? "replaced" : "added";
  const models = [...existing.filter((m) => !same(m)), entry].map(canonical).sort(byIdThenRevision);
  return { text: `${JSON.stringify({ models }, null, 2)}\n`, action, count: models.length };
}

function readExisting(path: string): LockedModel[] {
  if (!existsSync(path)) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw fail("LOCK_FILE_INVALID", path, `${path} is not valid JSON (${(e as Error).message})`, "the lock merges the new entry into the existing ones", "fix or delete the file and lock the models again");
  }
  const models = (parsed as { models?: unknown } | null)?.models;
  if (!Array.isArray(models) || !models.every((m) => m && typeof m === "object" && typeof (m as { id?: unknown }).id === "string")) {
    throw fail("LOCK_FILE_INVALID", path, `${path} is not { "models": [{ "id": … }, …] }`, "the lock merges the new entry into the existing ones", "fix or delete the file and lock the models again");
  }
  return models as LockedModel[];
}

const fmt = (n: number) => n.toLocaleString("en-US");

/** `model-serving lock …`: resolves, reads, merges and writes; exit code 0, 1 (coded error) or 2 (usage). */
export async function lockCommand(argv: readonly string[], io: LockIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: { out: { type: "string" }, "allow-pickle-weights": { type: "boolean" }, help: { type: "boolean" } },
      strict: true,
      allowPositionals: true,
    });
    if (values.help) {
      io.out(`usage:\n${LOCK_USAGE}`);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError(`lock needs exactly one model: <hf-repo-id>[@<revision>] or s3://<bucket>/<prefix>/ (got ${positionals.length})`);
    if (values.out !== undefined && !values.out.trim()) throw new UsageError("--out needs a file path");
    const out = resolve(values.out ?? LOCK_FILE);
    const existing = readExisting(out);
    const result = await lockModel(positionals[0], { allowPickleWeights: values["allow-pickle-weights"] ?? false, env });
    const { entry } = result;
    if (result.pinnedFrom) {
      const what = result.pinnedFrom === "HEAD" ? "the default branch" : `"${result.pinnedFrom}"`;
      io.out(`pinned ${entry.id} ${what} → ${entry.revision} (a branch or tag can move; the lock records the commit). Use revision: "${entry.revision}" in ModelSource.huggingFace.`);
    }
    const st = entry.safetensors;
    const weights = st ? `${fmt(st.parameters)} parameters, ${fmt(st.bytes)} bytes (${Object.entries(st.dtypes).map(([d, b]) => `${d} ${fmt(b)}`).join(", ")}) from ${st.tensors ?? "?"} tensor headers` : "no safetensors weights";
    io.out(`locked ${entry.id}${entry.revision ? `@${entry.revision}` : ""}: ${entry.files.length} files, tokenizer ${entry.tokenizer ? "yes" : "no"}, ${weights}${entry.adapterConfig ? ", PEFT adapter" : ""}`);
    for (const f of result.notes) io.err(`  ${f.severity} (synth will report it): ${f.message}`);
    const merged = mergeLock(existing, entry);
    mkdirSync(dirname(out), { recursive: true });
    const tmp = `${out}.${process.pid}.tmp`;
    writeFileSync(tmp, merged.text);
    renameSync(tmp, out);
    io.out(`wrote ${values.out ?? LOCK_FILE}: ${entry.id} ${merged.action}, ${merged.count} model${merged.count === 1 ? "" : "s"}`);
    return 0;
  } catch (e) {
    if (e instanceof PlanningError) {
      for (const f of e.findings) io.err(f.message);
      return 1;
    }
    if (e instanceof UsageError || String((e as { code?: unknown })?.code ?? "").startsWith("ERR_PARSE_ARGS")) {
      io.err(`model-serving: ${(e as Error).message}`);
      io.err(`usage:\n${LOCK_USAGE}`);
      return 2;
    }
    throw e;
  }
}
