import { StrataError } from "@strata/errors";
import {
  type ChatRequest,
  type ContentBlock,
  ImageFormat,
  Role,
  ToolResultStatus,
} from "@strata/proto";
import { describe, expect, it } from "vitest";
import {
  type ChatTranslationOptions,
  chatCompletionRequestToChatRequest,
  remoteImageUrls,
} from "./chat-completion-request-to-chat-request.ts";
import { parseChatCompletionRequest } from "./parse-chat-completion-request.ts";
import {
  assistantCalling,
  chatBody,
  chatWith,
  functionTool,
  jpegBytes,
  jpegDataUrl,
  pngBytes,
  pngDataUrl,
  richChatBody,
  toolAnswer,
} from "./testing/fixtures.ts";

/** Validates then translates, as the gateway does. */
function translate(body: unknown, options?: ChatTranslationOptions): ChatRequest {
  return chatCompletionRequestToChatRequest(parseChatCompletionRequest(body), options);
}

/** A content block in one readable line, so tables of conversations stay legible. */
function line(block: ContentBlock): string {
  const b = block.block;
  switch (b.case) {
    case "text":
      return `text ${b.value}`;
    case "image":
      return `image ${ImageFormat[b.value.format]} ${b.value.data.length}B`;
    case "toolUse":
      return `toolUse ${b.value.id} ${b.value.name} ${b.value.inputJson}`;
    case "toolResult":
      return `toolResult ${b.value.toolUseId} ${ToolResultStatus[b.value.status]} [${b.value.content
        .map((c) => (c.content.case === "text" ? c.content.value : c.content.case))
        .join("|")}]`;
    case "reasoning":
      return `reasoning ${b.value.text}`;
    default:
      return "empty";
  }
}

/** The conversation as [role, blocks] pairs. */
function turns(chat: ChatRequest): Array<[string, string[]]> {
  return chat.messages.map((m) => [Role[m.role].toLowerCase(), m.content.map(line)]);
}

const user = (content: unknown) => ({ role: "user", content });
const assistant = (content: unknown) => ({ role: "assistant", content });
const system = (content: unknown) => ({ role: "system", content });

