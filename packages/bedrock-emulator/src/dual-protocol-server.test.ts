import { once } from "node:events";
import { connect as connectHttp2 } from "node:http2";
import { connect as connectTcp } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDualProtocolServer, type DualProtocolServer } from "./dual-protocol-server.ts";
import { createHttpExchange } from "./http-exchange.ts";

let server: DualProtocolServer;
let port: number;
/** About the size of a Cohere embedding answer for 96 texts. */
const bigBody = "x".repeat(2_000_000);

beforeAll(async () => {
  server = createDualProtocolServer({
    onRequest(req, res) {
      if (req.url === "/big") {
        createHttpExchange(req, res).respond(200, { "content-type": "text/plain" }, bigBody);
        return;
      }
      createHttpExchange(req, res).respond(
        req.method === "DELETE" ? 204 : 200,
        { "content-type": "text/plain" },
        `HTTP/${req.httpVersion} ${req.method} ${req.url}`,
      );
    },
  });
  ({ port } = await server.listen(0, "127.0.0.1"));
});

afterAll(() => server.close());

/** Sends a raw HTTP/1.1 request in pieces, with pauses, and returns the raw response. */
async function rawHttp1(pieces: string[]): Promise<string> {
  const socket = connectTcp(port, "127.0.0.1");
  await new Promise((resolve) => socket.once("connect", resolve));
  let response = "";
  socket.setEncoding("utf8").on("data", (chunk: string) => {
    response += chunk;
  });
  const ended = new Promise((resolve) => socket.once("end", resolve));
  for (const piece of pieces) {
    socket.write(piece);
    await sleep(20);
  }
  await ended;
  return response;
}

describe("dual-protocol server", () => {
  it("serves HTTP/1.1 even when the first packet is a single byte", async () => {
    const response = await rawHttp1([
      "G",
      "ET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ]);
    expect(response).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(response).toContain("HTTP/1.1 GET /a");
  });

  it("serves HTTP/1.1 requests that start like the HTTP/2 preface", async () => {
    const response = await rawHttp1([
      "PR",
      "OPFIND /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ]);
    expect(response).toContain("HTTP/1.1 PROPFIND /b");
  });

  it("serves h2c with prior knowledge on the same port", async () => {
    const session = connectHttp2(`http://127.0.0.1:${port}`);
    try {
      const stream = session.request({ ":method": "GET", ":path": "/c" });
      let body = "";
      stream.setEncoding("utf8").on("data", (chunk: string) => {
        body += chunk;
      });
      await new Promise((resolve) => stream.once("end", resolve));
      expect(body).toBe("HTTP/2.0 GET /c");
    } finally {
      session.close();
    }
  });

  it("sends 204 responses over h2c without a payload", async () => {
    const session = connectHttp2(`http://127.0.0.1:${port}`);
    try {
      const stream = session.request({ ":method": "DELETE", ":path": "/no-content" });
      const [headers] = (await once(stream, "response")) as [Record<string, unknown>];
      stream.resume();
      await once(stream, "end");
      expect(headers[":status"]).toBe(204);
      expect(headers["content-length"]).toBeUndefined();
    } finally {
      session.close();
    }
  });

  it("keeps accepting streams while a slow client holds several large answers unread", async () => {
    // Regression: with Node's default 10 MB per connection, the 9th stream was refused with
    // ENHANCE_YOUR_CALM and, once the client reset the unread ones, every later stream too — a
    // 2,048-input Cohere embedding request broke the inference service's Bedrock connection.
    const session = connectHttp2(`http://127.0.0.1:${port}`);
    const status = async (path: string) => {
      const stream = session.request({ ":method": "GET", ":path": path });
      const [headers] = (await once(stream, "response")) as [Record<string, unknown>];
      return { stream, status: headers[":status"] };
    };
    try {
      // Unread: no "data" listener, so flow control leaves the answers buffered in the server.
      const unread = await Promise.all(Array.from({ length: 8 }, () => status("/big")));
      await sleep(100);
      const ninth = await status("/c");
      ninth.stream.resume();
      expect(ninth.status).toBe(200);
      for (const { stream } of unread) stream.close();
      await sleep(100);
      const after = await status("/c");
      after.stream.resume();
      expect(after.status).toBe(200);
    } finally {
      session.destroy();
    }
  });

  it("drops connections that close before sending anything", async () => {
    const socket = connectTcp(port, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.end();
    await new Promise((resolve) => socket.once("close", resolve));
    const response = await rawHttp1(["GET /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"]);
    expect(response).toContain("GET /d");
  });
});
