/**
 * The region a plan is priced in. Prices and instance offerings differ by region, so the region is an
 * input of planning: an unknown one is refused with the list the catalog covers, never planned on
 * us-east-1 figures behind the user's back.
 */
import { REGION, REGIONAL_PRICES, REGIONS, regionsOffering } from "../catalog";
import { error, PlanningError, type Finding } from "./findings";

/** Plans are priced here unless a region is given. */
export const DEFAULT_REGION = REGION;

/** The coded error for a region the price catalog does not cover, or undefined when it does. */
export function regionProblem(region: string, path: string, field = "region"): Finding | undefined {
  if (REGIONS.includes(region)) return undefined;
  return error("REGION_UNKNOWN", path, {
    field,
    problem: `"${region}" is not a region the price catalog covers`,
    why: `plans are priced and shapes chosen with the region's own On-Demand prices (snapshot of ${REGIONAL_PRICES.capturedAt}); the catalog covers the commercial regions that offer at least one of its GPU instance types`,
    fix: `use one of ${REGIONS.join(", ")}`,
  });
}

/** Throw the coded error for an unknown region (CLI arguments, value objects). */
export function assertRegion(region: string, path: string, field = "region"): void {
  const problem = regionProblem(region, path, field);
  if (problem) throw new PlanningError([problem]);
}

/** "us-east-1, us-east-2 and us-west-2", or "no region (…)" when nothing offers it On-Demand. */
export function offeringRegionsText(instanceTypes: readonly string[]): string {
  const regions = [...new Set(instanceTypes.flatMap((t) => regionsOffering(t)))].sort();
  if (!regions.length) return "no region On-Demand";
  return regions.length === 1 ? regions[0] : `${regions.slice(0, -1).join(", ")} and ${regions[regions.length - 1]}`;
}
