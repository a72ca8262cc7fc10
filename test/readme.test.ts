/**
 * The README's TypeScript samples are code users copy: each one type-checks as written against the
 * package's public entry point, and runs to a successful synth.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ts from "typescript";

const root = join(__dirname, "..");
const samples = [...readFileSync(join(root, "README.md"), "utf8").matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
// Inside the repository so that its tsconfig (the package name mapped to index.ts) and node_modules apply.
const dir = join(root, "test", ".readme-samples");

beforeAll(() => {
  mkdirSync(dir, { recursive: true });
  samples.forEach((code, i) => writeFileSync(join(dir, `sample-${i}.ts`), code));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("the README has TypeScript samples, and each imports what it uses from the package by name", () => {
  expect(samples.length).toBeGreaterThan(0);
  for (const code of samples) expect(code).toMatch(/from "cdktf-model-serving"/);
});

test("every sample type-checks as written under the repository's strict settings", () => {
  const config = ts.readConfigFile(join(root, "tsconfig.json"), (f) => readFileSync(f, "utf8"));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const program = ts.createProgram(samples.map((_, i) => join(dir, `sample-${i}.ts`)), { ...parsed.options, noEmit: true });
  const problems = ts.getPreEmitDiagnostics(program).map((d) => `${d.file?.fileName ?? ""}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
  expect(problems).toEqual([]);
}, 120_000);

test.each(samples.map((_, i) => i))("sample %i synthesizes: both deploy phases and the serving plan are written", (i) => {
  const cwd = mkdtempSync(join(tmpdir(), "readme-"));
  try {
    const r = spawnSync(process.execPath, ["--require", require.resolve("tsx/cjs"), join(dir, `sample-${i}.ts`)], { cwd, encoding: "utf8", env: { ...process.env, MODEL_SERVING_QUIET: "1", TSX_TSCONFIG_PATH: join(root, "tsconfig.json") } });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const stacks = readdirSync(join(cwd, "cdktf.out", "stacks")).sort();
    expect(stacks).toEqual(["prod", "prod-cluster"]);
    expect(readdirSync(join(cwd, "cdktf.out", "stacks", "prod")).sort()).toEqual(["cdk.tf.json", "serving-plan.json", "serving-plan.md"]);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}, 120_000);
