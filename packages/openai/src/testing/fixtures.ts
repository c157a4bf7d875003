// Test support: small valid inputs that tests vary one field at a time.

/** A 1×1 transparent PNG. */
export const pngBytes = Uint8Array.from(
  Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
    "base64",
  ),
);
/** The PNG as a data URL. */
export const pngDataUrl = `data:image/png;base64,${Buffer.from(pngBytes).toString("base64")}`;
/** The first bytes of a JPEG, enough for format detection. */
export const jpegBytes = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46]);
/** The JPEG as a data URL. */
export const jpegDataUrl = `data:image/jpeg;base64,${Buffer.from(jpegBytes).toString("base64")}`;

/** A minimal valid chat request. */
export function chatBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: "test-model", messages: [{ role: "user", content: "Hello" }], ...extra };
}

/** A chat request with the given messages. */
export function chatWith(messages: unknown[], extra: Record<string, unknown> = {}) {
  return chatBody({ messages, ...extra });
}

/** A function tool declaration. */
export function functionTool(name: string, parameters?: Record<string, unknown>) {
  return {
    type: "function",
    function: {
      name,
      description: `The ${name} function`,
      ...(parameters ? { parameters } : {}),
    },
  };
}

/** An assistant message calling the given functions (ids `call_<name>`). */
export function assistantCalling(...names: string[]) {
  return {
    role: "assistant",
    content: null,
    tool_calls: names.map((name) => ({
      id: `call_${name}`,
      type: "function",
      function: { name, arguments: '{"q":1}' },
    })),
  };
}

/** A tool message answering `call_<name>`. */
export function toolAnswer(name: string, content: unknown = `result of ${name}`) {
  return { role: "tool", tool_call_id: `call_${name}`, content };
}

/** A request exercising most accepted features: the seed of mutation fuzzing. */
export function richChatBody(): Record<string, unknown> {
  return {
    model: "test-model",
    messages: [
      { role: "system", content: "Be brief." },
      { role: "developer", content: [{ type: "text", text: "Use tools." }] },
      {
        role: "user",
        name: "ann",
        content: [
          { type: "text", text: "What is in this image, and the weather?" },
          { type: "image_url", image_url: { url: pngDataUrl, detail: "low" } },
          { type: "image_url", image_url: { url: "https://example.com/cat.png" } },
        ],
      },
      {
        role: "assistant",
        content: "Let me check.",
        tool_calls: [
          {
            id: "call_1",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris"}' },
          },
          { id: "call_2", type: "function", function: { name: "get_time", arguments: "{}" } },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: "Sunny" },
      { role: "tool", tool_call_id: "call_2", content: [{ type: "text", text: "noon" }] },
      { role: "user", content: "Thanks" },
    ],
    tools: [
      functionTool("get_weather", {
        type: "object",
        properties: { city: { type: "string" } },
        required: ["city"],
      }),
      functionTool("get_time"),
    ],
    tool_choice: "auto",
    parallel_tool_calls: true,
    response_format: {
      type: "json_schema",
      json_schema: { name: "answer", schema: { type: "object" }, strict: true },
    },
    max_completion_tokens: 256,
    temperature: 0.5,
    top_p: 0.9,
    stop: ["END"],
    stream: true,
    stream_options: { include_usage: true },
    user: "user-1",
    metadata: { app: "test" },
  };
}
