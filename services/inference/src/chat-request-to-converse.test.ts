import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { StrataError } from "@strata/errors";
import { ChatRequestSchema, ImageFormat, Role, ToolResultStatus } from "@strata/proto";
import { describe, expect, it } from "vitest";
import { type CatalogEntry, createDefaultCatalog } from "./catalog.ts";
import {
  chatRequestToConverse,
  float32ToDecimal,
  jsonObjectInstruction,
  jsonResponseToolName,
  noToolsInstruction,
} from "./chat-request-to-converse.ts";

const catalog = createDefaultCatalog({ region: "us-east-1" });
const model = (name: string): CatalogEntry => {
  const entry = catalog.resolve(name);
  if (!entry) throw new Error(`no ${name}`);
  return entry;
};
const haiku = model("claude-3-haiku");
const sonnet4 = model("claude-sonnet-4");
const novaMicro = model("nova-micro");
const llama = model("llama3-8b");
const mistral = model("mistral-7b");
const titan = model("titan-embed-text-v2");

type Init = MessageInitShape<typeof ChatRequestSchema>;
const user = (text: string) => ({
  role: Role.USER,
  content: [{ block: { case: "text" as const, value: text } }],
});
const assistant = (text: string) => ({
  role: Role.ASSISTANT,
  content: [{ block: { case: "text" as const, value: text } }],
});
const toolCall = (id: string, name: string, inputJson: string) => ({
  block: { case: "toolUse" as const, value: { id, name, inputJson } },
});
const toolResult = (toolUseId: string, text: string) => ({
  block: {
    case: "toolResult" as const,
    value: {
      toolUseId,
      status: ToolResultStatus.SUCCESS,
      content: [{ content: { case: "text" as const, value: text } }],
    },
  },
});
const weatherTool = {
  name: "get_weather",
  description: "Weather of a city",
  inputSchemaJson: '{"type":"object","properties":{"city":{"type":"string"}}}',
};
const toolHistory = [
  user("Weather in Paris?"),
  {
    role: Role.ASSISTANT,
    content: [
      { block: { case: "text" as const, value: "" } },
      toolCall("t1", "get_weather", '{"city":"Paris"}'),
    ],
  },
  { role: Role.USER, content: [toolResult("t1", "18°C")] },
];
const schema = '{"type":"object","properties":{"answer":{"type":"string"}},"required":["answer"]}';

const translate = (entry: CatalogEntry, init: Init) =>
  chatRequestToConverse(
    create(ChatRequestSchema, { model: entry.aliases[0] ?? entry.id, ...init }),
    entry,
  );

interface Case {
  name: string;
  entry: CatalogEntry;
  request: Init;
  expected: Record<string, unknown>;
  shaping?: Record<string, unknown>;
}

