/**
 * Which GPUs run a quantization format, per vLLM release (catalog/vllm/quantization.json): refused below the
 * method's minimum capability, emulated with Marlin weight-only kernels in between, native above.
 */
import quantJson from "../catalog/vllm/quantization.json";
import { error, warning, type Finding } from "./findings";
import type { QuantMethod, Quantization } from "./model-profile";

interface Range {
  readonly from: number;
  readonly below?: number;
  readonly kernel: string;
}
interface MethodRow {
  readonly method: QuantMethod;
  readonly name: string;
  readonly minCapability: number;
  readonly native: readonly Range[];
  readonly emulated: Range | null;
  readonly source: string;
}
const data = quantJson as unknown as { releases: { from: string; below: string }; methods: MethodRow[] };

export type QuantSupport = "native" | "emulated" | "refused";

export interface GpuRef {
  readonly id: string;
  readonly computeCapability: number;
}

const inRange = (cc: number, r: Range) => cc >= r.from && (r.below === undefined || cc < r.below);

function parse(v: string): number[] {
  return v.split(".").map((x) => parseInt(x, 10) || 0);
}
function before(a: string, b: string): boolean {
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) < (y[i] ?? 0);
  return false;
}

/** How `method` runs on a GPU of compute capability `cc`, or undefined when the release is outside the table. */
export function quantSupport(method: QuantMethod, cc: number, version: string): { support: QuantSupport; row: MethodRow } | undefined {
  if (before(version, data.releases.from) || !before(version, data.releases.below)) return undefined;
  const row = data.methods.find((m) => m.method === method);
  if (!row) return undefined;
  if (cc < row.minCapability) return { support: "refused", row };
  if (row.native.some((r) => inRange(cc, r))) return { support: "native", row };
  if (row.emulated && inRange(cc, row.emulated)) return { support: "emulated", row };
  // Above the minimum but outside every kernel range (e.g. a future capability): vLLM still starts the method.
  return { support: row.emulated ? "emulated" : "native", row };
}

function listGpus(gpus: readonly GpuRef[], method: QuantMethod, version: string, want: QuantSupport): string {
  return gpus.filter((g) => quantSupport(method, g.computeCapability, version)?.support === want).map((g) => g.id).join(", ");
}

/**
 * Findings for serving `q` on `gpu` with vLLM `version`: an error naming the GPUs that would run it when the release
 * refuses it, a warning when it is emulated (weight-only Marlin: the memory is the quantized one, the speed is not).
 */
export function quantFindings(q: Quantization | undefined, gpu: GpuRef, version: string, gpus: readonly GpuRef[], path: string): Finding[] {
  if (!q) return [];
  const s = quantSupport(q.method, gpu.computeCapability, version);
  const cc = gpu.computeCapability.toFixed(1);
  const what = q.origin === "online" ? `--quantization ${q.method}` : `this ${q.method} checkpoint`;
  if (!s) {
    if (!before(version, data.releases.from)) return [];
    return [
      warning("QUANT_SUPPORT_UNCHECKED", path, {
        field: "quantization",
        problem: `which GPUs run ${what} in vLLM ${version} was not read (catalog/vllm/quantization.json covers v${data.releases.from}+)`,
        why: "each release's quantization methods decide the GPUs they start on, and this one's were not checked",
        fix: "check the method's get_min_capability in that release, or size for a release the table covers",
      }),
    ];
  }
  if (s.support === "native") return [];
  const native = listGpus(gpus, q.method, version, "native");
  const emulated = listGpus(gpus, q.method, version, "emulated");
  if (s.support === "refused") {
    return [
      error("QUANT_UNSUPPORTED_ON_GPU", path, {
        field: "quantization",
        problem: `${what} (${s.row.name}) on ${gpu.id} (compute capability ${cc}) in vLLM ${version}`,
        why: `vLLM refuses it below compute capability ${s.row.minCapability.toFixed(1)}: "The quantization method ${q.method} is not supported for the current GPU" (${s.row.source.split(";")[0]})`,
        fix: `use a GPU that runs it — natively: ${native || "none in the catalog"}${emulated ? `; as Marlin weight-only: ${emulated}` : ""} — or a format this GPU runs (GPTQ/AWQ from 6.0/7.5)`,
      }),
    ];
  }
  return [
    warning("QUANT_EMULATED_ON_GPU", path, {
      field: "quantization",
      problem: `${what} (${s.row.name}) runs on ${gpu.id} (compute capability ${cc}) only through ${s.row.emulated?.kernel ?? "weight-only kernels"} in vLLM ${version}`,
      why: "the weights keep their quantized size, but the matmuls run in 16-bit: compute-heavy work (long prompts, large batches) is slower than on a GPU with native kernels",
      fix: `accept it, or use a GPU with native kernels: ${native || "none in the catalog"}`,
    }),
  ];
}
