import type { Registry } from "prom-client";
import { notifyReady, onShutdown, type ShutdownStep } from "./lifecycle.ts";
import type { Logger } from "./logger.ts";
import { startOpsServer } from "./ops-server.ts";
import type { Tracing } from "./tracing.ts";

/** What a service's main server must offer to be run. */
export interface Servable {
  setServing(serving: boolean): void;
  isServing(): boolean;
  close(graceMs: number): Promise<void>;
}

/** Options of runService. */
export interface RunServiceOptions {
  service: string;
  logger: Logger;
  registry: Registry;
  server: Servable;
  /** The settings of `commonEnv`. */
  config: {
    STRATA_HOST: string;
    STRATA_METRICS_PORT: number;
    STRATA_SHUTDOWN_GRACE_MS: number;
    STRATA_SHUTDOWN_DRAIN_MS: number;
  };
  /** The ports the server bound, reported to a parent and logged (`metrics` is added). */
  ports: Record<string, number>;
  /** Steps after the server has closed: flushing buffers, closing clients. */
  afterClose?: ShutdownStep[];
  /** Extra fields for the "ready" log line. */
  details?: Record<string, unknown>;
  /** The service's tracer (startTracing); its buffered spans are exported after `afterClose`. */
  tracing?: Tracing;
}

/**
 * The common end of every service's main.ts: starts the ops server (metrics, health), marks the
 * service ready, and on SIGTERM stops in order — readiness off, wait for endpoints to drop the pod,
 * close the server (in-flight calls finish within the grace period), run `afterClose`, stop the
 * ops server — then exits. Logs one ready line and reports the bound ports to a parent process.
 */
/** Time kept after the servers close for `afterClose` (flushing usage and ledger buffers). */
const flushReserveMs = 3_000;

export async function runService({
  service,
  logger,
  registry,
  server,
  config,
  ports,
  afterClose = [],
  details,
  tracing,
}: RunServiceOptions) {
  const ops = await startOpsServer({
    host: config.STRATA_HOST,
    port: config.STRATA_METRICS_PORT,
    registry,
    isReady: () => server.isServing(),
  });
  server.setServing(true);
  onShutdown({
    logger,
    graceMs: config.STRATA_SHUTDOWN_GRACE_MS,
    steps: [
      { name: "readiness", run: () => server.setServing(false) },
      {
        name: "drain",
        run: () => new Promise<void>((r) => setTimeout(r, config.STRATA_SHUTDOWN_DRAIN_MS)),
      },
      // In-flight calls get what is left of the grace period, less what the buffers of
      // `afterClose` (usage records, ledger writes) need to be flushed or counted.
      {
        name: "server",
        run: (remainingMs) => server.close(Math.max(remainingMs / 2, remainingMs - flushReserveMs)),
      },
      ...afterClose,
      ...(tracing ? [{ name: "tracing", run: () => tracing.shutdown() }] : []),
      { name: "ops", run: () => ops.close() },
    ],
  });
  const allPorts = { ...ports, metrics: ops.port };
  logger.info({ ports: allPorts, ...details }, `${service} ready`);
  notifyReady({ service, ports: allPorts });
}
