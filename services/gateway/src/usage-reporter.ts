import type { Client } from "@connectrpc/connect";
import { asStrataError } from "@strata/errors";
import type { Logger } from "@strata/platform";
import type { MeteringService, TokenPrice, UsageRecord } from "@strata/proto";
import { Counter, Gauge, type Registry } from "prom-client";

/** Options of createUsageReporter. */
export interface UsageReporterOptions {
  metering: Client<typeof MeteringService>;
  logger: Logger;
  registry: Registry;
  timeoutMs: number;
  /** Most records held while metering is unreachable; beyond, records are dropped and counted. */
  maxPending?: number;
  /** Most settlements per Settle call. */
  maxBatch?: number;
  /** How long a record may wait for others to share its call. */
  lingerMs?: number;
}

/** Sends each request's usage to metering off the response path. */
export interface UsageReporter {
  /**
   * Queues a request's usage for Settle, with the model's price (what metering prices the usage
   * at when it has no reservation to read the price from; see strata.metering.v1.Settlement).
   */
  report(reservationId: string, usage: UsageRecord, price?: TokenPrice): void;
  /** Sends what is pending (retrying) until the deadline. */
  drain(deadlineMs: number): Promise<void>;
}

interface Pending {
  reservationId: string;
  usage: UsageRecord;
  price?: TokenPrice;
}

/**
 * Settles usage with metering after the response, never delaying it. Records are gathered for a
 * few milliseconds and sent many per call (one RPC per request would cost as much CPU as the
 * request itself). A failed call is retried with backoff — Settle is idempotent on request id —
 * while records wait in a bounded queue; a record dropped because the queue is full or metering
 * refused it outright is logged and counted, so an alert can fire.
 */
export function createUsageReporter({
  metering,
  logger,
  registry,
  timeoutMs,
  maxPending = 50_000,
  maxBatch = 500,
  lingerMs = 10,
}: UsageReporterOptions): UsageReporter {
  let queue: Pending[] = [];
  let sending = false;
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
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
      this.set(queue.length);
    },
  });

  const schedule = (delayMs: number) => {
    if (timer || sending) return;
    timer = setTimeout(() => {
      timer = undefined;
      void send();
    }, delayMs);
    timer.unref();
  };

  const send = async () => {
    if (sending || queue.length === 0) return;
    sending = true;
    const batch = queue.slice(0, maxBatch);
    try {
      await metering.settle({ settlements: batch }, { timeoutMs });
      queue = queue.slice(batch.length);
      failures = 0;
    } catch (err) {
      const strata = asStrataError(err);
      if (strata.reason === "invalid_request") {
        // Metering will never accept these: retrying would block every later record.
        queue = queue.slice(batch.length);
        lost.inc(batch.length);
        logger.error(
          { err: strata, records: batch.length },
          "metering refused usage records: lost",
        );
      } else {
        failures++;
        logger.warn(
          { err: strata.cause ?? strata, records: queue.length },
          "settling usage failed; will retry",
        );
      }
    } finally {
      sending = false;
    }
    if (queue.length > 0) schedule(failures > 0 ? Math.min(30_000, 100 * 2 ** failures) : 0);
  };

  return {
    report(reservationId, usage, price) {
      if (queue.length >= maxPending) {
        lost.inc();
        logger.error(
          { requestId: usage.requestId, tenantId: usage.principal?.tenantId },
          "usage queue full: record lost",
        );
        return;
      }
      queue.push({ reservationId, usage, price });
      schedule(queue.length >= maxBatch ? 0 : lingerMs);
    },
    async drain(deadlineMs) {
      const deadline = Date.now() + deadlineMs;
      while (queue.length > 0 && Date.now() < deadline) {
        if (timer) {
          clearTimeout(timer);
          timer = undefined;
        }
        await send();
        if (queue.length > 0) await new Promise((r) => setTimeout(r, 100));
      }
      if (queue.length > 0) {
        lost.inc(queue.length);
        logger.error(
          { records: queue.length },
          "shutdown deadline reached: usage records not settled",
        );
      }
    },
  };
}
