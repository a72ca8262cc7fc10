import { EXTERNAL_MODEL_PRICES, findExternalModelPrice } from "../catalog/external-models";

describe("hosted model list prices", () => {
  test("cover OpenAI, Anthropic and Bedrock, each price with a source and the date it was read", () => {
    expect(new Set(EXTERNAL_MODEL_PRICES.map((m) => m.provider))).toEqual(new Set(["openai", "anthropic", "bedrock"]));
    for (const m of EXTERNAL_MODEL_PRICES) {
      expect(m.source).toMatch(/^https:\/\//);
      expect(m.capturedAt).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      // Generation costs more than reading for every listed model.
      expect(m.outputUsdPer1M).toBeGreaterThan(m.inputUsdPer1M);
    }
  });

  test("answers a price only for a model it has a sourced figure for", () => {
    expect(findExternalModelPrice("anthropic", "claude-opus-4-1")).toMatchObject({ inputUsdPer1M: 15, outputUsdPer1M: 75, sourceKind: "vendor" });
    expect(findExternalModelPrice("bedrock", "amazon.nova-pro-v1:0", "us-east-1")).toMatchObject({ inputUsdPer1M: 0.8, outputUsdPer1M: 3.2 });
    expect(findExternalModelPrice("openai", "gpt-9-imaginary")).toBeUndefined();
  });
});