describe("chatCompletionRequestToChatRequest builds the conversation:", () => {
  const conversations: Array<{
    behaviour: string;
    messages: unknown[];
    system: string[];
    turns: Array<[string, string[]]>;
  }> = [
    {
      behaviour: "lifts system and developer messages, wherever they are, into system in order",
      messages: [
        system("Be brief."),
        user("Hi"),
        { role: "developer", content: "Use French." },
        assistant("Salut"),
        system([
          { type: "text", text: "Part one." },
          { type: "text", text: "Part two." },
        ]),
        user("Encore"),
      ],
      system: ["Be brief.", "Use French.", "Part one.", "Part two."],
      turns: [
        ["user", ["text Hi"]],
        ["assistant", ["text Salut"]],
        ["user", ["text Encore"]],
      ],
    },
    {
      behaviour: "drops blank system messages",
      messages: [system("  "), user("Hi")],
      system: [],
      turns: [["user", ["text Hi"]]],
    },
    {
      behaviour: "merges consecutive user messages into one turn",
      messages: [user("One"), user([{ type: "text", text: "Two" }]), user("Three")],
      system: [],
      turns: [["user", ["text One", "text Two", "text Three"]]],
    },
    {
      behaviour: "merges consecutive assistant messages into one turn",
      messages: [user("Hi"), assistant("Hello"), assistant("again"), user("Bye")],
      system: [],
      turns: [
        ["user", ["text Hi"]],
        ["assistant", ["text Hello", "text again"]],
        ["user", ["text Bye"]],
      ],
    },
    {
      behaviour: "round-trips tool calls: toolUse blocks, then the results in one user turn",
      messages: [
        user("Weather and time?"),
        {
          role: "assistant",
          content: "Checking.",
          tool_calls: [
            {
              id: "call_1",
              type: "function",
              function: { name: "get_weather", arguments: '{ "city" : "Paris" }' },
            },
            { id: "call_2", type: "function", function: { name: "get_time", arguments: "" } },
          ],
        },
        { role: "tool", tool_call_id: "call_1", content: "Sunny" },
        { role: "tool", tool_call_id: "call_2", content: [{ type: "text", text: "noon" }] },
        assistant("Sunny at noon."),
      ],
      system: [],
      turns: [
        ["user", ["text Weather and time?"]],
        [
          "assistant",
          [
            "text Checking.",
            'toolUse call_1 get_weather {"city":"Paris"}',
            "toolUse call_2 get_time {}",
          ],
        ],
        ["user", ["toolResult call_1 SUCCESS [Sunny]", "toolResult call_2 SUCCESS [noon]"]],
        ["assistant", ["text Sunny at noon."]],
      ],
    },
    {
      behaviour: "puts tool results and the user message after them in the same user turn",
      messages: [user("Go"), assistantCalling("f"), toolAnswer("f", "done"), user("Now summarise")],
      system: [],
      turns: [
        ["user", ["text Go"]],
        ["assistant", ['toolUse call_f f {"q":1}']],
        ["user", ["toolResult call_f SUCCESS [done]", "text Now summarise"]],
      ],
    },
    {
      behaviour: "sends an empty tool result as a result without content",
      messages: [user("Go"), assistantCalling("f"), toolAnswer("f", "")],
      system: [],
      turns: [
        ["user", ["text Go"]],
        ["assistant", ['toolUse call_f f {"q":1}']],
        ["user", ["toolResult call_f SUCCESS []"]],
      ],
    },
    {
      behaviour: "drops blank assistant text next to tool calls",
      messages: [user("Go"), { ...assistantCalling("f"), content: "" }, toolAnswer("f", "ok")],
      system: [],
      turns: [
        ["user", ["text Go"]],
        ["assistant", ['toolUse call_f f {"q":1}']],
        ["user", ["toolResult call_f SUCCESS [ok]"]],
      ],
    },
    {
      behaviour: "drops an empty assistant answer and merges the user turns around it",
      messages: [user("Hi"), assistant(""), user("Hello?")],
      system: [],
      turns: [["user", ["text Hi", "text Hello?"]]],
    },
    {
      behaviour: "sends an assistant refusal back as text",
      messages: [
        user("Do it"),
        { role: "assistant", content: null, refusal: "I can't." },
        assistant([
          { type: "text", text: "But" },
          { type: "refusal", refusal: "no" },
        ]),
        user("Why?"),
      ],
      system: [],
      turns: [
        ["user", ["text Do it"]],
        ["assistant", ["text I can't.", "text But", "text no"]],
        ["user", ["text Why?"]],
      ],
    },
  ];

  it.each(conversations)("$behaviour", ({ messages, system: expectedSystem, turns: expected }) => {
    const chat = translate(chatWith(messages));
    expect(chat.system).toEqual(expectedSystem);
    expect(turns(chat)).toEqual(expected);
  });

  it.each([
    {
      behaviour: "refuses a conversation whose only user message is blank",
      messages: [system("x"), user("   ")],
    },
    {
      behaviour:
        "refuses a conversation that starts with an assistant turn once blank text is dropped",
      messages: [user(" "), assistant("Hello"), user("Hi")],
    },
  ])("$behaviour", ({ messages }) => {
    expect(() => translate(chatWith(messages))).toThrowError(
      expect.objectContaining({ reason: "invalid_request", param: "messages" }),
    );
  });

  it("copies the model verbatim and leaves principal and request id to the gateway", () => {
    const chat = translate(chatBody({ model: "us.anthropic.claude-3-haiku-20240307-v1:0" }));
    expect(chat.model).toBe("us.anthropic.claude-3-haiku-20240307-v1:0");
    expect(chat.principal).toBeUndefined();
    expect(chat.requestId).toBe("");
  });
});

