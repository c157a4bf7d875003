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
  | "llama"
  | "mistral"
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
}

const claude = (id: string, maxOutputTokens: number, extra: Partial<EmulatedModel> = {}) =>
  ({
    id,
    kind: "chat",
    family: "anthropic",
    vision: true,
    tools: true,
    systemPrompt: true,
    structuredOutput: false,
    contextWindow: 200_000,
    maxOutputTokens,
    ...extra,
  }) satisfies EmulatedModel;

const chat = (
  id: string,
  family: ModelFamily,
  capabilities: Pick<EmulatedModel, "vision" | "tools" | "systemPrompt">,
  contextWindow: number,
  maxOutputTokens: number,
) =>
  ({
    id,
    kind: "chat",
    family,
    ...capabilities,
    structuredOutput: false,
    contextWindow,
    maxOutputTokens,
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
  }) satisfies EmulatedModel;

const ALL = { vision: true, tools: true, systemPrompt: true };
const TEXT_WITH_TOOLS = { vision: false, tools: true, systemPrompt: true };
const TEXT_ONLY = { vision: false, tools: false, systemPrompt: true };
const NO_SYSTEM = { vision: false, tools: false, systemPrompt: false };

/** The built-in catalogue used when `createBedrockEmulator` gets no `models` option. */
export const BUILT_IN_MODELS: readonly EmulatedModel[] = [
  claude("anthropic.claude-3-haiku-20240307-v1:0", 4096),
  claude("anthropic.claude-3-5-sonnet-20240620-v1:0", 4096),
  claude("anthropic.claude-3-5-sonnet-20241022-v2:0", 8192),
  claude("anthropic.claude-3-5-haiku-20241022-v1:0", 8192, { vision: false }),
  claude("anthropic.claude-3-7-sonnet-20250219-v1:0", 8192),
  claude("anthropic.claude-sonnet-4-20250514-v1:0", 64_000, { structuredOutput: true }),
  chat("amazon.nova-micro-v1:0", "nova", TEXT_WITH_TOOLS, 128_000, 5000),
  chat("amazon.nova-lite-v1:0", "nova", ALL, 300_000, 5000),
  chat("amazon.nova-pro-v1:0", "nova", ALL, 300_000, 5000),
  chat("meta.llama3-8b-instruct-v1:0", "llama", TEXT_ONLY, 8192, 2048),
  chat("meta.llama3-70b-instruct-v1:0", "llama", TEXT_ONLY, 8192, 2048),
  chat("mistral.mistral-7b-instruct-v0:2", "mistral", NO_SYSTEM, 32_000, 8192),
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

/**
 * Reduces a model identifier as clients send it — bare id, inference-profile id (`us.…`), or an
 * ARN (`…:foundation-model/<id>`, `…:inference-profile/<profile>`) — to the foundation-model id.
 * Returns undefined for malformed ARNs.
 */
export function baseModelId(modelId: string): string | undefined {
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
  return prefix ? id.slice(prefix.length) : id;
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
      const id = baseModelId(modelId);
      const model = id === undefined ? undefined : byId.get(id);
      if (!model) throw validationError(INVALID_MODEL_MESSAGE);
      return model;
    },
  };
}
