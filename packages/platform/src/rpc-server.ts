import { create, type DescService } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createContextKey,
  createContextValues,
  createServiceImplSpec,
  type HandlerContext,
  type Interceptor,
  type MethodImplSpec,
  type StreamRequest,
  type StreamResponse,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import * as grpc from "@grpc/grpc-js";
import { context } from "@opentelemetry/api";
import { asStrataError, toConnectError } from "@strata/errors";
import { grpcMethodDefinition, headersOf, intercepted, metadataOf } from "./grpc-wire.ts";
import type { Logger } from "./logger.ts";
import { endRpcSpan, startRpcSpan, traceStream, tracingEnabled } from "./tracing.ts";

/** Options of createRpcServer. */
export interface RpcServerOptions {
  host: string;
  port: number;
  logger: Logger;
  /** Registers the services this server offers. */
  routes: (router: ConnectRouter) => void;
  /** Interceptors run after error conversion and logging, closest to the handler. */
  interceptors?: Interceptor[];
  /**
   * How long a client connection lives before the server asks the client to reconnect (GOAWAY,
   * ±10% jitter). HTTP/2 multiplexes every call of a client over one connection, which a
   * Kubernetes Service balances once, at connect: without an age limit, new replicas (a scale-up,
   * a rollout) would get no traffic from existing clients. Default 5 minutes.
   */
  maxConnectionAgeMs?: number;
  /** How long calls in flight on an aged connection may finish before it is closed. Default 10 minutes. */
  maxConnectionAgeGraceMs?: number;
}

/** The caller's address as seen on the socket, available to handlers as `ctx.values.get(...)`. */
export const remoteAddressKey = createContextKey<string>("", { description: "remote address" });

/** A gRPC (h2c) server for Strata's internal RPCs. */
export interface RpcServer {
  readonly port: number;
  /** Stops accepting, lets in-flight calls finish (GOAWAY), and force-closes after graceMs. */
  close(graceMs: number): Promise<void>;
}

/**
 * Converts everything a handler throws into a Connect error carrying Strata's ErrorDetail, and
 * logs internal failures with their cause (which never crosses the wire).
 */
function errorInterceptor(logger: Logger): Interceptor {
  const convert = (error: unknown, procedure: string): never => {
    const strata = asStrataError(error);
    if (strata.reason === "internal") {
      logger.error({ err: strata.cause ?? strata, procedure }, "rpc failed");
    }
    throw toConnectError(strata);
  };
  return (next) => async (req) => {
    const procedure = req.method.name;
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await next(req);
    } catch (error) {
      return convert(error, procedure);
    }
    if (!res.stream) return res;
    const source = res.message;
    async function* guarded() {
      try {
        yield* source;
      } catch (error) {
        convert(error, procedure);
      }
    }
    return { ...res, message: guarded() } as StreamResponse;
  };
}

/**
 * Runs each call in a SERVER span continuing the caller's W3C trace context, active while the
 * handler runs (and while a streamed answer is produced), so the handler's own calls are its
 * children. A failure is recorded by its Strata reason only. Does nothing while tracing is off.
 */
function tracingServerInterceptor(): Interceptor {
  return (next) => async (req) => {
    if (!tracingEnabled()) return next(req);
    const { span, active } = startRpcSpan("server", {
      service: req.service.typeName,
      method: req.method.name,
      header: req.header,
    });
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await context.with(active, () => next(req));
    } catch (error) {
      endRpcSpan(span, error);
      throw error;
    }
    if (!res.stream) {
      endRpcSpan(span);
      return res;
    }
    return { ...res, message: traceStream(res.message, span, active) } as StreamResponse;
  };
}

/** What `routes` registers, collected through the ConnectRouter interface it is written against. */
function registeredServices(routes: (router: ConnectRouter) => void) {
  const specs: ReturnType<typeof createServiceImplSpec>[] = [];
  const router = {
    handlers: [],
    service(service: DescService, impl: object) {
      specs.push(createServiceImplSpec(service, impl));
      return router;
    },
    rpc() {
      throw new Error("register whole services with router.service()");
    },
  };
  routes(router as unknown as ConnectRouter);
  return specs;
}

