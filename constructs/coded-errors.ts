/**
 * How the constructs report coded errors, so a user never sees a stack trace:
 *
 * - Problems found while the tree is built are kept as findings and reported when the app
 *   synthesizes (constructs/preflight.ts), at the path of the construct they concern; value objects
 *   defer theirs to the construct that consumes them, and a duplicate id is built under a free id and
 *   reported instead of thrown.
 * - Under the cdktf CLI (`cdktf synth`, `deploy`, …) the app runs with
 *   CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS set (the CLI prints error annotations itself). There the
 *   preflight prints `ERROR [path]: [CODE] path: …` lines and exits 1 before any stack is written.
 * - Elsewhere (tests, a script calling `app.synth()`), validation fails as cdktf always does: an Error
 *   whose message is the coded lines, which the caller may catch (`synthOrExit` prints them and exits 1).
 */
import type { Construct } from "constructs";
import { error, type Finding } from "../planner/findings";

/** True when the cdktf CLI runs this app and prints error annotations itself. */
export function cliPrintsAnnotations(): boolean {
  return process.env.CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS !== undefined;
}


/**
 * The id to construct under: `id` itself, or — when a sibling already has it, which the constructs
 * library would refuse with a stack trace — a free one, the clash being reported by `idFindings`.
 */
export function freeId(scope: Construct, id: string): string {
  if (!scope.node.tryFindChild(id)) return id;
  for (let i = 2; ; i++) if (!scope.node.tryFindChild(`${id}-duplicate-${i}`)) return `${id}-duplicate-${i}`;
}

/** DUPLICATE_ID when `construct` had to be built under another id than the one asked for. */
export function idFindings(construct: Construct, requestedId: string, kind: string): Finding[] {
  if (construct.node.id === requestedId) return [];
  const scope = construct.node.scope!;
  const path = scope.node.path ? `${scope.node.path}/${requestedId}` : requestedId;
  const other = scope.node.tryFindChild(requestedId)!;
  let free = 2;
  while (scope.node.tryFindChild(`${requestedId}-${free}`)) free++;
  return [
    error("DUPLICATE_ID", path, {
      field: "id",
      problem: `the id "${requestedId}" is already used by another construct in ${scope.node.path || "the app"} (${other.constructor.name} ${other.node.path})`,
      why: "construct ids name the Terraform resources and must be unique among siblings",
      fix: `give this ${kind} its own id, e.g. "${requestedId}-${free}"`,
    }),
  ];
}
