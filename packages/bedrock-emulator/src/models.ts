/**
 * The emulated model catalogue and model-identifier resolution. Capabilities here drive
 * validation (a vision-less model rejects images, Mistral 7B rejects system prompts, …) so that a
 * gateway sending a request the real model would refuse fails its tests against the emulator too.
 */
import { validationError } from "./emulator-error.ts";

/** Model families; the family decides the InvokeModel body format for embedding models. */
export type ModelFamily =
  | "anthropic"
  | "nova"
  | "openai"
  | "deepseek"
  | "llama"
  | "mistral"
  | "qwen"
  | "titan-embed-v2"
  | "titan-embed-v1"
  | "cohere-embed-v3";

/**
 * One emulated model. Chat models are served through Converse/ConverseStream, embedding models
 * through InvokeModel. Limits mirror the Bedrock model cards closely enough for validation tests.
 */
export interface EmulatedModel {
  /** Bedrock foundation-model id, e.g. `anthropic.claude-3-haiku-20240307-v1:0`. */
  readonly id: string;
  readonly kind: "chat" | "embedding";
  readonly family: ModelFamily;
  /** Accepts image content blocks. */
  readonly vision: boolean;
  /** Accepts `toolConfig` and tool blocks. */
  readonly tools: boolean;
  /** Accepts a `system` prompt. */
  readonly systemPrompt: boolean;
  /** Accepts `outputConfig.textFormat` (JSON-schema structured output). */
  readonly structuredOutput: boolean;
  /** Maximum input tokens (emulator token rule); longer input is a ValidationException. */
  readonly contextWindow: number;
  /** Upper bound for `inferenceConfig.maxTokens` (0 for embedding models). */
  readonly maxOutputTokens: number;
  /** Default embedding vector length (embedding models only). */
  readonly dimensions?: number;
  /**
   * Geographies of the cross-Region inference profiles Bedrock offers for the model (`us`, `eu`,
   * `apac`, `global`, …): a profile id with another prefix is an invalid identifier. Undefined:
   * every profile prefix is accepted.
   */
  readonly profiles?: readonly string[];
  /**
   * Whether the bare model id is served on demand in the Region (us-east-1, which the emulator
   * stands for). False for models Bedrock serves there only through an inference profile: the
   * bare id is then refused, as Bedrock refuses it. Undefined: true.
   */
  readonly inRegion?: boolean;
}

const claude = (id: string, maxOutputTokens: number, extra: Partial<EmulatedModel> = {}) =>
  ({
    id,
    kind: "chat",
    family: "anthropic",
    vision: true,
    tools: true,
    systemPrompt: true,
    structuredOutput: true,
    contextWindow: 200_000,
    maxOutputTokens,
    inRegion: false,
    ...extra,
  }) satisfies EmulatedModel;

const chat = (
  id: string,
  family: ModelFamily,
  capabilities: Pick<EmulatedModel, "vision" | "tools" | "systemPrompt">,
  contextWindow: number,
  maxOutputTokens: number,
  extra: Partial<EmulatedModel> = {},
) =>
  ({
    id,
    kind: "chat",
    family,
    ...capabilities,
    structuredOutput: false,
    contextWindow,
    maxOutputTokens,
    ...extra,
  }) satisfies EmulatedModel;

const embedding = (id: string, family: ModelFamily, dimensions: number, contextWindow: number) =>
  ({
    id,
    kind: "embedding",
    family,
    vision: false,
    tools: false,
    systemPrompt: false,
    structuredOutput: false,
    contextWindow,
    maxOutputTokens: 0,
    dimensions,
    profiles: [],
  }) satisfies EmulatedModel;

const ALL = { vision: true, tools: true, systemPrompt: true };
const TEXT_WITH_TOOLS = { vision: false, tools: true, systemPrompt: true };
const TEXT_ONLY = { vision: false, tools: false, systemPrompt: true };
const NO_SYSTEM = { vision: false, tools: false, systemPrompt: false };
/** Served only through a US profile in us-east-1. */
const US_PROFILE_ONLY = { inRegion: false, profiles: ["us"] } as const;

/**
 * The built-in catalogue used when `createBedrockEmulator` gets no `models` option: the models
 * Bedrock serves in us-east-1, with their AWS model cards' limits and the inference profiles
 * they have (docs/models.md has the sources).
 */
