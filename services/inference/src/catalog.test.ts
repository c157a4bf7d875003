import { ModelKind } from "@strata/proto";
import { describe, expect, it } from "vitest";
import { createDefaultCatalog, defaultCatalogEntries, parseCatalog } from "./catalog.ts";

const catalog = createDefaultCatalog({ region: "us-east-1" });
const entry = (id: string) => {
  const found = defaultCatalogEntries.find((e) => e.id === id);
  if (!found) throw new Error(`no ${id} in the default catalog`);
  return found;
};

describe("catalog", () => {
  it.each([
    ["anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-haiku-20240307-v1:0"],
    ["claude-3-haiku", "anthropic.claude-3-haiku-20240307-v1:0"],
    ["claude-sonnet-4", "anthropic.claude-sonnet-4-20250514-v1:0"],
    ["nova-micro", "amazon.nova-micro-v1:0"],
    ["cohere-embed-multilingual-v3", "cohere.embed-multilingual-v3"],
  ])("resolves %s to %s", (name, id) => {
    expect(catalog.resolve(name)?.id).toBe(id);
  });

  it.each(["Claude-3-Haiku", "claude", "", "us.anthropic.claude-sonnet-4-20250514-v1:0"])(
    "does not resolve %j (exact, case-sensitive names only)",
    (name) => {
      expect(catalog.resolve(name)).toBeUndefined();
    },
  );

  it("serves claude-sonnet-4 through the US inference profile", () => {
    expect(catalog.resolve("claude-sonnet-4")?.bedrockModelId).toBe(
      "us.anthropic.claude-sonnet-4-20250514-v1:0",
    );
  });

  it("lists every default model with the aliases people type", () => {
    const aliases = catalog.list().flatMap((e) => e.aliases);
    expect(aliases).toEqual(
      expect.arrayContaining([
        "claude-opus-4-5",
        "claude-sonnet-4-5",
        "claude-sonnet-4.5",
        "claude-haiku-4-5",
        "claude-haiku-4.5",
        "claude-3-haiku",
        "claude-sonnet-4",
        "nova-2-lite",
        "gpt-oss-120b",
        "gpt-oss-20b",
        "deepseek-r1",
        "llama4-maverick",
        "pixtral-large",
        "qwen3-coder-30b",
        "nova-micro",
        "nova-lite",
        "nova-pro",
        "llama3-8b",
        "mistral-7b",
        "titan-embed-text-v2",
        "titan-embed-text-v1",
        "cohere-embed-english-v3",
        "cohere-embed-multilingual-v3",
      ]),
    );
  });

  it("turns an embedding entry into a proto Model with its dimensions", () => {
    const model = catalog.toProto(entry("amazon.titan-embed-text-v2:0"));
    expect(model).toMatchObject({
      id: "amazon.titan-embed-text-v2:0",
      kind: ModelKind.EMBEDDING,
      dimensions: [1024, 512, 256],
      price: { inputPerMillionMicros: 20_000 },
    });
  });

  it("turns a chat entry into a proto Model with capabilities and prices in micros", () => {
    const model = catalog.toProto(entry("anthropic.claude-3-haiku-20240307-v1:0"));
    expect(model).toMatchObject({
      kind: ModelKind.CHAT,
      aliases: ["claude-3-haiku"],
      created: 1709769600,
      capabilities: {
        streaming: true,
        tools: true,
        vision: true,
        systemPrompt: true,
        documents: true,
        reasoning: false,
        promptCaching: false,
      },
      price: { inputPerMillionMicros: 250_000, outputPerMillionMicros: 1_250_000 },
      maxOutputTokens: 4096,
    });
  });

  it.each([
    ["claude-sonnet-4-5", 200_000, 64_000, { reasoning: true, promptCaching: true }],
    ["claude-haiku-4-5", 200_000, 64_000, { documents: true, structuredOutput: true }],
    ["nova-2-lite", 1_000_000, 64_000, { reasoning: true, vision: true }],
    ["gpt-oss-120b", 128_000, 16_384, { vision: false, reasoning: true }],
    ["llama4-maverick", 1_000_000, 8192, { vision: true }],
    ["deepseek-r1", 128_000, 8192, { tools: false, reasoning: true }],
  ])("knows %s's context window, output limit and capabilities", (name, context, output, caps) => {
    expect(catalog.resolve(name)).toMatchObject({
      contextWindow: context,
      maxOutputTokens: output,
      capabilities: caps,
    });
  });

  it("serves Claude models without in-Region throughput in us-east-1 through the US profile", () => {
    for (const name of [
      "claude-opus-4-5",
      "claude-sonnet-4-5",
      "claude-sonnet-4",
      "claude-3-haiku",
    ])
      expect(catalog.resolve(name)?.bedrockModelId).toMatch(/^us\.anthropic\./);
    expect(catalog.resolve("claude-haiku-4-5")?.bedrockModelId).toBe(
      "anthropic.claude-haiku-4-5-20251001-v1:0",
    );
  });
});

