import { type AddressInfo, connect, createServer as createNetServer } from "node:net";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { fromConnectError, StrataError } from "@strata/errors";
import {
  ChatResponseSchema,
  ChatStreamResponseSchema,
  Health,
  InferenceService,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "@strata/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHealthService } from "./health.ts";
import { createLogger } from "./logger.ts";
import { createRpcClient, createRpcTransport } from "./rpc-client.ts";
import { createRpcServer, type RpcServer } from "./rpc-server.ts";

const logger = createLogger({ service: "test", level: "silent" });
let server: RpcServer;
let streamCancelled: Promise<void>;
let resolveCancelled: () => void;
let flooded = 0;
const health = createHealthService(["strata.inference.v1.InferenceService"]);

beforeAll(async () => {
  streamCancelled = new Promise((r) => {
    resolveCancelled = r;
  });
  server = await createRpcServer({
    host: "127.0.0.1",
    port: 0,
    logger,
    routes(router) {
      health.register(router);
      router.service(InferenceService, {
        async chat(req, ctx) {
          if (req.model === "fail-strata") {
            throw new StrataError("rate_limited", "slow down", {
              retryAfterMs: 700,
              param: "model",
            });
          }
          if (req.model === "fail-unknown") throw new Error("secret internals");
          if (req.model === "slow") {
            await new Promise((_, reject) =>
              ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)),
            );
          }
          // A large answer: 64 KiB, well above the size at which gRPC servers compress.
          if (req.model === "large")
            return create(ChatResponseSchema, { model: "a".repeat(65_536) });
          return create(ChatResponseSchema, { model: req.model });
        },
        async *chatStream(req, ctx) {
          yield create(ChatStreamResponseSchema, {
            event: { case: "start", value: { model: "m" } },
          });
          if (req.chat?.model === "fail-mid")
            throw new StrataError("upstream_unavailable", "bedrock went away");
          if (req.chat?.model === "flood") {
            // As fast as it can: 1,000 messages of 16 KiB, counted as they are produced.
            for (let i = 0; i < 1_000; i++) {
              flooded = i + 1;
              yield create(ChatStreamResponseSchema, {
                event: { case: "start", value: { model: `${i}:${"x".repeat(16_384)}` } },
              });
            }
            return;
          }
          await new Promise<void>((resolve) =>
            ctx.signal.addEventListener("abort", () => resolve()),
          );
          resolveCancelled();
        },
        embed() {
          throw new StrataError("invalid_request");
        },
        listModels() {
          return {};
        },
      });
    },
  });
});
afterAll(() => server.close(1000));

const client = () =>
  createRpcClient(
    InferenceService,
    createRpcTransport({ baseUrl: `http://127.0.0.1:${server.port}` }),
  );

