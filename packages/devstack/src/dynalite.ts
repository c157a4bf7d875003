import type { AddressInfo } from "node:net";
import dynalite from "dynalite";

/** A running dynalite: DynamoDB's API on loopback, in memory or on disk. */
export interface LocalDynamo {
  endpoint: string;
  close(): Promise<void>;
}

/**
 * Starts dynalite in this process on an ephemeral loopback port. With `path`, data is kept in
 * LevelDB there across restarts; without, in memory. Table creation is immediate (no CREATING
 * window), which suits a local stack and tests.
 */
export async function startDynalite({
  path,
  port = 0,
}: {
  path?: string;
  port?: number;
} = {}): Promise<LocalDynamo> {
  const server = dynalite({
    ...(path ? { path } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
