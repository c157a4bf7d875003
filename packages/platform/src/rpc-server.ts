import { createServer, type Http2Server, type Http2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import {
  type ConnectRouter,
  createContextKey,
  createContextValues,
  type Interceptor,
  type StreamResponse,
} from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { context } from "@opentelemetry/api";
import { asStrataError, toConnectError } from "@strata/errors";
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

/**
 * Serves Connect routes over gRPC on HTTP/2 cleartext (h2c), the in-cluster protocol of Strata.
 * Deadlines arrive as `grpc-timeout` and abort `ctx.signal`, which handlers pass downstream.
 */
export async function createRpcServer(options: RpcServerOptions): Promise<RpcServer> {
  const handler = connectNodeAdapter({
    routes: options.routes,
    grpc: true,
    grpcWeb: false,
    connect: true,
    interceptors: [
      errorInterceptor(options.logger),
      tracingServerInterceptor(),
      ...(options.interceptors ?? []),
    ],
    contextValues: (req) =>
      createContextValues().set(remoteAddressKey, req.socket.remoteAddress ?? ""),
  });
  const server: Http2Server = createServer(handler);
  const sessions = new Set<Http2Session>();
  const maxAgeMs = options.maxConnectionAgeMs ?? 5 * 60_000;
  const graceMs = options.maxConnectionAgeGraceMs ?? 10 * 60_000;
  server.on("session", (session) => {
    sessions.add(session);
    const age = setTimeout(
      () => {
        // GOAWAY: no new calls on this connection; the client opens a fresh one (re-balanced).
        session.close();
        setTimeout(() => session.destroy(), graceMs).unref();
      },
      maxAgeMs * (0.9 + Math.random() * 0.2),
    );
    age.unref();
    session.once("close", () => {
      clearTimeout(age);
      sessions.delete(session);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: (graceMs) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          for (const session of sessions) session.destroy();
        }, graceMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        for (const session of sessions) session.close();
      }),
  };
}
