import { describe, expect, it } from "vitest";
import type { ConverseRequest, Message } from "./converse-types.ts";
import { parseDirectives } from "./directives.ts";
import { GUARDRAIL_TEXT, generateConverseReply, toolUseIdFor } from "./generate.ts";

const user = (text: string): Message => ({ role: "user", content: [{ type: "text", text }] });

const weatherTool = {
  name: "get_weather",
  description: "Weather for a city",
  inputSchema: {
    type: "object",
    properties: { city: { type: "string" }, days: { type: "integer" } },
    required: ["city"],
  },
};
const timeTool = { name: "get_time", description: undefined, inputSchema: { type: "object" } };

function generate(text: string, overrides: Partial<ConverseRequest> = {}) {
  const request: ConverseRequest = {
    messages: [user(text)],
    system: [],
    maxTokens: undefined,
    temperature: undefined,
    topP: undefined,
    stopSequences: [],
    hasToolConfig: false,
    tools: [],
    toolChoice: { type: "auto" },
    jsonSchema: undefined,
    guardrail: undefined,
    ...overrides,
  };
  const { directives, texts } = parseDirectives([text]);
  return generateConverseReply({ request, directives, lastUserTexts: texts, seed: "seed" });
}

describe("generateConverseReply", () => {
  it("echoes the last user text with directives removed and whitespace collapsed", () => {
    const reply = generate("  What is\n the  weather? [[emulator:delay-ms=1]] ");
    expect(reply.content).toEqual([
      { type: "text", text: "Emulated reply to: What is the weather?" },
    ]);
    expect(reply.stopReason).toBe("end_turn");
  });

  it("counts one output token per word and the input by the token rule", () => {
    const reply = generate("hello world");
    expect(reply.usage).toEqual({ inputTokens: 3, outputTokens: 5, totalTokens: 8 });
  });

  it("answers with a JSON object when the prompt says JSON", () => {
    const reply = generate("Answer in JSON please");
    const text = reply.content[0]?.type === "text" ? reply.content[0].text : "";
    expect(JSON.parse(text)).toEqual({ reply: "Emulated reply to: Answer in JSON please" });
  });

  it("answers with JSON when the system prompt says JSON", () => {
    const reply = generate("hi", { system: ["Always reply in JSON."] });
    expect(reply.content[0]).toEqual({
      type: "text",
      text: '{"reply":"Emulated reply to: hi"}',
    });
  });

  it("does not treat lower-case json as a request for JSON", () => {
    expect(generate("reply in json").content[0]).toEqual({
      type: "text",
      text: "Emulated reply to: reply in json",
    });
  });

  it("answers with an instance of the requested JSON schema", () => {
    const reply = generate("hi", {
      jsonSchema: {
        type: "object",
        properties: { name: { type: "string" }, age: { type: "integer" } },
        required: ["name", "age"],
      },
    });
    expect(reply.content).toEqual([{ type: "text", text: '{"name":"example","age":1}' }]);
  });

  it("summarises tool results in the last user turn", () => {
    const reply = generate("", {
      messages: [
        user("weather?"),
        {
          role: "assistant",
          content: [{ type: "toolUse", toolUseId: "t1", name: "get_weather", input: {} }],
        },
        {
          role: "user",
          content: [
            {
              type: "toolResult",
              toolUseId: "t1",
              status: "success",
              content: [
                { type: "text", text: "Sunny," },
                { type: "json", json: { temp: 21 } },
              ],
            },
          ],
        },
      ],
      tools: [weatherTool],
      hasToolConfig: true,
    });
    expect(reply.content).toEqual([
      { type: "text", text: 'Tool results received: Sunny, {"temp":21}' },
    ]);
  });

  describe("tool use", () => {
    it.each([
      [
        "toolChoice any uses the first tool",
        "hi",
        { type: "any" } as const,
        ["get_weather"],
        false,
      ],
      [
        "toolChoice tool uses that tool",
        "hi",
        { type: "tool", name: "get_time" } as const,
        ["get_time"],
        false,
      ],
      [
        "a tool directive calls it after a short text",
        "hi [[emulator:tool=get_time]]",
        { type: "auto" } as const,
        ["get_time"],
        true,
      ],
      [
        "a tools directive calls several",
        "[[emulator:tools=get_time,get_weather]] go",
        { type: "auto" } as const,
        ["get_time", "get_weather"],
        true,
      ],
      [
        "toolChoice any follows a directive",
        "[[emulator:tool=get_time]] go",
        { type: "any" } as const,
        ["get_time"],
        false,
      ],
    ])("%s", (_case, text, toolChoice, names, preface) => {
      const reply = generate(text, {
        tools: [weatherTool, timeTool],
        toolChoice,
        hasToolConfig: true,
      });
      const calls = reply.content.filter((b) => b.type === "toolUse");
      expect(calls.map((c) => c.name)).toEqual(names);
      expect(reply.content[0]?.type === "text").toBe(preface);
      expect(reply.stopReason).toBe("tool_use");
    });

    it("fills inputs from the schema and derives stable ids", () => {
      const reply = generate("[[emulator:tool=get_weather]]", {
        tools: [weatherTool],
        hasToolConfig: true,
      });
      expect(reply.content[1]).toEqual({
        type: "toolUse",
        toolUseId: toolUseIdFor("seed", 0),
        name: "get_weather",
        input: { city: "example" },
      });
      expect(toolUseIdFor("seed", 0)).toMatch(/^tooluse_[A-Za-z0-9_-]{22}$/);
      expect(toolUseIdFor("seed", 1)).not.toBe(toolUseIdFor("seed", 0));
    });

    it("counts a tool call as ceil(JSON length / 4) output tokens", () => {
      const reply = generate("x", {
        tools: [weatherTool],
        toolChoice: { type: "any" },
        hasToolConfig: true,
      });
      expect(reply.usage.outputTokens).toBe(Math.ceil('{"city":"example"}'.length / 4));
    });

    it("ignores tool directives when no tools are offered", () => {
      expect(generate("[[emulator:tool=get_weather]] hi").stopReason).toBe("end_turn");
    });

    it("rejects a directive naming a tool that is not offered", () => {
      expect(() =>
        generate("[[emulator:tool=nope]]", { tools: [weatherTool], hasToolConfig: true }),
      ).toThrow(/not in toolConfig.tools/);
    });
  });

  describe("limits", () => {
    it("cuts at maxTokens words with stop reason max_tokens", () => {
      const reply = generate("one two three four", { maxTokens: 4 });
      expect(reply.content).toEqual([{ type: "text", text: "Emulated reply to: one" }]);
      expect(reply.stopReason).toBe("max_tokens");
      expect(reply.usage.outputTokens).toBe(4);
    });

    it("cuts before the first stop sequence with stop reason stop_sequence", () => {
      const reply = generate("alpha beta gamma", { stopSequences: ["gamma", "beta"] });
      expect(reply.content).toEqual([{ type: "text", text: "Emulated reply to: alpha" }]);
      expect(reply.stopReason).toBe("stop_sequence");
    });

    it("drops a tool call that does not fit in maxTokens", () => {
      const reply = generate("[[emulator:tool=get_weather]]", {
        tools: [weatherTool],
        hasToolConfig: true,
        maxTokens: 3,
      });
      expect(reply.content).toEqual([{ type: "text", text: "Calling tools." }]);
      expect(reply.stopReason).toBe("max_tokens");
    });
  });

  describe("directives", () => {
    it("emits exactly N filler words for tokens=N", () => {
      const reply = generate("[[emulator:tokens=21]]");
      const text = reply.content[0]?.type === "text" ? reply.content[0].text : "";
      expect(text.split(" ")).toHaveLength(21);
      expect(text.startsWith("lorem ipsum dolor sit amet")).toBe(true);
      expect(text.endsWith("aliqua lorem ipsum")).toBe(true);
      expect(reply.usage.outputTokens).toBe(21);
    });

    it("still honours maxTokens with tokens=N", () => {
      const reply = generate("[[emulator:tokens=50]]", { maxTokens: 10 });
      expect(reply.usage.outputTokens).toBe(10);
      expect(reply.stopReason).toBe("max_tokens");
    });

    it("emits no content for tokens=0", () => {
      expect(generate("[[emulator:tokens=0]]").content).toEqual([]);
    });

    it("reports cached input tokens", () => {
      const reply = generate("[[emulator:cached=3]] some longer question here");
      const computed = generate("[[emulator:cached=0]] some longer question here").usage
        .inputTokens;
      expect(reply.usage).toMatchObject({
        cacheReadInputTokens: 3,
        cacheWriteInputTokens: 0,
        inputTokens: computed - 3,
      });
      expect(reply.usage.totalTokens).toBe(reply.usage.inputTokens + reply.usage.outputTokens + 3);
    });

    it("answers a guardrail intervention", () => {
      const reply = generate("[[emulator:guardrail]] how to?");
      expect(reply.content).toEqual([{ type: "text", text: GUARDRAIL_TEXT }]);
      expect(reply.stopReason).toBe("guardrail_intervened");
    });

    it("forces the stop reason", () => {
      expect(generate("[[emulator:stop-reason=content_filtered]]").stopReason).toBe(
        "content_filtered",
      );
    });
  });

  it("is deterministic", () => {
    expect(generate("same input [[emulator:tokens=7]]")).toEqual(
      generate("same input [[emulator:tokens=7]]"),
    );
  });
});
