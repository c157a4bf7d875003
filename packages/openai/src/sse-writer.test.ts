import type { ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import { describe, expect, it } from "vitest";
import { createSseWriter, type SseResponse } from "./sse-writer.ts";
import { FakeResponse } from "./testing/fake-response.ts";

// Both of node's response types must fit, or the gateway cannot pass them (checked by tsc).
const fitsHttp1 = (res: ServerResponse): SseResponse => res;
const fitsHttp2 = (res: Http2ServerResponse): SseResponse => res;

const errorBody = {
  error: { message: "Upstream failed.", type: "server_error", param: null, code: "internal_error" },
};

describe("createSseWriter", () => {
  it("opens with 200, the SSE headers and the given ones", () => {
    const res = new FakeResponse();
    createSseWriter(res).open({ "x-request-id": "req-1" });
    expect(res.status).toBe(200);
    expect(res.headers).toEqual({
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
      "x-request-id": "req-1",
    });
    expect(fitsHttp1).toBeTypeOf("function");
    expect(fitsHttp2).toBeTypeOf("function");
  });

  it("writes each JSON value as one data event and ends with [DONE]", async () => {
    const res = new FakeResponse();
    const writer = createSseWriter(res);
    await writer.send({ a: 1 });
    await writer.send({ b: "two" });
    writer.done();
    expect(res.body).toBe('data: {"a":1}\n\ndata: {"b":"two"}\n\ndata: [DONE]\n\n');
    expect(res.writableEnded).toBe(true);
  });

  it("opens implicitly on the first write", async () => {
    const res = new FakeResponse();
    const writer = createSseWriter(res);
    expect(writer.opened).toBe(false);
    await writer.send({});
    expect(writer.opened).toBe(true);
    expect(res.status).toBe(200);
  });

  it("ends a failed stream with the error event and without [DONE]", async () => {
    const res = new FakeResponse();
    const writer = createSseWriter(res);
    await writer.send({ a: 1 });
    writer.fail(errorBody);
    expect(res.body).toBe(`data: {"a":1}\n\ndata: ${JSON.stringify(errorBody)}\n\n`);
    expect(res.body).not.toContain("[DONE]");
    expect(res.writableEnded).toBe(true);
  });

  it("writes keep-alive comments, on one line whatever the text", () => {
    const res = new FakeResponse();
    const writer = createSseWriter(res);
    writer.comment();
    writer.comment("a\nb\r\nc");
    expect(res.body).toBe(": keep-alive\n\n: a b c\n\n");
  });

  it("waits for 'drain' when the socket buffer is full", async () => {
    const res = new FakeResponse();
    res.writeReturns = false;
    const writer = createSseWriter(res);
    let sent = false;
    const pending = writer.send({ big: true }).then(() => {
      sent = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toBe(false);
    res.emit("drain");
    await pending;
    expect(sent).toBe(true);
    expect(res.listenerCount("drain") + res.listenerCount("close")).toBe(0);
  });

  it("stops waiting when the client goes away", async () => {
    const res = new FakeResponse();
    res.writeReturns = false;
    const pending = createSseWriter(res).send({});
    res.destroyed = true;
    res.emit("close");
    await expect(pending).resolves.toBeUndefined();
  });

  it("resolves at once without backpressure", async () => {
    const res = new FakeResponse();
    const writer = createSseWriter(res);
    let sent = false;
    void writer.send({}).then(() => {
      sent = true;
    });
    await Promise.resolve();
    expect(sent).toBe(true);
  });

  it("drops writes once the client is gone or the stream ended", async () => {
    const res = new FakeResponse();
    const writer = createSseWriter(res);
    writer.done();
    await writer.send({ late: true });
    writer.comment();
    writer.done();
    writer.fail(errorBody);
    expect(res.body).toBe("data: [DONE]\n\n");

    const gone = new FakeResponse();
    gone.destroyed = true;
    const other = createSseWriter(gone);
    await other.send({});
    other.done();
    expect(gone.writes).toEqual([]);
  });

  it("rejects a value that cannot be serialised with a StrataError", async () => {
    const writer = createSseWriter(new FakeResponse());
    await expect(writer.send({ n: 1n })).rejects.toMatchObject({ reason: "internal" });
  });
});
