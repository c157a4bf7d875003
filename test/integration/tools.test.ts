import type OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { openai } from "./support.ts";

const model = "claude-3-haiku";
const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Weather for a city",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    },
  },
  {
    type: "function",
    function: {
      name: "get_time",
      description: "Time in a city",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    },
  },
];

describe("tools through the real openai SDK", () => {
  it("round-trips a tool call and its result (non-streaming)", async () => {
    const first = await openai().chat.completions.create({
      model,
      tools,
      messages: [{ role: "user", content: "[[emulator:tool=get_weather]] weather in Paris?" }],
    });
    const choice = first.choices[0];
    expect(choice?.finish_reason).toBe("tool_calls");
    const call = choice?.message.tool_calls?.[0];
    expect(call?.type).toBe("function");
    if (call?.type !== "function") throw new Error("expected a function call");
    expect(call.function.name).toBe("get_weather");
    expect(JSON.parse(call.function.arguments)).toHaveProperty("city");

    const second = await openai().chat.completions.create({
      model,
      tools,
      messages: [
        { role: "user", content: "weather in Paris?" },
        choice?.message as OpenAI.Chat.Completions.ChatCompletionMessageParam,
        { role: "tool", tool_call_id: call.id, content: "sunny, 21C" },
      ],
    });
    expect(second.choices[0]?.finish_reason).toBe("stop");
    expect(second.choices[0]?.message.content).toContain("sunny, 21C");
  });

  it("streams parallel tool calls indexed per call, reassembled by the SDK", async () => {
    const final = await openai()
      .chat.completions.stream({
        model,
        tools,
        messages: [
          { role: "user", content: "[[emulator:tools=get_weather,get_time]] both please" },
        ],
      })
      .finalChatCompletion();
    const calls = final.choices[0]?.message.tool_calls ?? [];
    expect(calls.map((c) => (c.type === "function" ? c.function.name : ""))).toEqual([
      "get_weather",
      "get_time",
    ]);
    for (const c of calls)
      if (c.type === "function") expect(() => JSON.parse(c.function.arguments)).not.toThrow();
    expect(new Set(calls.map((c) => c.id)).size).toBe(2);
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
  });

  it("forces the named tool with tool_choice function", async () => {
    const res = await openai().chat.completions.create({
      model,
      tools,
      tool_choice: { type: "function", function: { name: "get_time" } },
      messages: [{ role: "user", content: "anything" }],
    });
    const call = res.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === "function" && call.function.name).toBe("get_time");
  });

  it("never returns a tool call when tool_choice is none", async () => {
    for (const stream of [false, true]) {
      const res = stream
        ? await openai()
            .chat.completions.stream({
              model,
              tools,
              tool_choice: "none",
              messages: [{ role: "user", content: "[[emulator:tool=get_weather]] weather?" }],
            })
            .finalChatCompletion()
        : await openai().chat.completions.create({
            model,
            tools,
            tool_choice: "none",
            messages: [{ role: "user", content: "[[emulator:tool=get_weather]] weather?" }],
          });
      expect(res.choices[0]?.message.tool_calls ?? []).toEqual([]);
      expect(res.choices[0]?.finish_reason).toBe("stop");
    }
  });

  it("returns at most one tool call when parallel_tool_calls is false", async () => {
    const res = await openai().chat.completions.create({
      model,
      tools,
      parallel_tool_calls: false,
      messages: [{ role: "user", content: "[[emulator:tools=get_weather,get_time]] both" }],
    });
    expect(res.choices[0]?.message.tool_calls).toHaveLength(1);
  });

  it("rejects tools for a model without tool support, naming tools", async () => {
    const error = await openai()
      .chat.completions.create({
        model: "llama3-8b",
        tools,
        messages: [{ role: "user", content: "hi" }],
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, param: "tools" });
  });
});
