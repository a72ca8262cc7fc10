/**
 * Summarise a V8 .cpuprofile (node --cpu-prof): top functions by self time with file:line, and the
 * inclusive time of this repository's own functions (where the library spends, callees included).
 *
 *   npx tsx bench/profile-summary.ts <file.cpuprofile> [--top 25]
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }


const sources = new Map<string, string[]>();
/**
 * V8 reports positions in the code tsx generated, not in the .ts file (whole modules on a line or two),
 * so for this repository's TypeScript the line is looked up by the function's name in the source.
 */
function sourceLine(file: string, name: string): number | undefined {
  if (!name || name === "(anonymous)") return undefined;
  let lines = sources.get(file);
  if (!lines) {
    try {
      lines = readFileSync(file, "utf8").split("\n");
    } catch {
      lines = [];
    }
    sources.set(file, lines);
  }
  const n = name.replace(/^(get|set) /, "").replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const patterns = [new RegExp(`\\bclass ${n}\\b`), new RegExp(`\\bfunction ${n}\\b`), new RegExp(`^\\s*(?:(?:private|protected|public|static|async|readonly|get|set)\\s+)*${n}\\s*[(<]`), new RegExp(`\\b(?:const|let) ${n}\\s*=`)];
  for (const re of patterns) {
    const i = lines.findIndex((l) => re.test(l));
    if (i >= 0) return i + 1;
  }
  return undefined;
}

function where(cf: CallFrame): string {
  let url = cf.url.replace(/^file:\/\//, "");
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) return `${url.slice(nm + "node_modules/".length)}:${cf.lineNumber + 1}`;
  if (url.endsWith(".ts")) {
    const line = sourceLine(url, cf.functionName);
    const rel = url.startsWith(process.cwd()) ? relative(process.cwd(), url) : url;
    return line ? `${rel}:${line}` : `${rel} (generated line ${cf.lineNumber + 1})`;
  }
  if (url.startsWith(process.cwd())) url = relative(process.cwd(), url);
  return url ? `${url}:${cf.lineNumber + 1}` : "(native)";
}

export function summarise(profile: Profile, top = 25): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

  const key = (cf: CallFrame) => `${cf.functionName || "(anonymous)"}  ${where(cf)}`;
  const self = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const k = key(byId.get(id)!.callFrame);
    self.set(k, (self.get(k) ?? 0) + us);
  }
  // Inclusive time of repository frames: each sample counts once per distinct repository frame on its stack.
  const inclusive = new Map<string, number>();
  const ownCode = (cf: CallFrame) => cf.url.includes(process.cwd()) && !cf.url.includes("node_modules") && !cf.url.includes("/bench/");
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur)!.callFrame;
      if (!ownCode(cf)) continue;
      const k = key(cf);
      if (!seen.has(k)) {
        seen.add(k);
        inclusive.set(k, (inclusive.get(k) ?? 0) + us);
      }
    }
  }
  const ms = (us: number) => (us / 1000).toFixed(0).padStart(7);
  const pct = (us: number) => ((100 * us) / total).toFixed(1).padStart(5);
  const lines = [`total sampled ${(total / 1000).toFixed(0)} ms`, "", "Top self time:", "   self ms      %  function  file:line"];
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${ms(us)}  ${pct(us)}  ${k}`);
  lines.push("", "Inclusive time of this repository's functions (callees included):", "   incl ms      %  function  file:line");
  for (const [k, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${ms(us)}  ${pct(us)}  ${k}`);
  return lines.join("\n");
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: profile-summary.ts <file.cpuprofile> [--top N]");
    process.exit(2);
  }
  const i = process.argv.indexOf("--top");
  console.log(summarise(JSON.parse(readFileSync(file, "utf8")) as Profile, i > 0 ? Number(process.argv[i + 1]) : 25));
}
