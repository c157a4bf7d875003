import { StrataError } from "@strata/errors";
import { describe, expect, it } from "vitest";
import { embeddingRequestToEmbedRequest } from "./embedding-request-to-embed-request.ts";
import { parseEmbeddingRequest } from "./parse-embedding-request.ts";

const body = (extra: Record<string, unknown> = {}) => ({
  model: "embed-model",
  input: "hello",
  ...extra,
});

function refusal(value: unknown): StrataError {
  try {
    parseEmbeddingRequest(value);
  } catch (error) {
    if (error instanceof StrataError) return error;
    throw error;
  }
  throw new Error("the request was accepted");
}

describe("parseEmbeddingRequest refuses a request that", () => {
  it.each([
    { behaviour: "is not an object", value: [1], param: undefined, code: "invalid_type" },
    {
      behaviour: "has no model",
      value: { input: "x" },
      param: "model",
      code: "missing_required_parameter",
    },
    {
      behaviour: "has an empty model",
      value: body({ model: "" }),
      param: "model",
      code: "empty_string",
    },
    {
      behaviour: "has no input",
      value: { model: "m" },
      param: "input",
      code: "missing_required_parameter",
    },
    {
      behaviour: "has an input of the wrong type",
      value: body({ input: { text: "x" } }),
      param: "input",
      code: "invalid_type",
    },
    {
      behaviour: "has an empty input string",
      value: body({ input: "" }),
      param: "input",
      code: "empty_string",
    },
    {
      behaviour: "has an empty input array",
      value: body({ input: [] }),
      param: "input",
      code: "empty_array",
    },
    {
      behaviour: "has an empty string among the inputs",
      value: body({ input: ["a", ""] }),
      param: "input[1]",
      code: "empty_string",
    },
    {
      behaviour: "has a value that is not text among texts",
      value: body({ input: ["a", null] }),
      param: "input[1]",
      code: "invalid_type",
    },
    {
      behaviour: "mixes text and token ids",
      value: body({ input: ["a", 1] }),
      param: "input",
      code: "invalid_type",
    },
    {
      behaviour: "mixes token arrays and text",
      value: body({ input: [[15339], "a"] }),
      param: "input",
      code: "invalid_type",
    },
    {
      behaviour: "mixes token ids and token arrays",
      value: body({ input: [15339, [1917]] }),
      param: "input",
      code: "invalid_type",
    },
    {
      behaviour: "has more than 2048 inputs",
      value: body({ input: Array(2049).fill("a") }),
      param: "input",
      code: "array_above_max_length",
    },
    {
      behaviour: "has an input over 50000 characters",
      value: body({ input: "a".repeat(50_001) }),
      param: "input",
      code: "string_above_max_length",
    },
    {
      behaviour: "has an empty token array",
      value: body({ input: [[15339], []] }),
      param: "input[1]",
      code: "empty_array",
    },
    {
      behaviour: "has a decimal token id",
      value: body({ input: [15339, 1.5] }),
      param: "input[1]",
      code: "invalid_type",
    },
    {
      behaviour: "has a token id that is a string",
      value: body({ input: [[15339, "1917"]] }),
      param: "input[0][1]",
      code: "invalid_type",
    },
    {
      behaviour: "has a negative token id",
      value: body({ input: [[15339], [1917, -1]] }),
      param: "input[1][1]",
      code: "integer_below_min_value",
    },
    {
      behaviour: "has a token id beyond both vocabularies",
      value: body({ input: [15339, 200_019] }),
      param: "input[1]",
      code: "invalid_value",
    },
    {
      behaviour: "has a token id o200k_base lacks (199998) and cl100k_base too",
      value: body({ input: [[15339], [199_998]] }),
      param: "input[1][0]",
      code: "invalid_value",
    },
    {
      behaviour: "has a huge token id",
      value: body({ input: [[1e308]] }),
      param: "input[0][0]",
      code: "invalid_value",
    },
    {
      behaviour: "has more than 2048 token arrays",
      value: body({ input: Array(2049).fill([15339]) }),
      param: "input",
      code: "array_above_max_length",
    },
    {
      behaviour: "has a flat token array over 50000 ids",
      value: body({ input: Array(50_001).fill(0) }),
      param: "input",
      code: "array_above_max_length",
    },
    {
      behaviour: "has a token array over 50000 ids",
      value: body({ input: [[0], Array(50_001).fill(0)] }),
      param: "input[1]",
      code: "array_above_max_length",
    },
    {
      behaviour: "has tokens that decode to over 50000 characters",
      value: body({ input: [Array(10_001).fill(15339)] }), // "hello" x 10,001
      param: "input[0]",
      code: "string_above_max_length",
    },
    {
      behaviour: "asks for an unknown encoding",
      value: body({ encoding_format: "int8" }),
      param: "encoding_format",
      code: "invalid_value",
    },
    {
      behaviour: "asks for zero dimensions",
      value: body({ dimensions: 0 }),
      param: "dimensions",
      code: "integer_below_min_value",
    },
    {
      behaviour: "asks for fractional dimensions",
      value: body({ dimensions: 1.5 }),
      param: "dimensions",
      code: "invalid_type",
    },
    {
      behaviour: "has a user that is not a string",
      value: body({ user: 1 }),
      param: "user",
      code: "invalid_type",
    },
  ])("$behaviour", ({ value, param, code }) => {
    const error = refusal(value);
    expect(error.reason).toBe("invalid_request");
    expect(error.param).toBe(param);
    expect(error.openaiCode).toBe(code);
  });

  it.each([
    {
      input: [15339, 200_019],
      message:
        "Invalid 'input[1]': 200019 is not a token id of cl100k_base or o200k_base, the encodings this gateway decodes token arrays with.",
    },
    {
      input: ["a", [15339]],
      message:
        "Invalid type for 'input': expected a string, an array of strings, an array of integers, or an array of arrays of integers, but got an array mixing a string (input[0]) and an array (input[1]) instead.",
    },
    {
      input: [Array(10_001).fill(15339)],
      message:
        "Invalid 'input[0]': the tokens decode (cl100k_base) to a string too long. Expected a string with maximum length 50000, but got a string with length 50005 instead.",
    },
  ])("says what is wrong with the token input $input.0", ({ input, message }) => {
    expect(refusal(body({ input })).message).toBe(message);
  });
});

