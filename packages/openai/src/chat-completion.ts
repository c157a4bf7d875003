// Response wire types of `POST /v1/chat/completions`, from openai-openapi
// (CreateChatCompletionResponse, CreateChatCompletionStreamResponse, CompletionUsage). Only the
// members Strata produces are declared; the tests validate every output against the spec itself.

/** Why the model stopped (`stop` covers both a natural end and a stop sequence). */
export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter" | "function_call";

/** Token counts as OpenAI reports them: `prompt_tokens` includes cached tokens. */
export interface CompletionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  completion_tokens_details: { reasoning_tokens: number };
}

/** A function call made by the model; `arguments` is JSON text. */
export interface ChatCompletionMessageToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** The answer of a non-streamed completion. */
export interface ChatCompletionMessage {
  role: "assistant";
  content: string | null;
  refusal: string | null;
  /** Present only when the model called tools. */
  tool_calls?: ChatCompletionMessageToolCall[];
  /**
   * The model's reasoning, present only when it exposed some. Not in OpenAI's spec: the field
   * name DeepSeek, vLLM and LiteLLM use, which clients already know.
   */
  reasoning_content?: string;
}

/** A choice of a non-streamed completion (always one: `n` other than 1 is refused). */
export interface ChatCompletionChoice {
  index: number;
  message: ChatCompletionMessage;
  logprobs: null;
  finish_reason: FinishReason;
}

/** `object: "chat.completion"`: the body of a non-streamed answer. */
export interface ChatCompletion {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  choices: ChatCompletionChoice[];
  usage: CompletionUsage;
}

/** A fragment of a tool call in a stream: `index` always, `id`/`type`/`name` on the first one. */
export interface ChatCompletionChunkToolCall {
  index: number;
  id?: string;
  type?: "function";
  function?: { name?: string; arguments?: string };
}

/** What a chunk adds to the message. */
export interface ChatCompletionChunkDelta {
  role?: "assistant";
  content?: string;
  tool_calls?: ChatCompletionChunkToolCall[];
  /** Streamed reasoning; see ChatCompletionMessage.reasoning_content. */
  reasoning_content?: string;
}

/** A choice of a chunk: `finish_reason` stays null until the last one. */
export interface ChatCompletionChunkChoice {
  index: number;
  delta: ChatCompletionChunkDelta;
  logprobs: null;
  finish_reason: FinishReason | null;
}

/**
 * `object: "chat.completion.chunk"`: one SSE event of a streamed answer. `usage` is absent unless
 * the client asked for `stream_options.include_usage`; then it is null on every chunk but the
 * extra last one, whose `choices` is empty.
 */
export interface ChatCompletionChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  choices: ChatCompletionChunkChoice[];
  usage?: CompletionUsage | null;
}

/** What every completion and chunk of one answer shares. */
export interface CompletionContext {
  /** `chatcmpl-...`, the same on every chunk. */
  id: string;
  /** Unix seconds. */
  created: number;
  /** The model name to report, usually the one the client asked for. */
  model: string;
}
