/**
 * List prices of hosted model APIs (OpenAI, Anthropic, Amazon Bedrock) per 1M input and output
 * tokens, so the plan can set a self-hosted endpoint's $/1M tokens beside the hosted alternative.
 * Every row names its source, whether that source is the vendor's own page, and when it was read.
 */
import { z } from "zod";
import externalJson from "./external-models.json";

const Row = z.object({
  provider: z.enum(["openai", "anthropic", "bedrock", "azure-openai"]),
  providerModelId: z.string().min(1),
  name: z.string().min(1),
  inputUsdPer1M: z.number().positive(),
  outputUsdPer1M: z.number().positive(),
  region: z.string().optional(),
  source: z.string().url(),
  sourceKind: z.enum(["vendor", "third-party"]),
  /** The date the source states for the price, when it states one. */
  asOf: z.string().regex(/^\d{4}-\d{2}(-\d{2})?$/).nullable(),
  capturedAt: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  note: z.string().optional(),
});
export type ExternalModelPrice = z.infer<typeof Row>;

const data = z.object({ capturedAt: z.string(), unit: z.string(), note: z.string(), models: z.array(Row) }).parse(externalJson);
const seen = new Set<string>();
for (const m of data.models) {
  const key = `${m.provider}/${m.providerModelId}/${m.region ?? ""}`;
  if (seen.has(key)) throw new Error(`catalog/external-models.json: ${key} is listed twice`);
  seen.add(key);
}

export const EXTERNAL_MODEL_PRICES: readonly ExternalModelPrice[] = data.models;

/** The list price of a hosted model, or undefined when the catalog has no sourced figure (never a guess). */
export function findExternalModelPrice(provider: ExternalModelPrice["provider"], providerModelId: string, region?: string): ExternalModelPrice | undefined {
  return EXTERNAL_MODEL_PRICES.find((m) => m.provider === provider && m.providerModelId === providerModelId && (m.region === undefined || region === undefined || m.region === region));
}
