/**
 * The constructs' side of planner/names.ts: one NameRegistry per app, so every physical name the
 * library emits is claimed in the scope where it must be unique, and each stack refuses (NAME_COLLISION)
 * a name that another construct of the app already holds there.
 */
import { TerraformStack, Token } from "cdktf";
import type { Construct } from "constructs";
import { error, type Finding } from "../planner/findings";
import { nameProblem, nameRuleText, NameRegistry, suggestName, type NameKind } from "../planner/names";
import { AwsProvider } from "./bindings/aws";
import { registerProducer } from "./preflight";

const registries = new WeakMap<object, NameRegistry>();
const checkedStacks = new WeakSet<TerraformStack>();

export function registryOf(c: Construct): NameRegistry {
  const root = c.node.root;
  let r = registries.get(root);
  if (!r) registries.set(root, (r = new NameRegistry()));
  return r;
}

/** Where account-wide AWS names live: IAM is global to the account. */
export const AWS_ACCOUNT = "AWS account";
/** S3 bucket names are global across all accounts. */
export const ALL_OF_S3 = "all of S3";

/** The region a regional AWS name lives in: the stack's default AWS provider's, when written as a plain string. */
export function regionScope(c: Construct): string {
  const stack = TerraformStack.of(c);
  const provider = stack.node.findAll().find((x): x is AwsProvider => x instanceof AwsProvider && !x.alias);
  const region = provider?.region;
  return typeof region === "string" && !Token.isUnresolved(region) ? `AWS region ${region}` : `the region of stack ${stack.node.path}`;
}

/** Where Kubernetes names of one namespace of one cluster live. */
export function namespaceScope(clusterName: string, namespace: string): string {
  return `namespace ${namespace} of cluster ${clusterName}`;
}

/** Claim `name` for construct `c`; a collision is reported when `c`'s stack synthesizes. Unresolved tokens are skipped. */
export function claimName(c: Construct, kind: string, scope: string, name: string, rule?: NameKind): void {
  if (typeof name !== "string" || !name || Token.isUnresolved(name) || Token.isUnresolved(scope)) return;
  const stack = TerraformStack.of(c);
  const registry = registryOf(c);
  registry.claim({ kind, scope, name, path: c.node.path, stack: stack.node.path, ...(rule ? { rule } : {}) });
  if (!checkedStacks.has(stack)) {
    checkedStacks.add(stack);
    registerProducer(stack, () => registry.collisions(stack.node.path));
  }
}

/**
 * NAME_INVALID for a name the user gave that its API would refuse, with a suggestion that is valid
 * and not already taken; [] when it is valid.
 */
export function userNameFindings(code: string, path: string, field: string, kind: NameKind, name: string, taken: Iterable<string> = [], maxLength?: number): Finding[] {
  const problem = nameProblem(kind, name, maxLength);
  if (!problem) return [];
  return [error(code, path, { field, problem: `${field} ${JSON.stringify(name)} is not valid: ${problem}`, why: nameRuleText(kind, maxLength), fix: `use "${suggestName(kind, name, taken, maxLength ? { maxLength } : {})}"` })];
}