const cases: Case[] = [
  {
    name: "sends the catalog's Bedrock id (an inference profile) as modelId",
    entry: sonnet4,
    request: { messages: [user("hi")] },
    expected: { modelId: "us.anthropic.claude-sonnet-4-20250514-v1:0" },
  },
  {
    name: "sends system strings as system blocks, in order, without blank ones",
    entry: haiku,
    request: { system: ["Be brief.", " ", "Be kind."], messages: [user("hi")] },
    expected: { system: [{ text: "Be brief." }, { text: "Be kind." }] },
  },
  {
    name: "folds system into the first user turn for models without system prompts",
    entry: mistral,
    request: { system: ["Be brief.", "Be kind."], messages: [user("hi")] },
    expected: {
      system: undefined,
      messages: [{ role: "user", content: [{ text: "Be brief.\n\nBe kind.\n\nhi" }] }],
    },
  },
  {
    name: "maps image bytes, tool calls (parsed input) and tool results with status",
    entry: haiku,
    request: {
      messages: [
        {
          role: Role.USER,
          content: [
            { block: { case: "text", value: "What is this?" } },
            {
              block: {
                case: "image",
                value: { format: ImageFormat.PNG, data: new Uint8Array([137, 80]) },
              },
            },
          ],
        },
        { role: Role.ASSISTANT, content: [toolCall("t1", "look", '{"zoom":2}')] },
        { role: Role.USER, content: [toolResult("t1", '{"seen":"a cat"}')] },
      ],
      toolConfig: { tools: [{ name: "look", inputSchemaJson: "" }] },
    },
    expected: {
      messages: [
        {
          role: "user",
          content: [
            { text: "What is this?" },
            { image: { format: "png", source: { bytes: new Uint8Array([137, 80]) } } },
          ],
        },
        {
          role: "assistant",
          content: [{ toolUse: { toolUseId: "t1", name: "look", input: { zoom: 2 } } }],
        },
        {
          role: "user",
          content: [
            {
              toolResult: {
                toolUseId: "t1",
                status: "success",
                content: [{ text: '{"seen":"a cat"}' }],
              },
            },
          ],
        },
      ],
      toolConfig: {
        tools: [
          { toolSpec: { name: "look", inputSchema: { json: { type: "object", properties: {} } } } },
        ],
        toolChoice: { auto: {} },
      },
    },
  },
  {
    name: "merges consecutive messages of the same role into one turn",
    entry: haiku,
    request: { messages: [user("a"), user("b"), assistant("c")] },
    expected: {
      messages: [
        { role: "user", content: [{ text: "a" }, { text: "b" }] },
        { role: "assistant", content: [{ text: "c" }] },
      ],
    },
  },
  {
    name: "drops blank text next to tool calls in an assistant turn",
    entry: haiku,
    request: { messages: toolHistory, toolConfig: { tools: [weatherTool] } },
    expected: {
      messages: expect.arrayContaining([
        {
          role: "assistant",
          content: [
            { toolUse: { toolUseId: "t1", name: "get_weather", input: { city: "Paris" } } },
          ],
        },
      ]),
    },
  },
  {
    name: "maps tool_choice any",
    entry: haiku,
    request: {
      messages: [user("hi")],
      toolConfig: { tools: [weatherTool], choice: { choice: { case: "any", value: {} } } },
    },
    expected: { toolConfig: expect.objectContaining({ toolChoice: { any: {} } }) },
  },
  {
    name: "maps tool_choice tool to its name",
    entry: novaMicro,
    request: {
      messages: [user("hi")],
      toolConfig: {
        tools: [weatherTool],
        choice: { choice: { case: "tool", value: { name: "get_weather" } } },
      },
    },
    expected: {
      toolConfig: expect.objectContaining({ toolChoice: { tool: { name: "get_weather" } } }),
    },
  },
  {
    name: "parses the tool's JSON schema and passes strict",
    entry: haiku,
    request: { messages: [user("hi")], toolConfig: { tools: [{ ...weatherTool, strict: true }] } },
    expected: {
      toolConfig: {
        tools: [
          {
            toolSpec: {
              name: "get_weather",
              description: "Weather of a city",
              inputSchema: { json: { type: "object", properties: { city: { type: "string" } } } },
              strict: true,
            },
          },
        ],
        toolChoice: { auto: {} },
      },
    },
  },
  {
    name: "omits toolConfig when tool_choice is none and the history has no tool blocks",
    entry: haiku,
    request: {
      messages: [user("hi")],
      toolConfig: { tools: [weatherTool], choice: { choice: { case: "none", value: {} } } },
    },
    expected: { toolConfig: undefined, system: undefined },
    shaping: { dropToolUse: true },
  },
  {
    name: "keeps tools with auto and tells the model not to call them when tool_choice is none with tool history",
    entry: haiku,
    request: {
      messages: toolHistory,
      toolConfig: { tools: [weatherTool], choice: { choice: { case: "none", value: {} } } },
    },
    expected: {
      toolConfig: {
        tools: [
          expect.objectContaining({ toolSpec: expect.objectContaining({ name: "get_weather" }) }),
        ],
        toolChoice: { auto: {} },
      },
      system: [{ text: noToolsInstruction }],
    },
    shaping: { dropToolUse: true },
  },
  {
    name: "synthesises tool specs from the history when tool blocks come without declared tools",
    entry: novaMicro,
    request: { messages: toolHistory },
    expected: {
      toolConfig: {
        tools: [
          {
            toolSpec: {
              name: "get_weather",
              inputSchema: { json: { type: "object", properties: {} } },
            },
          },
        ],
        toolChoice: { auto: {} },
      },
      system: [{ text: noToolsInstruction }],
    },
    shaping: { dropToolUse: true },
  },
  {
    name: "keeps only the first tool call when parallel tool use is disabled",
    entry: haiku,
    request: {
      messages: [user("hi")],
      toolConfig: { tools: [weatherTool], disableParallelToolUse: true },
    },
    expected: { additionalModelRequestFields: undefined },
    shaping: { firstToolUseOnly: true, dropToolUse: false },
  },
  {
    name: "sends json_schema as a string in outputConfig",
    entry: sonnet4,
    request: {
      messages: [user("hi")],
      responseFormat: {
        format: {
          case: "jsonSchema",
          value: { name: "answer", description: "The answer", schemaJson: schema },
        },
      },
    },
    expected: {
      outputConfig: {
        textFormat: {
          type: "json_schema",
          structure: {
            jsonSchema: {
              schema: JSON.stringify(JSON.parse(schema)),
              name: "answer",
              description: "The answer",
            },
          },
        },
      },
      toolConfig: undefined,
    },
    shaping: { jsonResponseTool: undefined },
  },
  {
    name: "uses a forced json_response tool when structured output is unsupported",
    entry: haiku,
    request: {
      messages: [user("hi")],
      responseFormat: {
        format: { case: "jsonSchema", value: { name: "answer", schemaJson: schema } },
      },
    },
    expected: {
      outputConfig: undefined,
      toolConfig: {
        tools: [
          {
            toolSpec: {
              name: jsonResponseToolName,
              description: expect.stringContaining("structured answer"),
              inputSchema: { json: JSON.parse(schema) },
            },
          },
        ],
        toolChoice: { tool: { name: jsonResponseToolName } },
      },
    },
    shaping: { jsonResponseTool: jsonResponseToolName },
  },
  {
    name: "offers json_response next to the client's tools with tool choice any",
    entry: haiku,
    request: {
      messages: [user("hi")],
      toolConfig: { tools: [weatherTool] },
      responseFormat: { format: { case: "jsonSchema", value: { schemaJson: schema } } },
    },
    expected: {
      toolConfig: {
        tools: [
          expect.objectContaining({ toolSpec: expect.objectContaining({ name: "get_weather" }) }),
          expect.objectContaining({
            toolSpec: expect.objectContaining({ name: jsonResponseToolName }),
          }),
        ],
        toolChoice: { any: {} },
      },
    },
    shaping: { jsonResponseTool: jsonResponseToolName },
  },
  {
    name: "adds a JSON-only instruction for json_object",
    entry: haiku,
    request: {
      system: ["Be brief."],
      messages: [user("hi")],
      responseFormat: { format: { case: "jsonObject", value: {} } },
    },
    expected: { system: [{ text: "Be brief." }, { text: jsonObjectInstruction }] },
  },
  {
    name: "maps the inference configuration, float32 values rounded to their decimal",
    entry: haiku,
    request: {
      messages: [user("hi")],
      inferenceConfig: { maxTokens: 100, temperature: 0.7, topP: 0.9, stopSequences: ["END"] },
    },
    expected: {
      inferenceConfig: { maxTokens: 100, temperature: 0.7, topP: 0.9, stopSequences: ["END"] },
    },
  },
  {
    name: "leaves maxTokens unset when the client sets none",
    entry: haiku,
    request: { messages: [user("hi")], inferenceConfig: {} },
    expected: { inferenceConfig: undefined },
  },
];