describe("catalog geography", () => {
  it.each([
    ["us-east-1", "anthropic.claude-haiku-4-5-20251001-v1:0", "us", ["us-east-1"]],
    ["eu-west-3", "anthropic.claude-haiku-4-5-20251001-v1:0", "eu", ["eu-west-3"]],
    ["us-east-1", "anthropic.claude-3-haiku-20240307-v1:0", "us", []],
    ["ap-northeast-1", "cohere.embed-english-v3", "apac", ["ap-northeast-1"]],
    ["eu-west-3", "anthropic.claude-sonnet-4-20250514-v1:0", "us", []],
  ])("in %s places %s in %s %j", (region, id, geography, regions) => {
    const model = createDefaultCatalog({ region }).toProto(entry(id));
    expect(model).toMatchObject({ geography, regions });
  });
});

describe("parseCatalog", () => {
  const valid = {
    id: "my-model",
    aliases: ["mine"],
    kind: "chat",
    bedrockModelId:
      "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.amazon.nova-lite-v1:0",
    ownedBy: "amazon",
    created: 1733184000,
    capabilities: {
      streaming: true,
      tools: true,
      vision: true,
      systemPrompt: true,
      structuredOutput: false,
    },
    contextWindow: 300000,
    maxOutputTokens: 5000,
    price: {
      inputPerMillionMicros: 60000,
      outputPerMillionMicros: 240000,
      cacheReadPerMillionMicros: 0,
    },
  };

  it("accepts an array of entries, defaulting fallbacks", () => {
    const parsed = parseCatalog(JSON.stringify([valid]), { region: "us-east-1" });
    expect(parsed.resolve("mine")?.fallbacks).toEqual([]);
  });

  it("accepts { models: [...] }", () => {
    expect(
      parseCatalog(JSON.stringify({ models: [valid] }), { region: "us-east-1" }).list(),
    ).toHaveLength(1);
  });

  it.each([
    { name: "not JSON", json: "{", problem: /not JSON/ },
    { name: "an unknown field", json: JSON.stringify([{ ...valid, extra: 1 }]), problem: /extra/ },
    {
      name: "a missing price",
      json: JSON.stringify([{ ...valid, price: undefined }]),
      problem: /price/,
    },
    {
      name: "an alias naming two models",
      json: JSON.stringify([valid, { ...valid, id: "other" }]),
      problem: /"mine" names both my-model and other/,
    },
    {
      name: "an embedding model without embedding facts",
      json: JSON.stringify([{ ...valid, kind: "embedding" }]),
      problem: /needs "embedding"/,
    },
    {
      name: "a fallback that is not a catalog id",
      json: JSON.stringify([{ ...valid, fallbacks: ["nope"] }]),
      problem: /fallback nope/,
    },
    { name: "no models", json: "[]", problem: /no models/ },
  ])("rejects $name", ({ json, problem }) => {
    expect(() => parseCatalog(json, { region: "us-east-1", source: "catalog.json" })).toThrow(
      problem,
    );
  });

  it("accepts the default catalog written out as JSON", () => {
    const roundTrip = parseCatalog(JSON.stringify(defaultCatalogEntries), { region: "us-east-1" });
    expect(roundTrip.list()).toEqual(defaultCatalogEntries);
  });
});
