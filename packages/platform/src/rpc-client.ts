import { create, type DescMethod, type DescService } from "@bufbuild/protobuf";
import {
  type Client,
  Code,
  ConnectError,
  type ContextValues,
  createClient,
  createContextValues,
  type Interceptor,
  type StreamRequest,
  type StreamResponse,
  type Transport,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import * as grpc from "@grpc/grpc-js";
import { grpcMethodDefinition, headersOf, intercepted, metadataOf } from "./grpc-wire.ts";
import { endRpcSpan, startRpcSpan, traceStream, tracingEnabled } from "./tracing.ts";

/** Options of createRpcTransport. */
export interface RpcTransportOptions {
  /** `http://host:port` of the peer. */
  baseUrl: string;
  interceptors?: Interceptor[];
}

/**
 * Wraps each call in a CLIENT span and sends its W3C trace context (`traceparent`, `tracestate`)
 * to the peer, whose server span becomes its child. Does nothing while tracing is off.
 */
function tracingClientInterceptor(): Interceptor {
  return (next) => async (req) => {
    if (!tracingEnabled()) return next(req);
    const { span, active } = startRpcSpan("client", {
      service: req.service.typeName,
      method: req.method.name,
      header: req.header,
    });
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await next(req);
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

/** A failed call as the ConnectError Connect's clients throw, Strata's error detail included. */
function connectErrorOf(error: grpc.ServiceError, signal: AbortSignal): ConnectError {
  if (error.code === grpc.status.CANCELLED && signal.aborted) {
    return ConnectError.from(signal.reason, Code.Canceled);
  }
  const trailer = headersOf(error.metadata ?? new grpc.Metadata());
  trailer.set("grpc-status", String(error.code));
  trailer.set("grpc-message", encodeURIComponent(error.details));
  return findTrailerError(trailer) ?? new ConnectError(error.details, error.code as number as Code);
}

const callOptions = (timeoutMs: number | undefined): grpc.CallOptions =>
  timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs };

function unaryCall(client: grpc.Client, req: UnaryRequest, timeoutMs: number | undefined) {
  const { path, requestSerialize, responseDeserialize } = grpcMethodDefinition(req.method);
  const header = new Headers();
  const trailer = new Headers();
  return new Promise<UnaryResponse>((resolve, reject) => {
    if (req.signal.aborted) {
      reject(ConnectError.from(req.signal.reason, Code.Canceled));
      return;
    }
    const call = client.makeUnaryRequest(
      path,
      requestSerialize,
      responseDeserialize,
      req.message,
      metadataOf(req.header),
      callOptions(timeoutMs),
      (error, message) => {
        req.signal.removeEventListener("abort", cancel);
        if (error) reject(connectErrorOf(error, req.signal));
        else
          resolve({
            stream: false,
            service: req.service,
            method: req.method,
            header,
            trailer,
            message: message as UnaryResponse["message"],
          });
      },
    );
    const cancel = () => call.cancel();
    req.signal.addEventListener("abort", cancel, { once: true });
    call.on("metadata", (metadata) => headersOf(metadata, header));
    call.on("status", (status) => headersOf(status.metadata, trailer));
  });
}

async function serverStreamingCall(
  client: grpc.Client,
  req: StreamRequest,
  timeoutMs: number | undefined,
): Promise<StreamResponse> {
  const { path, requestSerialize, responseDeserialize } = grpcMethodDefinition(req.method);
  // A server-streaming method takes exactly one request message.
  let input: unknown;
  for await (const message of req.message) input = message;
  if (req.signal.aborted) throw ConnectError.from(req.signal.reason, Code.Canceled);
  const header = new Headers();
  const trailer = new Headers();
  const call = client.makeServerStreamRequest(
    path,
    requestSerialize,
    responseDeserialize,
    input,
    metadataOf(req.header),
    callOptions(timeoutMs),
  );
  const cancel = () => call.cancel();
  req.signal.addEventListener("abort", cancel, { once: true });
  call.on("metadata", (metadata) => headersOf(metadata, header));
  call.on("status", (status) => headersOf(status.metadata, trailer));
  const signal = req.signal;
  async function* messages() {
    try {
      for await (const message of call) yield message;
    } catch (error) {
      throw "code" in (error as object)
        ? connectErrorOf(error as grpc.ServiceError, signal)
        : ConnectError.from(error);
    } finally {
      signal.removeEventListener("abort", cancel);
      // The consumer stopped early (or the stream ended): no more messages are wanted.
      call.cancel();
    }
  }
  return {
    stream: true,
    service: req.service,
    method: req.method,
    header,
    trailer,
    message: messages() as StreamResponse["message"],
  };
}

/**
 * A gRPC client transport over h2c to another Strata service, for Connect's typed clients, with
 * @grpc/grpc-js underneath: it costs about half of connect-node's client CPU per call
 * (`npm run bench:rpc`). One HTTP/2 connection is shared by all calls (multiplexed) and kept
 * alive with pings, so a dead peer is noticed between requests; a stream the peer refused
 * unprocessed (a server shutting down) is retried by grpc-js on a new connection. Calls are
 * traced (CLIENT spans, W3C trace context) when tracing is on.
 */
export function createRpcTransport({ baseUrl, interceptors = [] }: RpcTransportOptions): Transport {
  const url = new URL(baseUrl);
  const tls = url.protocol === "https:";
  // grpc-js's default port is 443 whatever the scheme; a URL's is 80 for http.
  const client = new grpc.Client(
    `${url.hostname}:${url.port || (tls ? 443 : 80)}`,
    tls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure(),
    {
      "grpc.keepalive_time_ms": 10_000,
      "grpc.keepalive_timeout_ms": 5_000,
      "grpc.keepalive_permit_without_calls": 1,
      "grpc.client_idle_timeout_ms": 5 * 60_000,
      // A peer that restarts is used again within a second, not after grpc-js's default
      // backoff (up to two minutes): calls fail fast while it is down, then reconnect.
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 1_000,
      // No size limit of the RPC layer's own (the gateway bounds what clients send).
      "grpc.max_receive_message_length": -1,
      "grpc.max_send_message_length": -1,
      "grpc.enable_channelz": 0,
    },
  );
  const all = [tracingClientInterceptor(), ...interceptors];
  const request = (
    method: DescMethod,
    signal: AbortSignal | undefined,
    header: ConstructorParameters<typeof Headers>[0],
    contextValues: ContextValues | undefined,
  ) => ({
    service: method.parent,
    requestMethod: "POST",
    url: `${baseUrl}/${method.parent.typeName}/${method.name}`,
    signal: signal ?? new AbortController().signal,
    header: new Headers(header),
    contextValues: contextValues ?? createContextValues(),
  });
  return {
    unary(method, signal, timeoutMs, header, input, contextValues) {
      const run = intercepted<UnaryRequest, UnaryResponse>(all, (req) =>
        unaryCall(client, req, timeoutMs),
      );
      return run({
        ...request(method, signal, header, contextValues),
        stream: false,
        method: method as never,
        message: create(method.input, input),
      }) as never;
    },
    stream(method, signal, timeoutMs, header, input, contextValues) {
      if (method.methodKind !== "server_streaming") {
        throw new ConnectError(`${method.name}: only server streaming`, Code.Unimplemented);
      }
      const run = intercepted<StreamRequest, StreamResponse>(all, (req) =>
        serverStreamingCall(client, req, timeoutMs),
      );
      async function* messages() {
        for await (const message of input) yield create(method.input, message);
      }
      return run({
        ...request(method, signal, header, contextValues),
        stream: true,
        method: method as never,
        message: messages(),
      }) as never;
    },
  };
}

/** A typed client of one service over a transport. */
export function createRpcClient<S extends DescService>(
  service: S,
  transport: Transport,
): Client<S> {
  return createClient(service, transport);
}

/** Sends `authorization: Bearer <token>` on every call (admin plane). */
export function bearerAuth(token: string): Interceptor {
  return (next) => (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
}
