/**
 * One check of the whole app before any stack is written.
 *
 * cdktf validates and writes stacks one after another, so a problem found while validating the second
 * stack (the cluster phase, say) would leave the first one already written. Every library construct
 * registers here instead of validating itself: the first validation of a synth, on whichever stack
 * comes first, reports every library error of the whole app, so synth writes nothing when anything
 * is wrong. Warnings become annotations on the construct they are about, in that construct's stack.
 */
import { Annotations, TerraformStack } from "cdktf";
import { cliPrintsAnnotations } from "./coded-errors";
import type { Construct, IConstruct } from "constructs";
import type { Finding } from "../planner/findings";

/** A library construct that collects findings while the tree is built. */
export interface FindingSource extends IConstruct {
  /** Problems found so far (more may be added until synth). */
  findingsForPreflight(): readonly Finding[];
}

/** A construct that runs its whole-tree checks (plan, policy) during the preflight. */
export interface PreflightCheck extends IConstruct {
  /** Checks that need the rendered stacks; `render` returns a stack's Terraform JSON (rendered once per synth). */
  preflight(render: (stack: TerraformStack) => unknown): readonly Finding[];
}

interface AppState {
  readonly sources: Set<FindingSource>;
  readonly checks: Set<PreflightCheck>;
  readonly hooked: WeakSet<TerraformStack>;
  /** Stacks validated in the current synth: seeing one again means a new synth has begun. */
  round?: Set<TerraformStack>;
}

const apps = new WeakMap<IConstruct, AppState>();
/** The rendering a stack's own validation made, kept for the write that follows it. */
const renderings = new WeakMap<TerraformStack, unknown>();

function stateOf(scope: IConstruct): AppState {
  const root = scope.node.root;
  let s = apps.get(root);
  if (!s) apps.set(root, (s = { sources: new Set(), checks: new Set(), hooked: new WeakSet() }));
  return s;
}

function hook(stack: TerraformStack, state: AppState): void {
  if (state.hooked.has(stack)) return;
  state.hooked.add(stack);
  stack.node.addValidation({ validate: () => validate(stack, state) });
}

/** Report this construct's findings when the app synthesizes. */
export function registerFindings(source: FindingSource): void {
  const state = stateOf(source);
  state.sources.add(source);
  hook(TerraformStack.of(source), state);
}

/** Report what `produce` finds about `scope` (its whole stack, say) when the app synthesizes. */
export function registerProducer(scope: IConstruct, produce: () => readonly Finding[]): void {
  const state = stateOf(scope);
  state.sources.add({ node: scope.node, with: scope.with.bind(scope), findingsForPreflight: produce });
  hook(TerraformStack.of(scope), state);
}

/** Run this construct's whole-tree checks when the app synthesizes. */
export function registerPreflight(check: PreflightCheck): void {
  const state = stateOf(check);
  state.checks.add(check);
  hook(TerraformStack.of(check), state);
}

function validate(stack: TerraformStack, state: AppState): string[] {
  if (state.round && !state.round.has(stack)) {
    // This synth's first validation already reported everything; had there been errors it would have stopped.
    state.round.add(stack);
    return [];
  }
  state.round = new Set([stack]);
  const rendered = new Map<TerraformStack, unknown>();
  const render = (s: TerraformStack): unknown => {
    if (!rendered.has(s)) {
      const tf = s.toTerraform();
      rendered.set(s, tf);
      // Only the stack being validated has had its aspects run: its rendering is the one that will be written.
      if (s === stack) renderings.set(s, tf);
    }
    return rendered.get(s);
  };
  const findings = [...[...state.sources].flatMap((s) => s.findingsForPreflight()), ...[...state.checks].flatMap((c) => c.preflight(render))];
  const seen = new Set<string>();
  const errors: string[] = [];
  const owners = new Map<string, Construct>();
  for (const s of [...state.sources, ...state.checks]) owners.set(s.node.path, s as unknown as Construct);
  const cli = cliPrintsAnnotations();
  const cliErrors: string[] = [];
  for (const f of findings) {
    if (seen.has(f.message)) continue;
    seen.add(f.message);
    const owner = owners.get(f.path) ?? nearestOwner(f.path, owners) ?? stack;
    if (f.severity !== "error") Annotations.of(owner).addWarning(f.message);
    else if (cli) cliErrors.push(`ERROR [${owner.node.path}]: ${f.message}`);
    else errors.push(f.message);
  }
  if (cliErrors.length) {
    // Under the cdktf CLI, which runs this process only to synthesize, print the coded lines the way the
    // CLI prints error annotations and stop before any stack is written: no stack trace, no half output.
    process.stderr.write(`${cliErrors.join("\n")}\n`);
    process.exit(1);
  }
  if (errors.length) renderings.delete(stack);
  return errors;
}

function nearestOwner(path: string, owners: Map<string, Construct>): Construct | undefined {
  for (let p = path; p.includes("/"); p = p.slice(0, p.lastIndexOf("/"))) {
    const o = owners.get(p);
    if (o) return o;
  }
  return undefined;
}

/**
 * The rendering this stack's validation already made, taken once: resolving a large stack is the
 * costliest step of synth, and the write must not repeat what the check just did.
 */
export function takeRendering(stack: TerraformStack): unknown {
  const r = renderings.get(stack);
  renderings.delete(stack);
  return r;
}
