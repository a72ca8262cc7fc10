/**
 * Every Kubernetes and AWS name the library emits is derived and checked here, against the rule of
 * the API that will receive it. Derivation keeps a name as written when it is already valid; when it
 * must change (characters the API refuses, or too long) it is shortened and given a short hash of
 * what was asked for, so two different inputs never come out as one name. Pure: no cdktf.
 *
 * Sources of the rules:
 * - Kubernetes: k8s.io/apimachinery/pkg/util/validation (IsDNS1123Label, IsDNS1123Subdomain,
 *   IsDNS1035Label, IsValidLabelValue); a Job's name becomes the value of its pods' `job-name` and
 *   `batch.kubernetes.io/job-name` labels, so it must also be a label value (≤ 63).
 * - StatefulSet pods carry `controller-revision-hash: <statefulset>-<hash of up to 10 characters>`
 *   (kubernetes/kubernetes#64023); LeaderWorkerSet names its worker StatefulSets `<lws>-<group index>`
 *   (kubernetes-sigs/lws pkg/controllers/pod_controller.go, constructWorkerStatefulSetApplyConfiguration).
 * - AWS: IAM CreateRole RoleName `[\w+=,.@-]+` ≤ 64, CreatePolicy PolicyName ≤ 128; EKS CreateCluster
 *   name `^[0-9A-Za-z][A-Za-z0-9\-_]*` ≤ 100, CreateNodegroup nodegroupName ≤ 63 of the same characters;
 *   S3 general purpose bucket naming rules; CloudWatch Logs CreateLogGroup `[\.\-_/#A-Za-z0-9]+` ≤ 512;
 *   EC2 launch template names `[a-zA-Z0-9\(\)\.\-/_]+` ≤ 128 (Terraform's name_prefix adds 26).
 */
import { createHash } from "node:crypto";
import { error, type Finding } from "./findings";

export type NameKind =
  | "dns1123Label"
  | "dns1123Subdomain"
  | "dns1035Label"
  | "labelValue"
  | "jobName"
  | "iamRoleName"
  | "iamPolicyName"
  | "eksClusterName"
  | "eksNodeGroupName"
  | "s3BucketName"
  | "s3BucketPrefix"
  | "logGroupName"
  | "launchTemplatePrefix"
  | "securityGroupName"
  | "placementGroupName";

interface NameRule {
  /** What the API calls it, for messages. */
  readonly title: string;
  readonly maxLength: number;
  readonly minLength: number;
  /** The characters allowed anywhere in the name. */
  readonly allowed: RegExp;
  /** Lowercase only. */
  readonly lowercase: boolean;
  /** Characters a name must start with / end with. */
  readonly first: RegExp;
  readonly last: RegExp;
  /** Extra rules (S3's reserved prefixes and suffixes, no ".." …): a problem, or undefined. */
  readonly extra?: (name: string) => string | undefined;
  /** The character that replaces a refused one. */
  readonly filler: string;
}

const ALNUM_LOWER = /[a-z0-9]/;
const ALNUM = /[A-Za-z0-9]/;

const S3_PREFIXES = ["xn--", "sthree-", "amzn-s3-demo-"];
const S3_SUFFIXES = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

function s3Extra(name: string): string | undefined {
  if (name.includes("..")) return 'it contains ".."';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return "it is formatted as an IP address";
  const p = S3_PREFIXES.find((x) => name.startsWith(x));
  if (p) return `it starts with the reserved prefix "${p}"`;
  const s = S3_SUFFIXES.find((x) => name.endsWith(x));
  if (s) return `it ends with the reserved suffix "${s}"`;
  return undefined;
}

const dnsLabel = (title: string, maxLength: number): NameRule => ({ title, maxLength, minLength: 1, allowed: /[a-z0-9-]/, lowercase: true, first: ALNUM_LOWER, last: ALNUM_LOWER, filler: "-" });

