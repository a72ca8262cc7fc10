/**
 * The catalog: dated data with sources. Everything the planner knows about hardware, prices, quotas,
 * shapes, models and the pinned vLLM release is read from the JSON files beside this module and checked
 * once at load, so a bad edit to the data fails loudly instead of planning on nonsense.
 */
import { z } from "zod";
import gpusJson from "./gpus.json";
import instancesJson from "./instances.json";
import quotasJson from "./quotas.json";
import regionsJson from "./regions.json";
import servicesJson from "./services.json";
import shapesJson from "./shapes.json";
import capacityJson from "./capacity.json";

const Gpu = z.object({
  id: z.string(),
  name: z.string(),
  deviceName: z.string(),
  /** Other names users type (`--gpu "RTX 4090"`); matched ignoring case, spaces and dashes. */
  aliases: z.array(z.string()).optional(),
  memoryGiBMarketed: z.number().positive(),
  cudaVisibleGiB: z.number().positive(),
  basis: z.enum(["vllm-log", "estimate"]),
  computeCapability: z.number().positive(),
  memoryBandwidthGBps: z.number().positive(),
  smCount: z.number().int().positive(),
  /** Memory shared with the CPU (GB10): vLLM counts the host's available RAM as free GPU memory. @default false */
  unifiedMemory: z.boolean().optional(),
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

const Price = z.object({
  value: z.number().positive(),
  source: z.string().min(1),
  capturedAt: z.string(),
  /** "all": one list price in every commercial region; "us-east-1": the figure is that region's (others: see `regional`). */
  regions: z.enum(["all", "us-east-1"]),
});
/** A commercial AWS region id (no GovCloud, China, Local or Wavelength Zones). */
const REGION_ID = /^(us|eu|ap|sa|ca|me|af|il|mx)-(east|west|north|south|central|northeast|southeast|northwest|southwest)-\d$/;
const RegionalPrices = z.object({ source: z.string().min(1), capturedAt: z.string().regex(/^\d{4}-\d{2}-\d{2}$/), values: z.record(z.string().regex(REGION_ID), z.number().positive()) });

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
      natGatewayUsdPerHour: Price,
      natGatewayUsdPerGb: Price,
      publicIpv4UsdPerHour: Price,
      kmsKeyUsdPerMonth: Price,
      kmsKeyRotatedMaxUsdPerMonth: Price,
      cloudwatchLogsIngestUsdPerGb: Price,
      cloudwatchLogsStorageUsdPerGbMonth: Price,
    }),
    regional: z.record(z.string(), RegionalPrices),
    rule: z.string().min(1),
  })
  .parse(servicesJson);
const regionData = z
  .object({
    source: z.string().min(1),
    capturedAt: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    scope: z.string().min(1),
    crossChecks: z.array(z.string()),
    onDemandUsdPerHour: z.record(z.string().regex(REGION_ID), z.record(z.string(), z.number().positive())),
  })
  .parse(regionsJson);
const shapeList = z.object({ source: z.string(), capturedAt: z.string(), shapes: z.array(Shape) }).parse(shapesJson).shapes;

for (const i of instanceData.instances) {
  if (!gpuList.some((g) => g.id === i.gpu)) throw new Error(`catalog/instances.json: ${i.instanceType} names unknown GPU ${i.gpu}`);
  for (const code of [i.quota.onDemand, i.quota.spot]) {
    if (!quotaData.quotas.some((q) => q.code === code)) throw new Error(`catalog/instances.json: ${i.instanceType} names unknown quota ${code}`);
  }
}
for (const [region, prices] of Object.entries(regionData.onDemandUsdPerHour)) {
  for (const type of Object.keys(prices)) {
    if (!instanceData.instances.some((i) => i.instanceType === type)) throw new Error(`catalog/regions.json: ${region} prices unknown instance type ${type}`);
  }
}
for (const [item, table] of Object.entries(serviceData.regional)) {
  if (!(item in serviceData.prices)) throw new Error(`catalog/services.json: regional prices for unknown item ${item}`);
  for (const region of Object.keys(table.values)) {
    if (!(region in regionData.onDemandUsdPerHour)) throw new Error(`catalog/services.json: ${item} prices ${region}, a region the instance table does not cover`);
  }
}
const capacityData = z
  .object({
    capturedAt: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    onDemandCapacityReservations: z.object({ billing: z.string(), billingSource: z.string().min(1), quota: z.string(), quotaSource: z.string().min(1), targetedFull: z.string(), groupOverflow: z.string(), groupOverflowSource: z.string().min(1), launchTemplateSource: z.string().min(1) }),
    capacityBlocks: z.object({
      instanceTypes: z.array(z.string()).min(1),
      instanceTypesSource: z.string().min(1),
      maxInstancesPerBlock: z.number().int().positive(),
      maxInstancesAcrossBlocks: z.number().int().positive(),
      limitsSource: z.string().min(1),
      quota: z.string(),
      terminatesMinutesBeforeEnd: z.number().int().positive(),
      endSource: z.string().min(1),
      eksSource: z.string().min(1),
      priceSource: z.string().min(1),
    }),
    spot: z.object({ allocation: z.string(), allocationSource: z.string().min(1) }),
    scarceOnDemand: z.object({ instanceTypes: z.array(z.string()).min(1), why: z.string(), source: z.string().min(1) }),
  })
  .parse(capacityJson);
