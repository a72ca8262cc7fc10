/**
 * Multimodal inputs at start-up. vLLM profiles the vision encoder with dummy images of the largest size and keeps
 * their embeddings in the encoder cache while the language model's dummy batch runs (gpu_model_runner.profile_run,
 * multimodal/encoder_budget.py); `--limit-mm-per-prompt` bounds how many it profiles and can shrink the images.
 */
import { error, type Finding } from "./findings";
import type { ModelProfile, VisionTower } from "./model-profile";

/** Items of one modality per prompt, optionally with the largest size to profile (vLLM's "configurable format"). */
export type MmLimit = number | { readonly count: number; readonly width?: number; readonly height?: number };

/** `--limit-mm-per-prompt`: items allowed per prompt, by modality. */
export interface LimitMmPerPrompt {
  readonly image?: MmLimit;
  readonly video?: MmLimit;
}

/** vLLM's limit for a modality nobody set (MultiModalConfig.get_limit_per_prompt: "set to 999 by default"). */
export const DEFAULT_ITEMS_PER_PROMPT = 999;

/**
 * What endpoints of this library render when the declaration sets nothing: a few images, no video. A limit
 * bounds what one request may carry; the profile the planner sizes follows it.
 */
export const DEFAULT_ENDPOINT_LIMIT_MM_PER_PROMPT: LimitMmPerPrompt = { image: 4, video: 0 };

export interface EncoderProfile {
  /** LLM tokens one profiled item becomes. */
  readonly tokensPerItem: number;
  /** Encoder patches one profiled item passes through. */
  readonly patchesPerItem: number;
  /** Items in the profiled batch. */
  readonly items: number;
  /** Encoder budget in tokens: max(max_num_batched_tokens, tokensPerItem). */
  readonly budget: number;
}

const countOf = (l: MmLimit | undefined): number => (l === undefined ? DEFAULT_ITEMS_PER_PROMPT : typeof l === "number" ? l : l.count);

/** Qwen-VL video shares the image tower; the other families take images only. */
function supportsVideo(v: VisionTower): boolean {
  return v.kind === "qwen2-vl" || v.kind === "qwen2.5-vl" || v.kind === "qwen3-vl";
}

/** Tokens and patches of an image of `width` × `height` pixels, as each family's processor tiles it (never above its largest). */
function imageSize(v: VisionTower, width?: number, height?: number): { tokens: number; patches: number } {
  const largest = { tokens: v.maxTokensPerImage, patches: v.maxPatchesPerImage };
  if (width === undefined || height === undefined) return largest;
  switch (v.kind) {
    case "siglip":
      return largest; // always mm_tokens_per_image (pan-and-scan off)
    case "llama4": {
      const tile = Math.sqrt(v.patchesPerImage) * v.patchSize;
      const tiles = Math.ceil(width / tile) * Math.ceil(height / tile);
      const withGlobal = Math.min(largest.tokens / v.tokensPerImage, tiles > 1 ? tiles + 1 : 1);
      return { tokens: withGlobal * v.tokensPerImage, patches: withGlobal * (v.patchesPerImage + 1) };
    }
    default: {
      // Qwen-VL smart_resize rounds to whole merged patches; Pixtral keeps whole patches and merges them.
      const unit = v.patchSize * v.spatialMergeSize;
      const tokens = Math.min(largest.tokens, Math.max(1, Math.round(width / unit)) * Math.max(1, Math.round(height / unit)));
      return { tokens, patches: tokens * v.spatialMergeSize * v.spatialMergeSize };
    }
  }
}

/**
 * The encoder profile vLLM runs at start-up (MultiModalBudget._get_max_items): items of the modality with the
 * most tokens, as many as the encoder budget holds, capped by what max_num_seqs prompts may carry. None when
 * every modality's limit is 0.
 */
