import { create } from "@bufbuild/protobuf";
import { EmbedResponseSchema } from "@strata/proto";
import { describe, expect, it } from "vitest";
import { embedResponseToOpenAI, floatsToBase64 } from "./embed-response-to-openai.ts";
import { openApiErrors } from "./testing/openapi.ts";

const response = create(EmbedResponseSchema, {
  model: "amazon.titan-embed-text-v2:0",
  embeddings: [{ values: [0.5, -1.25, 3] }, { values: [0.1, 0.2] }],
  inputTokens: 7,
});

describe("embedResponseToOpenAI", () => {
  it("answers float vectors in input order with the usage", () => {
    const body = embedResponseToOpenAI(response, { model: "embed-model", encodingFormat: "float" });
    expect(body).toEqual({
      object: "list",
      model: "embed-model",
      data: [
        { object: "embedding", index: 0, embedding: [0.5, -1.25, 3] },
        { object: "embedding", index: 1, embedding: [0.1, 0.2] },
      ],
      usage: { prompt_tokens: 7, total_tokens: 7 },
    });
    expect(openApiErrors("CreateEmbeddingResponse", body)).toEqual([]);
  });

  it("answers base64 of little-endian float32s", () => {
    const body = embedResponseToOpenAI(response, {
      model: "embed-model",
      encodingFormat: "base64",
    });
    const [first] = body.data;
    expect(typeof first?.embedding).toBe("string");
    const bytes = Buffer.from(first?.embedding as string, "base64");
    expect(bytes.length).toBe(12);
    expect([0, 4, 8].map((offset) => bytes.readFloatLE(offset))).toEqual([0.5, -1.25, 3]);
  });
});

describe("floatsToBase64", () => {
  it.each([
    {
      behaviour: "encodes 1.0 as its IEEE-754 bytes, low byte first",
      values: [1],
      base64: "AACAPw==",
    },
    { behaviour: "encodes an empty vector as an empty string", values: [], base64: "" },
  ])("$behaviour", ({ values, base64 }) => {
    expect(floatsToBase64(values)).toBe(base64);
  });
});
