import { create } from "@bufbuild/protobuf";
import { ModelKind, ModelSchema } from "@strata/proto";
import { describe, expect, it } from "vitest";
import { modelsToModelList, modelToOpenAI } from "./model-object.ts";
import { openApiErrors } from "./testing/openapi.ts";

const model = create(ModelSchema, {
  id: "claude-haiku",
  aliases: ["haiku"],
  kind: ModelKind.CHAT,
  bedrockModelId: "us.anthropic.claude-3-haiku-20240307-v1:0",
  ownedBy: "anthropic",
  created: 1_709_251_200,
  contextWindow: 200_000,
  maxOutputTokens: 4096,
  capabilities: { streaming: true, tools: true, vision: true, systemPrompt: true, documents: true },
});

describe("modelToOpenAI", () => {
  it("shows the id, creation time, owner, limits and capabilities, and nothing of Bedrock", () => {
    const object = modelToOpenAI(model);
    expect(object).toEqual({
      id: "claude-haiku",
      object: "model",
      created: 1_709_251_200,
      owned_by: "anthropic",
      context_window: 200_000,
      max_output_tokens: 4096,
      capabilities: {
        vision: true,
        tools: true,
        reasoning: false,
        prompt_caching: false,
        documents: true,
        structured_output: false,
      },
    });
    expect(openApiErrors("Model", object)).toEqual([]);
  });

  it("lists models in OpenAI's list envelope", () => {
    const list = modelsToModelList([model, model]);
    expect(list.object).toBe("list");
    expect(list.data).toHaveLength(2);
    expect(openApiErrors("ListModelsResponse", list)).toEqual([]);
  });
});
