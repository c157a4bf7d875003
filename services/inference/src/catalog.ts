import { readFile } from "node:fs/promises";
import { create } from "@bufbuild/protobuf";
import { type Model, ModelKind, ModelSchema } from "@strata/proto";
import { z } from "zod";
import { modelLocation } from "./geography.ts";

/**
 * The model catalog: which models Strata offers, under which names, served by which Bedrock model
 * id, inference profile or ARN, with what capabilities and list prices. It is the only place that
 * knows model facts; translators and the service read them from a {@link CatalogEntry}.
 *
 * The built-in catalog ({@link defaultCatalogEntries}) can be replaced whole by a JSON file of the
 * same shape (`STRATA_CATALOG_FILE`): an array of entries, or `{ "models": [...] }`.
 *
 * A catalog is built for the service's Bedrock Region, which says where in-Region models are
 * served (`Model.geography` / `regions`, geography.ts).
 */

const nonNegativeInt = z.number().int().min(0);
const micros = z.number().int().min(0).max(4_294_967_295);
const modelName = z.string().min(1).max(256);

const capabilitiesSchema = z.strictObject({
  /** ConverseStream works for the model (otherwise streams are served from one Converse call). */
  streaming: z.boolean(),
  /** The model accepts tool specs and tool blocks. */
  tools: z.boolean(),
  /** The model accepts image blocks. */
  vision: z.boolean(),
  /** The model accepts a system prompt (otherwise it is folded into the first user turn). */
  systemPrompt: z.boolean(),
  /** The model honours Converse `outputConfig.textFormat` (JSON schema structured output). */
  structuredOutput: z.boolean(),
  /** Reasoning (extended thinking) can be asked for. */
  reasoning: z.boolean().default(false),
  /** Converse cache points are honoured (prompt caching). */
  promptCaching: z.boolean().default(false),
  /** Document blocks (PDF, office files) are accepted. */
  documents: z.boolean().default(false),
});

const embeddingSchema = z.strictObject({
  /** The InvokeModel body format. */
  family: z.enum(["titan-v2", "titan-v1", "cohere-v3"]),
  /** Vector sizes the model accepts; the first is the default. */
  dimensions: z.array(z.number().int().positive()).min(1),
  /** Texts per InvokeModel call (1 for Titan, up to 96 for Cohere). */
  maxBatch: z.number().int().positive(),
});

const priceSchema = z.strictObject({
  /** Price per million input tokens in micro-units of the currency (1 USD = 1,000,000). */
  inputPerMillionMicros: micros,
  outputPerMillionMicros: micros,
  /** Price per million input tokens read from the prompt cache (0: no caching). */
  cacheReadPerMillionMicros: micros,
  /** Price per million input tokens written to the prompt cache (0: no caching, or free). */
  cacheWritePerMillionMicros: micros.default(0),
});

/** The schema of one catalog entry, for catalog files. */
export const catalogEntrySchema = z.strictObject({
  /** The id clients use; unique across ids and aliases. */
  id: modelName,
  /** Other names clients may use; unique across ids and aliases; case-sensitive. */
  aliases: z.array(modelName).default([]),
  kind: z.enum(["chat", "embedding"]),
  /** Bedrock model id, inference profile id (`us.…`) or ARN passed as `modelId`. */
  bedrockModelId: z.string().min(1).max(2048),
  ownedBy: z.string().min(1),
  /** Unix seconds (OpenAI's `created`). */
  created: nonNegativeInt.max(2_147_483_647),
  capabilities: capabilitiesSchema,
  contextWindow: nonNegativeInt,
  /** Largest `maxTokens` accepted; requests above it fail before Bedrock is called. */
  maxOutputTokens: nonNegativeInt,
  /** Required for embedding models, absent for chat models. */
  embedding: embeddingSchema.optional(),
  price: priceSchema,
  /**
   * Chat models to serve a request with, in order, when this one is unavailable (throttled or
   * failing after its retries, its circuit open, or not enabled in the account): typically the
   * same model's inference profile in another geography, or a similar model. Used only for
   * callers whose policy allows the fallback (models and regions), and only if it can take the
   * request (capabilities); the answer, the usage record and the price name the model that
   * served. Embedding models' fallbacks are validated but not used (vectors of another model are
   * not comparable).
   */
  fallbacks: z.array(modelName).default([]),
});