export const NAME_RULES: Readonly<Record<NameKind, NameRule>> = {
  dns1123Label: dnsLabel("Kubernetes name (DNS-1123 label)", 63),
  dns1123Subdomain: { ...dnsLabel("Kubernetes name (DNS-1123 subdomain)", 253), allowed: /[a-z0-9.-]/, extra: (n) => (/\.\.|\.-|-\./.test(n) ? 'each dot-separated part must start and end with a letter or digit' : undefined) },
  dns1035Label: { ...dnsLabel("Kubernetes name (DNS-1035 label)", 63), first: /[a-z]/ },
  labelValue: { title: "Kubernetes label value", maxLength: 63, minLength: 0, allowed: /[A-Za-z0-9._-]/, lowercase: false, first: ALNUM, last: ALNUM, filler: "-" },
  jobName: dnsLabel("Kubernetes Job name (a DNS-1123 label: it becomes its pods' job-name label)", 63),
  iamRoleName: { title: "IAM role name", maxLength: 64, minLength: 1, allowed: /[\w+=,.@-]/, lowercase: false, first: /[\w+=,.@-]/, last: /[\w+=,.@-]/, filler: "-" },
  iamPolicyName: { title: "IAM policy name", maxLength: 128, minLength: 1, allowed: /[\w+=,.@-]/, lowercase: false, first: /[\w+=,.@-]/, last: /[\w+=,.@-]/, filler: "-" },
  eksClusterName: { title: "EKS cluster name", maxLength: 100, minLength: 1, allowed: /[A-Za-z0-9_-]/, lowercase: false, first: ALNUM, last: /[A-Za-z0-9_-]/, filler: "-" },
  eksNodeGroupName: { title: "EKS node group name", maxLength: 63, minLength: 1, allowed: /[A-Za-z0-9_-]/, lowercase: false, first: ALNUM, last: /[A-Za-z0-9_-]/, filler: "-" },
  s3BucketName: { title: "S3 bucket name", maxLength: 63, minLength: 3, allowed: /[a-z0-9.-]/, lowercase: true, first: ALNUM_LOWER, last: ALNUM_LOWER, extra: s3Extra, filler: "-" },
  // Terraform's bucket_prefix appends a 26-character unique suffix: the prefix may have 37.
  s3BucketPrefix: { title: "S3 bucket_prefix", maxLength: 37, minLength: 1, allowed: /[a-z0-9.-]/, lowercase: true, first: ALNUM_LOWER, last: /[a-z0-9.-]/, extra: (n) => (S3_PREFIXES.some((x) => n.startsWith(x)) ? "it starts with a reserved prefix" : n.includes("..") ? 'it contains ".."' : undefined), filler: "-" },
  logGroupName: { title: "CloudWatch log group name", maxLength: 512, minLength: 1, allowed: /[.\-_/#A-Za-z0-9]/, lowercase: false, first: /[.\-_/#A-Za-z0-9]/, last: /[.\-_/#A-Za-z0-9]/, filler: "-" },
  // Launch template names have 128 characters; Terraform's name_prefix appends 26.
  launchTemplatePrefix: { title: "launch template name_prefix", maxLength: 102, minLength: 1, allowed: /[a-zA-Z0-9().\-/_]/, lowercase: false, first: /[a-zA-Z0-9().\-/_]/, last: /[a-zA-Z0-9().\-/_]/, filler: "-" },
  // EC2: up to 255 characters, a-z A-Z 0-9, spaces and ._-:/()#,@[]+=&;{}!$* (kept here to the plain ones), not starting with sg-.
  securityGroupName: { title: "security group name", maxLength: 255, minLength: 1, allowed: /[a-zA-Z0-9._\-:/()]/, lowercase: false, first: /[a-zA-Z0-9]/, last: /[a-zA-Z0-9]/, extra: (n) => (n.startsWith("sg-") ? 'it starts with "sg-", which EC2 reserves for ids' : undefined), filler: "-" },
  // EC2: up to 255 ASCII characters (kept here to letters, digits and "-_.").
  placementGroupName: { title: "placement group name", maxLength: 255, minLength: 1, allowed: /[a-zA-Z0-9._\-]/, lowercase: false, first: /[a-zA-Z0-9]/, last: /[a-zA-Z0-9]/, filler: "-" },
};

/** Characters of the short hash appended to a name that had to be changed. */
export const HASH_LENGTH = 6;

/** A short, stable hash of the given strings (base 36 of SHA-256): the same input always gives the same hash. */
export function shortHash(...parts: readonly string[]): string {
  const hex = createHash("sha256").update(parts.join("\u0000")).digest("hex");
  return BigInt(`0x${hex.slice(0, 16)}`).toString(36).padStart(HASH_LENGTH, "0").slice(-HASH_LENGTH);
}

const describe = (c: string) => (c === " " ? "a space" : /\s/.test(c) ? "whitespace" : JSON.stringify(c));

/** Why `name` is not a valid name of this kind, in words a user can act on; undefined when it is valid. */
export function nameProblem(kind: NameKind, name: string, maxLength?: number): string | undefined {
  const rule = NAME_RULES[kind];
  const max = Math.min(maxLength ?? rule.maxLength, rule.maxLength);
  if (typeof name !== "string") return `it is ${JSON.stringify(name)}, not a string`;
  if (name.length < rule.minLength) return name.length === 0 ? "it is empty" : `it has ${name.length} characters; at least ${rule.minLength} are needed`;
  if (name.trimStart() !== name) return `it has ${describe(name[0])} at the start`;
  if (name.trimEnd() !== name) return `it has ${describe(name[name.length - 1])} at the end`;
  if (rule.lowercase && /[A-Z]/.test(name)) return `it has uppercase letters (${JSON.stringify(name.replace(/[^A-Z]/g, "").slice(0, 5))}); only lowercase is allowed`;
  const bad = [...name].find((c) => !rule.allowed.test(c));
  if (bad !== undefined) return `it contains ${describe(bad)}, which is not allowed`;
  if (name.length > max) return `it has ${name.length} characters; at most ${max} are allowed`;
  if (name.length > 0 && !rule.first.test(name[0])) return `it starts with ${describe(name[0])}`;
  if (name.length > 0 && !rule.last.test(name[name.length - 1])) return `it ends with ${describe(name[name.length - 1])}`;
  return rule.extra?.(name);
}

export function isValidName(kind: NameKind, name: string, maxLength?: number): boolean {
  return nameProblem(kind, name, maxLength) === undefined;
}

/** What the rule allows, for the "why" of a message. */
export function nameRuleText(kind: NameKind, maxLength?: number): string {
  const rule = NAME_RULES[kind];
  const max = Math.min(maxLength ?? rule.maxLength, rule.maxLength);
  const chars: Record<NameKind, string> = {
    dns1123Label: 'lowercase letters, digits and "-", starting and ending with a letter or digit',
    dns1123Subdomain: 'lowercase letters, digits, "-" and ".", each part starting and ending with a letter or digit',
    dns1035Label: 'lowercase letters, digits and "-", starting with a letter and ending with a letter or digit',
    labelValue: 'letters, digits, "-", "_" and ".", starting and ending with a letter or digit',
    jobName: 'lowercase letters, digits and "-", starting and ending with a letter or digit',
    iamRoleName: 'letters, digits and "+=,.@_-"',
    iamPolicyName: 'letters, digits and "+=,.@_-"',
    eksClusterName: 'letters, digits, "-" and "_", starting with a letter or digit',
    eksNodeGroupName: 'letters, digits, "-" and "_", starting with a letter or digit',
    s3BucketName: 'lowercase letters, digits, "." and "-", starting and ending with a letter or digit, not an IP address, without the reserved prefixes (xn--, sthree-, amzn-s3-demo-) and suffixes (-s3alias, --ol-s3, .mrap, --x-s3, --table-s3)',
    s3BucketPrefix: 'lowercase letters, digits, "." and "-"',
    logGroupName: 'letters, digits and "._-/#"',
    launchTemplatePrefix: 'letters, digits and "()._-/"',
    securityGroupName: 'letters, digits and "._-:/()", not starting with "sg-"',
    placementGroupName: 'letters, digits and "._-"',
  };
  return `a ${rule.title} has ${rule.minLength > 1 ? `${rule.minLength}–` : "up to "}${max} characters: ${chars[kind]}`;
}

/** Replace what the rule refuses and trim the ends; no length limit applied. */
function sanitize(kind: NameKind, raw: string): string {
  const rule = NAME_RULES[kind];
  let s = rule.lowercase ? raw.toLowerCase() : raw;
  s = [...s].map((c) => (rule.allowed.test(c) ? c : rule.filler)).join("");
  // Collapse runs of fillers and separators the rules dislike in a row.
  s = s.replace(/-{2,}/g, "-").replace(/\.{2,}/g, ".").replace(/(\.-|-\.)+/g, "-");
  while (s.length && !rule.first.test(s[0]) && !/[A-Za-z0-9]/.test(s[0])) s = s.slice(1);
  // A digit where the rule wants a letter (DNS-1035): keep it behind a letter rather than drop it.
  if (s.length && !rule.first.test(s[0])) s = `x-${s}`;
  while (s.length && !rule.last.test(s[s.length - 1])) s = s.slice(0, -1);
  return s;
}

/** Trim a head so it can be followed by "-<hash>": no separator left dangling at its end. */
function trimHead(kind: NameKind, head: string, room: number): string {
  const rule = NAME_RULES[kind];
  let s = head.slice(0, Math.max(0, room));
  while (s.length && (!rule.last.test(s[s.length - 1]) || /[-.]$/.test(s))) s = s.slice(0, -1);
  return s;
}

export interface DeriveOptions {
  /** A tighter limit than the API's own (e.g. to leave room for a suffix the library adds). */
  readonly maxLength?: number;
  /** Used when nothing usable is left of the input (e.g. "___"). @default "x" */
  readonly fallback?: string;
}

/**
 * A valid name of `kind` from `parts` joined by "-": unchanged when already valid and short enough,
 * otherwise cleaned, shortened and suffixed with a hash of the raw parts, so distinct inputs give
 * distinct names and the same input always gives the same name.
 */
export function deriveName(kind: NameKind, parts: readonly string[], options: DeriveOptions = {}): string {
  const rule = NAME_RULES[kind];
  const max = Math.min(options.maxLength ?? rule.maxLength, rule.maxLength);
  const raw = parts.filter((p) => p !== "").join("-");
  if (isValidName(kind, raw, max)) return raw;
  const hash = shortHash(raw);
  const clean = sanitize(kind, raw) || options.fallback || "x";
  let head = trimHead(kind, clean, max - HASH_LENGTH - 1);
  if (!head || !rule.first.test(head[0])) head = trimHead(kind, `${options.fallback ?? "x"}${head ? `-${head}` : ""}`, max - HASH_LENGTH - 1);
  const name = `${head}-${hash}`;
  return isValidName(kind, name, max) ? name : hash.replace(/^[^a-z]/, "x");
}

/**
 * A suggestion for an invalid `raw` name that is valid AND not in `taken`: the cleaned name when it
 * fits and is free, else the derived name (with its hash), else that with a counter.
 */
export function suggestName(kind: NameKind, raw: string, taken: Iterable<string> = [], options: DeriveOptions = {}): string {
  const used = new Set(taken);
  const max = Math.min(options.maxLength ?? NAME_RULES[kind].maxLength, NAME_RULES[kind].maxLength);
  const clean = sanitize(kind, String(raw));
  const candidates = [clean, deriveName(kind, [String(raw)], options)];
  const free = candidates.find((c) => c && isValidName(kind, c, max) && !used.has(c) && c !== raw);
  if (free) return free;
  const base = candidates[1];
  for (let i = 2; ; i++) {
    const c = `${trimHead(kind, base, max - String(i).length - 1)}-${i}`;
    if (isValidName(kind, c, max) && !used.has(c)) return c;
  }
}

/**
 * A descriptive Kubernetes label value for free text (a model id: "meta-llama/Llama-3.1-8B" becomes
 * "meta-llama-Llama-3.1-8B"): readable, hashed only when it must be shortened. Not a selector and not
 * unique by design — the exact id is in an annotation beside it.
 */
export function labelValueOf(raw: string): string {
  const clean = sanitize("labelValue", String(raw)) || "unknown";
  return clean.length <= 63 ? clean : deriveName("labelValue", [raw]);
}

/** Characters of the hash the StatefulSet controller appends to controller-revision-hash (kubernetes#64023). */
export const REVISION_HASH_SUFFIX = 11;

/**
 * Longest LeaderWorkerSet name for `replicas` groups: its worker StatefulSets are `<name>-<index>`
 * and their pods carry `controller-revision-hash: <statefulset>-<hash>`, a label value (≤ 63).
 */
export function maxLeaderWorkerSetNameLength(replicas: number): number {
  const indexDigits = String(Math.max(0, Math.max(1, replicas) - 1)).length;
  return 63 - REVISION_HASH_SUFFIX - 1 - indexDigits;
}

/** One physical name a construct emits, in the namespace where it must be unique. */
export interface NameClaim {
  /** What the name names, as a reader says it ("IAM role", "Kubernetes Job"). */
  readonly kind: string;
  /** Where the name must be unique: "aws-account", "global" (S3), "cluster c / namespace n", … */
  readonly scope: string;
  readonly name: string;
  /** Construct path of the claimant. */
  readonly path: string;
  /** The stack the claimant belongs to (findings are reported per stack). */
  readonly stack: string;
  /** The rule the name must also satisfy, for the suggestion. @default "dns1123Label" */
  readonly rule?: NameKind;
}

/**
 * Every name the constructs of one app emit, so synth can refuse a collision it can see: two claims
 * of one name in one scope by different constructs. The first claimant keeps it; each later one gets
 * a NAME_COLLISION with a free, valid suggestion.
 */
export class NameRegistry {
  private readonly claims = new Map<string, NameClaim[]>();

  claim(c: NameClaim): void {
    const key = `${c.kind}\u0000${c.scope}\u0000${c.name}`;
    const list = this.claims.get(key) ?? [];
    if (!list.some((x) => x.path === c.path)) list.push(c);
    this.claims.set(key, list);
  }

  /** Names of `kind` already claimed in `scope`. */
  taken(kind: string, scope: string): Set<string> {
    return new Set([...this.claims.values()].flat().filter((c) => c.kind === kind && c.scope === scope).map((c) => c.name));
  }

  /** NAME_COLLISION for every claim after the first of its name, optionally only those of one stack. */
  collisions(stack?: string): Finding[] {
    const out: Finding[] = [];
    for (const list of this.claims.values()) {
      const [first, ...later] = list;
      for (const c of later) {
        if (stack !== undefined && c.stack !== stack) continue;
        const free = suggestName(c.rule ?? "dns1123Label", `${c.name}-2`, this.taken(c.kind, c.scope));
        out.push(
          error("NAME_COLLISION", c.path, {
            field: "name",
            problem: `${c.kind} "${c.name}" (${c.scope}) is also the name of ${first.path}`,
            why: "one name means one object there: the second would fail to create, or take over the first",
            fix: `give one of them another name, e.g. "${free}"`,
          }),
        );
      }
    }
    return out;
  }
}
