import { ConnectError } from "@connectrpc/connect";
import { type BedrockEmulator, createBedrockEmulator } from "@strata/bedrock-emulator";
import { fromConnectError, type StrataError } from "@strata/errors";
import { createLogger, createRpcClient, createRpcTransport } from "@strata/platform";
import { type ChatStreamResponse, ImageFormat, InferenceService, Role } from "@strata/proto";
import { Registry } from "prom-client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createBedrockClient } from "./bedrock-client.ts";
import { type CatalogEntry, createCatalog, defaultCatalogEntries } from "./catalog.ts";
import { createInferenceServer, type InferenceServer } from "./server.ts";

// Retries, fallbacks and circuit breakers, driven through the real SDK against the emulator's
// fault directives: `fail-times` fails the first N identical calls, `fault-model` fails only
// calls for one Bedrock model id.

const US = "us.amazon.nova-micro-v1:0";
const EU = "eu.amazon.nova-micro-v1:0";
/** Upstreams of their own for tests whose circuit the others must not touch. */
const LITE_US = "us.amazon.nova-lite-v1:0";
const PRO_US = "us.amazon.nova-pro-v1:0";

let emulator: BedrockEmulator;
let bedrock: ReturnType<typeof createBedrockClient>;
let server: InferenceServer;
let registry: Registry;
const breakerOpenMs = 400;

const builtIn = (id: string): CatalogEntry => {
  const entry = defaultCatalogEntries.find((e) => e.id === id);
  if (!entry) throw new Error(`${id} missing from the built-in catalog`);
  return entry;
};

const entry = (base: CatalogEntry, id: string, bedrockModelId: string, fallbacks: string[]) => ({
  ...base,
  id,
  aliases: [],
  bedrockModelId,
  fallbacks,
});

/** The built-in catalog plus US inference profiles falling back to EU ones. */
function catalogEntries(): CatalogEntry[] {
  const micro = builtIn("amazon.nova-micro-v1:0");
  const lite = builtIn("amazon.nova-lite-v1:0");
  const pro = builtIn("amazon.nova-pro-v1:0");
  return [
    ...defaultCatalogEntries,
    entry(micro, "nova-us", US, ["nova-eu"]),
    entry(micro, "nova-eu", EU, []),
    // A vision model whose fallback has no vision: a request with an image cannot use it.
    entry(lite, "lite-us", LITE_US, ["lite-text-only"]),
    {
      ...entry(lite, "lite-text-only", "eu.amazon.nova-lite-v1:0", []),
      capabilities: { ...lite.capabilities, vision: false },
    },
    entry(pro, "pro-us", PRO_US, ["pro-eu"]),
    entry(pro, "pro-eu", "eu.amazon.nova-pro-v1:0", []),
  ];
}

beforeAll(async () => {
  emulator = createBedrockEmulator();
  const { url } = await emulator.listen(0);
  bedrock = createBedrockClient({ region: "us-east-1", endpoint: url, credentials: "emulator" });
  registry = new Registry();
  server = await createInferenceServer({
    catalog: createCatalog(catalogEntries(), { region: "us-east-1" }),
    client: bedrock,
    logger: createLogger({ service: "inference", level: "silent" }),
    registry,
    host: "127.0.0.1",
    port: 0,
    timeoutMs: 5_000,
    streamIdleTimeoutMs: 5_000,
    resilience: {
      maxAttempts: 3,
      retryBaseDelayMs: 10,
      retryMaxDelayMs: 50,
      breakerFailures: 2,
      breakerOpenMs,
    },
  });
});
afterAll(async () => {
  await server?.close(500);
  bedrock?.destroy();
  await emulator?.close();
});
beforeEach(() => emulator.clearRequests());

const inference = () =>
  createRpcClient(
    InferenceService,
    createRpcTransport({ baseUrl: `http://127.0.0.1:${server.port}` }),
  );

