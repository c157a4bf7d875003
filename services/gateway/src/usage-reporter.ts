import type { Client } from "@connectrpc/connect";
import type { Logger } from "@strata/platform";
import type { MeteringService, UsageRecord } from "@strata/proto";
import { Counter, Gauge, type Registry } from "prom-client";

/** Options of createUsageReporter. */
export interface UsageReporterOptions {
  metering: Client<typeof MeteringService>;
  logger: Logger;
  registry: Registry;
  timeoutMs: number;
  /** Most records held while metering is unreachable; beyond, records are dropped and counted. */
  maxPending?: number;
}

/** Sends each request's usage to metering off the response path. */
export interface UsageReporter {
  report(reservationId: string, usage: UsageRecord): void;
  /** Waits for pending records (retrying) until the deadline. */
  drain(deadlineMs: number): Promise<void>;
}

/**
 * Settles usage with metering after the response, never delaying it. A failed settle is retried
 * with backoff (Settle is idempotent on request id); records wait in a bounded queue, and any
 * record dropped is logged and counted so an alert can fire.
 */
export function createUsageReporter({
  metering,
  logger,
  registry,
  timeoutMs,
  maxPending = 50_000,
}: UsageReporterOptions): UsageReporter {
  const queue: Array<{ reservationId: string; usage: UsageRecord; attempts: number }> = [];
  let inflight = 0;
  const lost = new Counter({
    name: "strata_gateway_usage_records_lost_total",
    help: "Usage records the gateway could not deliver to metering.",
    registers: [registry],
  });
  new Gauge({
    name: "strata_gateway_usage_records_pending",
    help: "Usage records waiting to be settled with metering.",
    registers: [registry],
    collect() {
      this.set(queue.length + inflight);
    },
  });

  const send = async (item: { reservationId: string; usage: UsageRecord; attempts: number }) => {
    inflight++;
    try {
      await metering.settle(
        { reservationId: item.reservationId, usage: item.usage },
        { timeoutMs },
      );
    } catch (err) {
      item.attempts++;
      if (item.attempts >= 8 || queue.length >= maxPending) {
        lost.inc();
        logger.error(
          { err, requestId: item.usage.requestId, tenantId: item.usage.principal?.tenantId },
          "usage record lost",
        );
      } else {
        const delay = Math.min(30_000, 250 * 2 ** item.attempts);
        setTimeout(() => {
          queue.push(item);
          pump();
        }, delay).unref();
      }
    } finally {
      inflight--;
      pump();
    }
  };

  const pump = () => {
    while (queue.length > 0 && inflight < 64) {
      const item = queue.shift();
      if (item) void send(item);
    }
  };

  return {
    report(reservationId, usage) {
      if (queue.length >= maxPending) {
        lost.inc();
        logger.error({ requestId: usage.requestId }, "usage queue full: record lost");
        return;
      }
      queue.push({ reservationId, usage, attempts: 0 });
      pump();
    },
    async drain(deadlineMs) {
      const deadline = Date.now() + deadlineMs;
      while ((queue.length > 0 || inflight > 0) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}