interface ErrorCase {
  name: string;
  entry: CatalogEntry;
  request: Init;
  reason: string;
  param: string | undefined;
  message?: RegExp;
}

const errorCases: ErrorCase[] = [
  {
    name: "refuses an embedding model for chat",
    entry: titan,
    request: { messages: [user("hi")] },
    reason: "invalid_request",
    param: "model",
    message: /is an embedding model; use \/v1\/embeddings/,
  },
  {
    name: "refuses images for a model without vision",
    entry: novaMicro,
    request: {
      messages: [
        {
          role: Role.USER,
          content: [
            {
              block: {
                case: "image",
                value: { format: ImageFormat.JPEG, data: new Uint8Array([1]) },
              },
            },
          ],
        },
      ],
    },
    reason: "invalid_request",
    param: "messages",
  },
  {
    name: "refuses tools for a model without tools",
    entry: llama,
    request: { messages: [user("hi")], toolConfig: { tools: [weatherTool] } },
    reason: "invalid_request",
    param: "tools",
  },
  {
    name: "refuses tool history for a model without tools",
    entry: llama,
    request: { messages: toolHistory },
    reason: "invalid_request",
    param: "messages",
  },
  {
    name: "refuses json_schema for a model with neither structured output nor tools",
    entry: llama,
    request: {
      messages: [user("hi")],
      responseFormat: { format: { case: "jsonSchema", value: { schemaJson: schema } } },
    },
    reason: "invalid_request",
    param: "response_format",
  },
  {
    name: "refuses a temperature above Bedrock's 0..1",
    entry: haiku,
    request: { messages: [user("hi")], inferenceConfig: { temperature: 1.5 } },
    reason: "invalid_request",
    param: "temperature",
    message: /between 0 and 1.*got 1\.5/,
  },
  {
    name: "refuses max_tokens above the model's limit",
    entry: haiku,
    request: { messages: [user("hi")], inferenceConfig: { maxTokens: 5000 } },
    reason: "invalid_request",
    param: "max_tokens",
    message:
      /^max_tokens is too large: 5000\. This model supports at most 4096 completion tokens\.$/,
  },
  {
    name: "refuses tool_choice naming an undeclared tool",
    entry: haiku,
    request: {
      messages: [user("hi")],
      toolConfig: {
        tools: [weatherTool],
        choice: { choice: { case: "tool", value: { name: "nope" } } },
      },
    },
    reason: "invalid_request",
    param: "tool_choice",
  },
  {
    name: "refuses tool call arguments that are not a JSON object",
    entry: haiku,
    request: {
      messages: [
        user("hi"),
        { role: Role.ASSISTANT, content: [toolCall("t1", "get_weather", "{nope")] },
      ],
      toolConfig: { tools: [weatherTool] },
    },
    reason: "invalid_request",
    param: "messages",
  },
  {
    name: "refuses a tool schema that is not JSON",
    entry: haiku,
    request: {
      messages: [user("hi")],
      toolConfig: { tools: [{ name: "x", inputSchemaJson: "[1]" }] },
    },
    reason: "invalid_request",
    param: "tools[0].function.parameters",
  },
  {
    name: "refuses a message without a role",
    entry: haiku,
    request: { messages: [{ content: [{ block: { case: "text", value: "hi" } }] }] },
    reason: "invalid_request",
    param: "messages[0].role",
  },
];

