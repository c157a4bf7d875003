import { create } from "@bufbuild/protobuf";
import { type EmbedRequest, EmbedRequestSchema } from "@strata/proto";
import type { EmbeddingRequest } from "./embedding.ts";

/**
 * The neutral EmbedRequest for a validated OpenAI embeddings request: inputs always as a list,
 * `dimensions` 0 for the model's default. `principal` and `requestId` are left for the gateway.
 */
export function embeddingRequestToEmbedRequest(request: EmbeddingRequest): EmbedRequest {
  return create(EmbedRequestSchema, {
    model: request.model,
    inputs: typeof request.input === "string" ? [request.input] : request.input,
    dimensions: request.dimensions ?? 0,
  });
}
