import { EventEmitter } from "node:events";
import type { SseResponse } from "../sse-writer.ts";

/**
 * Test support: an in-memory SseResponse that records what is written. `writeReturns` makes
 * write() report a full buffer, as a socket under backpressure does.
 */
export class FakeResponse extends EventEmitter implements SseResponse {
  status: number | undefined;
  headers: Record<string, string> = {};
  readonly writes: string[] = [];
  writableEnded = false;
  destroyed = false;
  writeReturns = true;

  writeHead(statusCode: number, headers: Record<string, string>): this {
    this.status = statusCode;
    this.headers = headers;
    return this;
  }

  write(chunk: string): boolean {
    if (this.writableEnded) throw new Error("write after end");
    this.writes.push(chunk);
    return this.writeReturns;
  }

  end(): this {
    this.writableEnded = true;
    return this;
  }

  /** Everything written, as one string. */
  get body(): string {
    return this.writes.join("");
  }
}
