import { describe, expect, it } from "vitest";
import { openai, tinyPng } from "./support.ts";

const model = "claude-3-haiku";

describe("chat completions through the real openai SDK", () => {
  it("answers a plain chat with content, usage, finish_reason and a request id", async () => {
    const { data, response } = await openai()
      .chat.completions.create({
        model,
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Hello there" },
        ],
      })
      .withResponse();
    expect(data.object).toBe("chat.completion");
    expect(data.id).toMatch(/^chatcmpl-/);
    expect(data.model).toBe("anthropic.claude-3-haiku-20240307-v1:0");
    expect(data.choices[0]?.message.role).toBe("assistant");
    expect(data.choices[0]?.message.content).toContain("Hello there");
    expect(data.choices[0]?.finish_reason).toBe("stop");
    expect(data.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(data.usage?.completion_tokens).toBeGreaterThan(0);
    expect(data.usage?.total_tokens).toBe(
      (data.usage?.prompt_tokens ?? 0) + (data.usage?.completion_tokens ?? 0),
    );
    expect(response.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{24}$/);
  });

  it("streams role first, content deltas, a finish_reason and the usage chunk before [DONE]", async () => {
    const stream = await openai().chat.completions.create({
      model,
      messages: [{ role: "user", content: "stream these five words please" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant");
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    expect(text).toContain("stream these five words please");
    const finish = chunks.filter((c) => c.choices[0]?.finish_reason);
    expect(finish.map((c) => c.choices[0]?.finish_reason)).toEqual(["stop"]);
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage?.completion_tokens).toBeGreaterThan(0);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
  });

  it("reassembles a streamed answer with the SDK's stream helper", async () => {
    const final = await openai()
      .chat.completions.stream({ model, messages: [{ role: "user", content: "assemble me" }] })
      .finalChatCompletion();
    expect(final.choices[0]?.message.content).toContain("assemble me");
    expect(final.choices[0]?.finish_reason).toBe("stop");
  });

  it("stops at a stop sequence with finish_reason stop", async () => {
    const res = await openai().chat.completions.create({
      model,
      messages: [{ role: "user", content: "alpha beta gamma delta" }],
      stop: ["gamma"],
    });
    expect(res.choices[0]?.message.content).toContain("alpha beta");
    expect(res.choices[0]?.message.content).not.toContain("gamma");
    expect(res.choices[0]?.finish_reason).toBe("stop");
  });

  it.each(["max_tokens", "max_completion_tokens"] as const)(
    "ends with finish_reason length at %s",
    async (field) => {
      const res = await openai().chat.completions.create({
        model,
        messages: [{ role: "user", content: "[[emulator:tokens=50]] talk a lot" }],
        [field]: 5,
      });
      expect(res.choices[0]?.finish_reason).toBe("length");
      expect(res.usage?.completion_tokens).toBe(5);
    },
  );

  it("reports cached prompt tokens", async () => {
    const res = await openai().chat.completions.create({
      model,
      messages: [{ role: "user", content: "[[emulator:cached=40]] cached prefix" }],
    });
    expect(res.usage?.prompt_tokens_details?.cached_tokens).toBe(40);
    expect(res.usage?.prompt_tokens).toBeGreaterThanOrEqual(40);
  });

  it("accepts a data-URL image for a vision model", async () => {
    const res = await openai().chat.completions.create({
      model,
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "what is in this image" },
            { type: "image_url", image_url: { url: `data:image/png;base64,${tinyPng}` } },
          ],
        },
      ],
    });
    expect(res.choices[0]?.message.content).toContain("what is in this image");
  });

  it("rejects an image for a model without vision, naming the param", async () => {
    const error = await openai()
      .chat.completions.create({
        model: "llama3-8b",
        messages: [
          {
            role: "user",
            content: [
              { type: "image_url", image_url: { url: `data:image/png;base64,${tinyPng}` } },
            ],
          },
        ],
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, type: "invalid_request_error" });
    expect((error as { param: string }).param).toMatch(/^messages/);
  });

  it("refuses a remote image URL that is not public https, before calling Bedrock", async () => {
    const error = await openai()
      .chat.completions.create({
        model,
        messages: [
          {
            role: "user",
            content: [
              { type: "image_url", image_url: { url: "https://169.254.169.254/latest/meta-data" } },
            ],
          },
        ],
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, code: "invalid_image_url" });
  });

  it("answers in JSON for response_format json_object", async () => {
    const res = await openai().chat.completions.create({
      model,
      response_format: { type: "json_object" },
      messages: [{ role: "user", content: "give me an object" }],
    });
    expect(() => JSON.parse(res.choices[0]?.message.content ?? "")).not.toThrow();
  });

  it.each(["claude-sonnet-4", "claude-3-haiku"])(
    "answers with the schema's fields for json_schema on %s",
    async (m) => {
      const res = await openai().chat.completions.create({
        model: m,
        response_format: {
          type: "json_schema",
          json_schema: {
            name: "person",
            schema: {
              type: "object",
              properties: { name: { type: "string" }, age: { type: "integer" } },
              required: ["name", "age"],
            },
          },
        },
        messages: [{ role: "user", content: "who are you" }],
      });
      const parsed = JSON.parse(res.choices[0]?.message.content ?? "");
      expect(parsed).toMatchObject({ name: expect.any(String), age: expect.any(Number) });
      expect(res.choices[0]?.finish_reason).toBe("stop");
    },
  );

  it.each([
    [{ n: 2 }, "n"],
    [{ logprobs: true }, "logprobs"],
    [{ presence_penalty: 0.5 }, "presence_penalty"],
    [{ seed: 42 }, "seed"],
    [{ temperature: "hot" }, "temperature"],
    [{ messages: [] }, "messages"],
    [{ tools: [{ type: "function", function: { name: "bad name!" } }] }, "tools[0].function.name"],
    [{ tool_choice: "required" }, "tool_choice"],
  ])("rejects %j with a 400 naming %s", async (patch, param) => {
    const error = await openai()
      .chat.completions.create({
        model,
        messages: [{ role: "user", content: "hi" }],
        ...(patch as object),
      } as never)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, type: "invalid_request_error", param });
  });

  it("tolerates unknown extra fields", async () => {
    const res = await openai().chat.completions.create({
      model,
      messages: [{ role: "user", content: "hi" }],
      some_future_field: { nested: true },
    } as never);
    expect(res.choices[0]?.finish_reason).toBe("stop");
  });
});