/** One model of the catalog. */
export type CatalogEntry = z.infer<typeof catalogEntrySchema>;

/** Embedding facts of an embedding model's entry. */
export type EmbeddingSpec = z.infer<typeof embeddingSchema>;

/** What a catalog needs to know besides its entries. */
export interface CatalogOptions {
  /** The Bedrock Region the service calls (STRATA_BEDROCK_REGION): where in-Region models run. */
  readonly region: string;
}

/** The catalog as the service uses it. */
export interface Catalog {
  /** The entry named by an exact id or alias (case-sensitive), or undefined. */
  resolve(idOrAlias: string): CatalogEntry | undefined;
  /** Every entry, in catalog order. */
  list(): readonly CatalogEntry[];
  /** The entry as the proto `Model` clients see in ListModels, with where it is served. */
  toProto(entry: CatalogEntry): Model;
}

/** A catalog file: `{ "models": [...] }`, or the bare array (read as such). */
const catalogFileSchema = z.preprocess(
  (value) => (Array.isArray(value) ? { models: value } : value),
  z.strictObject({ models: z.array(catalogEntrySchema) }),
);

/**
 * Builds a catalog from entries after checking what a schema cannot: ids and aliases unique,
 * embedding facts exactly on embedding models, fallbacks naming other entries of the same kind.
 * Throws an Error listing every problem (a bad catalog must stop the service at start).
 */
export function createCatalog(entries: readonly CatalogEntry[], options: CatalogOptions): Catalog {
  const problems: string[] = [];
  const byName = new Map<string, CatalogEntry>();
  for (const entry of entries) {
    for (const name of [entry.id, ...entry.aliases]) {
      const other = byName.get(name);
      if (other) problems.push(`"${name}" names both ${other.id} and ${entry.id}`);
      else byName.set(name, entry);
    }
    if (entry.kind === "embedding" && !entry.embedding) {
      problems.push(`${entry.id}: an embedding model needs "embedding"`);
    }
    if (entry.kind === "chat" && entry.embedding) {
      problems.push(`${entry.id}: "embedding" is only for embedding models`);
    }
  }
  const ids = new Map(entries.map((e) => [e.id, e]));
  for (const entry of entries) {
    for (const fallback of entry.fallbacks) {
      const target = ids.get(fallback);
      if (!target) problems.push(`${entry.id}: fallback ${fallback} is not a catalog id`);
      else if (target.kind !== entry.kind) {
        problems.push(`${entry.id}: fallback ${fallback} is a ${target.kind} model`);
      }
    }
  }
  if (entries.length === 0) problems.push("the catalog has no models");
  if (problems.length > 0) throw new Error(`invalid model catalog:\n  ${problems.join("\n  ")}`);
  const frozen = Object.freeze([...entries]);
  return {
    resolve: (idOrAlias) => byName.get(idOrAlias),
    list: () => frozen,
    toProto: (entry) => catalogEntryToModel(entry, options.region),
  };
}

/**
 * Parses and validates the JSON text of a catalog file (an array or `{ "models": [...] }`);
 * `source` names it in errors (default "catalog").
 */
export function parseCatalog(
  json: string,
  { source = "catalog", ...options }: CatalogOptions & { readonly source?: string },
): Catalog {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new Error(`${source}: not JSON (${(error as Error).message})`);
  }
  const result = catalogFileSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map(
      (i) => `${i.path.join(".") || "(root)"}: ${i.message}`,
    );
    throw new Error(`${source}: invalid model catalog:\n  ${problems.join("\n  ")}`);
  }
  return createCatalog(result.data.models, options);
}

/** Reads the catalog file named by STRATA_CATALOG_FILE. */
export async function loadCatalogFile(path: string, options: CatalogOptions): Promise<Catalog> {
  return parseCatalog(await readFile(path, "utf8"), { ...options, source: path });
}

/**
 * A catalog entry as the proto `Model` (ListModels), with `geography` and `regions` for the
 * service's Bedrock `region` (geography.ts).
 */
export function catalogEntryToModel(entry: CatalogEntry, region: string): Model {
  const { geography, regions } = modelLocation(entry.bedrockModelId, region);
  return create(ModelSchema, {
    id: entry.id,
    aliases: entry.aliases,
    kind: entry.kind === "chat" ? ModelKind.CHAT : ModelKind.EMBEDDING,
    bedrockModelId: entry.bedrockModelId,
    ownedBy: entry.ownedBy,
    created: entry.created,
    capabilities: entry.capabilities,
    contextWindow: entry.contextWindow,
    maxOutputTokens: entry.maxOutputTokens,
    dimensions: entry.embedding?.dimensions ?? [],
    price: entry.price,
    fallbacks: entry.fallbacks,
    geography,
    regions,
  });
}

