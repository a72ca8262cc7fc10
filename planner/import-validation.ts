/**
 * Import validation as the managed "bring your own model" services do it: a config.json, an
 * architecture the pinned vLLM serves, exactly one capability, weights in safetensors (pickle-only
 * weights refused unless allowed), and a tokenizer.
 */
import { architectureCapability, releasesRegistering, VLLM_RELEASE } from "../catalog/vllm";
import { error, warning, type Finding } from "./findings";
import type { ModelProfile } from "./model-profile";
import type { Capability } from "./plan-types";

export const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.txt", "sentencepiece.bpe.model", "tekken.json"];

export interface ImportCheck {
  readonly path: string;
  readonly modelId: string;
  readonly profile: ModelProfile;
  /** Files of the repository or S3 prefix, when known (from the lock). */
  readonly files?: readonly string[];
  readonly allowPickleWeights?: boolean;
}

/**
 * The one capability vLLM serves this architecture with, or a coded error. With `version`, that release's registry
 * decides; without, any release this library serves (an endpoint then checks its own release).
 */
export function capabilityOf(profile: ModelProfile, path: string, version?: string): { capability?: Capability; findings: Finding[] } {
  const registering = releasesRegistering(profile.architecture);
  const cap = architectureCapability(profile.architecture, version ?? registering[0]);
  if (cap === undefined) {
    const release = version ?? VLLM_RELEASE.version;
    return {
      findings: [
        error("ARCH_UNSUPPORTED", path, {
          field: "config.json architectures",
          problem: `${profile.architecture} is not in vLLM ${release}'s model registry`,
          why: `the vllm/vllm-openai:v${release} image would fail with "Model architectures ['${profile.architecture}'] are not supported"`,
          fix: registering.length ? `serve it with a vLLM release that registers it: ${registering.join(", ")}` : "choose a supported model, or pin a vLLM image whose registry has it",
        }),
      ],
    };
  }
  if (cap === null) {
    return {
      findings: [
        error("CAPABILITY_UNSUPPORTED", path, {
          field: "config.json architectures",
          problem: `${profile.architecture} is registered in vLLM ${VLLM_RELEASE.version} but is not a text, vision-language, embedding or rerank model (speech, reward, token-classification or draft models)`,
          why: "an endpoint serves exactly one of TEXT_TO_TEXT, IMAGE_TEXT_TO_TEXT, EMBEDDING or RERANK",
          fix: "import a model with one of those capabilities",
        }),
      ],
    };
  }
  if (cap === "RERANK" && profile.classifierLabels > 1) {
    return {
      findings: [
        error("CAPABILITY_UNSUPPORTED", path, {
          field: "config.json id2label",
          problem: `${profile.architecture} has ${profile.classifierLabels} labels, so it is a classifier, not a reranker`,
          why: "vLLM registers /rerank and /score only for sequence-classification models with num_labels == 1",
          fix: "import a cross-encoder with a single relevance label",
        }),
      ],
    };
  }
  return { capability: cap, findings: [] };
}

export function validateImport(c: ImportCheck): { capability?: Capability; findings: Finding[] } {
  const findings: Finding[] = [];
  const cap = capabilityOf(c.profile, c.path);
  findings.push(...cap.findings);
  if (c.files) {
    const names = c.files.map((f) => f.split("/").pop()!);
    if (!names.includes("config.json")) {
      findings.push(error("CONFIG_MISSING", c.path, { field: "files", problem: `${c.modelId} has no config.json`, why: "vLLM and every managed import service read the architecture from config.json", fix: "upload the model's config.json next to the weights" }));
    }
    const safetensors = names.some((n) => n.endsWith(".safetensors"));
    const pickle = names.filter((n) => /\.(bin|pt|pth|ckpt)$/.test(n) && !n.startsWith("training_args"));
    if (!safetensors && pickle.length) {
      if (c.allowPickleWeights) {
        findings.push(warning("UNSAFE_WEIGHTS_FORMAT", c.path, { field: "allowPickleWeights", problem: `${c.modelId} has only pickle weights (${pickle.slice(0, 2).join(", ")})`, why: "loading pickle can execute code from the repository; this was allowed explicitly", fix: "convert to safetensors when you can" }));
      } else {
        findings.push(
          error("UNSAFE_WEIGHTS_FORMAT", c.path, {
            field: "files",
            problem: `${c.modelId} has only pickle weights (${pickle.slice(0, 2).join(", ")})`,
            why: "loading pickle can execute arbitrary code; the managed import services require safetensors",
            fix: "convert the weights to safetensors, or set allowPickleWeights: true after an audit",
          }),
        );
      }
    } else if (!safetensors) {
      findings.push(error("WEIGHTS_MISSING", c.path, { field: "files", problem: `${c.modelId} has no .safetensors weights`, why: "there is nothing for vLLM to load", fix: "upload the model's *.safetensors files (and model.safetensors.index.json when sharded)" }));
    }
    if (!names.some((n) => TOKENIZER_FILES.includes(n))) {
      findings.push(
        error("MODEL_ARTIFACT_INCOMPLETE", c.path, {
          field: "files",
          problem: `${c.modelId} has no tokenizer (none of ${TOKENIZER_FILES.slice(0, 3).join(", ")})`,
          why: "vLLM loads the tokenizer from the model directory and fails to start without one",
          fix: "upload the tokenizer files with the weights",
        }),
      );
    }
  }
  return { ...(cap.capability ? { capability: cap.capability } : {}), findings };
}
