/**
 * The catalog: dated data with sources. Everything the planner knows about hardware, prices, quotas,
 * shapes, models and the pinned vLLM release is read from the JSON files beside this module and checked
 * once at load, so a bad edit to the data fails loudly instead of planning on nonsense.
 */
import { z } from "zod";
import gpusJson from "./gpus.json";
import instancesJson from "./instances.json";
import quotasJson from "./quotas.json";
import servicesJson from "./services.json";
import shapesJson from "./shapes.json";

const Gpu = z.object({
  id: z.string(),
  name: z.string(),
  deviceName: z.string(),
  memoryGiBMarketed: z.number().positive(),
  cudaVisibleGiB: z.number().positive(),
  basis: z.enum(["vllm-log", "estimate"]),
  computeCapability: z.number().positive(),
  memoryBandwidthGBps: z.number().positive(),
  smCount: z.number().int().positive(),
  source: z.string().min(1),
  /** Throughput facts the performance model needs; optional so a GPU without sourced figures can still be sized. */
  performance: z
    .object({
      /** Dense tensor-core throughput (no sparsity); null where the GPU has no such tensor cores. */
      bf16DenseTflops: z.number().positive().nullable(),
      fp16DenseTflops: z.number().positive(),
      fp8DenseTflops: z.number().positive().nullable(),
      int8DenseTops: z.number().positive().nullable(),
      /** How tensor-parallel ranks in one node talk, and its bandwidth per GPU per direction. */
      gpuLink: z.enum(["nvlink", "pcie"]),
      gpuLinkGBps: z.number().positive(),
      /** Share of peak tensor throughput the card sustains under continuous GEMM load when its power cap binds. @default - not power-limited */
      sustainedTensorFraction: z.number().positive().max(1).optional(),
      source: z.string().min(1),
    })
    .optional(),
});
export type GpuSpec = z.infer<typeof Gpu>;
export type GpuPerformanceSpec = NonNullable<GpuSpec["performance"]>;

const Instance = z.object({
  instanceType: z.string(),
  family: z.string(),
  gpus: z.number().int().positive(),
  gpu: z.string(),
  vcpus: z.number().int().positive(),
  memoryGiB: z.number().positive(),
  nvmeGB: z.number().nonnegative(),
  networkGbps: z.number().positive(),
  efaDevices: z.number().int().nonnegative(),
  onDemandUsdPerHour: z.number().positive().nullable(),
  priceNote: z.string().optional(),
  quota: z.object({ onDemand: z.string(), spot: z.string() }),
  specSource: z.string().min(1),
  priceSource: z.string().min(1),
  capturedAt: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
});
export type InstanceSpec = z.infer<typeof Instance>;

const Quota = z.object({ code: z.string(), name: z.string(), capacityType: z.enum(["ON_DEMAND", "SPOT"]) });
export type QuotaSpec = z.infer<typeof Quota>;

const Shape = z.object({ name: z.string().regex(/^[A-Z0-9_]+_X\d+$/), gpu: z.string(), gpus: z.number().int().positive() });
export type ShapeSpec = z.infer<typeof Shape>;

const Price = z.object({ value: z.number().positive(), source: z.string().min(1), capturedAt: z.string() });

const gpuList = z.object({ capturedAt: z.string(), gpus: z.array(Gpu) }).parse(gpusJson).gpus;
const instanceData = z.object({ region: z.string(), capturedAt: z.string(), instances: z.array(Instance) }).parse(instancesJson);
const quotaData = z.object({ capturedAt: z.string(), source: z.string(), unit: z.literal("vCPU"), quotas: z.array(Quota) }).parse(quotasJson);
const serviceData = z
  .object({
    region: z.string(),
    hoursPerMonth: z.number().positive(),
    prices: z.object({
      eksControlPlaneUsdPerHour: Price,
      eksExtendedSupportUsdPerHour: Price,
      ebsGp3UsdPerGbMonth: Price,
      s3StandardUsdPerGbMonth: Price,
      systemNodeUsdPerHour: Price.extend({ instanceType: z.string(), vcpus: z.number().int().positive() }),
    }),
  })
  .parse(servicesJson);
const shapeList = z.object({ source: z.string(), capturedAt: z.string(), shapes: z.array(Shape) }).parse(shapesJson).shapes;

for (const i of instanceData.instances) {
  if (!gpuList.some((g) => g.id === i.gpu)) throw new Error(`catalog/instances.json: ${i.instanceType} names unknown GPU ${i.gpu}`);
  for (const code of [i.quota.onDemand, i.quota.spot]) {
    if (!quotaData.quotas.some((q) => q.code === code)) throw new Error(`catalog/instances.json: ${i.instanceType} names unknown quota ${code}`);
  }
}
for (const s of shapeList) {
  if (!gpuList.some((g) => g.id === s.gpu)) throw new Error(`catalog/shapes.json: ${s.name} names unknown GPU ${s.gpu}`);
}

export const REGION = instanceData.region;
export const PRICES_CAPTURED_AT = instanceData.capturedAt;
export const HOURS_PER_MONTH = serviceData.hoursPerMonth;
export const SERVICE_PRICES = serviceData.prices;
export const GPUS: readonly GpuSpec[] = gpuList;
export const INSTANCES: readonly InstanceSpec[] = instanceData.instances;
export const QUOTAS: readonly QuotaSpec[] = quotaData.quotas;
export const SHAPES: readonly ShapeSpec[] = shapeList;

export function findGpu(id: string): GpuSpec | undefined {
  return GPUS.find((g) => g.id === id);
}
export function findInstance(instanceType: string): InstanceSpec | undefined {
  return INSTANCES.find((i) => i.instanceType === instanceType);
}
export function findShape(name: string): ShapeSpec | undefined {
  return SHAPES.find((s) => s.name === name);
}
export function findQuota(code: string): QuotaSpec | undefined {
  return QUOTAS.find((q) => q.code === code);
}
