import { createServer, type Server, Socket } from "node:net";

/**
 * A round-robin TCP load balancer on loopback, standing in for a Kubernetes Service (kube-proxy)
 * or a cloud load balancer in front of a Deployment's pods: each new connection goes to the next
 * backend; removing a backend (its pod became Terminating, its endpoint was withdrawn) only
 * affects new connections — established ones stay where they are, as with conntrack, so the
 * server has to end them itself (HTTP/2 GOAWAY, `Connection: close`).
 */
export interface TcpBalancer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  add(port: number): void;
  remove(port: number): void;
  /** Connections accepted per backend port so far. */
  readonly connections: ReadonlyMap<number, number>;
  close(): Promise<void>;
}

export async function startTcpBalancer(backends: number[]): Promise<TcpBalancer> {
  let ports = [...backends];
  let next = 0;
  const connections = new Map<number, number>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const port = ports[next++ % Math.max(1, ports.length)];
    if (port === undefined) {
      client.resetAndDestroy();
      return;
    }
    connections.set(port, (connections.get(port) ?? 0) + 1);
    const upstream = new Socket();
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    upstream.connect(port, "127.0.0.1");
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    url: `http://127.0.0.1:${address.port}`,
    add: (port) => {
      ports = [...ports, port];
    },
    remove: (port) => {
      ports = ports.filter((p) => p !== port);
    },
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