export function encoderProfile(p: ModelProfile, o: { maxNumBatchedTokens: number; maxNumSeqs: number; maxModelLen: number; limits?: LimitMmPerPrompt }): EncoderProfile | undefined {
  const v = p.vision;
  if (!v) return undefined;
  const modalities = (["image", "video"] as const).filter((m) => (m === "image" || supportsVideo(v)) && countOf(o.limits?.[m]) > 0);
  if (!modalities.length) return undefined;
  // The video profile is taken as the largest image per item (Qwen-VL videos pass the same tower; frames add no more per item here).
  const sized = modalities.map((m) => {
    const l = o.limits?.[m];
    const s = typeof l === "object" ? imageSize(v, l.width, l.height) : imageSize(v);
    return { limit: countOf(l), ...s };
  });
  const top = sized.reduce((a, b) => (b.tokens > a.tokens ? b : a));
  const budget = Math.max(o.maxNumBatchedTokens, top.tokens);
  const perPrompt = Math.max(1, Math.min(top.limit, Math.floor(o.maxModelLen / top.tokens)));
  const items = Math.max(1, Math.min(Math.floor(budget / top.tokens), o.maxNumSeqs * perPrompt));
  return { tokensPerItem: top.tokens, patchesPerItem: top.patches, items, budget };
}

/** Coded errors for a limit that vLLM would refuse or that would be silently ignored. */
export function checkLimitMmPerPrompt(limits: LimitMmPerPrompt | undefined, p: ModelProfile, path: string): Finding[] {
  if (limits === undefined) return [];
  const out: Finding[] = [];
  if (!p.vision && p.unsizedVisionTower) return out; // a tower the planner does not lay out: vLLM checks the limit itself
  if (!p.vision) {
    out.push(
      error("LIMIT_MM_PER_PROMPT_INVALID", path, {
        field: "limitMmPerPrompt",
        problem: `limitMmPerPrompt is set, but ${p.architecture} takes text only`,
        why: "vLLM would ignore the limit, and a silently ignored setting hides a wrong model choice",
        fix: "drop limitMmPerPrompt, or serve a vision-language model",
      }),
    );
    return out;
  }
  for (const [modality, l] of Object.entries(limits) as Array<[string, MmLimit | undefined]>) {
    if (l === undefined) continue;
    const count = typeof l === "number" ? l : l.count;
    const sizes = typeof l === "object" ? [l.width, l.height].filter((x) => x !== undefined) : [];
    const bad = !Number.isInteger(count) || count < 0 || sizes.some((x) => !Number.isInteger(x) || (x as number) <= 0) || (typeof l === "object" && (l.width === undefined) !== (l.height === undefined));
    if (modality !== "image" && modality !== "video") {
      out.push(error("LIMIT_MM_PER_PROMPT_INVALID", path, { field: `limitMmPerPrompt.${modality}`, problem: `"${modality}" is not a modality the planner sizes`, why: "vLLM profiles the encoder per modality, and an unknown one cannot be sized", fix: "use image and video" }));
    } else if (modality === "video" && count > 0 && !supportsVideo(p.vision)) {
      out.push(error("LIMIT_MM_PER_PROMPT_INVALID", path, { field: "limitMmPerPrompt.video", problem: `${p.architecture} takes no video, but limitMmPerPrompt.video is ${count}`, why: "vLLM refuses a limit for a modality the model does not support", fix: "set video to 0 or leave it out" }));
    } else if (bad) {
      out.push(
        error("LIMIT_MM_PER_PROMPT_INVALID", path, {
          field: `limitMmPerPrompt.${modality}`,
          problem: `limitMmPerPrompt.${modality} must be a whole number of items ≥ 0, or { count, width, height } with positive whole pixel sizes (got ${JSON.stringify(l)})`,
          why: "vLLM validates the limit at start-up (MultiModalConfig: count ≥ 0)",
          fix: 'for example { image: 2 } or { image: { count: 2, width: 1024, height: 1024 } }',
        }),
      );
    }
  }
  return out;
}

/** The `--limit-mm-per-prompt` value: JSON, as the servable releases parse dict flags (arg_utils: parse_type(json.loads)). */
export function limitMmPerPromptArg(limits: LimitMmPerPrompt): string {
  return JSON.stringify(limits);
}
