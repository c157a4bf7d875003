import { type Model, ModelKind } from "@strata/proto";

/** An entry of `GET /v1/models` and the body of `GET /v1/models/{model}` (openai-openapi `Model`). */
export interface ModelObject {
  id: string;
  object: "model";
  /** Unix seconds. */
  created: number;
  owned_by: string;
  /**
   * Extras beyond OpenAI's schema, as other gateways list them: the most input and output tokens
   * a request may use, and what the model accepts. Absent for embedding models' output.
   */
  context_window?: number;
  max_output_tokens?: number;
  capabilities?: {
    vision: boolean;
    tools: boolean;
    reasoning: boolean;
    prompt_caching: boolean;
    documents: boolean;
    structured_output: boolean;
  };
}

/** The body of `GET /v1/models` (openai-openapi `ListModelsResponse`). */
export interface ModelList {
  object: "list";
  data: ModelObject[];
}

/**
 * A catalog model as OpenAI lists models, plus its context window, output limit and capabilities
 * (extra fields OpenAI clients ignore; coding agents and UIs read them to size requests). Aliases,
 * Bedrock ids and prices stay Strata's business.
 */
export function modelToOpenAI(model: Model): ModelObject {
  const object: ModelObject = {
    id: model.id,
    object: "model",
    created: model.created,
    owned_by: model.ownedBy,
    context_window: model.contextWindow,
  };
  if (model.kind === ModelKind.CHAT) {
    const caps = model.capabilities;
    object.max_output_tokens = model.maxOutputTokens;
    object.capabilities = {
      vision: caps?.vision ?? false,
      tools: caps?.tools ?? false,
      reasoning: caps?.reasoning ?? false,
      prompt_caching: caps?.promptCaching ?? false,
      documents: caps?.documents ?? false,
      structured_output: caps?.structuredOutput ?? false,
    };
  }
  return object;
}

/** The `GET /v1/models` body for catalog models, in the given order. */
export function modelsToModelList(models: readonly Model[]): ModelList {
  return { object: "list", data: models.map(modelToOpenAI) };
}