// ---------------------------------------------------------------------------------------------
// The built-in catalog.

/** Midnight UTC of a release date, in unix seconds. */
const unix = (isoDate: string) => Date.parse(`${isoDate}T00:00:00Z`) / 1000;

/** USD per million tokens → micro-USD per million tokens. */
const usd = (perMillion: number) => Math.round(perMillion * 1_000_000);

const chat = (caps: Partial<CatalogEntry["capabilities"]>): CatalogEntry["capabilities"] => ({
  streaming: true,
  tools: true,
  vision: false,
  systemPrompt: true,
  structuredOutput: false,
  reasoning: false,
  promptCaching: false,
  documents: false,
  ...caps,
});

/** What Claude 4.x does on Bedrock: images, documents, tools, thinking, cache points, JSON schema. */
const claude4 = chat({
  vision: true,
  documents: true,
  reasoning: true,
  promptCaching: true,
  structuredOutput: true,
});

const noChat: CatalogEntry["capabilities"] = {
  streaming: false,
  tools: false,
  vision: false,
  systemPrompt: false,
  structuredOutput: false,
  reasoning: false,
  promptCaching: false,
  documents: false,
};

/** List prices in USD per million tokens: input, output, cache read, cache write. */
const price = (input: number, output: number, cacheRead = 0, cacheWrite = 0) => ({
  inputPerMillionMicros: usd(input),
  outputPerMillionMicros: usd(output),
  cacheReadPerMillionMicros: usd(cacheRead),
  cacheWritePerMillionMicros: usd(cacheWrite),
});

/** A chat model with no fallbacks. */
const model = (entry: Omit<CatalogEntry, "kind" | "fallbacks">): CatalogEntry => ({
  kind: "chat",
  fallbacks: [],
  ...entry,
});

/**
 * The built-in catalog, for the us-east-1 Region: the models Amazon Bedrock serves there today,
 * each with the facts of its AWS model card (docs/models.md lists every fact with its source and
 * what could not be confirmed). Ids are Bedrock model ids; aliases are the short names people type
 * (`claude-sonnet-4-5`, and `claude-sonnet-4.5` as Anthropic's own docs write it).
 *
 * `bedrockModelId` is what inference calls: the `us.` cross-Region inference profile for models
 * with no on-demand throughput in us-east-1 (most Claude models, Nova 2, Llama 4, DeepSeek-R1,
 * Pixtral), the bare model id for those served in-Region. Elsewhere, or for `eu.`/`global.`
 * profiles, replace the catalog (STRATA_CATALOG_FILE).
 *
 * Prices are on-demand list prices in USD per million tokens, as metering's defaults, not a
 * quote: Claude 4.5 models through a geographic profile cost 10% over their global price (AWS's
 * global cross-Region inference page); cache reads follow the providers' ratios (Anthropic 10% of
 * input, writes 125%; Nova 25%). Override them with STRATA_CATALOG_FILE.
 */
