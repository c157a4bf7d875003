import type { Model } from "@strata/proto";

/** An entry of `GET /v1/models` and the body of `GET /v1/models/{model}` (openai-openapi `Model`). */
export interface ModelObject {
  id: string;
  object: "model";
  /** Unix seconds. */
  created: number;
  owned_by: string;
}

/** The body of `GET /v1/models` (openai-openapi `ListModelsResponse`). */
export interface ModelList {
  object: "list";
  data: ModelObject[];
}

/**
 * A catalog model as OpenAI lists models. Only the id clients call it by is shown: aliases,
 * Bedrock ids and prices are Strata's business, and OpenAI clients would not know the fields.
 */
export function modelToOpenAI(model: Model): ModelObject {
  return { id: model.id, object: "model", created: model.created, owned_by: model.ownedBy };
}

/** The `GET /v1/models` body for catalog models, in the given order. */
export function modelsToModelList(models: readonly Model[]): ModelList {
  return { object: "list", data: models.map(modelToOpenAI) };
}
