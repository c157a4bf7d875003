import type { OpenAIErrorBody } from "@strata/errors";
import { StrataError } from "@strata/errors";

/**
 * The part of node's `http.ServerResponse` (or the `http2` compatibility response) the writer
 * uses, so tests can pass a fake and both HTTP versions fit.
 */
export interface SseResponse {
  writeHead(statusCode: number, headers: Record<string, string>): unknown;
  write(chunk: string): boolean;
  end(): unknown;
  on(event: "drain" | "close", listener: () => void): unknown;
  /** Used to drop the listeners of a backpressure wait once it is over. */
  removeListener?(event: "drain" | "close", listener: () => void): unknown;
  readonly writableEnded: boolean;
  readonly destroyed: boolean;
}

/** Writes one streamed answer as server-sent events in OpenAI's format. */
export interface SseWriter {
  /**
   * Sends the 200 and the SSE headers (plus `headers`, e.g. `x-request-id`). Called implicitly by
   * the first send/comment/done/fail. Before it, a failure can still be a normal HTTP error.
   */
  open(headers?: Record<string, string>): void;
  /** Whether the 200 went out. */
  readonly opened: boolean;
  /**
   * Writes `data: <json>`. Resolves at once unless the socket buffer is full; then when it drains
   * or the client goes away — await it so a slow client slows the upstream read, not memory.
   */
  send(json: unknown): Promise<void>;
  /** An SSE comment (`: keep-alive`), ignored by clients: keeps proxies from timing out. */
  comment(text?: string): void;
  /** Ends a successful stream with `data: [DONE]`. */
  done(): void;
  /**
   * Ends a failed stream with `data: {"error":…}` and no `[DONE]`: the SDKs then throw an APIError
   * with this message, type and code instead of returning a truncated answer.
   */
  fail(body: OpenAIErrorBody): void;
}

/** Headers of every stream. No `connection` header: HTTP/2 forbids it, HTTP/1.1 keeps alive anyway. */
const sseHeaders: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  // nginx (and ingress-nginx) buffer responses by default, which would hold chunks back.
  "x-accel-buffering": "no",
};

const resolved = Promise.resolve();

/**
 * Creates the SSE writer of one response (docs/wire-formats.md#streaming-with-server-sent-events).
 * Each chunk is serialised once, straight into the frame; writes after the response ended (client
 * gone) are dropped silently.
 */
export function createSseWriter(res: SseResponse): SseWriter {
  let opened = false;
  const writable = () => !res.writableEnded && !res.destroyed;

  const open = (headers: Record<string, string> = {}) => {
    if (opened) return;
    opened = true;
    if (writable()) res.writeHead(200, { ...sseHeaders, ...headers });
  };

  const finish = (frame: string) => {
    open();
    if (!writable()) return;
    res.write(frame);
    res.end();
  };

  return {
    open,
    get opened() {
      return opened;
    },
    send(json) {
      open();
      if (!writable()) return resolved;
      let frame: string;
      try {
        frame = `data: ${JSON.stringify(json)}\n\n`;
      } catch (error) {
        return Promise.reject(new StrataError("internal", undefined, { cause: error }));
      }
      if (res.write(frame)) return resolved;
      return new Promise<void>((resolve) => {
        const settle = () => {
          res.removeListener?.("drain", settle);
          res.removeListener?.("close", settle);
          resolve();
        };
        res.on("drain", settle);
        res.on("close", settle);
      });
    },
    comment(text = "keep-alive") {
      open();
      if (writable()) res.write(`: ${text.replace(/[\r\n]+/g, " ")}\n\n`);
    },
    done() {
      finish("data: [DONE]\n\n");
    },
    fail(body) {
      finish(`data: ${JSON.stringify(body)}\n\n`);
    },
  };
}