/** A handler's failure as a gRPC status, with Strata's error detail in `grpc-status-details-bin`. */
function statusOf(error: unknown): Partial<grpc.StatusObject> {
  const connectError = ConnectError.from(error);
  return {
    code: connectError.code as number as grpc.status,
    details: connectError.rawMessage,
    metadata: metadataOf(setTrailerStatus(new Headers(), connectError)),
  };
}

/** "127.0.0.1:51234" or "::1:51234" (grpc-js's peer) without the port. */
const addressOf = (peer: string) => peer.slice(0, Math.max(0, peer.lastIndexOf(":"))) || peer;

type ServerCall =
  | grpc.ServerUnaryCall<unknown, unknown>
  | grpc.ServerWritableStream<unknown, unknown>;

/**
 * The HandlerContext of one call: its signal aborts when the client cancels or the deadline
 * passes (with the reasons Connect gives), and `done` releases the timer and listener.
 */
function handlerContext(call: ServerCall, spec: MethodImplSpec, url: string) {
  const controller = new AbortController();
  const deadline = call.getDeadline();
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
  const timer = Number.isFinite(deadlineMs)
    ? setTimeout(
        () => controller.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded)),
        Math.max(0, deadlineMs - Date.now()),
      )
    : undefined;
  const onCancelled = () =>
    controller.abort(new ConnectError("the client cancelled the call", Code.Canceled));
  call.once("cancelled", onCancelled);
  const ctx: HandlerContext = {
    method: spec.method,
    service: spec.method.parent,
    signal: controller.signal,
    timeoutMs: () => (Number.isFinite(deadlineMs) ? deadlineMs - Date.now() : undefined),
    requestMethod: "POST",
    requestHeader: headersOf(call.metadata),
    responseHeader: new Headers(),
    responseTrailer: new Headers(),
    protocolName: "grpc",
    values: createContextValues().set(remoteAddressKey, addressOf(call.getPeer())),
    url,
  };
  const done = () => {
    clearTimeout(timer);
    call.removeListener("cancelled", onCancelled);
  };
  return { ctx, done };
}