describe("chatCompletionRequestToChatRequest sends images as bytes:", () => {
  const imageMessage = (url: string) =>
    chatWith([
      user([
        { type: "text", text: "Look" },
        { type: "image_url", image_url: { url } },
      ]),
    ]);
  const remoteUrl = "https://example.com/cat.webp";
  const remoteImages = new Map([
    [remoteUrl, { format: ImageFormat.WEBP, data: Uint8Array.of(1, 2, 3) }],
  ]);

  it.each([
    {
      behaviour: "decodes a PNG data URL",
      url: pngDataUrl,
      format: ImageFormat.PNG,
      data: pngBytes,
    },
    {
      behaviour: "decodes a JPEG data URL",
      url: jpegDataUrl,
      format: ImageFormat.JPEG,
      data: jpegBytes,
    },
    {
      behaviour: "trusts the bytes over a wrong media type",
      url: pngDataUrl.replace("image/png", "image/jpeg"),
      format: ImageFormat.PNG,
      data: pngBytes,
    },
    {
      behaviour: "takes a fetched http(s) image from the gateway",
      url: remoteUrl,
      format: ImageFormat.WEBP,
      data: Uint8Array.of(1, 2, 3),
    },
  ])("$behaviour", ({ url, format, data }) => {
    const [turn] = translate(imageMessage(url), { remoteImages }).messages;
    const image = turn?.content[1]?.block;
    expect(image?.case).toBe("image");
    if (image?.case !== "image") return;
    expect(image.value.format).toBe(format);
    expect(Array.from(image.value.data)).toEqual(Array.from(data));
  });

  it("refuses an http(s) image the gateway did not fetch, with code image_url_not_supported", () => {
    expect(() =>
      translate(imageMessage("https://example.com/other.png"), { remoteImages }),
    ).toThrowError(
      expect.objectContaining({
        reason: "invalid_request",
        param: "messages[0].content[1].image_url.url",
        code: "image_url_not_supported",
      }),
    );
  });

  it("lists the http(s) image URLs to fetch, once each, in order, without data URLs", () => {
    const request = parseChatCompletionRequest(
      chatWith([
        user([
          { type: "image_url", image_url: { url: "https://a.example/1.png" } },
          { type: "image_url", image_url: { url: pngDataUrl } },
          { type: "image_url", image_url: { url: "http://b.example/2.png" } },
        ]),
        assistant("Nice"),
        user([{ type: "image_url", image_url: { url: "https://a.example/1.png" } }]),
      ]),
    );
    expect(remoteImageUrls(request)).toEqual(["https://a.example/1.png", "http://b.example/2.png"]);
  });
});

describe("chatCompletionRequestToChatRequest declares tools:", () => {
  const weather = functionTool("get_weather", {
    type: "object",
    properties: { city: { type: "string" } },
  });
  const tools = [weather, functionTool("get_time")];

  it("serialises each function as a tool spec, with an empty object schema when it has none", () => {
    const config = translate(
      chatBody({
        tools: [{ ...weather, function: { ...weather.function, strict: true } }, tools[1]],
      }),
    ).toolConfig;
    expect(
      config?.tools.map(({ name, description, inputSchemaJson, strict }) => ({
        name,
        description,
        schema: JSON.parse(inputSchemaJson),
        strict,
      })),
    ).toEqual([
      {
        name: "get_weather",
        description: "The get_weather function",
        schema: { type: "object", properties: { city: { type: "string" } } },
        strict: true,
      },
      {
        name: "get_time",
        description: "The get_time function",
        schema: { type: "object", properties: {} },
        strict: false,
      },
    ]);
  });

  it.each([
    {
      behaviour: "defaults to auto when tools exist",
      toolChoice: undefined,
      choice: { case: "auto" },
      names: ["get_weather", "get_time"],
    },
    {
      behaviour: "maps auto to auto",
      toolChoice: "auto",
      choice: { case: "auto" },
      names: ["get_weather", "get_time"],
    },
    {
      behaviour: "maps none to none, keeping the tools declared",
      toolChoice: "none",
      choice: { case: "none" },
      names: ["get_weather", "get_time"],
    },
    {
      behaviour: "maps required to any",
      toolChoice: "required",
      choice: { case: "any" },
      names: ["get_weather", "get_time"],
    },
    {
      behaviour: "maps a named function to that tool",
      toolChoice: { type: "function", function: { name: "get_time" } },
      choice: { case: "tool", value: expect.objectContaining({ name: "get_time" }) },
      names: ["get_weather", "get_time"],
    },
    {
      behaviour: "restricts the tools to allowed_tools in auto mode",
      toolChoice: {
        type: "allowed_tools",
        allowed_tools: {
          mode: "auto",
          tools: [{ type: "function", function: { name: "get_time" } }],
        },
      },
      choice: { case: "auto" },
      names: ["get_time"],
    },
    {
      behaviour: "restricts the tools to allowed_tools in required mode as any",
      toolChoice: {
        type: "allowed_tools",
        allowed_tools: {
          mode: "required",
          tools: [{ type: "function", function: { name: "get_weather" } }],
        },
      },
      choice: { case: "any" },
      names: ["get_weather"],
    },
  ])("$behaviour", ({ toolChoice, choice, names }) => {
    const config = translate(chatBody({ tools, tool_choice: toolChoice })).toolConfig;
    expect(config?.choice?.choice).toMatchObject(choice);
    expect(config?.tools.map((t) => t.name)).toEqual(names);
    expect(config?.disableParallelToolUse).toBe(false);
  });

  it("turns parallel_tool_calls false into one tool call per answer", () => {
    expect(
      translate(chatBody({ tools, parallel_tool_calls: false })).toolConfig?.disableParallelToolUse,
    ).toBe(true);
  });

  it("sends no tool config without tools", () => {
    expect(translate(chatBody({ parallel_tool_calls: false })).toolConfig).toBeUndefined();
  });
});

