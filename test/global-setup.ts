import { execFileSync } from "node:child_process";
import { join } from "node:path";

/**
 * Some tests run what users install — the compiled CLI and the packed library — so build lib/ from
 * the current source once before any suite runs (CI's `npm ci` builds it too, through `prepare`).
 */
export default function globalSetup(): void {
  const root = join(__dirname, "..");
  execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
  execFileSync(process.execPath, [join(root, "scripts", "copy-catalog-data.cjs")], { cwd: root, stdio: "inherit" });
}
