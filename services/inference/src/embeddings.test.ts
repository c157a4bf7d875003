import { create } from "@bufbuild/protobuf";
import { StrataError } from "@strata/errors";
import { EmbedRequestSchema } from "@strata/proto";
import { describe, expect, it } from "vitest";
import { type CatalogEntry, createDefaultCatalog } from "./catalog.ts";
import {
  decodeEmbeddingResponse,
  embed,
  embedRequestToCalls,
  type InvokeEmbeddingModel,
} from "./embeddings.ts";

const catalog = createDefaultCatalog({ region: "us-east-1" });
const model = (name: string) => catalog.resolve(name) as CatalogEntry;
const titanV2 = model("titan-embed-text-v2");
const titanV1 = model("titan-embed-text-v1");
const cohere = model("cohere-embed-english-v3");

const request = (entry: CatalogEntry, inputs: string[], dimensions = 0) =>
  create(EmbedRequestSchema, { model: entry.aliases[0] ?? entry.id, inputs, dimensions });
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const decode = (body: Uint8Array) => JSON.parse(new TextDecoder().decode(body));

/** A fake InvokeModel: embeds each text as [its index in `texts`, its length]. */
function fakeInvoke(options: { tokenHeader?: number; delayMs?: number } = {}) {
  const calls: Record<string, unknown>[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const invoke: InvokeEmbeddingModel = async ({ body }) => {
    const parsed = decode(body) as { inputText?: string; texts?: string[] };
    calls.push(parsed);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, options.delayMs ?? 1));
    inFlight--;
    const vector = (t: string) => [Number(t.replace(/\D/g, "")), t.length];
    const answer = parsed.texts
      ? { embeddings: parsed.texts.map(vector), response_type: "embeddings_floats" }
      : { embedding: vector(parsed.inputText ?? ""), inputTextTokenCount: 2 };
    return { body: encode(answer), inputTokenCount: options.tokenHeader };
  };
  return { invoke, calls, maxInFlight: () => maxInFlight };
}

const texts = (n: number) => Array.from({ length: n }, (_, i) => `text ${i}`);

describe("embedRequestToCalls", () => {
  it("sends Titan v2 one text per call with the requested dimensions, normalised", () => {
    expect(embedRequestToCalls(request(titanV2, ["a", "b"], 256), titanV2)).toEqual([
      { body: { inputText: "a", dimensions: 256, normalize: true }, inputIndexes: [0] },
      { body: { inputText: "b", dimensions: 256, normalize: true }, inputIndexes: [1] },
    ]);
  });

  it("uses the model's first dimensions when none are requested", () => {
    expect(embedRequestToCalls(request(titanV2, ["a"]), titanV2)[0]?.body).toMatchObject({
      dimensions: 1024,
    });
  });

  it("sends Titan v1 only the text, and accepts its fixed 1536 dimensions", () => {
    expect(embedRequestToCalls(request(titanV1, ["a"], 1536), titanV1)).toEqual([
      { body: { inputText: "a" }, inputIndexes: [0] },
    ]);
  });

  it("batches Cohere inputs by 96: 200 inputs make calls of 96, 96 and 8", () => {
    const calls = embedRequestToCalls(request(cohere, texts(200)), cohere);
    expect(calls.map((c) => (c.body.texts as string[]).length)).toEqual([96, 96, 8]);
    expect(calls[0]?.body).toMatchObject({ input_type: "search_document", truncate: "END" });
    expect(calls.flatMap((c) => c.inputIndexes)).toEqual(texts(200).map((_, i) => i));
  });

  it.each([
    { name: "Titan v2 with 300 dimensions", entry: titanV2, dimensions: 300, param: "dimensions" },
    { name: "Titan v1 with 256 dimensions", entry: titanV1, dimensions: 256, param: "dimensions" },
    { name: "Cohere with 512 dimensions", entry: cohere, dimensions: 512, param: "dimensions" },
  ])("refuses $name", ({ entry, dimensions, param }) => {
    expect(() => embedRequestToCalls(request(entry, ["a"], dimensions), entry)).toThrow(
      expect.objectContaining({ reason: "invalid_request", param }),
    );
  });

  it("refuses a chat model", () => {
    const chat = model("nova-micro");
    expect(() => embedRequestToCalls(request(chat, ["a"]), chat)).toThrow(
      expect.objectContaining({ reason: "invalid_request", param: "model" }),
    );
  });

  it("refuses an empty input list", () => {
    expect(() => embedRequestToCalls(request(titanV2, []), titanV2)).toThrow(
      expect.objectContaining({ reason: "invalid_request", param: "input" }),
    );
  });
});