export const BUILT_IN_MODELS: readonly EmulatedModel[] = [
  claude("anthropic.claude-opus-4-5-20251101-v1:0", 64_000, { profiles: ["us", "eu", "global"] }),
  claude("anthropic.claude-sonnet-4-5-20250929-v1:0", 64_000, {
    profiles: ["us", "eu", "jp", "au", "global"],
  }),
  claude("anthropic.claude-haiku-4-5-20251001-v1:0", 64_000, {
    inRegion: true,
    profiles: ["us", "eu", "au", "global"],
  }),
  claude("anthropic.claude-sonnet-4-20250514-v1:0", 64_000, {
    profiles: ["us", "eu", "apac", "global"],
  }),
  claude("anthropic.claude-3-7-sonnet-20250219-v1:0", 64_000, { profiles: ["us", "eu", "apac"] }),
  claude("anthropic.claude-3-haiku-20240307-v1:0", 4096, {
    structuredOutput: false,
    profiles: ["us", "eu", "apac"],
  }),
  chat("amazon.nova-2-lite-v1:0", "nova", ALL, 1_000_000, 64_000, {
    inRegion: false,
    profiles: ["us", "eu", "global"],
  }),
  chat("amazon.nova-pro-v1:0", "nova", ALL, 300_000, 5000, { profiles: ["us", "eu", "apac"] }),
  chat("amazon.nova-lite-v1:0", "nova", ALL, 300_000, 5000, { profiles: ["us", "eu", "apac"] }),
  chat("amazon.nova-micro-v1:0", "nova", TEXT_WITH_TOOLS, 128_000, 5000, {
    profiles: ["us", "eu", "apac"],
  }),
  chat("openai.gpt-oss-120b-1:0", "openai", TEXT_WITH_TOOLS, 128_000, 16_384, { profiles: [] }),
  chat("openai.gpt-oss-20b-1:0", "openai", TEXT_WITH_TOOLS, 128_000, 16_384, { profiles: [] }),
  chat("deepseek.r1-v1:0", "deepseek", TEXT_ONLY, 128_000, 8192, US_PROFILE_ONLY),
  chat("meta.llama4-maverick-17b-instruct-v1:0", "llama", ALL, 1_000_000, 8192, US_PROFILE_ONLY),
  chat("meta.llama3-8b-instruct-v1:0", "llama", TEXT_ONLY, 8192, 2048, { profiles: [] }),
  chat("meta.llama3-70b-instruct-v1:0", "llama", TEXT_ONLY, 8192, 2048, { profiles: [] }),
  chat("mistral.pixtral-large-2502-v1:0", "mistral", ALL, 128_000, 16_384, {
    inRegion: false,
    profiles: ["us", "eu"],
  }),
  chat("mistral.mistral-7b-instruct-v0:2", "mistral", NO_SYSTEM, 32_000, 8192, { profiles: [] }),
  chat("qwen.qwen3-coder-30b-a3b-v1:0", "qwen", TEXT_WITH_TOOLS, 262_144, 65_536, {
    profiles: [],
  }),
  embedding("amazon.titan-embed-text-v2:0", "titan-embed-v2", 1024, 8192),
  embedding("amazon.titan-embed-text-v1", "titan-embed-v1", 1536, 8192),
  embedding("cohere.embed-english-v3", "cohere-embed-v3", 1024, 512),
  embedding("cohere.embed-multilingual-v3", "cohere-embed-v3", 1024, 512),
];

/**
 * Geography prefixes of system-defined cross-Region inference profiles
 * (docs/wire-formats.md#inference-profiles-and-geography). `us-gov` precedes `us` so the longer
 * prefix wins.
 */
export const INFERENCE_PROFILE_PREFIXES = [
  "us-gov.",
  "us.",
  "eu.",
  "apac.",
  "global.",
  "jp.",
  "au.",
] as const;

const ARN_PATTERN =
  /^arn:aws(?:-[a-z]+)*:bedrock:([a-z0-9-]*):([0-9]*):(foundation-model|inference-profile)\/(.+)$/;

/** Bedrock's message for an identifier it cannot resolve. */
export const INVALID_MODEL_MESSAGE = "The provided model identifier is invalid.";

/** Bedrock's message for the bare id of a model it serves in the Region only through a profile. */
export function onDemandUnsupported(modelId: string): string {
  return `Invocation of model ID ${modelId} with on-demand throughput isn’t supported. Retry your request with the ID or ARN of an inference profile that contains this model.`;
}

/** How a request named its model: the foundation-model id, and the profile geography if any. */
export interface ModelAddress {
  readonly baseId: string;
  /** `us`, `eu`, `global`, … for an inference profile (id or ARN); undefined for the model itself. */
  readonly profile?: string;
}

/**
 * Parses a model identifier as clients send it — bare id, inference-profile id (`us.…`), or an
 * ARN (`…:foundation-model/<id>`, `…:inference-profile/<profile>`). Undefined for malformed ARNs.
 */
export function modelAddress(modelId: string): ModelAddress | undefined {
  let id = modelId;
  if (id.startsWith("arn:")) {
    const match = ARN_PATTERN.exec(id);
    if (!match) return undefined;
    const [, region, account, resource, resourceId] = match;
    if (resourceId === undefined || region === "") return undefined;
    if (resource === "foundation-model" && account !== "") return undefined;
    if (resource === "inference-profile" && account === "") return undefined;
    id = resourceId;
  }
  const prefix = INFERENCE_PROFILE_PREFIXES.find((p) => id.startsWith(p));
  return prefix
    ? { baseId: id.slice(prefix.length), profile: prefix.slice(0, -1) }
    : { baseId: id };
}

/** The foundation-model id a model identifier names (see {@link modelAddress}). */
export function baseModelId(modelId: string): string | undefined {
  return modelAddress(modelId)?.baseId;
}

/**
 * A lookup over a model list. Resolution accepts everything {@link baseModelId} understands and
 * throws the Bedrock `ValidationException` for identifiers that do not name a catalogue model.
 */
export interface ModelCatalogue {
  readonly models: readonly EmulatedModel[];
  resolve(modelId: string): EmulatedModel;
}

/** Builds a {@link ModelCatalogue}; defaults to {@link BUILT_IN_MODELS}. */
export function createModelCatalogue(
  models: readonly EmulatedModel[] = BUILT_IN_MODELS,
): ModelCatalogue {
  const byId = new Map(models.map((m) => [m.id, m]));
  return {
    models,
    resolve(modelId) {
      const address = modelAddress(modelId);
      const model = address === undefined ? undefined : byId.get(address.baseId);
      if (!model || !address) throw validationError(INVALID_MODEL_MESSAGE);
      if (
        address.profile !== undefined &&
        model.profiles &&
        !model.profiles.includes(address.profile)
      )
        throw validationError(INVALID_MODEL_MESSAGE);
      if (address.profile === undefined && model.inRegion === false)
        throw validationError(onDemandUnsupported(model.id));
      return model;
    },
  };
}
