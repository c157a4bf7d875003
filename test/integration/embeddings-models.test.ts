import { describe, expect, inject, it } from "vitest";
import { openai } from "./support.ts";

describe("embeddings through the real openai SDK", () => {
  it("returns base64 vectors by default (the SDK's choice), decoded by the SDK to floats", async () => {
    const res = await openai().embeddings.create({
      model: "titan-embed-text-v2",
      input: "hello world",
    });
    expect(res.object).toBe("list");
    expect(res.data).toHaveLength(1);
    expect(res.data[0]?.embedding).toHaveLength(1024);
    expect(res.usage.prompt_tokens).toBeGreaterThan(0);
    expect(res.usage.total_tokens).toBe(res.usage.prompt_tokens);
  });

  it("returns float vectors, identical to the base64 ones, with dimensions", async () => {
    const input = ["first text", "second text", "third text"];
    const floats = await openai().embeddings.create({
      model: "titan-embed-text-v2",
      input,
      dimensions: 256,
      encoding_format: "float",
    });
    const b64 = await openai().embeddings.create({
      model: "titan-embed-text-v2",
      input,
      dimensions: 256,
    });
    expect(floats.data.map((d) => d.index)).toEqual([0, 1, 2]);
    expect(floats.data[0]?.embedding).toHaveLength(256);
    for (const [i, d] of floats.data.entries()) {
      const other = b64.data[i]?.embedding ?? [];
      for (const [j, v] of d.embedding.entries()) expect(other[j]).toBeCloseTo(v, 5);
    }
    expect(floats.data[0]?.embedding).not.toEqual(floats.data[1]?.embedding);
  });

  it("batches a large array for Cohere and keeps the input order", async () => {
    const input = Array.from({ length: 130 }, (_, i) => `text number ${i}`);
    const res = await openai().embeddings.create({
      model: "cohere-embed-english-v3",
      input,
      encoding_format: "float",
    });
    expect(res.data.map((d) => d.index)).toEqual(input.map((_, i) => i));
    const single = await openai().embeddings.create({
      model: "cohere-embed-english-v3",
      input: input[129] ?? "",
      encoding_format: "float",
    });
    expect(res.data[129]?.embedding[0]).toBeCloseTo(single.data[0]?.embedding[0] ?? Number.NaN, 5);
  });

  it("embeds token arrays (LangChain's default) as the text they decode to, with its usage", async () => {
    const text = await openai().embeddings.create({
      model: "titan-embed-text-v2",
      input: ["hello world", "Grüße, 世界 🌍"],
    });
    // "hello world" in cl100k_base, as tiktoken encodes it.
    const nested = await openai().embeddings.create({
      model: "titan-embed-text-v2",
      input: [[15339, 1917]],
    });
    const flat = await openai().embeddings.create({
      model: "titan-embed-text-v2",
      input: [15339, 1917],
      encoding_format: "float",
    });
    expect(nested.data.map((d) => d.index)).toEqual([0]);
    expect(nested.data[0]?.embedding).toEqual(text.data[0]?.embedding);
    expect(flat.data[0]?.embedding).toEqual(text.data[0]?.embedding);
    expect(flat.usage).toEqual(nested.usage);
    expect(nested.usage.prompt_tokens).toBeGreaterThan(0);
    // The same two texts in o200k_base: 185558 is beyond cl100k_base, so the whole request is
    // decoded with o200k_base, its first array too.
    const o200k = await openai().embeddings.create({
      model: "titan-embed-text-v2",
      input: [
        [24912, 2375],
        [3193, 572, 13153, 11, 185_558, 130_321, 235],
      ],
    });
    expect(o200k.data.map((d) => d.embedding)).toEqual(text.data.map((d) => d.embedding));
    expect(o200k.usage).toEqual(text.usage);
  });

  it.each([
    [{ dimensions: 300 }, "dimensions"],
    [{ input: [] }, "input"],
    [{ input: [[15339], []] }, "input[1]"],
    [{ input: [[15339, 300_000]] }, "input[0][1]"],
    [{ input: [15339, -1] }, "input[1]"],
    [{ input: ["hello", [15339]] }, "input"],
    [{ encoding_format: "int8" }, "encoding_format"],
  ])("rejects %j naming %s", async (patch, param) => {
    const error = await openai()
      .embeddings.create({
        model: "titan-embed-text-v2",
        input: "x",
        ...(patch as object),
      } as never)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, param });
  });

  it("refuses a chat model on /v1/embeddings", async () => {
    const error = await openai()
      .embeddings.create({ model: "claude-3-haiku", input: "x" })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, param: "model" });
  });
});

describe("models", () => {
  it("lists the catalog in OpenAI's shape", async () => {
    const ids: string[] = [];
    for await (const model of openai().models.list()) {
      expect(model.object).toBe("model");
      expect(typeof model.created).toBe("number");
      ids.push(model.id);
    }
    expect(ids).toContain("anthropic.claude-3-haiku-20240307-v1:0");
    expect(ids).toContain("amazon.titan-embed-text-v2:0");
  });

  it("shows each model's context window, output limit and capabilities, and the aliases people type resolve", async () => {
    const listed = new Map<string, Record<string, unknown>>();
    for await (const model of openai().models.list())
      listed.set(model.id, model as unknown as Record<string, unknown>);
    expect(listed.get("anthropic.claude-sonnet-4-5-20250929-v1:0")).toMatchObject({
      context_window: 200_000,
      max_output_tokens: 64_000,
      capabilities: { vision: true, tools: true, reasoning: true, prompt_caching: true },
    });
    expect(listed.get("openai.gpt-oss-120b-1:0")).toMatchObject({
      context_window: 128_000,
      capabilities: { vision: false, reasoning: true },
    });
    expect(listed.get("amazon.titan-embed-text-v2:0")).toMatchObject({ context_window: 8192 });
    for (const alias of [
      "claude-opus-4-5",
      "claude-sonnet-4-5",
      "claude-haiku-4-5",
      "claude-haiku-4.5",
      "nova-2-lite",
      "gpt-oss-20b",
      "deepseek-r1",
      "llama4-maverick",
      "pixtral-large",
      "qwen3-coder-30b",
    ]) {
      const res = await openai().chat.completions.create({
        model: alias,
        messages: [{ role: "user", content: `hello from ${alias}` }],
      });
      expect(res.choices[0]?.message.content, alias).toContain("hello");
    }
  });

  it("retrieves a model whose id contains ':' and by alias", async () => {
    expect((await openai().models.retrieve("anthropic.claude-3-haiku-20240307-v1:0")).id).toBe(
      "anthropic.claude-3-haiku-20240307-v1:0",
    );
    expect((await openai().models.retrieve("claude-3-haiku")).id).toBe("claude-3-haiku");
  });

  it("decodes an encoded '/' in a model id (ARNs)", async () => {
    const res = await fetch(
      `${inject("gatewayUrl")}/v1/models/${encodeURIComponent("arn:aws:bedrock:us-east-1:123456789012:inference-profile/x")}`,
      {
        headers: { authorization: `Bearer ${inject("apiKey")}` },
      },
    );
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { message: string; code: string } };
    expect(body.error.code).toBe("model_not_found");
    expect(body.error.message).toContain("inference-profile/x");
  });

  it("answers 404 model_not_found for an unknown model", async () => {
    const error = await openai()
      .models.retrieve("gpt-17")
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 404, code: "model_not_found" });
  });
});