for (const t of [...capacityData.capacityBlocks.instanceTypes, ...capacityData.scarceOnDemand.instanceTypes]) {
  if (!instanceData.instances.some((i) => i.instanceType === t)) throw new Error(`catalog/capacity.json: unknown instance type ${t}`);
}
for (const s of shapeList) {
  if (!gpuList.some((g) => g.id === s.gpu)) throw new Error(`catalog/shapes.json: ${s.name} names unknown GPU ${s.gpu}`);
}

/** The default region: plans are priced here unless a region is given. */
export const REGION = instanceData.region;
export const PRICES_CAPTURED_AT = instanceData.capturedAt;
export const HOURS_PER_MONTH = serviceData.hoursPerMonth;
export const SERVICE_PRICES = serviceData.prices;
export const GPUS: readonly GpuSpec[] = gpuList;
export const INSTANCES: readonly InstanceSpec[] = instanceData.instances;
export const QUOTAS: readonly QuotaSpec[] = quotaData.quotas;
export const SHAPES: readonly ShapeSpec[] = shapeList;
/** How reserved, Capacity Block and Spot capacity is bought, billed and counted against quotas, with sources. */
export const CAPACITY_FACTS = capacityData;

/** Commercial regions with On-Demand prices for at least one catalog instance type, sorted. */
export const REGIONS: readonly string[] = Object.keys(regionData.onDemandUsdPerHour).sort();
/** When the per-region instance prices were captured, and from where. */
export const REGIONAL_PRICES = { source: regionData.source, capturedAt: regionData.capturedAt } as const;

/** On-Demand Linux $/h of an instance type in a region; undefined when it is not offered (not priced) there. */
export function onDemandUsdPerHour(region: string, instanceType: string): number | undefined {
  return regionData.onDemandUsdPerHour[region]?.[instanceType];
}

/** The regions that offer an instance type On-Demand, sorted. */
export function regionsOffering(instanceType: string): string[] {
  return REGIONS.filter((r) => onDemandUsdPerHour(r, instanceType) !== undefined);
}

export type ServicePriceItem = keyof typeof serviceData.prices;
/** A service price as a plan uses it in one region, with how it was obtained. */
export interface RegionalServicePrice {
  readonly value: number;
  readonly source: string;
  readonly capturedAt: string;
  /** "regional": a figure for this region; "uniform": one list price everywhere; "us-east-1-rule": no figure for this region, priced at the us-east-1 rate. */
  readonly basis: "regional" | "uniform" | "us-east-1-rule";
}

/** A service price in a region: its own figure, the one list price, or — labelled — the us-east-1 rate. */
export function servicePriceIn(region: string, item: ServicePriceItem): RegionalServicePrice {
  const base = serviceData.prices[item];
  if (base.regions === "all") return { value: base.value, source: base.source, capturedAt: base.capturedAt, basis: "uniform" };
  if (region === instanceData.region) return { value: base.value, source: base.source, capturedAt: base.capturedAt, basis: "regional" };
  const table = serviceData.regional[item];
  const value = table?.values[region];
  if (table && value !== undefined) return { value, source: `${table.source} (${region})`, capturedAt: table.capturedAt, basis: "regional" };
  return { value: base.value, source: `RULE: no ${region} figure captured, priced at the ${instanceData.region} rate — ${base.source}`, capturedAt: base.capturedAt, basis: "us-east-1-rule" };
}

export function findGpu(id: string): GpuSpec | undefined {
  return GPUS.find((g) => g.id === id);
}
const squash = (s: string) => s.toLowerCase().replace(/^nvidia\s*/, "").replace(/geforce\s*/, "").replace(/[^a-z0-9]/g, "");

/** A GPU by id, name, device name or alias, ignoring case, spaces and dashes ("rtx 4090", "RTX-PRO-6000", "NVIDIA GB10"). */
export function findGpuByName(name: string): GpuSpec | undefined {
  const want = squash(name);
  return GPUS.find((g) => [g.id, g.name, g.deviceName, ...(g.aliases ?? [])].some((n) => squash(n) === want));
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
