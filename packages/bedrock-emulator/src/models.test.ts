import { describe, expect, it } from "vitest";
import { EmulatorError } from "./emulator-error.ts";
import { BUILT_IN_MODELS, baseModelId, createModelCatalogue } from "./models.ts";

describe("baseModelId", () => {
  it.each([
    ["anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-haiku-20240307-v1:0"],
    ["us.anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-haiku-20240307-v1:0"],
    ["eu.amazon.nova-lite-v1:0", "amazon.nova-lite-v1:0"],
    ["apac.amazon.nova-pro-v1:0", "amazon.nova-pro-v1:0"],
    ["global.anthropic.claude-sonnet-4-20250514-v1:0", "anthropic.claude-sonnet-4-20250514-v1:0"],
    ["jp.amazon.nova-micro-v1:0", "amazon.nova-micro-v1:0"],
    ["au.amazon.nova-micro-v1:0", "amazon.nova-micro-v1:0"],
    ["us-gov.anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-haiku-20240307-v1:0"],
    [
      "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0",
      "anthropic.claude-3-haiku-20240307-v1:0",
    ],
    [
      "arn:aws:bedrock:us-west-2::foundation-model/amazon.titan-embed-text-v2:0",
      "amazon.titan-embed-text-v2:0",
    ],
    [
      "arn:aws-us-gov:bedrock:us-gov-west-1::foundation-model/meta.llama3-8b-instruct-v1:0",
      "meta.llama3-8b-instruct-v1:0",
    ],
  ])("resolves %s to %s", (input, expected) => {
    expect(baseModelId(input)).toBe(expected);
  });

  it.each([
    ["an ARN of another service", "arn:aws:s3:::bucket/key"],
    ["a foundation-model ARN with an account", "arn:aws:bedrock:us-east-1:123:foundation-model/x"],
    [
      "an inference-profile ARN without an account",
      "arn:aws:bedrock:us-east-1::inference-profile/x",
    ],
  ])("rejects %s", (_case, input) => {
    expect(baseModelId(input)).toBeUndefined();
  });
});

describe("model catalogue", () => {
  const catalogue = createModelCatalogue();

  it("has unique ids and sane limits", () => {
    expect(new Set(BUILT_IN_MODELS.map((m) => m.id)).size).toBe(BUILT_IN_MODELS.length);
    for (const model of BUILT_IN_MODELS) {
      expect(model.contextWindow).toBeGreaterThan(0);
      if (model.kind === "chat") expect(model.maxOutputTokens).toBeGreaterThan(0);
      else expect(model.dimensions).toBeGreaterThan(0);
    }
  });

  it.each([
    [
      "us.anthropic.claude-3-haiku-20240307-v1:0",
      { vision: true, tools: true, maxOutputTokens: 4096 },
    ],
    [
      "global.anthropic.claude-sonnet-4-20250514-v1:0",
      { structuredOutput: true, maxOutputTokens: 64_000 },
    ],
    ["anthropic.claude-haiku-4-5-20251001-v1:0", { maxOutputTokens: 64_000 }],
    ["us.meta.llama4-maverick-17b-instruct-v1:0", { vision: true, contextWindow: 1_000_000 }],
    ["amazon.nova-micro-v1:0", { vision: false, tools: true }],
    ["meta.llama3-8b-instruct-v1:0", { tools: false, contextWindow: 8192, maxOutputTokens: 2048 }],
    ["mistral.mistral-7b-instruct-v0:2", { systemPrompt: false, tools: false }],
    ["amazon.titan-embed-text-v1", { kind: "embedding", dimensions: 1536 }],
    ["cohere.embed-multilingual-v3", { kind: "embedding", dimensions: 1024 }],
  ])("describes %s", (id, expected) => {
    expect(catalogue.resolve(id)).toMatchObject(expected);
  });

  it.each([
    "anthropic.claude-sonnet-4-5-20250929-v1:0",
    "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
    "deepseek.r1-v1:0",
  ])("refuses the bare id of %s, served in us-east-1 only through a profile", (id) => {
    expect(() => catalogue.resolve(id)).toThrow(
      /with on-demand throughput isn’t supported. Retry your request with the ID or ARN of an inference profile/,
    );
  });

  it.each([
    "apac.anthropic.claude-haiku-4-5-20251001-v1:0",
    "global.meta.llama4-maverick-17b-instruct-v1:0",
    "us.openai.gpt-oss-120b-1:0",
  ])("refuses %s, a profile Bedrock does not offer for the model", (id) => {
    expect(() => catalogue.resolve(id)).toThrow("The provided model identifier is invalid.");
  });

  it("rejects unknown identifiers with Bedrock's ValidationException", () => {
    expect(() => catalogue.resolve("anthropic.claude-99")).toThrow(
      new EmulatorError("ValidationException", "The provided model identifier is invalid."),
    );
  });

  it("serves only the models it was given", () => {
    const [template] = BUILT_IN_MODELS;
    if (!template) throw new Error("empty catalogue");
    const custom = createModelCatalogue([{ ...template, id: "acme.model-v1:0" }]);
    expect(custom.resolve("us.acme.model-v1:0").id).toBe("acme.model-v1:0");
    expect(() => custom.resolve("anthropic.claude-3-haiku-20240307-v1:0")).toThrow(EmulatorError);
  });
});