describe("chatRequestToConverse", () => {
  it.each(cases)("$name", ({ entry, request, expected, shaping }) => {
    const result = translate(entry, request);
    expect(result.input).toMatchObject(
      Object.fromEntries(Object.entries(expected).filter(([, v]) => v !== undefined)),
    );
    for (const [key, value] of Object.entries(expected)) {
      if (value === undefined) expect(result.input).not.toHaveProperty(key);
    }
    if (shaping) expect(result.shaping).toMatchObject(shaping);
  });

  it.each(errorCases)("$name", ({ entry, request, reason, param, message }) => {
    let thrown: unknown;
    try {
      translate(entry, request);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StrataError);
    const error = thrown as StrataError;
    expect({ reason: error.reason, param: error.param }).toEqual({ reason, param });
    if (message) expect(error.message).toMatch(message);
  });

  it("does not mutate the request or share arrays with it", () => {
    const request = create(ChatRequestSchema, {
      model: "x",
      system: ["s"],
      messages: [user("a"), user("b")],
    });
    const before = structuredClone(request);
    chatRequestToConverse(request, mistral);
    expect(request).toEqual(before);
  });
});

describe("float32ToDecimal", () => {
  it.each([
    [Math.fround(0.7), 0.7],
    [Math.fround(0.1), 0.1],
    [Math.fround(1), 1],
    [Math.fround(0.123456), 0.123456],
  ])("turns %s into %s", (value, expected) => {
    expect(float32ToDecimal(value)).toBe(expected);
  });
});