describe("decodeEmbeddingResponse", () => {
  const call = { body: { texts: ["abcdefgh", "abc"] }, inputIndexes: [0, 1] };

  it("reads Cohere's embeddings by type as well as plain floats", () => {
    const body = JSON.stringify({ embeddings: { float: [[1], [2]] } });
    expect(decodeEmbeddingResponse("cohere-v3", call, { body, inputTokenCount: 9 })).toEqual({
      vectors: [[1], [2]],
      inputTokens: 9,
    });
  });

  it("estimates Cohere tokens as ceil(chars / 4) without the token header", () => {
    const body = JSON.stringify({ embeddings: [[1], [2]] });
    expect(
      decodeEmbeddingResponse("cohere-v3", call, { body, inputTokenCount: undefined }).inputTokens,
    ).toBe(2 + 1);
  });

  it("fails as internal when the answer lacks embeddings", () => {
    expect(() =>
      decodeEmbeddingResponse("cohere-v3", call, { body: "{}", inputTokenCount: undefined }),
    ).toThrow(expect.objectContaining({ reason: "internal" }));
  });
});

describe("embed", () => {
  it("keeps input order across Cohere batches and sums header token counts", async () => {
    const fake = fakeInvoke({ tokenHeader: 100 });
    const response = await embed({
      request: request(cohere, texts(200)),
      entry: cohere,
      invoke: fake.invoke,
      signal: new AbortController().signal,
    });
    expect(fake.calls).toHaveLength(3);
    expect(response.embeddings.map((e) => e.values[0])).toEqual(texts(200).map((_, i) => i));
    expect(response.inputTokens).toBe(300);
    expect(response.model).toBe("cohere.embed-english-v3");
  });

  it("runs Titan calls concurrently but never more than the bound, in input order", async () => {
    const fake = fakeInvoke({ delayMs: 5 });
    const response = await embed({
      request: request(titanV2, texts(20), 256),
      entry: titanV2,
      invoke: fake.invoke,
      signal: new AbortController().signal,
      concurrency: 4,
    });
    expect(fake.maxInFlight()).toBe(4);
    expect(response.embeddings.map((e) => e.values[0])).toEqual(texts(20).map((_, i) => i));
    expect(response.inputTokens).toBe(40);
  });

  it("reports the first failure and cancels the other calls", async () => {
    const signals: AbortSignal[] = [];
    let call = 0;
    const invoke: InvokeEmbeddingModel = async (_, signal) => {
      signals.push(signal);
      if (call++ === 1) throw new StrataError("rate_limited");
      await new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, 1000);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(new StrataError("cancelled"));
        });
      });
      return {
        body: encode({ embedding: [1], inputTextTokenCount: 1 }),
        inputTokenCount: undefined,
      };
    };
    await expect(
      embed({
        request: request(titanV2, texts(10)),
        entry: titanV2,
        invoke,
        signal: new AbortController().signal,
        concurrency: 3,
      }),
    ).rejects.toMatchObject({ reason: "rate_limited" });
    expect(signals.length).toBeLessThan(10);
    expect(signals.every((s) => s.aborted)).toBe(true);
  });
});
