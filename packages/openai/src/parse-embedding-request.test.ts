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
      behaviour: "mixes text and other values",
      value: body({ input: ["a", 1] }),
      param: "input[1]",
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
      behaviour: "sends tokens",
      value: body({ input: [1, 2, 3] }),
      param: "input",
      code: "unsupported_value",
    },
    {
      behaviour: "sends lists of tokens",
      value: body({ input: [[1, 2], [3]] }),
      param: "input",
      code: "unsupported_value",
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

  it("says token arrays are not supported", () => {
    expect(refusal(body({ input: [1, 2] })).message).toContain(
      "token arrays are not supported by this gateway",
    );
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
