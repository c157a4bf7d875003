/**
 * InvokeModel and InvokeModelWithResponseStream. The emulator serves InvokeModel for embedding
 * models (Titan v2/G1, Cohere v3); Bedrock does not stream embeddings, and model-native chat
 * bodies are out of scope (use Converse), so those requests get a ValidationException.
 */
import { directiveApplies, directiveFault, parseDirectives } from "./directives.ts";
import { embed, embeddingInputTexts, parseEmbeddingRequest } from "./embeddings.ts";
import { validationError } from "./emulator-error.ts";
import { isJsonObject, parseJsonBody } from "./json-body.ts";
import { baseHeaders, faultTarget, type OperationContext, pause } from "./operation-context.ts";
import type { RequestEnd } from "./request-log.ts";

/** Message for InvokeModelWithResponseStream on an embedding model (as Bedrock words it). */
export const STREAMING_UNSUPPORTED_MESSAGE = "streaming is not supported for this model";

const EMBEDDING_KEYS = ["inputText", "texts", "input_type", "dimensions", "embeddingTypes"];

/** Handles `/invoke` (`streaming` false) and `/invoke-with-response-stream` (`streaming` true). */
export async function handleInvoke(
  context: OperationContext,
  streaming: boolean,
): Promise<RequestEnd> {
  const { exchange, model, record } = context;
  if (model.kind === "embedding" && streaming) throw validationError(STREAMING_UNSUPPORTED_MESSAGE);
  const parsed = parseJsonBody(context.body);
  if (!parsed.ok) {
    throw validationError(
      "Malformed input request: the body is not valid JSON, please reformat your input and try again.",
    );
  }
  record.body = parsed.value;
  if (model.kind === "chat") {
    const body = parsed.value;
    const embeddingKey = isJsonObject(body)
      ? Object.keys(body).find((k) => EMBEDDING_KEYS.includes(k))
      : undefined;
    throw validationError(
      embeddingKey !== undefined
        ? `Malformed input request: #: extraneous key [${embeddingKey}] is not permitted, please reformat your input and try again.`
        : `The emulator does not emulate ${streaming ? "InvokeModelWithResponseStream" : "InvokeModel"} with model-native bodies for chat model ${model.id}; use Converse or ConverseStream.`,
    );
  }
  const request = parseEmbeddingRequest(model, parsed.value);
  const { directives, texts } = parseDirectives(embeddingInputTexts(request));
  if (directiveApplies(directives, faultTarget(context))) {
    await pause(directives.delayMs, exchange.signal);
    const fault = directiveFault(directives);
    if (fault) throw fault;
  }
  const result = embed(model, request, texts);
  exchange.respond(
    200,
    {
      ...baseHeaders(context, "application/json"),
      "X-Amzn-Bedrock-Input-Token-Count": String(result.inputTokens),
      "X-Amzn-Bedrock-Invocation-Latency": String(Math.round(context.latencyMs())),
    },
    JSON.stringify(result.body),
  );
  return { outcome: "completed", status: 200 };
}
