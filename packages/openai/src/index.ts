// @strata/openai — the OpenAI dialect of Strata: wire types, request validation, translation to
// and from the neutral schema (@strata/proto), and the SSE writer. Pure except the SSE writer.

export type {
  ChatCompletion,
  ChatCompletionChoice,
  ChatCompletionChunk,
  ChatCompletionChunkChoice,
  ChatCompletionChunkDelta,
  ChatCompletionChunkToolCall,
  ChatCompletionMessage,
  ChatCompletionMessageToolCall,
  CompletionContext,
  CompletionUsage,
  FinishReason,
} from "./chat-completion.ts";
// Wire types.
export type {
  ChatCompletionAssistantMessageParam,
  ChatCompletionContentPart,
  ChatCompletionContentPartImage,
  ChatCompletionContentPartText,
  ChatCompletionDeveloperMessageParam,
  ChatCompletionFunctionMessageParam,
  ChatCompletionFunctionTool,
  ChatCompletionMessageParam,
  ChatCompletionMessageToolCallParam,
  ChatCompletionRequest,
  ChatCompletionSystemMessageParam,
  ChatCompletionTool,
  ChatCompletionToolChoiceOption,
  ChatCompletionToolMessageParam,
  ChatCompletionUserMessageParam,
  ResponseFormat,
} from "./chat-completion-request.ts";
// Below: for other Strata packages and tests.
export {
  type ChatTranslationOptions,
  chatCompletionRequestToChatRequest,
  remoteImageUrls,
} from "./chat-completion-request-to-chat-request.ts";
export { chatResponseToChatCompletion } from "./chat-response-to-chat-completion.ts";
export {
  type ChunkTranslator,
  type ChunkTranslatorOptions,
  createChunkTranslator,
} from "./chunk-translator.ts";
export { usageToCompletionUsage } from "./completion-usage.ts";
export { embedResponseToOpenAI, floatsToBase64 } from "./embed-response-to-openai.ts";
export type {
  CreateEmbeddingResponse,
  Embedding,
  EmbeddingRequest,
  EncodingFormat,
} from "./embedding.ts";
export { embeddingRequestToEmbedRequest } from "./embedding-request-to-embed-request.ts";
export {
  maxContentParts,
  maxEmbeddingInputLength,
  maxEmbeddingInputs,
  maxEmbeddingInputTokens,
  maxImages,
  maxImageUrlLength,
  maxJsonDepth,
  maxMessages,
  maxModelLength,
  maxStopSequences,
  maxTextLength,
  maxTools,
} from "./limits.ts";
// Models.
export {
  type ModelList,
  type ModelObject,
  modelsToModelList,
  modelToOpenAI,
} from "./model-object.ts";
// Chat completions: validation and translation.
export { parseChatCompletionRequest } from "./parse-chat-completion-request.ts";
// Embeddings.
export { parseEmbeddingRequest } from "./parse-embedding-request.ts";
// Streaming.
export { createSseWriter, type SseResponse, type SseWriter } from "./sse-writer.ts";
export { stopReasonToFinishReason } from "./stop-reason.ts";
export { type UnsupportedParameter, unsupportedParameters } from "./unsupported-parameters.ts";