export const defaultCatalogEntries: readonly CatalogEntry[] = [
  model({
    id: "anthropic.claude-opus-4-5-20251101-v1:0",
    aliases: ["claude-opus-4-5", "claude-opus-4.5"],
    bedrockModelId: "us.anthropic.claude-opus-4-5-20251101-v1:0",
    ownedBy: "anthropic",
    created: unix("2025-11-24"),
    capabilities: claude4,
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    price: price(5.5, 27.5, 0.55, 6.875),
  }),
  model({
    id: "anthropic.claude-sonnet-4-5-20250929-v1:0",
    aliases: ["claude-sonnet-4-5", "claude-sonnet-4.5"],
    bedrockModelId: "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    ownedBy: "anthropic",
    created: unix("2025-09-29"),
    capabilities: claude4,
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    price: price(3.3, 16.5, 0.33, 4.125),
  }),
  model({
    id: "anthropic.claude-haiku-4-5-20251001-v1:0",
    aliases: ["claude-haiku-4-5", "claude-haiku-4.5"],
    // Served in-Region in us-east-1.
    bedrockModelId: "anthropic.claude-haiku-4-5-20251001-v1:0",
    ownedBy: "anthropic",
    created: unix("2025-10-16"),
    capabilities: claude4,
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    price: price(1.1, 5.5, 0.11, 1.375),
  }),
  model({
    id: "anthropic.claude-sonnet-4-20250514-v1:0",
    aliases: ["claude-sonnet-4"],
    bedrockModelId: "us.anthropic.claude-sonnet-4-20250514-v1:0",
    ownedBy: "anthropic",
    created: unix("2025-05-22"),
    capabilities: claude4,
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    price: price(3, 15, 0.3, 3.75),
  }),
  model({
    id: "anthropic.claude-3-haiku-20240307-v1:0",
    aliases: ["claude-3-haiku"],
    // Its in-Region throughput in us-east-1 is retired; the US profile still serves it.
    bedrockModelId: "us.anthropic.claude-3-haiku-20240307-v1:0",
    ownedBy: "anthropic",
    created: unix("2024-03-07"),
    capabilities: chat({ vision: true, documents: true }),
    contextWindow: 200_000,
    maxOutputTokens: 4096,
    price: price(0.25, 1.25, 0.03, 0.3),
  }),
  model({
    id: "amazon.nova-2-lite-v1:0",
    aliases: ["nova-2-lite"],
    bedrockModelId: "us.amazon.nova-2-lite-v1:0",
    ownedBy: "amazon",
    created: unix("2025-12-02"),
    capabilities: chat({ vision: true, documents: true, reasoning: true, promptCaching: true }),
    contextWindow: 1_000_000,
    maxOutputTokens: 64_000,
    price: price(0.33, 2.75, 0.0825),
  }),
  model({
    id: "amazon.nova-pro-v1:0",
    aliases: ["nova-pro"],
    bedrockModelId: "amazon.nova-pro-v1:0",
    ownedBy: "amazon",
    created: unix("2024-12-03"),
    capabilities: chat({ vision: true, documents: true, promptCaching: true }),
    contextWindow: 300_000,
    maxOutputTokens: 5000,
    price: price(0.8, 3.2, 0.2),
  }),
  model({
    id: "amazon.nova-lite-v1:0",
    aliases: ["nova-lite"],
    bedrockModelId: "amazon.nova-lite-v1:0",
    ownedBy: "amazon",
    created: unix("2024-12-03"),
    capabilities: chat({ vision: true, documents: true, promptCaching: true }),
    contextWindow: 300_000,
    maxOutputTokens: 5000,
    price: price(0.06, 0.24, 0.015),
  }),
  model({
    id: "amazon.nova-micro-v1:0",
    aliases: ["nova-micro"],
    bedrockModelId: "amazon.nova-micro-v1:0",
    ownedBy: "amazon",
    created: unix("2024-12-03"),
    capabilities: chat({ promptCaching: true }),
    contextWindow: 128_000,
    maxOutputTokens: 5000,
    price: price(0.035, 0.14, 0.00875),
  }),
  model({
    id: "openai.gpt-oss-120b-1:0",
    aliases: ["gpt-oss-120b"],
    bedrockModelId: "openai.gpt-oss-120b-1:0",
    ownedBy: "openai",
    created: unix("2025-08-05"),
    capabilities: chat({ reasoning: true, structuredOutput: true }),
    contextWindow: 128_000,
    maxOutputTokens: 16_384,
    price: price(0.15, 0.6),
  }),
  model({
    id: "openai.gpt-oss-20b-1:0",
    aliases: ["gpt-oss-20b"],
    bedrockModelId: "openai.gpt-oss-20b-1:0",
    ownedBy: "openai",
    created: unix("2025-08-05"),
    capabilities: chat({ reasoning: true, structuredOutput: true }),
    contextWindow: 128_000,
    maxOutputTokens: 16_384,
    price: price(0.07, 0.3),
  }),
  model({
    id: "deepseek.r1-v1:0",
    aliases: ["deepseek-r1"],
    bedrockModelId: "us.deepseek.r1-v1:0",
    ownedBy: "deepseek",
    created: unix("2025-03-10"),
    capabilities: chat({ tools: false, reasoning: true }),
    contextWindow: 128_000,
    maxOutputTokens: 8192,
    price: price(1.35, 5.4),
  }),
  model({
    id: "meta.llama4-maverick-17b-instruct-v1:0",
    aliases: ["llama4-maverick"],
    bedrockModelId: "us.meta.llama4-maverick-17b-instruct-v1:0",
    ownedBy: "meta",
    created: unix("2025-04-05"),
    capabilities: chat({ vision: true }),
    contextWindow: 1_000_000,
    maxOutputTokens: 8192,
    price: price(0.24, 0.97),
  }),
  model({
    id: "meta.llama3-8b-instruct-v1:0",
    aliases: ["llama3-8b"],
    bedrockModelId: "meta.llama3-8b-instruct-v1:0",
    ownedBy: "meta",
    created: unix("2024-04-18"),
    capabilities: chat({ tools: false }),
    contextWindow: 8192,
    maxOutputTokens: 2048,
    price: price(0.3, 0.6),
  }),
  model({
    id: "mistral.pixtral-large-2502-v1:0",
    aliases: ["pixtral-large"],
    bedrockModelId: "us.mistral.pixtral-large-2502-v1:0",
    ownedBy: "mistral",
    created: unix("2025-04-08"),
    capabilities: chat({ vision: true }),
    contextWindow: 128_000,
    maxOutputTokens: 16_384,
    price: price(2, 6),
  }),
  model({
    id: "mistral.mistral-7b-instruct-v0:2",
    aliases: ["mistral-7b"],
    bedrockModelId: "mistral.mistral-7b-instruct-v0:2",
    ownedBy: "mistral",
    created: unix("2024-03-01"),
    capabilities: chat({ tools: false, systemPrompt: false }),
    contextWindow: 32_000,
    maxOutputTokens: 8192,
    price: price(0.15, 0.2),
  }),
  model({
    id: "qwen.qwen3-coder-30b-a3b-v1:0",
    aliases: ["qwen3-coder-30b"],
    bedrockModelId: "qwen.qwen3-coder-30b-a3b-v1:0",
    ownedBy: "qwen",
    created: unix("2025-09-18"),
    capabilities: chat({ structuredOutput: true }),
    contextWindow: 262_144,
    maxOutputTokens: 65_536,
    price: price(0.15, 0.6),
  }),
  {
    id: "amazon.titan-embed-text-v2:0",
    aliases: ["titan-embed-text-v2"],
    kind: "embedding",
    bedrockModelId: "amazon.titan-embed-text-v2:0",
    ownedBy: "amazon",
    created: unix("2024-04-30"),
    capabilities: noChat,
    contextWindow: 8192,
    maxOutputTokens: 0,
    embedding: { family: "titan-v2", dimensions: [1024, 512, 256], maxBatch: 1 },
    price: price(0.02, 0),
    fallbacks: [],
  },
  {
    id: "amazon.titan-embed-text-v1",
    aliases: ["titan-embed-text-v1"],
    kind: "embedding",
    bedrockModelId: "amazon.titan-embed-text-v1",
    ownedBy: "amazon",
    created: unix("2023-09-28"),
    capabilities: noChat,
    contextWindow: 8192,
    maxOutputTokens: 0,
    embedding: { family: "titan-v1", dimensions: [1536], maxBatch: 1 },
    price: price(0.1, 0),
    fallbacks: [],
  },
  {
    id: "cohere.embed-english-v3",
    aliases: ["cohere-embed-english-v3"],
    kind: "embedding",
    bedrockModelId: "cohere.embed-english-v3",
    ownedBy: "cohere",
    created: unix("2023-11-13"),
    capabilities: noChat,
    contextWindow: 512,
    maxOutputTokens: 0,
    embedding: { family: "cohere-v3", dimensions: [1024], maxBatch: 96 },
    price: price(0.1, 0),
    fallbacks: [],
  },
  {
    id: "cohere.embed-multilingual-v3",
    aliases: ["cohere-embed-multilingual-v3"],
    kind: "embedding",
    bedrockModelId: "cohere.embed-multilingual-v3",
    ownedBy: "cohere",
    created: unix("2023-11-13"),
    capabilities: noChat,
    contextWindow: 512,
    maxOutputTokens: 0,
    embedding: { family: "cohere-v3", dimensions: [1024], maxBatch: 96 },
    price: price(0.1, 0),
    fallbacks: [],
  },
];

/** The built-in catalog, validated like a file would be. */
export function createDefaultCatalog(options: CatalogOptions): Catalog {
  return createCatalog(defaultCatalogEntries, options);
}