describe("rpc server", () => {
  it("carries a StrataError's reason, param and retry hint to the client", async () => {
    const error = await client()
      .chat({ model: "fail-strata" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    const strata = fromConnectError(error as ConnectError);
    expect([strata.reason, strata.message, strata.param, strata.retryAfterMs]).toEqual([
      "rate_limited",
      "slow down",
      "model",
      700,
    ]);
  });

  it("hides the text of unexpected errors", async () => {
    const error = (await client()
      .chat({ model: "fail-unknown" })
      .catch((e: unknown) => e)) as ConnectError;
    expect(error.code).toBe(Code.Internal);
    expect(error.message).not.toContain("secret");
  });

  it("converts an error thrown mid-stream after the first message", async () => {
    const seen: string[] = [];
    const error = await (async () => {
      for await (const event of client().chatStream({ chat: { model: "fail-mid" } })) {
        seen.push(event.event.case ?? "");
      }
    })().catch((e: unknown) => e);
    expect(seen).toEqual(["start"]);
    expect(fromConnectError(error as ConnectError).reason).toBe("upstream_unavailable");
  });

  it("holds a stream's producer while the client does not read, and loses nothing", async () => {
    const received: number[] = [];
    const stream = client()
      .chatStream({ chat: { model: "flood" } })
      [Symbol.asyncIterator]();
    const first = await stream.next();
    await new Promise((r) => setTimeout(r, 300));
    // 16 MiB would be sent by now without flow control; the HTTP/2 windows hold a few hundred KiB.
    expect(flooded).toBeLessThan(200);
    for (let next = first; !next.done; next = await stream.next()) {
      const event = next.value.event;
      // The handler's own first event is model "m"; then the flood's numbered messages.
      if (event.case === "start" && event.value.model !== "m") {
        received.push(Number(event.value.model.split(":")[0]));
      }
    }
    expect(received).toEqual(Array.from({ length: 1_000 }, (_, i) => i));
  });

  it("propagates the caller's deadline to the handler", async () => {
    const error = (await client()
      .chat({ model: "slow" }, { timeoutMs: 50 })
      .catch((e: unknown) => e)) as ConnectError;
    expect(error.code).toBe(Code.DeadlineExceeded);
  });

  it("cancels the server-side stream when the caller aborts", async () => {
    const abort = new AbortController();
    const iterate = (async () => {
      for await (const _ of client().chatStream(
        { chat: { model: "m" } },
        { signal: abort.signal },
      )) {
        abort.abort();
      }
    })().catch(() => undefined);
    await iterate;
    await expect(streamCancelled).resolves.toBeUndefined();
  });

  it("sends large answers uncompressed: in the cluster, CPU costs more than bytes", async () => {
    const encodings: (string | null)[] = [];
    const transport = createRpcTransport({
      baseUrl: `http://127.0.0.1:${server.port}`,
      interceptors: [
        (next) => async (req) => {
          const res = await next(req);
          encodings.push(res.header.get("grpc-encoding"));
          return res;
        },
      ],
    });
    const res = await createRpcClient(InferenceService, transport).chat({ model: "large" });
    expect(res.model).toHaveLength(65_536);
    expect(encodings).toHaveLength(1);
    expect([null, "identity"]).toContain(encodings[0]);
  });

  it("answers gRPC health checks and follows readiness", async () => {
    const healthClient = createRpcClient(
      Health,
      createRpcTransport({ baseUrl: `http://127.0.0.1:${server.port}` }),
    );
    health.setServing(false);
    expect((await healthClient.check({ service: "" })).status).toBe(ServingStatus.NOT_SERVING);
    health.setServing(true);
    expect(
      (await healthClient.check({ service: "strata.inference.v1.InferenceService" })).status,
    ).toBe(ServingStatus.SERVING);
    const unknown = (await healthClient
      .check({ service: "nope" })
      .catch((e: unknown) => e)) as ConnectError;
    expect(unknown.code).toBe(Code.NotFound);
  });
});

describe("rpc server connection age", () => {
  it("makes clients reconnect after the maximum age, without failing a call", async () => {
    const aged = await createRpcServer({
      host: "127.0.0.1",
      port: 0,
      logger,
      maxConnectionAgeMs: 150,
      maxConnectionAgeGraceMs: 1_000,
      routes(router) {
        router.service(InferenceService, {
          chat: (req) => create(ChatResponseSchema, { model: req.model }),
          chatStream: async function* () {},
          embed: () => ({}),
          listModels: () => ({}),
        });
      },
    });
    // A TCP relay in front of the server counts the connections the client opens.
    let connections = 0;
    const relay = createNetServer((socket) => {
      connections++;
      const upstream = connect(aged.port, "127.0.0.1");
      socket.pipe(upstream).pipe(socket);
      socket.on("error", () => upstream.destroy());
      upstream.on("error", () => socket.destroy());
    });
    await new Promise<void>((r) => relay.listen(0, "127.0.0.1", r));
    const port = (relay.address() as AddressInfo).port;
    const agedClient = createRpcClient(
      InferenceService,
      createRpcTransport({ baseUrl: `http://127.0.0.1:${port}` }),
    );
    let calls = 0;
    try {
      const started = Date.now();
      while (Date.now() - started < 800) {
        expect((await agedClient.chat({ model: "m" })).model).toBe("m");
        calls++;
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      relay.close();
      await aged.close(100);
    }
    expect(calls).toBeGreaterThan(8);
    // About one connection per 150 ms of age (with jitter): several, not one per call.
    expect(connections).toBeGreaterThanOrEqual(3);
    expect(connections).toBeLessThan(calls);
  });
});
