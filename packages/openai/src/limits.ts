// The limits of a request body, in one place. Each is at least as generous as OpenAI's documented
// limit for the same thing (openai-openapi `maxItems`/`maxLength`, the API guides); where OpenAI
// documents none, the limit is far above any real request and only bounds the work a hostile one
// can cause. Exceeding one is a 400 naming the field (`param`), worded like OpenAI's. The table in
// packages/openai/README.md ("Limits") lists them for users; keep the two in step.

/** Messages in one chat request. OpenAI documents no limit; a real conversation is far shorter. */
export const maxMessages = 10_000;

/** Declared tools: OpenAI's limit ("A max of 128 functions are supported"). */
export const maxTools = 128;

/** Stop sequences: OpenAI's limit (`StopConfiguration` maxItems 4). */
export const maxStopSequences = 4;

/** Content parts of one message. OpenAI documents no limit; 2,048 is its usual array bound. */
export const maxContentParts = 2_048;

/** Images (`image_url` parts) in one chat request: OpenAI's limit of 500 image inputs. */
export const maxImages = 500;

/**
 * Nesting depth of the JSON body, and of tool call `arguments` (JSON in a string): objects and
 * arrays inside each other, the body itself being level 1. OpenAI documents no general limit
 * (structured outputs allow 10 levels of schema nesting, about 25 JSON levels); deeper values make
 * JSON serialisers (ours, the AWS SDK's) overflow the stack, so they are refused up front.
 */
export const maxJsonDepth = 128;

/**
 * Any one string of a chat request except image URLs: OpenAI's limit on a text input
 * (`InputTextContentParam` maxLength, 10 MiB). The body limit (STRATA_MAX_BODY_BYTES) usually
 * bites first.
 */
export const maxTextLength = 10_485_760;

/** An `image_url.url`, data URLs included: OpenAI's limit (`image_url` maxLength, 20 MiB). */
export const maxImageUrlLength = 20_971_520;

/** `model`: the longest model identifier Bedrock accepts (a model or inference-profile ARN). */
export const maxModelLength = 2_048;

/** Inputs of one embeddings request: OpenAI's limit (`CreateEmbeddingRequest.input` maxItems). */
export const maxEmbeddingInputs = 2_048;

/**
 * Longest embedding input text, in characters. OpenAI limits inputs to 8192 tokens; Bedrock
 * embedding models accept about as much (Titan v2: 8192 tokens / 50,000 characters), so this bounds
 * the work without refusing anything a model would take.
 */
export const maxEmbeddingInputLength = 50_000;

/**
 * Token ids in one token array of an embeddings request (`input: [[...]]`, or a single flat
 * `input: [...]`). OpenAI takes 8192 tokens per input (and documents 2,048 items for a flat
 * array); as many ids as an input has characters bounds the work of decoding, and the decoded
 * text is then held to `maxEmbeddingInputLength` like any text.
 */
export const maxEmbeddingInputTokens = 50_000;
