/**
 * Coded findings. Every error the library reports has the form
 * `[CODE] <construct path>: <problem>. <why>. Fix: <action>.` so a reviewer can grep the code and a
 * user knows what to change without reading the source.
 */
export type Severity = "error" | "warning";

export interface Finding {
  readonly code: string;
  readonly severity: Severity;
  /** Construct path (or CLI argument) the finding is about. */
  readonly path: string;
  /** The props field at fault, when there is one. */
  readonly field?: string;
  readonly message: string;
}

export interface FindingParts {
  readonly problem: string;
  readonly why: string;
  readonly fix: string;
  readonly field?: string;
}

function sentence(s: string): string {
  const t = s.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

export function finding(code: string, severity: Severity, path: string, parts: FindingParts): Finding {
  const message = `[${code}] ${path}: ${sentence(parts.problem)} ${sentence(parts.why)} Fix: ${sentence(parts.fix)}`;
  return { code, severity, path, ...(parts.field ? { field: parts.field } : {}), message };
}

export const error = (code: string, path: string, parts: FindingParts) => finding(code, "error", path, parts);
export const warning = (code: string, path: string, parts: FindingParts) => finding(code, "warning", path, parts);

/** Thrown for bad input that makes planning impossible; carries every finding, not just the first. */
export class PlanningError extends Error {
  readonly findings: readonly Finding[];
  constructor(findings: readonly Finding[]) {
    super(findings.map((f) => f.message).join("\n"));
    this.name = "PlanningError";
    this.findings = findings;
  }
  get codes(): string[] {
    return this.findings.map((f) => f.code);
  }
}

export function errorsOf(findings: readonly Finding[]): Finding[] {
  return findings.filter((f) => f.severity === "error");
}

/** Round for reports: stable, no float noise in JSON. */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;
