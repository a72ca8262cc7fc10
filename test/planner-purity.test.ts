/**
 * DESIGN.md: planner/ is pure TypeScript and catalog/ is data — neither imports cdktf, a provider
 * binding or constructs, so the CLI and the sizing run without loading them.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { REPO_ROOT } from "./fixtures/models";

const FORBIDDEN = /^(cdktf|cdktf\/.*|@cdktf\/.*|constructs|constructs\/.*)$/;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (/\.(ts|tsx|js|cjs|mjs)$/.test(name) && !name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

/** Module specifiers of static imports, re-exports, require() and dynamic import(). */
function specifiers(code: string): string[] {
  const found: string[] = [];
  const patterns = [/\b(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?["']([^"']+)["']/g, /\brequire\s*\(\s*["']([^"']+)["']\s*\)/g, /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g];
  for (const re of patterns) for (const m of code.matchAll(re)) found.push(m[1]);
  return found;
}

describe("planner and catalog purity", () => {
  const files = ["planner", "catalog"].flatMap((d) => sources(join(REPO_ROOT, d)));

  it("finds the planner and catalog sources to scan", () => {
    const names = files.map((f) => relative(REPO_ROOT, f));
    expect(names).toEqual(expect.arrayContaining(["planner/sizing.ts", "planner/plan.ts", "catalog/index.ts"]));
  });

  it("recognises each import form it scans for", () => {
    const sample = `import { App } from "cdktf";\nimport type { Construct } from "constructs";\nexport * from "@cdktf/provider-aws/lib/eks-cluster";\nconst x = require("cdktf/lib/testing");\nawait import("constructs");\nimport "cdktf";`;
    expect(specifiers(sample).filter((s) => FORBIDDEN.test(s))).toHaveLength(6);
  });

  it.each(files.map((f) => [relative(REPO_ROOT, f), f]))("%s imports no cdktf, @cdktf/* or constructs module", (_name, file) => {
    const bad = specifiers(readFileSync(file, "utf8")).filter((s) => FORBIDDEN.test(s));
    expect(bad).toEqual([]);
  });

  it("imports only relative modules, node: built-ins and zod from planner/ and catalog/", () => {
    for (const file of files) {
      for (const s of specifiers(readFileSync(file, "utf8"))) {
        expect([relative(REPO_ROOT, file), s]).toEqual([relative(REPO_ROOT, file), expect.stringMatching(/^(\.{1,2}\/|node:|zod$)/)]);
      }
    }
  });
});
