import { StrataError } from "@strata/errors";
import { describe, expect, it } from "vitest";
import { parseChatCompletionRequest } from "./parse-chat-completion-request.ts";
import {
  assistantCalling,
  chatBody,
  chatWith,
  functionTool,
  pngDataUrl,
  richChatBody,
  toolAnswer,
} from "./testing/fixtures.ts";
import { openApiErrors } from "./testing/openapi.ts";

interface Rejection {
  behaviour: string;
  body: unknown;
  param: string | undefined;
  code?: string;
  message?: string;
}

const user = { role: "user", content: "Hi" };
const tools = [functionTool("get_weather"), functionTool("get_time")];
const imagePart = (url: string, detail?: unknown) => ({
  type: "image_url",
  image_url: detail === undefined ? { url } : { url, detail },
});
const userWith = (...parts: unknown[]) => chatWith([{ role: "user", content: parts }]);
const manyMessages = Array.from({ length: 10_001 }, () => user);
const manyTools = Array.from({ length: 129 }, (_, i) => functionTool(`f${i}`));

const rejections: Rejection[] = [
  // The body and its two required fields.
  {
    behaviour: "refuses a body that is not a JSON object",
    body: "hello",
    param: undefined,
    message: "The request body must be a JSON object.",
  },
  {
    behaviour: "requires model",
    body: { messages: [user] },
    param: "model",
    code: "missing_required_parameter",
    message: "Missing required parameter: 'model'.",
  },
  {
    behaviour: "requires model to be a string",
    body: chatBody({ model: 4 }),
    param: "model",
    code: "invalid_type",
    message: "Invalid type for 'model': expected a string, but got an integer instead.",
  },
  {
    behaviour: "refuses an empty model",
    body: chatBody({ model: "" }),
    param: "model",
    code: "empty_string",
  },
  {
    behaviour: "requires messages",
    body: { model: "m" },
    param: "messages",
    code: "missing_required_parameter",
  },
  {
    behaviour: "requires messages to be an array",
    body: chatBody({ messages: "Hi" }),
    param: "messages",
    code: "invalid_type",
    message: "Invalid type for 'messages': expected an array, but got a string instead.",
  },
  {
    behaviour: "requires at least one message",
    body: chatBody({ messages: [] }),
    param: "messages",
    code: "empty_array",
    message:
      "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
  },
  {
    behaviour: "caps the number of messages at 10000",
    body: chatWith(manyMessages),
    param: "messages",
    code: "array_above_max_length",
  },
  // Messages.
  {
    behaviour: "requires each message to be an object",
    body: chatWith(["Hi"]),
    param: "messages[0]",
    code: "invalid_type",
    message: "Invalid type for 'messages[0]': expected an object, but got a string instead.",
  },
  {
    behaviour: "requires a role",
    body: chatWith([{ content: "Hi" }]),
    param: "messages[0].role",
    code: "missing_required_parameter",
  },
  {
    behaviour: "lists the supported roles for an unknown one",
    body: chatWith([{ role: "robot", content: "Hi" }]),
    param: "messages[0].role",
    code: "invalid_value",
    message:
      "Invalid value: 'robot'. Supported values are: 'system', 'developer', 'user', 'assistant', 'tool', and 'function'.",
  },
  {
    behaviour: "refuses the deprecated function role and points to tools",
    body: chatWith([user, { role: "function", name: "f", content: "x" }]),
    param: "messages[1].role",
    code: "unsupported_value",
  },
  {
    behaviour: "requires user content",
    body: chatWith([{ role: "user" }]),
    param: "messages[0].content",
    code: "missing_required_parameter",
  },
  {
    behaviour: "requires content to be a string or an array",
    body: chatWith([{ role: "user", content: 42 }]),
    param: "messages[0].content",
    code: "invalid_type",
    message:
      "Invalid type for 'messages[0].content': expected one of a string or an array, but got an integer instead.",
  },
  {
    behaviour: "refuses an empty content array",
    body: chatWith([{ role: "user", content: [] }]),
    param: "messages[0].content",
    code: "empty_array",
  },
  {
    behaviour: "requires content parts to be objects",
    body: userWith("Hi"),
    param: "messages[0].content[0]",
    code: "invalid_type",
  },
  {
    behaviour: "lists the supported content part types for an unknown one",
    body: userWith({ type: "video", video: {} }),
    param: "messages[0].content[0].type",
    code: "invalid_value",
    message:
      "Invalid value: 'video'. Supported values are: 'text', 'image_url', 'input_audio', and 'file'.",
  },
  {
    behaviour: "requires the text of a text part",
    body: userWith({ type: "text" }),
    param: "messages[0].content[0].text",
    code: "missing_required_parameter",
  },
  {
    behaviour: "requires the url of an image part",
    body: userWith({ type: "image_url", image_url: {} }),
    param: "messages[0].content[0].image_url.url",
    code: "missing_required_parameter",
  },
  {
    behaviour: "checks the image detail level",
    body: userWith(imagePart(pngDataUrl, "ultra")),
    param: "messages[0].content[0].image_url.detail",
    code: "invalid_value",
  },
  {
    behaviour: "refuses audio input by name",
    body: userWith({ type: "input_audio", input_audio: { data: "AAAA", format: "wav" } }),
    param: "messages[0].content[0].type",
    code: "unsupported_value",
  },
  {
    behaviour: "refuses file input by name",
    body: userWith({ type: "text", text: "see" }, { type: "file", file: { file_id: "f" } }),
    param: "messages[0].content[1].type",
    code: "unsupported_value",
  },
  {
    behaviour: "refuses an image media type Bedrock cannot read",
    body: userWith(imagePart("data:image/bmp;base64,Qk0=")),
    param: "messages[0].content[0].image_url.url",
    code: "invalid_image_format",
  },
  {
    behaviour: "refuses image data that is not base64",
    body: userWith(imagePart("data:image/png;base64,not base64!")),
    param: "messages[0].content[0].image_url.url",
    code: "invalid_image_url",
  },
  {
    behaviour: "refuses an image data URL that is not base64-encoded",
    body: userWith(imagePart("data:image/png,rawbytes")),
    param: "messages[0].content[0].image_url.url",
    code: "invalid_image_url",
  },
  {
    behaviour: "refuses an empty image data URL",
    body: userWith(imagePart("data:image/png;base64,")),
    param: "messages[0].content[0].image_url.url",
    code: "invalid_image_url",
  },
  {
    behaviour: "refuses image URLs with other schemes",
    body: userWith(imagePart("ftp://example.com/cat.png")),
    param: "messages[0].content[0].image_url.url",
    code: "invalid_image_url",
  },
  {
    behaviour: "allows only text parts in system messages",
    body: chatWith([{ role: "system", content: [imagePart(pngDataUrl)] }, user]),
    param: "messages[0].content[0].type",
    code: "invalid_value",
    message: "Invalid value: 'image_url'. Supported values are: 'text'.",
  },
  {
    behaviour: "requires the conversation to start with a user message",
    body: chatWith([
      { role: "system", content: "Be brief." },
      { role: "assistant", content: "Hello" },
      user,
    ]),
    param: "messages",
    code: "invalid_value",
  },
  {
    behaviour: "requires assistant messages to have content or tool calls",
    body: chatWith([user, { role: "assistant", content: null }]),
    param: "messages[1].content",
    code: "missing_required_parameter",
  },
  {
    behaviour: "requires tool call arguments to be JSON",
    body: chatWith([
      user,
      {
        role: "assistant",
        tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{oops" } }],
      },
      { role: "tool", tool_call_id: "c1", content: "x" },
    ]),
    param: "messages[1].tool_calls[0].function.arguments",
    code: "invalid_value",
  },
  {
    behaviour: "requires tool call arguments to be a JSON object",
    body: chatWith([
      user,
      {
        role: "assistant",
        tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "[1,2]" } }],
      },
      { role: "tool", tool_call_id: "c1", content: "x" },
    ]),
    param: "messages[1].tool_calls[0].function.arguments",
    code: "invalid_value",
  },
  {
    behaviour: "requires the id of a tool call",
    body: chatWith([
      user,
      {
        role: "assistant",
        tool_calls: [{ type: "function", function: { name: "f", arguments: "{}" } }],
      },
    ]),
    param: "messages[1].tool_calls[0].id",
    code: "missing_required_parameter",
  },
  {
    behaviour: "accepts only function tool calls in history",
    body: chatWith([
      user,
      { role: "assistant", tool_calls: [{ id: "c1", type: "custom", custom: { name: "f" } }] },
    ]),
    param: "messages[1].tool_calls[0].type",
    code: "invalid_value",
  },
  {
    behaviour: "checks the function name of a tool call",
    body: chatWith([
      user,
      {
        role: "assistant",
        tool_calls: [{ id: "c1", type: "function", function: { name: "a.b", arguments: "{}" } }],
      },
    ]),
    param: "messages[1].tool_calls[0].function.name",
    code: "invalid_value",
  },
  {
    behaviour: "refuses a tool call id used twice",
    body: chatWith([
      user,
      assistantCalling("f"),
      toolAnswer("f"),
      user,
      assistantCalling("f"),
      toolAnswer("f"),
    ]),
    param: "messages[4].tool_calls[0].id",
    code: "invalid_value",
  },
  {
    behaviour: "requires tool_call_id on tool messages",
    body: chatWith([user, assistantCalling("f"), { role: "tool", content: "x" }]),
    param: "messages[2].tool_call_id",
    code: "missing_required_parameter",
    message: "Missing required parameter: 'messages[2].tool_call_id'.",
  },
  {
    behaviour: "requires tool messages to follow an assistant message with tool_calls",
    body: chatWith([user, { role: "tool", tool_call_id: "c1", content: "x" }]),
    param: "messages[1].role",
    message:
      "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
  },
  {
    behaviour: "requires tool messages to answer a call of the preceding assistant message",
    body: chatWith([user, assistantCalling("f"), toolAnswer("g")]),
    param: "messages[2].tool_call_id",
  },
  {
    behaviour: "refuses a second answer to the same tool call",
    body: chatWith([user, assistantCalling("f"), toolAnswer("f"), toolAnswer("f")]),
    param: "messages[3].tool_call_id",
  },
  {
    behaviour: "requires every tool call to be answered before the conversation goes on",
    body: chatWith([user, assistantCalling("f", "g"), toolAnswer("f"), user]),
    param: "messages[1].tool_calls",
  },
  {
    behaviour: "requires the last tool calls to be answered",
    body: chatWith([user, assistantCalling("f")]),
    param: "messages[1].tool_calls",
  },
  {
    behaviour: "refuses the deprecated function_call in history",
    body: chatWith([user, { role: "assistant", content: "x", function_call: { name: "f" } }]),
    param: "messages[1].function_call",
    code: "unsupported_parameter",
  },
  {
    behaviour: "refuses text-only tool content with images",
    body: chatWith([user, assistantCalling("f"), toolAnswer("f", [imagePart(pngDataUrl)])]),
    param: "messages[2].content[0].type",
    code: "invalid_value",
  },
  // Tools.
  {
    behaviour: "requires tools to be an array",
    body: chatBody({ tools: functionTool("f") }),
    param: "tools",
    code: "invalid_type",
  },
  {
    behaviour: "refuses an empty tools array",
    body: chatBody({ tools: [] }),
    param: "tools",
    code: "empty_array",
  },
  {
    behaviour: "caps tools at 128",
    body: chatBody({ tools: manyTools }),
    param: "tools",
    code: "array_above_max_length",
  },
  {
    behaviour: "refuses custom tools by name",
    body: chatBody({ tools: [{ type: "custom", custom: { name: "x" } }] }),
    param: "tools[0].type",
    code: "unsupported_value",
  },
  {
    behaviour: "lists the supported tool types for an unknown one",
    body: chatBody({ tools: [{ type: "retrieval" }] }),
    param: "tools[0].type",
    code: "invalid_value",
  },
  {
    behaviour: "requires the function of a tool",
    body: chatBody({ tools: [{ type: "function" }] }),
    param: "tools[0].function",
    code: "missing_required_parameter",
  },
  {
    behaviour: "requires a function name",
    body: chatBody({ tools: [{ type: "function", function: {} }] }),
    param: "tools[0].function.name",
    code: "missing_required_parameter",
  },
  {
    behaviour: "checks function names against OpenAI's pattern",
    body: chatBody({ tools: [functionTool("get weather")] }),
    param: "tools[0].function.name",
    code: "invalid_value",
    message:
      "Invalid 'tools[0].function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
  },
  {
    behaviour: "limits function names to 64 characters",
    body: chatBody({ tools: [functionTool("f".repeat(65))] }),
    param: "tools[0].function.name",
    code: "string_above_max_length",
  },
  {
    behaviour: "requires function names to be unique",
    body: chatBody({ tools: [functionTool("f"), functionTool("f")] }),
    param: "tools[1].function.name",
    code: "invalid_value",
  },
  {
    behaviour: "requires parameters to be an object",
    body: chatBody({ tools: [{ type: "function", function: { name: "f", parameters: [] } }] }),
    param: "tools[0].function.parameters",
    code: "invalid_type",
  },
  {
    behaviour: "requires strict to be a boolean",
    body: chatBody({ tools: [{ type: "function", function: { name: "f", strict: "yes" } }] }),
    param: "tools[0].function.strict",
    code: "invalid_type",
  },
  // tool_choice and parallel_tool_calls.
  {
    behaviour: "refuses tool_choice without tools",
    body: chatBody({ tool_choice: "auto" }),
    param: "tool_choice",
    message:
      "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
  },
  {
    behaviour: "lists the tool_choice modes for an unknown one",
    body: chatBody({ tools, tool_choice: "sometimes" }),
    param: "tool_choice",
    code: "invalid_value",
    message: "Invalid value: 'sometimes'. Supported values are: 'none', 'auto', and 'required'.",
  },
  {
    behaviour: "requires tool_choice to be a string or an object",
    body: chatBody({ tools, tool_choice: 1 }),
    param: "tool_choice",
    code: "invalid_type",
  },
  {
    behaviour: "requires a named tool_choice to name a declared function",
    body: chatBody({ tools, tool_choice: { type: "function", function: { name: "nope" } } }),
    param: "tool_choice",
    code: "invalid_value",
  },
  {
    behaviour: "requires the function of a named tool_choice",
    body: chatBody({ tools, tool_choice: { type: "function" } }),
    param: "tool_choice.function",
    code: "missing_required_parameter",
  },
  {
    behaviour: "requires allowed tools to be declared",
    body: chatBody({
      tools,
      tool_choice: {
        type: "allowed_tools",
        allowed_tools: { mode: "auto", tools: [{ type: "function", function: { name: "nope" } }] },
      },
    }),
    param: "tool_choice.allowed_tools.tools[0].function.name",
  },
  {
    behaviour: "checks the allowed_tools mode",
    body: chatBody({
      tools,
      tool_choice: {
        type: "allowed_tools",
        allowed_tools: {
          mode: "maybe",
          tools: [{ type: "function", function: { name: "get_time" } }],
        },
      },
    }),
    param: "tool_choice.allowed_tools.mode",
    code: "invalid_value",
  },
  {
    behaviour: "refuses a custom tool_choice",
    body: chatBody({ tools, tool_choice: { type: "custom", custom: { name: "x" } } }),
    param: "tool_choice.type",
    code: "unsupported_value",
  },
  {
    behaviour: "requires parallel_tool_calls to be a boolean",
    body: chatBody({ tools, parallel_tool_calls: "no" }),
    param: "parallel_tool_calls",
    code: "invalid_type",
  },
  // response_format.
  {
    behaviour: "lists the response formats for an unknown one",
    body: chatBody({ response_format: { type: "xml" } }),
    param: "response_format.type",
    code: "invalid_value",
  },
  {
    behaviour: "requires the name of a JSON schema format",
    body: chatBody({ response_format: { type: "json_schema", json_schema: { schema: {} } } }),
    param: "response_format.json_schema.name",
    code: "missing_required_parameter",
  },
  {
    behaviour: "checks the name of a JSON schema format",
    body: chatBody({
      response_format: { type: "json_schema", json_schema: { name: "my schema" } },
    }),
    param: "response_format.json_schema.name",
    code: "invalid_value",
  },
  {
    behaviour: "requires the JSON schema to be an object",
    body: chatBody({
      response_format: { type: "json_schema", json_schema: { name: "s", schema: "{}" } },
    }),
    param: "response_format.json_schema.schema",
    code: "invalid_type",
  },
  // Sampling and limits.
  {
    behaviour: "requires max_tokens to be at least 1",
    body: chatBody({ max_tokens: 0 }),
    param: "max_tokens",
    code: "integer_below_min_value",
    message:
      "Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got 0 instead.",
  },
  {
    behaviour: "requires max_tokens to be an integer",
    body: chatBody({ max_tokens: 1.5 }),
    param: "max_tokens",
    code: "invalid_type",
    message:
      "Invalid type for 'max_tokens': expected an integer, but got a decimal number instead.",
  },
  {
    behaviour: "requires max_completion_tokens to be a number",
    body: chatBody({ max_completion_tokens: "100" }),
    param: "max_completion_tokens",
    code: "invalid_type",
  },
  {
    behaviour: "requires temperature to be a number",
    body: chatBody({ temperature: "hot" }),
    param: "temperature",
    code: "invalid_type",
    message: "Invalid type for 'temperature': expected a number, but got a string instead.",
  },
  {
    behaviour: "caps temperature at 2",
    body: chatBody({ temperature: 2.5 }),
    param: "temperature",
    code: "decimal_above_max_value",
    message:
      "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 2.5 instead.",
  },
  {
    behaviour: "refuses a negative temperature",
    body: chatBody({ temperature: -0.1 }),
    param: "temperature",
    code: "decimal_below_min_value",
  },
  {
    behaviour: "caps top_p at 1",
    body: chatBody({ top_p: 1.5 }),
    param: "top_p",
    code: "decimal_above_max_value",
  },
  {
    behaviour: "allows at most 4 stop sequences",
    body: chatBody({ stop: ["a", "b", "c", "d", "e"] }),
    param: "stop",
    code: "array_above_max_length",
  },
  {
    behaviour: "refuses an empty stop array",
    body: chatBody({ stop: [] }),
    param: "stop",
    code: "empty_array",
  },
  {
    behaviour: "refuses an empty stop sequence",
    body: chatBody({ stop: ["a", ""] }),
    param: "stop[1]",
    code: "empty_string",
  },
  {
    behaviour: "requires stop to be text",
    body: chatBody({ stop: 42 }),
    param: "stop",
    code: "invalid_type",
  },
  // Streaming.
  {
    behaviour: "requires stream to be a boolean",
    body: chatBody({ stream: "yes" }),
    param: "stream",
    code: "invalid_type",
  },
  {
    behaviour: "allows stream_options only when streaming",
    body: chatBody({ stream_options: { include_usage: true } }),
    param: "stream_options",
    message: "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
  },
  {
    behaviour: "requires include_usage to be a boolean",
    body: chatBody({ stream: true, stream_options: { include_usage: "yes" } }),
    param: "stream_options.include_usage",
    code: "invalid_type",
  },
  // Parameters Bedrock cannot honour.
  {
    behaviour: "refuses more than one choice",
    body: chatBody({ n: 2 }),
    param: "n",
    code: "unsupported_value",
    message:
      "Unsupported value: 'n' does not support 2 with this gateway. Amazon Bedrock generates one choice per request; omit 'n' or set it to 1.",
  },
  {
    behaviour: "checks n's range before support",
    body: chatBody({ n: 0 }),
    param: "n",
    code: "integer_below_min_value",
  },
  {
    behaviour: "refuses log probabilities",
    body: chatBody({ logprobs: true }),
    param: "logprobs",
    code: "unsupported_value",
  },
  {
    behaviour: "refuses top_logprobs",
    body: chatBody({ logprobs: false, top_logprobs: 2 }),
    param: "top_logprobs",
    code: "unsupported_parameter",
  },
  {
    behaviour: "refuses token biasing",
    body: chatBody({ logit_bias: { "50256": -100 } }),
    param: "logit_bias",
    code: "unsupported_parameter",
  },
  {
    behaviour: "refuses a presence penalty",
    body: chatBody({ presence_penalty: 0.5 }),
    param: "presence_penalty",
    code: "unsupported_value",
  },
  {
    behaviour: "refuses a frequency penalty",
    body: chatBody({ frequency_penalty: -1 }),
    param: "frequency_penalty",
    code: "unsupported_value",
  },
  {
    behaviour: "checks the penalty range before support",
    body: chatBody({ presence_penalty: 3 }),
    param: "presence_penalty",
    code: "decimal_above_max_value",
  },
  {
    behaviour: "refuses a seed",
    body: chatBody({ seed: 42 }),
    param: "seed",
    code: "unsupported_parameter",
  },
  {
    behaviour: "refuses audio output modalities",
    body: chatBody({ modalities: ["text", "audio"] }),
    param: "modalities",
    code: "unsupported_value",
  },
  {
    behaviour: "refuses audio output",
    body: chatBody({ audio: { voice: "alloy", format: "wav" } }),
    param: "audio",
    code: "unsupported_parameter",
  },
  {
    behaviour: "refuses predicted outputs",
    body: chatBody({ prediction: { type: "content", content: "x" } }),
    param: "prediction",
    code: "unsupported_parameter",
  },
  {
    behaviour: "refuses web search",
    body: chatBody({ web_search_options: {} }),
    param: "web_search_options",
    code: "unsupported_parameter",
  },
  {
    behaviour: "refuses stored completions",
    body: chatBody({ store: true }),
    param: "store",
    code: "unsupported_value",
  },
  {
    behaviour: "refuses a reasoning effort",
    body: chatBody({ reasoning_effort: "high" }),
    param: "reasoning_effort",
    code: "unsupported_value",
  },
  {
    behaviour: "refuses service tiers other than auto and default",
    body: chatBody({ service_tier: "flex" }),
    param: "service_tier",
    code: "unsupported_value",
  },
  {
    behaviour: "refuses verbosity",
    body: chatBody({ verbosity: "low" }),
    param: "verbosity",
    code: "unsupported_parameter",
  },
  {
    behaviour: "refuses deprecated functions and points to tools",
    body: chatBody({ functions: [{ name: "f", parameters: {} }] }),
    param: "functions",
    code: "unsupported_parameter",
  },
  {
    behaviour: "refuses deprecated function_call and points to tool_choice",
    body: chatBody({ function_call: "auto" }),
    param: "function_call",
    code: "unsupported_parameter",
  },
  // Harmless parameters are still type-checked.
  {
    behaviour: "requires metadata values to be strings",
    body: chatBody({ metadata: { a: 1 } }),
    param: "metadata.a",
    code: "invalid_type",
  },
  {
    behaviour: "requires user to be a string",
    body: chatBody({ user: 5 }),
    param: "user",
    code: "invalid_type",
  },
];

