import { readFileSync } from "node:fs";
import fc from "fast-check";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { newTenantKey, tinyPng } from "./support.ts";

// Bad input through the real HTTP gateway and the whole stack: arbitrary bytes, truncated and
// deeply nested JSON, huge strings and arrays, wrong types and content types, broken images,
// image URLs pointing inside the network. Every answer must be a 4xx (413 for an oversize body)
// in OpenAI's error envelope, within a deadline; the gateway must stay healthy (no 5xx, no
// crash or restart, normal requests still served). numRuns keep the file to a few seconds;
// STRATA_FUZZ_SEED replays a failure (test/fast-check-setup.ts).

/** Longest any one answer may take (generous: the stack shares a small machine with other tests). */
const deadlineMs = 10_000;
const model = "claude-3-haiku";
const gatewayUrl = inject("gatewayUrl");

let apiKey: string;
beforeAll(async () => {
  // A tenant of its own, so this file's traffic does not touch the other tests' usage or limits.
  apiKey = (await newTenantKey()).apiKey;
});

/** Every request id this file got an answer for, to check the services' logs at the end. */
const requestIds: string[] = [];

interface Answer {
  status: number;
  body: unknown;
  text: string;
}

async function post(
  path: "/v1/chat/completions" | "/v1/embeddings",
  body: string | Uint8Array,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(`${gatewayUrl}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json", ...headers },
    body,
    signal: AbortSignal.timeout(deadlineMs),
  });
  const text = await res.text();
  expect(performance.now() - started).toBeLessThan(deadlineMs);
  const id = res.headers.get("x-request-id");
  if (id) requestIds.push(id);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text };
}

const chat = (body: unknown, headers?: Record<string, string>) =>
  post("/v1/chat/completions", typeof body === "string" ? body : JSON.stringify(body), headers);

/** OpenAI's error envelope: exactly `{error:{message,type,param,code}}`, strings or null. */
function expectEnvelope(answer: Answer): {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
} {
  const error = (answer.body as { error?: Record<string, unknown> } | undefined)?.error;
  expect(error, answer.text.slice(0, 300)).toBeDefined();
  const e = error as Record<string, unknown>;
  expect(Object.keys(e).sort()).toEqual(["code", "message", "param", "type"]);
  expect(typeof e.message).toBe("string");
  expect((e.message as string).length).toBeGreaterThan(0);
  expect(typeof e.type).toBe("string");
  expect(e.param === null || typeof e.param === "string").toBe(true);
  expect(e.code === null || typeof e.code === "string").toBe(true);
  return e as { message: string; type: string; param: string | null; code: string | null };
}

/** A 4xx (or exactly `status`) in OpenAI's envelope. */
function expectClientError(answer: Answer, status?: number) {
  if (status !== undefined) expect(answer.status, answer.text.slice(0, 300)).toBe(status);
  expect(answer.status, answer.text.slice(0, 300)).toBeGreaterThanOrEqual(400);
  expect(answer.status, answer.text.slice(0, 300)).toBeLessThan(500);
  return expectEnvelope(answer);
}

/** Either a success (a stream that ends normally) or a 4xx in the envelope: never a 5xx. */
function expectSuccessOrClientError(answer: Answer) {
  if (answer.status !== 200) {
    expectClientError(answer);
    return;
  }
  // A stream that failed after its 200 ends with `data: {"error":…}` instead of [DONE].
  if (answer.text.startsWith("data:") || answer.text.startsWith(":")) {
    expect(answer.text.trimEnd().endsWith("data: [DONE]"), answer.text.slice(-300)).toBe(true);
  }
}

const user = (content: unknown) => ({ role: "user", content });
const valid = { model, messages: [user("Hello")] };
/** Valid requests to mutate: plain, with tools and a tool round, with an image. */
const seeds: Record<string, unknown>[] = [
  { ...valid, max_tokens: 20, temperature: 0.5, stop: ["END"], user: "u" },
  {
    model,
    messages: [
      { role: "system", content: "Be brief." },
      user("Weather in Paris?"),
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: "call_1",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris"}' },
          },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: "18°C" },
    ],
    tools: [
      {
        type: "function",
        function: {
          name: "get_weather",
          parameters: { type: "object", properties: { city: { type: "string" } } },
        },
      },
    ],
    tool_choice: "auto",
    stream: true,
    stream_options: { include_usage: true },
  },
  {
    model,
    messages: [
      user([
        { type: "text", text: "What is this?" },
        { type: "image_url", image_url: { url: `data:image/png;base64,${tinyPng}` } },
      ]),
    ],
    response_format: { type: "json_object" },
  },
];

type Path = Array<string | number>;

/** Every path to a value inside a JSON document, the root excluded. */
function pathsOf(value: unknown, prefix: Path = []): Path[] {
  const children: Array<[string | number, unknown]> = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : value !== null && typeof value === "object"
      ? Object.entries(value)
      : [];
  return children.flatMap(([key, child]) => [
    [...prefix, key],
    ...pathsOf(child, [...prefix, key]),
  ]);
}

/** Where the hostile JSON text goes: a placeholder, replaced after serialising. */
const slot = "__strata_fuzz_slot__";

/** The JSON text of `doc` with the value at `path` replaced by the JSON text `value`. */
function withTextAt(doc: unknown, path: Path, value: string): string {
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  parent[path.at(-1) as string | number] = slot;
  return JSON.stringify(copy).replace(`"${slot}"`, () => value);
}

const megabyte = "x".repeat(1_000_000);
/** JSON text nested `depth` levels deep (built as text: JSON.stringify would overflow). */
const nestedText = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
/** Hostile values as JSON text: wrong types, numbers as strings, huge, deep, ill-formed strings. */
const hostile = fc.oneof(
  fc
    .constantFrom(null, true, 0, -1, 1.5, 2 ** 53, 1e308, "", "10", "0.5", [], {}, megabyte)
    .map((v) => JSON.stringify(v)),
  fc.constantFrom(nestedText(200), nestedText(10_000)),
  fc.string({ unit: "binary", maxLength: 8 }).map((v) => JSON.stringify(v)),
  fc.json({ maxDepth: 3 }),
);

describe("bad input through the gateway", () => {
  it("answers arbitrary bytes, invalid UTF-8 included, with a 400 in OpenAI's envelope", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 512 }), async (bytes) => {
        expectClientError(await post("/v1/chat/completions", bytes), 400);
      }),
      { numRuns: 50 },
    );
  });

  it("answers arbitrary JSON with a 4xx in OpenAI's envelope, on both endpoints", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("/v1/chat/completions" as const, "/v1/embeddings" as const),
        fc.jsonValue({ maxDepth: 5 }),
        async (path, value) => {
          expectClientError(await post(path, JSON.stringify(value)));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("answers truncated JSON with a 400", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...seeds),
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (seed, cut) => {
          const text = JSON.stringify(seed);
          expectClientError(await chat(text.slice(0, Math.floor(cut * (text.length - 1)))), 400);
        },
      ),
      { numRuns: 25 },
    );
  });

  it("answers valid requests with one field made hostile with a success or a 4xx naming a field", async () => {
    const mutated = fc.constantFrom(...seeds).chain((seed) =>
      fc.record({
        seed: fc.constant(seed),
        path: fc.constantFrom(...pathsOf(seed)),
        value: hostile,
      }),
    );
    await fc.assert(
      fc.asyncProperty(mutated, async ({ seed, path, value }) => {
        const answer = await chat(withTextAt(seed, path, value));
        expectSuccessOrClientError(answer);
        if (answer.status === 400) {
          const error = expectEnvelope(answer);
          // A field of the body is at fault: OpenAI names it (only a body that is not an object,
          // or not JSON at all, has no param).
          expect([error.message, error.param]).toEqual([error.message, expect.any(String)]);
        }
      }),
      { numRuns: 120 },
    );
  });

  it("refuses a body declared as anything but JSON with a 400", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          "text/plain",
          "application/x-www-form-urlencoded",
          "multipart/form-data; boundary=x",
          "application/xml",
          "application/octet-stream",
          "",
        ),
        async (contentType) => {
          const error = expectClientError(await chat(valid, { "content-type": contentType }), 400);
          expect(error.code).toBe("unsupported_content_type");
        },
      ),
      { numRuns: 6 },
    );
    expect((await chat(valid, { "content-type": "application/json; charset=utf-8" })).status).toBe(
      200,
    );
  });

  it.each([
    ["max_tokens", "10"],
    ["max_completion_tokens", "10"],
    ["temperature", "0.5"],
    ["top_p", "1"],
    ["n", "1"],
    ["presence_penalty", "0"],
    ["stream", "true"],
    ["parallel_tool_calls", "false"],
  ])("refuses %s sent as a string with a 400 naming it", async (param, value) => {
    const error = expectClientError(await chat({ ...valid, [param]: value }), 400);
    expect([error.param, error.code]).toEqual([param, "invalid_type"]);
  });

  it("refuses embeddings dimensions sent as a string with a 400 naming it", async () => {
    const answer = await post(
      "/v1/embeddings",
      JSON.stringify({ model: "titan-embed-text-v2", input: "x", dimensions: "256" }),
    );
    expect(expectClientError(answer, 400).param).toBe("dimensions");
  });

  it.each([
    [
      "a body nested 10,000 levels deep",
      `{"model":"${model}","messages":${nestedText(10_000)}}`,
      400,
    ],
    [
      "a message with a 10,000-deep extra field",
      `{"model":"${model}","messages":[{"role":"user","content":"hi","x":${nestedText(10_000)}}]}`,
      400,
    ],
    ["a 1 MB model name", JSON.stringify({ ...valid, model: megabyte }), 400],
    [
      "1 MB of prompt (over the model's context)",
      JSON.stringify({ model, messages: [user(megabyte)] }),
      400,
    ],
    [
      "a 1 MB tool name",
      JSON.stringify({ ...valid, tools: [{ type: "function", function: { name: megabyte } }] }),
      400,
    ],
    [
      "a 3 MB body (over STRATA_MAX_BODY_BYTES)",
      JSON.stringify({ model, messages: [user(megabyte.repeat(3))] }),
      413,
    ],
  ] as Array<[string, string, number]>)(
    "answers %s with the right 4xx",
    async (_, body, status) => {
      expectClientError(await chat(body), status);
    },
  );

  it.each([
    ["10,001 messages", { messages: Array.from({ length: 10_001 }, () => user("hi")) }, "messages"],
    [
      "129 tools",
      {
        tools: Array.from({ length: 129 }, (_, i) => ({
          type: "function",
          function: { name: `f${i}` },
        })),
      },
      "tools",
    ],
    [
      "2,049 content parts",
      { messages: [user(Array.from({ length: 2_049 }, () => ({ type: "text", text: "x" })))] },
      "messages[0].content",
    ],
    ["5 stop sequences", { stop: ["a", "b", "c", "d", "e"] }, "stop"],
    [
      "501 images",
      {
        messages: [
          user(
            Array.from({ length: 501 }, () => ({
              type: "image_url",
              image_url: { url: `data:image/png;base64,${tinyPng}` },
            })),
          ),
        ],
      },
      "messages[0].content[500]",
    ],
  ])("refuses %s with a 400 naming the field", async (_, extra, param) => {
    const error = expectClientError(await chat({ ...valid, ...extra }), 400);
    expect(error.param).toBe(param);
  });

  it("refuses 2,049 embedding inputs with a 400 naming the field", async () => {
    const answer = await post(
      "/v1/embeddings",
      JSON.stringify({
        model: "titan-embed-text-v2",
        input: Array.from({ length: 2_049 }, () => "x"),
      }),
    );
    expect(expectClientError(answer, 400).param).toBe("input");
  });

  it("refuses broken data-URL images with a 400 naming the image", async () => {
    const broken = fc.oneof(
      // Not base64.
      fc.string({ minLength: 1, maxLength: 20 }).map((s) => `data:image/png;base64,${s}!`),
      // Not an image media type.
      fc
        .constantFrom("text/plain", "image/bmp", "image/svg+xml", "application/pdf")
        .map((t) => `data:${t};base64,${tinyPng}`),
      // Not base64-encoded at all.
      fc.constant(`data:image/png,${tinyPng}`),
      // Bytes that are no PNG, JPEG, GIF or WebP.
      fc
        .uint8Array({ minLength: 1, maxLength: 64 })
        .filter((b) => b[0] !== 0x89 && b[0] !== 0xff && b[0] !== 0x47 && b[0] !== 0x52)
        .map((b) => `data:image/png;base64,${Buffer.from(b).toString("base64")}`),
    );
    await fc.assert(
      fc.asyncProperty(broken, async (url) => {
        const answer = await chat({
          model,
          messages: [user([{ type: "image_url", image_url: { url } }])],
        });
        expect(expectClientError(answer, 400).param).toBe("messages[0].content[0].image_url.url");
      }),
      { numRuns: 25 },
    );
  });

  it("refuses image URLs that point inside the network, before fetching anything", async () => {
    const octet = fc.nat({ max: 255 });
    const inside = fc.oneof(
      fc.tuple(octet, octet, octet).map(([a, b, c]) => `10.${a}.${b}.${c}`),
      fc.tuple(octet, octet, octet).map(([a, b, c]) => `127.${a}.${b}.${c}`),
      fc.tuple(octet, octet).map(([a, b]) => `169.254.${a}.${b}`),
      fc
        .tuple(fc.integer({ min: 16, max: 31 }), octet, octet)
        .map(([a, b, c]) => `172.${a}.${b}.${c}`),
      fc.tuple(octet, octet).map(([a, b]) => `192.168.${a}.${b}`),
      fc
        .tuple(fc.integer({ min: 64, max: 127 }), octet, octet)
        .map(([a, b, c]) => `100.${a}.${b}.${c}`),
      fc.constantFrom(
        "[::1]",
        "[fd00::1]",
        "[fe80::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:a9fe:a9fe]",
        "localhost",
        "0.0.0.0",
      ),
    );
    await fc.assert(
      fc.asyncProperty(inside, fc.constantFrom("https", "http"), async (host, scheme) => {
        const url = `${scheme}://${host}/latest/meta-data/image.png`;
        const answer = await chat({
          model,
          messages: [user([{ type: "image_url", image_url: { url } }])],
        });
        expect(expectClientError(answer, 400).code).toBe("invalid_image_url");
      }),
      { numRuns: 25 },
    );
  });

  it("serves 800 Cohere embeddings and keeps serving (their answers once broke the Bedrock connection: 503s until restart)", async () => {
    const big = await post(
      "/v1/embeddings",
      JSON.stringify({
        model: "cohere-embed-english-v3",
        input: Array.from({ length: 800 }, () => "x"),
      }),
    );
    expect(big.status, big.text.slice(0, 300)).toBe(200);
    expect((await chat(valid)).status).toBe(200);
  });
});

describe("after all that", () => {
  it("the gateway is still ready, serves normal requests, never answered 5xx and never restarted", async () => {
    const ready = await fetch(`${gatewayUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect((await chat(valid)).status).toBe(200);
    const embedded = await post(
      "/v1/embeddings",
      JSON.stringify({ model: "titan-embed-text-v2", input: "x" }),
    );
    expect(embedded.status).toBe(200);
    // Let the services flush their last log lines.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const log = readFileSync(inject("logFile"), "utf8");
    expect(log.match(/"msg":"gateway ready"/g)).toHaveLength(1);
    const ours = new Set(requestIds);
    const failures = log
      .split("\n")
      .filter((line) => /"status":5\d\d|"level":"(error|fatal)"/.test(line))
      .filter((line) => ours.has(/"requestId":"([^"]+)"/.exec(line)?.[1] ?? ""));
    expect(failures).toEqual([]);
    expect(requestIds.length).toBeGreaterThan(150);
  });
});
