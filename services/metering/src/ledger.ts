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
  /**
   * Longest wait for one BatchWriteItem, the SDK's retries included. Past it the batch counts as
   * a failed write and stays buffered: a DynamoDB that hangs (no answer, no error) delays records
   * like one that refuses, instead of wedging the writer and the shutdown drain. Default 5,000 ms.
   */
  writeTimeoutMs?: number;
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
  /**
   * Stops the timer and drains the buffer, trying until the deadline (a write still in flight
   * then is abandoned); what is left is counted as lost.
   */
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
 * batches of 25; items DynamoDB leaves unprocessed, and whole batches that fail or time out, stay
 * in the buffer for the next flush, so a DynamoDB outage delays records instead of losing them.
 * A record leaves the buffer only once DynamoDB has taken it, so the backlog gauge and the
 * shutdown count include the batch in flight. Only a full buffer, or a shutdown deadline, drops
 * records, and every drop is counted. The buffer holds one item per request: a request settled
 * again before its item was written replaces it (BatchWriteItem refuses a batch that names one key
 * twice, and would keep refusing it).
 */
export function createUsageLedger(options: UsageLedgerOptions): UsageLedger {
  const { doc, table, logger, registry, writeTimeoutMs = 5_000 } = options;
  const written = new Counter({
    name: "strata_metering_ledger_written_total",
    help: "Usage records written to the ledger.",
    registers: [registry],
  });
  const lost = new Counter({
    name: "strata_metering_ledger_lost_total",
    help: "Usage records dropped: the ledger buffer was full, or shutdown came before DynamoDB took them.",
    registers: [registry],
  });
  const failures = new Counter({
    name: "strata_metering_ledger_write_failures_total",
    help: "Failed or timed-out ledger batch writes (records kept for retry).",
    registers: [registry],
  });
  const buffer = new Map<string, Record<string, unknown>>();
  new Gauge({
    name: "strata_metering_ledger_backlog",
    help: "Usage records waiting to be written.",
    registers: [registry],
    collect() {
      this.set(buffer.size);
    },
  });
  let flushing: Promise<void> | undefined;
  /** Aborted at close()'s deadline: a write in flight then ends at once. */
  const stopping = new AbortController();

  /** Writes one batch; returns the items DynamoDB left unprocessed, or undefined if it failed. */
  const writeBatch = async (
    items: Record<string, unknown>[],
  ): Promise<Record<string, unknown>[] | undefined> => {
    try {
      const result = await doc.send(
        new BatchWriteCommand({
          RequestItems: { [table]: items.map((Item) => ({ PutRequest: { Item } })) },
        }),
        { abortSignal: AbortSignal.any([AbortSignal.timeout(writeTimeoutMs), stopping.signal]) },
      );
      const unprocessed = (result.UnprocessedItems?.[table] ?? []).flatMap((r) =>
        r.PutRequest?.Item ? [r.PutRequest.Item] : [],
      );
      written.inc(items.length - unprocessed.length);
      return unprocessed;
    } catch (err) {
      failures.inc();
      logger.warn({ err, records: items.length }, "ledger batch write failed; will retry");
      return undefined;
    }
  };

  const flushOnce = async () => {
    // The keys buffered now; records arriving meanwhile wait for the next flush. Each item leaves
    // the buffer once written, unless a newer record of its request replaced it meanwhile.
    const keys = [...buffer.keys()];
    for (let i = 0; i < keys.length && !stopping.signal.aborted; i += batchSize) {
      const batch = keys.slice(i, i + batchSize).flatMap((key) => {
        const item = buffer.get(key);
        return item ? [{ key, item }] : [];
      });
      if (batch.length === 0) continue;
      const unprocessed = await writeBatch(batch.map((x) => x.item));
      // Failed or timed out: DynamoDB is down or hanging; the rest waits for the next flush
      // rather than each batch waiting out its own timeout.
      if (!unprocessed) return;
      const left = new Set(unprocessed.map(itemKey));
      for (const { key, item } of batch)
        if (!left.has(key) && buffer.get(key) === item) buffer.delete(key);
    }
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
      const stop = setTimeout(() => stopping.abort(), deadlineMs);
      while (buffer.size > 0 && Date.now() < deadline) {
        await flush();
        const wait = Math.min(200, deadline - Date.now());
        if (buffer.size > 0 && wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      clearTimeout(stop);
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