/** The StrataError a body is refused with (fails the test when it is accepted). */
function refusal(body: unknown): StrataError {
  try {
    parseChatCompletionRequest(body);
  } catch (error) {
    if (error instanceof StrataError) return error;
    throw error;
  }
  throw new Error("the request was accepted");
}

describe("parseChatCompletionRequest refuses, like OpenAI, a request that", () => {
  it.each(rejections)("$behaviour", ({ body, param, code, message }) => {
    const error = refusal(body);
    expect(error.reason).toBe("invalid_request");
    expect(error.httpStatus).toBe(400);
    expect(error.param).toBe(param);
    if (code !== undefined) expect(error.openaiCode).toBe(code);
    if (message !== undefined) expect(error.message).toBe(message);
  });

  it("reports the first problem when there are several", () => {
    expect(refusal({ model: 1, messages: [] }).param).toBe("model");
  });

  it("never echoes a huge value back in full", () => {
    const error = refusal(chatWith([{ role: "x".repeat(100_000), content: "Hi" }]));
    expect(error.message.length).toBeLessThan(300);
  });
});

/** `beyondSpec`: accepted although OpenAI's spec would not (harmless leniency). */
const accepted: Array<{ behaviour: string; body: Record<string, unknown>; beyondSpec?: true }> = [
  { behaviour: "a minimal request", body: chatBody() },
  { behaviour: "the richest request Strata supports", body: richChatBody() },
  {
    behaviour: "identifiers OpenAI uses for its own bookkeeping",
    body: chatBody({
      user: "u-1",
      metadata: { app: "x" },
      safety_identifier: "hash",
      prompt_cache_key: "k",
      prompt_cache_retention: "24h",
    }),
  },
  {
    behaviour: "names on messages",
    body: chatWith([
      { role: "system", name: "s", content: "x" },
      { role: "user", name: "ann", content: "Hi" },
    ]),
  },
  {
    behaviour: "harmless values of parameters Bedrock cannot honour",
    body: chatBody({
      n: 1,
      logprobs: false,
      logit_bias: {},
      presence_penalty: 0,
      frequency_penalty: 0,
      modalities: ["text"],
      store: false,
      service_tier: "auto",
      reasoning_effort: "none",
    }),
  },
  { behaviour: "the default service tier", body: chatBody({ service_tier: "default" }) },
  {
    behaviour: "null for every optional parameter",
    body: chatBody({
      tools: null,
      tool_choice: null,
      parallel_tool_calls: null,
      response_format: null,
      max_tokens: null,
      max_completion_tokens: null,
      temperature: null,
      top_p: null,
      stop: null,
      stream: null,
      stream_options: null,
      n: null,
      logprobs: null,
      top_logprobs: null,
      logit_bias: null,
      presence_penalty: null,
      frequency_penalty: null,
      seed: null,
      modalities: null,
      audio: null,
      prediction: null,
      store: null,
      reasoning_effort: null,
      service_tier: null,
      verbosity: null,
      functions: null,
      function_call: null,
      user: null,
      metadata: null,
    }),
    beyondSpec: true,
  },
  {
    behaviour: "fields unknown to this version, at any depth",
    body: chatWith([{ role: "user", content: "Hi", future: 1 }], { future_param: { a: 1 } }),
  },
  { behaviour: "a single stop string", body: chatBody({ stop: "END" }) },
  {
    behaviour: "streaming with usage",
    body: chatBody({ stream: true, stream_options: { include_usage: true } }),
  },
  { behaviour: "tool_choice none with tools", body: chatBody({ tools, tool_choice: "none" }) },
  {
    behaviour: "allowed_tools restricting the tools",
    body: chatBody({
      tools,
      tool_choice: {
        type: "allowed_tools",
        allowed_tools: {
          mode: "required",
          tools: [{ type: "function", function: { name: "get_time" } }],
        },
      },
    }),
  },
  { behaviour: "parallel_tool_calls false", body: chatBody({ tools, parallel_tool_calls: false }) },
  {
    behaviour: "an assistant message with only a refusal",
    body: chatWith([user, { role: "assistant", content: null, refusal: "I can't." }, user]),
  },
  {
    behaviour: "assistant content parts with a refusal",
    body: chatWith([
      user,
      {
        role: "assistant",
        content: [
          { type: "text", text: "a" },
          { type: "refusal", refusal: "no" },
        ],
      },
      user,
    ]),
  },
  {
    behaviour: "blank tool call arguments (a call without arguments)",
    body: chatWith([
      user,
      {
        role: "assistant",
        tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "" } }],
      },
      { role: "tool", tool_call_id: "c", content: "x" },
    ]),
  },
  {
    behaviour: "system messages between tool calls and their answers",
    body: chatWith([
      user,
      assistantCalling("f"),
      { role: "system", content: "x" },
      toolAnswer("f"),
    ]),
  },
  {
    behaviour: "tool answers in any order",
    body: chatWith([user, assistantCalling("f", "g"), toolAnswer("g"), toolAnswer("f")]),
  },
  {
    behaviour: "an http(s) image URL (fetched by the gateway)",
    body: userWith(imagePart("https://example.com/a.png")),
  },
  {
    behaviour: "an image/jpg data URL",
    body: userWith(imagePart(`data:image/jpg;base64,${"A".repeat(8)}`)),
  },
  {
    behaviour: "a line-wrapped base64 image",
    body: userWith(imagePart(`data:image/png;base64,${"AAAA\n".repeat(4)}`)),
    beyondSpec: true,
  },
  {
    behaviour: "a conversation ending with an assistant message",
    body: chatWith([user, { role: "assistant", content: "The answer is" }]),
  },
];

describe("parseChatCompletionRequest accepts", () => {
  it.each(accepted)("$behaviour", ({ body }) => {
    expect(() => parseChatCompletionRequest(body)).not.toThrow();
  });

  it("keeps fields it does not know, so nothing the client sent is lost", () => {
    const parsed = parseChatCompletionRequest(chatBody({ future_param: { a: 1 } }));
    expect(parsed).toMatchObject({ future_param: { a: 1 } });
  });

  it("returns the request as sent", () => {
    const body = richChatBody();
    expect(parseChatCompletionRequest(structuredClone(body))).toEqual(body);
  });

  it("uses fixtures that OpenAI's spec accepts too", () => {
    for (const { behaviour, body, beyondSpec } of accepted) {
      if (beyondSpec) continue;
      expect([behaviour, openApiErrors("CreateChatCompletionRequest", body)]).toEqual([
        behaviour,
        [],
      ]);
    }
  });
});