describe("chatCompletionRequestToChatRequest maps the response format:", () => {
  it.each([
    { behaviour: "none when absent", format: undefined, expected: undefined },
    { behaviour: "text", format: { type: "text" }, expected: { case: "text" } },
    { behaviour: "JSON object", format: { type: "json_object" }, expected: { case: "jsonObject" } },
    {
      behaviour: "JSON schema with its name, description, schema text and strictness",
      format: {
        type: "json_schema",
        json_schema: {
          name: "answer",
          description: "The answer",
          schema: { type: "object", properties: { a: { type: "number" } } },
          strict: true,
        },
      },
      expected: {
        case: "jsonSchema",
        value: expect.objectContaining({
          name: "answer",
          description: "The answer",
          schemaJson: '{"type":"object","properties":{"a":{"type":"number"}}}',
          strict: true,
        }),
      },
    },
    {
      behaviour: "JSON schema without a schema as an unconstrained one",
      format: { type: "json_schema", json_schema: { name: "free" } },
      expected: {
        case: "jsonSchema",
        value: expect.objectContaining({
          name: "free",
          description: "",
          schemaJson: "{}",
          strict: false,
        }),
      },
    },
  ])("$behaviour", ({ format, expected }) => {
    const chat = translate(chatBody({ response_format: format }));
    if (expected === undefined) expect(chat.responseFormat).toBeUndefined();
    else expect(chat.responseFormat?.format).toMatchObject(expected);
  });
});

describe("chatCompletionRequestToChatRequest sets the inference config:", () => {
  it.each([
    { behaviour: "nothing when nothing is set", extra: {}, expected: { stopSequences: [] } },
    {
      behaviour: "max_completion_tokens over max_tokens",
      extra: { max_tokens: 10, max_completion_tokens: 20 },
      expected: { maxTokens: 20 },
    },
    { behaviour: "max_tokens alone", extra: { max_tokens: 10 }, expected: { maxTokens: 10 } },
    {
      behaviour: "temperature and top_p",
      extra: { temperature: 0.2, top_p: 0.5 },
      expected: { temperature: 0.2, topP: 0.5 },
    },
    {
      behaviour: "a stop string as one sequence",
      extra: { stop: "END" },
      expected: { stopSequences: ["END"] },
    },
    {
      behaviour: "stop sequences",
      extra: { stop: ["a", "b"] },
      expected: { stopSequences: ["a", "b"] },
    },
  ])("$behaviour", ({ extra, expected }) => {
    const config = translate(chatBody(extra)).inferenceConfig;
    expect(config).toMatchObject(expected);
    if (!("maxTokens" in expected)) expect(config?.maxTokens).toBeUndefined();
    if (!("temperature" in expected)) expect(config?.temperature).toBeUndefined();
  });
});

describe("chatCompletionRequestToChatRequest", () => {
  it("translates the richest supported request", () => {
    const remoteImages = new Map([
      ["https://example.com/cat.png", { format: ImageFormat.PNG, data: pngBytes }],
    ]);
    const chat = translate(richChatBody(), { remoteImages });
    expect(chat.system).toEqual(["Be brief.", "Use tools."]);
    expect(turns(chat)).toEqual([
      ["user", ["text What is in this image, and the weather?", "image PNG 70B", "image PNG 70B"]],
      [
        "assistant",
        [
          "text Let me check.",
          'toolUse call_1 get_weather {"city":"Paris"}',
          "toolUse call_2 get_time {}",
        ],
      ],
      [
        "user",
        ["toolResult call_1 SUCCESS [Sunny]", "toolResult call_2 SUCCESS [noon]", "text Thanks"],
      ],
    ]);
    expect(chat.inferenceConfig).toMatchObject({
      maxTokens: 256,
      temperature: 0.5,
      topP: 0.9,
      stopSequences: ["END"],
    });
  });

  it("refuses remote images with a StrataError when the gateway fetched none", () => {
    const request = parseChatCompletionRequest(richChatBody());
    try {
      chatCompletionRequestToChatRequest(request);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(StrataError);
      expect((error as StrataError).param).toBe("messages[2].content[2].image_url.url");
    }
  });
});