/** The grpc-js definition and handler of one method; unary and server-streaming methods only. */
function grpcMethod(spec: MethodImplSpec, interceptors: Interceptor[]) {
  const { method } = spec;
  const url = `/${method.parent.typeName}/${method.name}`;
  const definition = grpcMethodDefinition(method);
  const request = (ctx: HandlerContext) => ({
    service: method.parent,
    method: method as never,
    requestMethod: "POST",
    url,
    signal: ctx.signal,
    header: ctx.requestHeader,
    contextValues: ctx.values,
  });
  const answer = (ctx: HandlerContext) => ({
    service: method.parent,
    method: method as never,
    header: ctx.responseHeader,
    trailer: ctx.responseTrailer,
  });
  const sendHeader = (call: ServerCall, header: Headers) => {
    if ([...header.keys()].length > 0) call.sendMetadata(metadataOf(header));
  };

  if (spec.kind === "unary") {
    const impl = spec.impl;
    const handler: grpc.handleUnaryCall<unknown, unknown> = (call, callback) => {
      const { ctx, done } = handlerContext(call, spec, url);
      const run = intercepted<UnaryRequest, UnaryResponse>(interceptors, async (req) => ({
        ...answer(ctx),
        stream: false,
        message: create(method.output, await impl(req.message as never, ctx)),
      }));
      run({ ...request(ctx), stream: false, message: call.request as never }).then(
        (res) => {
          done();
          sendHeader(call, res.header);
          callback(null, res.message, metadataOf(res.trailer));
        },
        (error: unknown) => {
          done();
          callback(statusOf(error));
        },
      );
    };
    return { definition, handler };
  }
  if (spec.kind === "server_streaming") {
    const impl = spec.impl;
    const handler: grpc.handleServerStreamingCall<unknown, unknown> = async (call) => {
      const { ctx, done } = handlerContext(call, spec, url);
      const run = intercepted<StreamRequest, StreamResponse>(interceptors, async (req) => {
        let input: unknown;
        for await (const message of req.message) input = message;
        const source = impl(input as never, ctx);
        async function* messages() {
          for await (const message of source) yield create(method.output, message as never);
        }
        return { ...answer(ctx), stream: true, message: messages() as never };
      });
      try {
        const res = await run({
          ...request(ctx),
          stream: true,
          message: (async function* () {
            yield call.request;
          })() as never,
        });
        sendHeader(call, res.header);
        for await (const message of res.message) {
          if (ctx.signal.aborted) break;
          if (!call.write(message)) {
            // Backpressure: wait until the client reads on, or leaves.
            await new Promise<void>((resolve) => {
              const go = () => {
                call.removeListener("drain", go);
                ctx.signal.removeEventListener("abort", go);
                resolve();
              };
              call.once("drain", go);
              ctx.signal.addEventListener("abort", go, { once: true });
            });
          }
        }
        if (!ctx.signal.aborted) call.end(metadataOf(res.trailer));
      } catch (error) {
        if (!call.cancelled) call.emit("error", statusOf(error));
      } finally {
        done();
      }
    };
    return { definition, handler };
  }
  throw new Error(`${url}: only unary and server-streaming methods are served`);
}

/**
 * Serves Connect routes (the service implementations, written against Connect's API) over gRPC
 * on HTTP/2 cleartext (h2c), the in-cluster protocol of Strata, with @grpc/grpc-js as the server:
 * it costs about a third of connect-node's server CPU per call (`npm run bench:rpc`). Deadlines
 * arrive as `grpc-timeout` and abort `ctx.signal`, which handlers pass downstream.
 */
export async function createRpcServer(options: RpcServerOptions): Promise<RpcServer> {
  const interceptors = [
    errorInterceptor(options.logger),
    tracingServerInterceptor(),
    ...(options.interceptors ?? []),
  ];
  const server = new grpc.Server({
    // HTTP/2 multiplexes every call of a client over one connection, which a Kubernetes
    // Service balances once, at connect: without an age limit, new replicas (a scale-up, a
    // rollout) would get no traffic from existing clients. grpc-js adds ±10% jitter and sends
    // GOAWAY, so the client opens a fresh (re-balanced) connection.
    "grpc.max_connection_age_ms": options.maxConnectionAgeMs ?? 5 * 60_000,
    "grpc.max_connection_age_grace_ms": options.maxConnectionAgeGraceMs ?? 10 * 60_000,
    // As before with connect-node: no message size limit of the RPC layer's own (the gateway
    // bounds what clients send); grpc-js would otherwise refuse messages over 4 MiB.
    "grpc.max_receive_message_length": -1,
    "grpc.max_send_message_length": -1,
    "grpc.enable_channelz": 0,
  });
  for (const spec of registeredServices(options.routes)) {
    const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
    const handlers: grpc.UntypedServiceImplementation = {};
    for (const [name, method] of Object.entries(spec.methods)) {
      const { definition: d, handler } = grpcMethod(method as MethodImplSpec, interceptors);
      definition[name] = d as grpc.MethodDefinition<unknown, unknown>;
      handlers[name] = handler as grpc.UntypedHandleCall;
    }
    server.addService(definition, handlers);
  }
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `${host}:${options.port}`,
      grpc.ServerCredentials.createInsecure(),
      (err, p) => (err ? reject(err) : resolve(p)),
    ),
  );
  return {
    port,
    close: (graceMs) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        timer.unref();
        // GOAWAY to every client; calls in flight finish, new ones go elsewhere.
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
