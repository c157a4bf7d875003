import { createServer, type Server, Socket } from "node:net";

/** A dependency as its clients see it through the relay. */
export type RelayMode =
  /** Bytes flow both ways. */
  | "open"
  /** Connections are accepted but no byte moves either way (a hung peer, a black-holed route). */
  | "stalled"
  /** Every connection is reset at once, old and new (a crashed host, a dropped network). */
  | "down";

/** A TCP relay on loopback in front of one dependency, which a test can stall, cut and restore. */
export interface TcpRelay {
  /** `127.0.0.1:<port>` clients connect to. */
  readonly port: number;
  readonly mode: RelayMode;
  /** Stalled: held bytes are delivered once the relay opens again. Down: resets everything. */
  set(mode: RelayMode): void;
  /** Points new connections at another port (the dependency restarted elsewhere). */
  retarget(port: number): void;
  /**
   * Resets every open connection and goes on accepting new ones (a dropped network, a peer
   * restarted in place); returns how many there were (each relayed connection counts once).
   */
  cut(): number;
  /** Stops listening and resets every connection. */
  close(): Promise<void>;
}

/**
 * Starts a relay to `127.0.0.1:<targetPort>`. Forwarding is by hand (not `pipe`) so a stall is
 * exact: while stalled, no socket is read, so bytes stay in the kernel and the peers' writes
 * eventually block, as with a peer that stopped answering.
 */
export async function startTcpRelay(targetPort: number): Promise<TcpRelay> {
  let target = targetPort;
  let mode: RelayMode = "open";
  const sockets = new Set<Socket>();

  const forward = (from: Socket, to: Socket) => {
    from.on("data", (chunk: Buffer) => {
      if (!to.write(chunk)) from.pause();
    });
    to.on("drain", () => {
      if (mode === "open") from.resume();
    });
    from.on("end", () => to.end());
  };

  const server: Server = createServer((client) => {
    if (mode === "down") {
      client.resetAndDestroy();
      return;
    }
    const upstream = new Socket();
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
      if (mode === "stalled") s.pause();
    }
    forward(client, upstream);
    forward(upstream, client);
    upstream.connect(target, "127.0.0.1");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("relay has no port");

  return {
    port: address.port,
    get mode() {
      return mode;
    },
    set(next) {
      mode = next;
      for (const s of sockets) {
        if (next === "down") s.resetAndDestroy();
        else if (next === "stalled") s.pause();
        else s.resume();
      }
    },
    retarget(port) {
      target = port;
    },
    cut() {
      const open = sockets.size / 2;
      for (const s of sockets) s.resetAndDestroy();
      return open;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.resetAndDestroy();
        server.close(() => resolve());
      }),
  };
}