const chat = (model: string, text: string, fallbacks: string[] = []) => ({
  model,
  fallbacks,
  requestId: "req-resilience",
  messages: [{ role: Role.USER, content: [{ block: { case: "text" as const, value: text } }] }],
});

/** A text no other test sends, so `fail-times` counts start at zero. */
const fresh = (directives: string) => `hello ${crypto.randomUUID()} ${directives}`;

async function failure(promise: Promise<unknown>): Promise<StrataError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectError);
  return fromConnectError(error as ConnectError);
}

async function collect(stream: AsyncIterable<ChatStreamResponse>) {
  const events: ChatStreamResponse[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

const callsTo = (modelId: string) =>
  emulator.requests().filter((r) => r.modelId === modelId && r.operation.startsWith("Converse"));

const metric = async (name: string) => (await registry.getSingleMetricAsString(name)) ?? "";

describe("retries", () => {
  it("retries a throttled call and answers, without the client seeing the throttle", async () => {
    const response = await inference().chat(
      chat("nova-us", fresh("[[emulator:throttle]] [[emulator:fail-times=2]]")),
    );
    expect(response.model).toBe("nova-us");
    expect(callsTo(US).map((r) => r.outcome)).toEqual(["error", "error", "completed"]);
    expect(await metric("strata_inference_upstream_retries_total")).toContain(
      'model="nova-us",operation="converse"',
    );
  });

  it("retries 5xx and network-level unavailability before a stream starts", async () => {
    const events = await collect(
      inference().chatStream({
        chat: chat("nova-us", fresh("[[emulator:status=500]] [[emulator:fail-times=1]]")),
      }),
    );
    expect(events.at(-1)?.event.case).toBe("metadata");
    expect(callsTo(US).map((r) => r.status)).toEqual([500, 200]);
  });

  it("gives up after the configured attempts with 429 and retry-after for throttling", async () => {
    const error = await failure(
      inference().chat(chat("nova-us", fresh("[[emulator:throttle]] [[emulator:fail-times=5]]"))),
    );
    expect(error.reason).toBe("rate_limited");
    expect(error.retryAfterMs).toBeGreaterThan(0);
    expect(callsTo(US)).toHaveLength(3);
  });

  it("does not retry a client error", async () => {
    const error = await failure(
      inference().chat(chat("nova-us", fresh("[[emulator:status=400]] [[emulator:fail-times=5]]"))),
    );
    expect(error.reason).toBe("invalid_request");
    expect(callsTo(US)).toHaveLength(1);
  });

  it("never replays a stream that already started", async () => {
    const text = fresh("[[emulator:tokens=20]] [[emulator:stream-error-after=2]]");
    await expect(
      collect(inference().chatStream({ chat: chat("nova-us", text) })),
    ).rejects.toThrow();
    expect(callsTo(US)).toHaveLength(1);
  });
});

describe("fallbacks", () => {
  it("serves from the fallback when the model keeps failing, and says so in `model`", async () => {
    const text = fresh(`[[emulator:throttle]] [[emulator:fault-model=${US}]]`);
    const response = await inference().chat(chat("nova-us", text, ["nova-eu"]));
    expect(response.model).toBe("nova-eu");
    expect(callsTo(US)).toHaveLength(3);
    expect(callsTo(EU).map((r) => r.outcome)).toEqual(["completed"]);
    expect(await metric("strata_inference_fallbacks_total")).toContain(
      'model="nova-us",fallback="nova-eu"',
    );
  });

  it("names the fallback in a stream's start event", async () => {
    const text = fresh(`[[emulator:throttle]] [[emulator:fault-model=${US}]]`);
    const events = await collect(
      inference().chatStream({ chat: chat("nova-us", text, ["nova-eu"]) }),
    );
    expect(events[0]?.event).toEqual({
      case: "start",
      value: expect.objectContaining({ model: "nova-eu" }),
    });
    expect(events.some((e) => e.event.case === "stop")).toBe(true);
  });

  it("uses only the fallbacks the gateway allowed for the caller", async () => {
    const text = fresh(`[[emulator:throttle]] [[emulator:fault-model=${US}]]`);
    const error = await failure(inference().chat(chat("nova-us", text, [])));
    expect(error.reason).toBe("rate_limited");
    expect(callsTo(EU)).toHaveLength(0);
  });

  it("ignores a fallback the catalog does not name for the model", async () => {
    const text = fresh(`[[emulator:throttle]] [[emulator:fault-model=${US}]]`);
    await failure(inference().chat(chat("nova-us", text, ["amazon.nova-lite-v1:0"])));
    expect(emulator.requests().filter((r) => r.modelId === "amazon.nova-lite-v1:0")).toHaveLength(
      0,
    );
  });

  it("skips a fallback that cannot take the request (an image for a text-only model)", async () => {
    const text = fresh(`[[emulator:throttle]] [[emulator:fault-model=${LITE_US}]]`);
    const png = Buffer.from(
      "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=",
      "base64",
    );
    const request = chat("lite-us", text, ["lite-text-only"]);
    const image = { case: "image" as const, value: { format: ImageFormat.PNG, data: png } };
    const content = [...(request.messages[0]?.content ?? []), { block: image }];
    const error = await failure(
      inference().chat({ ...request, messages: [{ role: Role.USER, content }] }),
    );
    expect(error.reason).toBe("rate_limited");
    expect(callsTo("eu.amazon.nova-lite-v1:0")).toHaveLength(0);
  });

  it("does not fall back on the client's own mistakes", async () => {
    const text = fresh(`[[emulator:status=400]] [[emulator:fault-model=${US}]]`);
    const error = await failure(inference().chat(chat("nova-us", text, ["nova-eu"])));
    expect(error.reason).toBe("invalid_request");
    expect(callsTo(EU)).toHaveLength(0);
  });
});

describe("circuit breaker", () => {
  it("opens after repeated upstream failures, refuses fast with 503 and retry-after, then recovers", async () => {
    const dead = fresh(`[[emulator:status=500]] [[emulator:fault-model=${PRO_US}]]`);
    // Two requests whose every attempt failed open the circuit; a 5xx after all retries is a 503.
    for (let i = 0; i < 2; i++) {
      const failed = await failure(inference().chat(chat("pro-us", dead)));
      expect(failed.reason).toBe("upstream_unavailable");
    }
    expect(callsTo(PRO_US)).toHaveLength(6);

    emulator.clearRequests();
    const started = performance.now();
    const refused = await failure(inference().chat(chat("pro-us", fresh(""))));
    expect(performance.now() - started).toBeLessThan(breakerOpenMs);
    expect(refused.reason).toBe("upstream_unavailable");
    expect(refused.message).toMatch(/temporarily unavailable/);
    expect(refused.retryAfterMs).toBeGreaterThanOrEqual(1000);
    expect(callsTo(PRO_US)).toHaveLength(0);
    expect(await metric("strata_inference_circuit_state")).toContain(`upstream="${PRO_US}"} 1`);

    // While open, requests with a fallback go straight to it.
    const viaFallback = await inference().chat(chat("pro-us", fresh(""), ["pro-eu"]));
    expect(viaFallback.model).toBe("pro-eu");
    expect(callsTo(PRO_US)).toHaveLength(0);

    // After the open period one probe goes through; its success closes the circuit.
    await new Promise((r) => setTimeout(r, breakerOpenMs + 50));
    const recovered = await inference().chat(chat("pro-us", fresh("")));
    expect(recovered.model).toBe("pro-us");
    expect(await metric("strata_inference_circuit_state")).toContain(`upstream="${PRO_US}"} 0`);
  });

  it("is not opened by throttling alone", async () => {
    for (let i = 0; i < 2; i++) {
      await failure(
        inference().chat(
          chat("pro-us", fresh(`[[emulator:throttle]] [[emulator:fault-model=${PRO_US}]]`)),
        ),
      );
    }
    const response = await inference().chat(chat("pro-us", fresh("")));
    expect(response.model).toBe("pro-us");
  });
});
