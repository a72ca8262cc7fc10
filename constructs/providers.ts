/**
 * Which provider configuration each of the library's resources uses. The library composes into
 * stacks it does not own, so it never adds a second unaliased provider block: providers it creates
 * itself (Kubernetes and Helm, one per cluster and stack) are always aliased, and AWS resources use
 * the provider the user names, or the stack's one unaliased AWS provider. An aspect binds every
 * resource and data source under a library construct to the right configuration at synth.
 */
import { Aspects, TerraformDataSource, TerraformResource, TerraformStack, Token, type IAspect, type TerraformProvider } from "cdktf";
import type { IConstruct } from "constructs";
import { error, type Finding } from "../planner/findings";
import { AwsProvider } from "./bindings/aws";

/** Provider configurations a construct's resources bind to, by Terraform provider type. */
export interface ProviderSet {
  /** @default - the stack's one unaliased AWS provider */
  readonly aws?: AwsProvider;
  readonly kubernetes?: TerraformProvider;
  readonly helm?: TerraformProvider;
}

/** The providers a user may hand to a construct instead of the stack's defaults. */
export interface ProviderOptions {
  /** AWS provider for this construct's AWS resources (e.g. an aliased provider of another region). @default - the stack's unaliased AWS provider */
  readonly awsProvider?: AwsProvider;
}

class BindProviders implements IAspect {
  constructor(private readonly providers: ProviderSet) {}

  visit(node: IConstruct): void {
    if (!(node instanceof TerraformResource) && !(node instanceof TerraformDataSource)) return;
    if (node.provider) return; // bound explicitly by whoever created it
    const type = node.terraformGeneratorMetadata?.providerName;
    const provider = type === "aws" ? this.providers.aws : type === "kubernetes" ? this.providers.kubernetes : type === "helm" ? this.providers.helm : undefined;
    if (provider) node.provider = provider;
  }
}

/** Bind every resource and data source under `scope` to these providers (unless bound already). */
export function bindProviders(scope: IConstruct, providers: ProviderSet): void {
  Aspects.of(scope).add(new BindProviders(providers));
}

export interface ResolvedAwsProvider {
  /** Set when the library's AWS resources must name this provider (it is aliased, or was given). */
  readonly provider?: AwsProvider;
  /** The region the provider is configured for, when it is a plain string. */
  readonly region?: string;
  readonly findings: Finding[];
}

function awsProvidersOf(stack: TerraformStack): AwsProvider[] {
  return stack.node.findAll().filter((c): c is AwsProvider => c instanceof AwsProvider);
}

/**
 * The AWS provider a construct's resources use: the one given, else the stack's unaliased one.
 * A stack with only aliased AWS providers (multi-region) must say which, or resources would bind
 * to a default configuration that does not exist.
 */
export function resolveAwsProvider(scope: IConstruct, given: AwsProvider | undefined, path: string, field = "awsProvider"): ResolvedAwsProvider {
  const stack = TerraformStack.of(scope);
  if (given) {
    if (TerraformStack.of(given) !== stack) {
      return { findings: [error("PROVIDER_IN_OTHER_STACK", path, { field, problem: `the AWS provider ${given.node.path} belongs to stack ${TerraformStack.of(given).node.id}, not ${stack.node.id}`, why: "Terraform resolves provider configurations within one stack (one root module)", fix: `pass an AWS provider of stack ${stack.node.id}` })] };
    }
    return { provider: given, ...regionOf(given), findings: [] };
  }
  const all = awsProvidersOf(stack);
  const unaliased = all.filter((p) => p.alias === undefined);
  if (unaliased.length === 1) return { ...regionOf(unaliased[0]), findings: [] };
  if (all.length === 0) {
    return { findings: [error("AWS_PROVIDER_MISSING", path, { field, problem: `stack ${stack.node.id} has no AWS provider`, why: "the library's AWS resources (EKS, IAM, S3) need one, and a library must not configure your account and region for you", fix: `add new AwsProvider(stack, "aws", { region: "us-east-1" }) to the stack, or pass ${field}` })] };
  }
  const aliases = all.map((p) => p.alias ?? "(unaliased)").join(", ");
  return { findings: [error("AWS_PROVIDER_AMBIGUOUS", path, { field, problem: `stack ${stack.node.id} has AWS providers ${aliases} and none is the single unaliased default`, why: "the library cannot guess the account and region its resources belong in", fix: `pass ${field}: the provider to use` })] };
}

function regionOf(p: AwsProvider): { region?: string } {
  const r = p.region;
  return r !== undefined && !Token.isUnresolved(r) ? { region: r } : {};
}

/** A Terraform provider alias (letters, digits, '_' and '-', starting with a letter) for a construct id. */
export function providerAlias(...parts: string[]): string {
  const s = parts.join("_").replace(/[^A-Za-z0-9_-]+/g, "_");
  return /^[A-Za-z]/.test(s) ? s : `p_${s}`;
}
