/**
 * One HTTP request/response pair, the same for HTTP/1.1 (`node:http`) and HTTP/2 (`node:http2`
 * compat API). Handlers never see which protocol carried the request, except as a field for the
 * request log. The exchange owns the abort signal: it fires when the client goes away (socket
 * closed, h2 stream reset) before the response finished, so every wait in a handler can stop
 * generating at once.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { EmulatorError } from "./emulator-error.ts";

/** The request objects either server hands out. */
export type NodeRequest = IncomingMessage | Http2ServerRequest;
/** The response objects either server hands out. */
export type NodeResponse = ServerResponse | Http2ServerResponse;

/** The subset of both response APIs the exchange uses. */
interface ResponseSink {
  writeHead(status: number, headers: OutgoingHttpHeaders): unknown;
  write(chunk: Uint8Array): boolean;
  end(body?: string | Uint8Array): unknown;
  /** Present at runtime on both; `@types/node` omits it on `Http2ServerResponse`. */
  flushHeaders?(): void;
  destroy(): unknown;
  readonly headersSent: boolean;
  once(event: "close" | "drain", listener: () => void): unknown;
  off(event: "drain", listener: () => void): unknown;
}

/** A protocol-neutral view of one exchange. */
export interface HttpExchange {
  readonly method: string;
  /** The path exactly as received (percent-encoding intact), without the query. */
  readonly rawPath: string;
  /** The query string as received, without `?`. */
  readonly rawQuery: string;
  readonly httpVersion: "1.1" | "2";
  /** Header by lower-case name; repeated headers are joined with ", ". */
  header(name: string): string | undefined;
  /** Aborted when the client disconnects before the response finished. */
  readonly signal: AbortSignal;
  /** Whether the status line/headers already went out (errors can then no longer be sent). */
  readonly headersSent: boolean;
  /** Reads the whole request body; ValidationException beyond `maxBytes`. */
  readBody(maxBytes: number): Promise<Buffer>;
  /** Sends a complete response with `content-length`. */
  respond(
    status: number,
    headers: Readonly<Record<string, string>>,
    body: string | Uint8Array,
  ): void;
  /** Sends status and headers now and keeps the body open for {@link write}. */
  startStream(status: number, headers: Readonly<Record<string, string>>): void;
  /** Writes a body chunk; resolves once the transport accepted it (backpressure), rejects on abort. */
  write(chunk: Uint8Array): Promise<void>;
  /** Ends a streamed body. */
  end(): void;
  /** Tears the exchange down without a proper end (the client sees a broken response). */
  destroy(): void;
}

/** The error `write` rejects with after the client went away. */
export class ClientAbortedError extends Error {
  constructor() {
    super("The client closed the connection.");
    this.name = "ClientAbortedError";
  }
}

/** Wraps a Node request/response pair from either server into an {@link HttpExchange}. */
export function createHttpExchange(req: NodeRequest, res: NodeResponse): HttpExchange {
  const sink: ResponseSink = res;
  const controller = new AbortController();
  // "Finished" means we ended the response ourselves. The events cannot tell: the HTTP/2 compat
  // response emits 'finish' and then 'close' even when the client reset the stream.
  let ended = false;
  sink.once("close", () => {
    if (!ended) controller.abort(new ClientAbortedError());
  });

  const url = req.url ?? "/";
  const queryAt = url.indexOf("?");
  const rawPath = queryAt < 0 ? url : url.slice(0, queryAt);
  const rawQuery = queryAt < 0 ? "" : url.slice(queryAt + 1);
  const signal = controller.signal;

  return {
    method: req.method ?? "GET",
    rawPath,
    rawQuery,
    httpVersion: req.httpVersion.startsWith("2") ? "2" : "1.1",
    signal,
    get headersSent() {
      return sink.headersSent;
    },
    header(name) {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(", ") : value;
    },
    async readBody(maxBytes) {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of req) {
        const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
        size += buffer.length;
        if (size > maxBytes) {
          throw new EmulatorError(
            "ValidationException",
            `The request body exceeds the maximum size of ${maxBytes} bytes.`,
          );
        }
        chunks.push(buffer);
      }
      return Buffer.concat(chunks);
    },
    respond(status, headers, body) {
      if (signal.aborted) return;
      ended = true;
      if (status === 204) {
        // No body and no content-length on 204 (RFC 9110 §8.6; HTTP/2 rejects a payload).
        sink.writeHead(status, headers);
        sink.end();
        return;
      }
      sink.writeHead(status, { ...headers, "content-length": Buffer.byteLength(body) });
      sink.end(body);
    },
    startStream(status, headers) {
      if (signal.aborted) return;
      sink.writeHead(status, headers);
      sink.flushHeaders?.();
    },
    write(chunk) {
      if (signal.aborted) return Promise.reject(new ClientAbortedError());
      if (sink.write(chunk)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => {
          sink.off("drain", onDrain);
          reject(new ClientAbortedError());
        };
        sink.once("drain", onDrain);
        signal.addEventListener("abort", onAbort, { once: true });
      });
    },
    end() {
      if (signal.aborted) return;
      ended = true;
      sink.end();
    },
    destroy() {
      sink.destroy();
    },
  };
}
