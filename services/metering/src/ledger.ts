import { BatchWriteCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Logger } from "@strata/platform";
import { Outcome, type UsageRecord } from "@strata/proto";
import { Counter, Gauge, type Registry } from "prom-client";

/** Options of createUsageLedger. */
export interface UsageLedgerOptions {
  doc: DynamoDBDocumentClient;
  table: string;
  logger: Logger;
  registry: Registry;
  flushIntervalMs: number;
  maxBuffered: number;
}

/** Buffers usage records and writes them to DynamoDB in batches. */
export interface UsageLedger {
  /**
   * Accepts a record and its cost in micro-units (what Settle charged its budgets); false when
   * the buffer is full and the record was dropped (counted).
   */
  record(record: UsageRecord, costMicros: number): boolean;
  /** Writes everything buffered now; resolves when written or when DynamoDB refused (kept for later). */
  flush(): Promise<void>;
  /** Stops the timer and drains the buffer, trying until the deadline. */
  close(deadlineMs: number): Promise<void>;
  readonly backlog: number;
}

/** BatchWriteItem takes at most 25 items. */
const batchSize = 25;

function outcomeName(outcome: Outcome): string {
  switch (outcome) {
    case Outcome.SUCCESS:
      return "success";
    case Outcome.CANCELLED:
      return "cancelled";
    case Outcome.ERROR:
      return "error";
    case Outcome.UNSPECIFIED:
      return "unspecified";
    default: {
      const never: never = outcome;
      return never;
    }
  }
}

/**
 * The ledger item for a record and its cost. Its key is derived from the request, and the cost
 * from the request's usage and price, so rewrites are harmless. `costMicros` is an integer in
 * micro-units of the price table's currency; items written before it was recorded lack it
 * (read as 0).
 */
export function usageItem(record: UsageRecord, costMicros: number): Record<string, unknown> {
  const startedAt = new Date(record.startedAtMs).toISOString();
  return {
    tenantId: record.principal?.tenantId ?? "",
    usageKey: `${startedAt}#${record.requestId}`,
    requestId: record.requestId,
    keyId: record.principal?.keyId ?? "",
    model: record.model,
    endpoint: record.endpoint,
    day: startedAt.slice(0, 10),
    startedAt,
    inputTokens: record.inputTokens,
    outputTokens: record.outputTokens,
    cacheReadInputTokens: record.cacheReadInputTokens,
    cacheWriteInputTokens: record.cacheWriteInputTokens,
    costMicros,
    latencyMs: record.latencyMs,
    status: record.status,
    outcome: outcomeName(record.outcome),
    stream: record.stream,
  };
}

/** An item's primary key, as one string: the buffer holds one item per key. */
function itemKey(item: Record<string, unknown>): string {
  return JSON.stringify([item.tenantId, item.usageKey]);
}

/**
 * The usage ledger writer. Records are buffered (bounded) and written every flush interval in
 * batches of 25; items DynamoDB leaves unprocessed, and whole batches that fail, stay in the
 * buffer for the next flush, so a DynamoDB outage delays records instead of losing them. Only a
 * full buffer drops records, and every drop is counted. The buffer holds one item per request: a
 * request settled again before its item was written replaces it (BatchWriteItem refuses a batch
 * that names one key twice, and would keep refusing it).
 */
export function createUsageLedger(options: UsageLedgerOptions): UsageLedger {
  const { doc, table, logger, registry } = options;
  const written = new Counter({
    name: "strata_metering_ledger_written_total",
    help: "Usage records written to the ledger.",
    registers: [registry],
  });
  const lost = new Counter({
    name: "strata_metering_ledger_lost_total",
    help: "Usage records dropped because the ledger buffer was full.",
    registers: [registry],
  });
  const failures = new Counter({
    name: "strata_metering_ledger_write_failures_total",
    help: "Failed ledger batch writes (records kept for retry).",
    registers: [registry],
  });
  let buffer = new Map<string, Record<string, unknown>>();
  new Gauge({
    name: "strata_metering_ledger_backlog",
    help: "Usage records waiting to be written.",
    registers: [registry],
    collect() {
      this.set(buffer.size);
    },
  });
  let flushing: Promise<void> | undefined;

  const writeBatch = async (
    items: Record<string, unknown>[],
  ): Promise<Record<string, unknown>[]> => {
    try {
      const result = await doc.send(
        new BatchWriteCommand({
          RequestItems: { [table]: items.map((Item) => ({ PutRequest: { Item } })) },
        }),
      );
      const unprocessed = (result.UnprocessedItems?.[table] ?? []).flatMap((r) =>
        r.PutRequest?.Item ? [r.PutRequest.Item] : [],
      );
      written.inc(items.length - unprocessed.length);
      return unprocessed;
    } catch (err) {
      failures.inc();
      logger.warn({ err, records: items.length }, "ledger batch write failed; will retry");
      return items;
    }
  };

  const flushOnce = async () => {
    const pending = [...buffer.values()];
    buffer = new Map();
    const retry = new Map<string, Record<string, unknown>>();
    for (let i = 0; i < pending.length; i += batchSize) {
      for (const item of await writeBatch(pending.slice(i, i + batchSize)))
        retry.set(itemKey(item), item);
    }
    // Records that arrived meanwhile go after the retried ones, and replace a retried item of the
    // same request (they are newer); order does not matter to the ledger.
    for (const [key, item] of buffer) retry.set(key, item);
    buffer = retry;
  };

  const flush = () => {
    flushing ??= flushOnce().finally(() => {
      flushing = undefined;
    });
    return flushing;
  };

  const timer = setInterval(() => {
    if (buffer.size > 0) void flush();
  }, options.flushIntervalMs);
  timer.unref();

  return {
    record(record, costMicros) {
      const item = usageItem(record, costMicros);
      const key = itemKey(item);
      if (buffer.size >= options.maxBuffered && !buffer.has(key)) {
        lost.inc();
        logger.error(
          { requestId: record.requestId, tenantId: record.principal?.tenantId },
          "ledger buffer full: usage record dropped",
        );
        return false;
      }
      buffer.set(key, item);
      return true;
    },
    flush,
    async close(deadlineMs) {
      clearInterval(timer);
      const deadline = Date.now() + deadlineMs;
      while (buffer.size > 0 && Date.now() < deadline) {
        await flush();
        if (buffer.size > 0) await new Promise((r) => setTimeout(r, 200));
      }
      if (buffer.size > 0) {
        lost.inc(buffer.size);
        logger.error(
          { records: buffer.size },
          "shutdown deadline reached: usage records not written",
        );
      }
    },
    get backlog() {
      return buffer.size;
    },
  };
}
