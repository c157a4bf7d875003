/**
 * HTTP/1.1 and cleartext HTTP/2 (h2c, prior knowledge) on one port. The Bedrock Runtime SDK uses
 * HTTP/2 by default while curl, proxies and `NodeHttpHandler` clients speak HTTP/1.1, so the
 * emulator must serve both (docs/wire-formats.md#http11-and-http2-on-one-port). A `net.Server`
 * peeks at the first bytes of each connection: the HTTP/2 connection preface goes to an `http2`
 * server, anything else to an `http` server. Peeking uses `readable` + `read()` + `unshift()`;
 * `data` + `pause()` breaks the HTTP/2 session (GOAWAY) because resuming flushes the preface too
 * early.
 */
import { createServer as createHttp1Server } from "node:http";
import { createServer as createHttp2Server, type Http2Session } from "node:http2";
import { type AddressInfo, createServer as createNetServer, type Socket } from "node:net";
import type { NodeRequest, NodeResponse } from "./http-exchange.ts";

/** The HTTP/2 client connection preface (RFC 9113 §3.4). */
const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/**
 * Memory an HTTP/2 connection may hold, in megabytes (Node's default is 10). The emulator answers
 * whole bodies at once, so a client that reads a few large answers slowly (a Cohere embedding
 * batch is about 2 MB of JSON) exhausts the default: Node then refuses every new stream of that
 * connection with ENHANCE_YOUR_CALM, for good once the client has reset streams, and each later
 * Bedrock call of the service sharing it fails. An emulator has no reason to ration memory.
 */
const http2SessionMemoryMb = 512;

/** Options of {@link createDualProtocolServer}. */
export interface DualProtocolServerOptions {
  /** Called for every request, whatever the protocol. Must not throw or reject. */
  readonly onRequest: (req: NodeRequest, res: NodeResponse) => void;
}

/** A listening socket that serves HTTP/1.1 and h2c. */
export interface DualProtocolServer {
  listen(port: number, host: string): Promise<AddressInfo>;
  /** Stops accepting, then destroys every open HTTP/2 session and socket. */
  close(): Promise<void>;
}

/**
 * True when `bytes` is (so far) consistent with the HTTP/2 preface; `undefined` when more bytes
 * are needed to decide.
 */
function looksLikeHttp2(bytes: Buffer): boolean | undefined {
  const n = Math.min(bytes.length, HTTP2_PREFACE.length);
  if (!bytes.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n))) return false;
  return n === HTTP2_PREFACE.length ? true : undefined;
}

/** Creates the server; nothing listens until {@link DualProtocolServer.listen}. */
export function createDualProtocolServer(options: DualProtocolServerOptions): DualProtocolServer {
  const sockets = new Set<Socket>();
  const sessions = new Set<Http2Session>();

  const http1 = createHttp1Server({ keepAliveTimeout: 5000 }, options.onRequest);
  http1.on("clientError", (_error, socket) => socket.destroy());

  const http2 = createHttp2Server({ maxSessionMemory: http2SessionMemoryMb }, options.onRequest);
  http2.on("session", (session) => {
    sessions.add(session);
    session.on("error", () => session.destroy());
    session.once("close", () => sessions.delete(session));
  });
  http2.on("sessionError", () => {});

  const route = (socket: Socket) => {
    let peeked = Buffer.alloc(0);
    const onEnd = () => {
      cleanup();
      socket.destroy();
    };
    const onReadable = () => {
      let chunk: Buffer | null = socket.read() as Buffer | null;
      while (chunk !== null) {
        peeked = Buffer.concat([peeked, chunk]);
        chunk = socket.read() as Buffer | null;
      }
      const http2Preface = looksLikeHttp2(peeked);
      if (http2Preface === undefined) return;
      cleanup();
      socket.unshift(peeked);
      (http2Preface ? http2 : http1).emit("connection", socket);
    };
    const cleanup = () => {
      socket.off("readable", onReadable);
      socket.off("end", onEnd);
    };
    socket.on("readable", onReadable);
    socket.once("end", onEnd);
  };

  const net = createNetServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.setNoDelay(true);
    route(socket);
  });

  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        const onError = (error: Error) => reject(error);
        net.once("error", onError);
        net.listen(port, host, () => {
          net.off("error", onError);
          resolve(net.address() as AddressInfo);
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        if (!net.listening) {
          resolve();
          return;
        }
        net.close(() => resolve());
        for (const session of sessions) session.destroy();
        for (const socket of sockets) socket.destroy();
        http1.closeAllConnections();
      });
    },
  };
}
