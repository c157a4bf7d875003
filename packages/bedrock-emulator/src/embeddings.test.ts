import { describe, expect, it } from "vitest";
import type { JsonValue } from "./converse-types.ts";
import { deterministicVector } from "./deterministic-vector.ts";
import { embed, embeddingInputTexts, parseEmbeddingRequest } from "./embeddings.ts";
import { createModelCatalogue } from "./models.ts";

const catalogue = createModelCatalogue();
const titanV2 = catalogue.resolve("amazon.titan-embed-text-v2:0");
const titanV1 = catalogue.resolve("amazon.titan-embed-text-v1");
const cohere = catalogue.resolve("cohere.embed-english-v3");

const run = (model: typeof titanV2, body: JsonValue) => {
  const request = parseEmbeddingRequest(model, body);
  return embed(model, request, embeddingInputTexts(request)).body;
};
const norm = (v: readonly number[]) => Math.hypot(...v);

describe("deterministicVector", () => {
  it("is a pure function of the text", () => {
    expect(deterministicVector("hello", 64, true)).toEqual(deterministicVector("hello", 64, true));
    expect(deterministicVector("hello", 64, true)).not.toEqual(
      deterministicVector("hellO", 64, true),
    );
  });

  it("has unit length when normalised and values in [-1, 1) otherwise", () => {
    expect(norm(deterministicVector("x", 1024, true))).toBeCloseTo(1, 5);
    const raw = deterministicVector("x", 1024, false);
    expect(raw.every((v) => v >= -1 && v < 1)).toBe(true);
    expect(norm(raw)).toBeGreaterThan(2);
  });

  it("makes shorter raw vectors prefixes of longer ones", () => {
    expect(deterministicVector("x", 1024, false).slice(0, 256)).toEqual(
      deterministicVector("x", 256, false),
    );
  });
});

describe("Titan embeddings", () => {
  it("returns 1024 normalised dimensions by default with the token count", () => {
    const body = run(titanV2, { inputText: "hello world" }) as {
      embedding: number[];
      inputTextTokenCount: number;
      embeddingsByType: { float: number[] };
    };
    expect(body.embedding).toHaveLength(1024);
    expect(norm(body.embedding)).toBeCloseTo(1, 5);
    expect(body.inputTextTokenCount).toBe(3);
    expect(body.embeddingsByType.float).toEqual(body.embedding);
  });

  it("honours dimensions, normalize=false and binary embeddings", () => {
    const body = run(titanV2, {
      inputText: "hi",
      dimensions: 256,
      normalize: false,
      embeddingTypes: ["binary"],
    }) as { embedding: number[]; embeddingsByType: { binary: number[]; float?: number[] } };
    expect(body.embedding).toHaveLength(256);
    expect(body.embeddingsByType.float).toBeUndefined();
    expect(body.embeddingsByType.binary).toEqual(body.embedding.map((v) => (v > 0 ? 1 : 0)));
  });

  it("returns 1536 dimensions for Titan G1", () => {
    const body = run(titanV1, { inputText: "hi" }) as { embedding: number[] };
    expect(body.embedding).toHaveLength(1536);
  });

  it.each<[string, typeof titanV2, JsonValue, RegExp]>([
    ["a missing inputText", titanV2, {}, /required key \[inputText\] not found/],
    ["an empty inputText", titanV2, { inputText: "" }, /expected minLength: 1/],
    ["a numeric inputText", titanV2, { inputText: 5 }, /expected type: String, found: Number/],
    [
      "unsupported dimensions",
      titanV2,
      { inputText: "a", dimensions: 100 },
      /#\/dimensions: 100 is not a valid enum value/,
    ],
    ["a string normalize", titanV2, { inputText: "a", normalize: "yes" }, /expected type: Boolean/],
    [
      "an unknown embedding type",
      titanV2,
      { inputText: "a", embeddingTypes: ["int8"] },
      /embeddingTypes\/0: int8/,
    ],
    [
      "an extraneous key",
      titanV2,
      { inputText: "a", texts: ["a"] },
      /extraneous key \[texts\] is not permitted/,
    ],
    [
      "v2 options on G1",
      titanV1,
      { inputText: "a", dimensions: 256 },
      /extraneous key \[dimensions\]/,
    ],
    ["a non-object body", titanV2, ["a"], /expected type: JSONObject/],
    [
      "a Cohere body on Titan",
      titanV2,
      { texts: ["a"], input_type: "search_query" },
      /extraneous key \[texts\]/,
    ],
  ])("rejects %s", (_case, model, body, message) => {
    expect(() => run(model, body)).toThrow(message);
  });

  it("rejects input beyond the context window", () => {
    expect(() => run(titanV2, { inputText: "x".repeat(8192 * 4 + 1) })).toThrow(
      /Too many input tokens/,
    );
  });
});

describe("Cohere embeddings", () => {
  it("returns embeddings_floats without embedding_types", () => {
    const body = run(cohere, { texts: ["a", "b"], input_type: "search_document" }) as {
      id: string;
      response_type: string;
      embeddings: number[][];
      texts: string[];
    };
    expect(body.response_type).toBe("embeddings_floats");
    expect(body.texts).toEqual(["a", "b"]);
    expect(body.embeddings).toHaveLength(2);
    expect(body.embeddings[0]).toHaveLength(1024);
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("returns embeddings_by_type with every requested type", () => {
    const body = run(cohere, {
      texts: ["a"],
      input_type: "search_query",
      embedding_types: ["float", "int8", "uint8", "binary", "ubinary"],
    }) as { response_type: string; embeddings: Record<string, number[][]> };
    expect(body.response_type).toBe("embeddings_by_type");
    expect(body.embeddings.float?.[0]).toHaveLength(1024);
    expect(body.embeddings.int8?.[0]?.every((v) => v >= -128 && v <= 127)).toBe(true);
    expect(body.embeddings.uint8?.[0]?.every((v) => v >= 0 && v <= 255)).toBe(true);
    expect(body.embeddings.binary?.[0]).toHaveLength(128);
    expect(body.embeddings.ubinary?.[0]).toHaveLength(128);
  });

  it.each<[string, JsonValue, RegExp]>([
    ["a missing input_type", { texts: ["a"] }, /required key \[input_type\] not found/],
    [
      "an unknown input_type",
      { texts: ["a"], input_type: "chat" },
      /input_type: chat is not a valid enum value/,
    ],
    ["no texts", { texts: [], input_type: "clustering" }, /minimum item count: 1/],
    [
      "97 texts",
      { texts: Array(97).fill("a"), input_type: "clustering" },
      /maximum item count: 96, found: 97/,
    ],
    [
      "a text over 2048 characters",
      { texts: ["a".repeat(2049)], input_type: "clustering" },
      /maxLength: 2048/,
    ],
    ["a bad truncate", { texts: ["a"], input_type: "clustering", truncate: "MIDDLE" }, /truncate/],
    [
      "an extraneous key",
      { texts: ["a"], input_type: "clustering", inputText: "a" },
      /extraneous key \[inputText\]/,
    ],
  ])("rejects %s", (_case, body, message) => {
    expect(() => run(cohere, body)).toThrow(message);
  });
});