describe("parseEmbeddingRequest decodes token arrays", () => {
  // Ids from tiktoken: "hello world" is [15339, 1917] in cl100k_base and [24912, 2375] in
  // o200k_base; "Grüße, 世界 🌍" in o200k_base has ids beyond cl100k_base's vocabulary (185558).
  const greeting = [3193, 572, 13153, 11, 185_558, 130_321, 235];
  it.each([
    { behaviour: "an array of token arrays", input: [[15339, 1917]], texts: ["hello world"] },
    { behaviour: "a flat token array as one input", input: [15339, 1917], texts: "hello world" },
    {
      behaviour: "several token arrays in order",
      input: [[15339], [1917]],
      texts: ["hello", " world"],
    },
    { behaviour: "o200k_base ids", input: [greeting], texts: ["Grüße, 世界 🌍"] },
    {
      behaviour: "the whole request with o200k_base when one id needs it",
      input: [[24912, 2375], greeting],
      texts: ["hello world", "Grüße, 世界 🌍"],
    },
    {
      behaviour: "an id cl100k_base lacks (100256) with o200k_base",
      input: [100_256],
      texts: "dro",
    },
    { behaviour: "special tokens as their text", input: [[100_257]], texts: ["<|endoftext|>"] },
    {
      behaviour: "an array cut inside a character with U+FFFD",
      input: [[9468, 234]],
      texts: ["\ufffd"],
    },
    {
      behaviour: "a flat array of more ids than the 2048 inputs a request may hold",
      input: Array(3000).fill(0),
      texts: "!".repeat(3000),
    },
    {
      behaviour: "50000 ids decoding to 50000 characters",
      input: [Array(50_000).fill(0)],
      texts: ["!".repeat(50_000)],
    },
  ])("$behaviour", ({ input, texts }) => {
    expect(parseEmbeddingRequest(body({ input })).input).toEqual(texts);
  });

  it("embeds the decoded texts", () => {
    const request = embeddingRequestToEmbedRequest(
      parseEmbeddingRequest(body({ input: [[15339, 1917], [1917]] })),
    );
    expect(request.inputs).toEqual(["hello world", " world"]);
  });
});

describe("parseEmbeddingRequest", () => {
  it("defaults the encoding to float", () => {
    expect(parseEmbeddingRequest(body())).toEqual({
      model: "embed-model",
      input: "hello",
      encoding_format: "float",
      dimensions: undefined,
      user: undefined,
    });
  });

  it("keeps base64, dimensions, a list of inputs and the user", () => {
    expect(
      parseEmbeddingRequest(
        body({ input: ["a", "b"], encoding_format: "base64", dimensions: 256, user: "u" }),
      ),
    ).toEqual({
      model: "embed-model",
      input: ["a", "b"],
      encoding_format: "base64",
      dimensions: 256,
      user: "u",
    });
  });

  it("tolerates fields it does not know", () => {
    expect(() => parseEmbeddingRequest(body({ future: true }))).not.toThrow();
  });
});

describe("embeddingRequestToEmbedRequest", () => {
  it.each([
    {
      behaviour: "wraps a single input in a list",
      input: "one",
      dimensions: undefined,
      inputs: ["one"],
      expected: 0,
    },
    {
      behaviour: "keeps a list of inputs and the dimensions",
      input: ["a", "b"],
      dimensions: 512,
      inputs: ["a", "b"],
      expected: 512,
    },
  ])("$behaviour", ({ input, dimensions, inputs, expected }) => {
    const request = embeddingRequestToEmbedRequest(
      parseEmbeddingRequest(body({ input, dimensions })),
    );
    expect(request.model).toBe("embed-model");
    expect(request.inputs).toEqual(inputs);
    expect(request.dimensions).toBe(expected);
  });
});
