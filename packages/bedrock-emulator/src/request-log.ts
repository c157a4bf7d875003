/**
 * The request log: a bounded, in-memory record of what clients sent and how each request ended.
 * Tests use it to assert what the gateway actually sent upstream (translated body, auth scheme,
 * signing key, HTTP version) and how it ended (completed, aborted by a cancelled client, error),
 * in-process via `requests()`/`waitForRequest()` or out of process via `GET /_emulator/requests`.
 */
import type { AuthKind } from "./auth.ts";

/**
 * The operation a request addressed: a Bedrock Runtime operation, the STS stand-in's
 * `AssumeRole`, or `Unknown` for requests that match no operation.
 */
export type Operation =
  | "Converse"
  | "ConverseStream"
  | "InvokeModel"
  | "InvokeModelWithResponseStream"
  | "AssumeRole"
  | "Unknown";

/** The Bedrock Runtime operations (every operation but STS's and `Unknown`). */
export type BedrockOperation = Exclude<Operation, "AssumeRole" | "Unknown">;

/** How a request ended. */
export type Outcome = "completed" | "aborted" | "error";

/**
 * One logged request. Times are epoch milliseconds (`Date.now()`), comparable across processes.
 */
export interface RequestRecord {
  /** Also sent to the client as `x-amzn-RequestId`. */
  id: string;
  operation: Operation;
  /**
   * The model identifier as the client sent it (URL-decoded), e.g. an inference-profile ARN;
   * empty for STS requests.
   */
  modelId: string;
  httpVersion: "1.1" | "2";
  auth: AuthKind;
  /**
   * The access key id of the SigV4 `Credential` the request was signed with (as claimed, recorded
   * before verification); undefined for Bearer and unauthenticated requests. Lets a test prove
   * which identity made a call, e.g. a role assumed through the STS stand-in (`ASIA…`).
   */
  accessKeyId?: string;
  /** AssumeRole: the `RoleArn` asked for. */
  roleArn?: string;
  /** Converse/ConverseStream: the `guardrailConfig` the request carried, once validated. */
  guardrail?: { identifier: string; version: string };
  startedAt: number;
  endedAt?: number;
  outcome?: Outcome;
  /** HTTP status sent (200 for streams, even when a mid-stream exception followed). */
  status?: number;
  /**
   * Bedrock error name, the stream `:exception-type` for mid-stream exceptions, or the STS error
   * code (`AccessDenied`, `ValidationError`, …) for STS requests.
   */
  errorType?: string;
  /** Event-stream frames written (events and exceptions), for streaming operations. */
  eventsSent?: number;
  /** The parsed request JSON, when the body was JSON; for STS, the form parameters. */
  body?: unknown;
}

/** The fields set when a request ends. */
export interface RequestEnd {
  readonly outcome: Outcome;
  readonly status?: number;
  readonly errorType?: string;
  readonly eventsSent?: number;
}

/** The log's operations (see {@link createRequestLog}). */
export interface RequestLog {
  /** Adds a record for a request that just started and returns it (mutable until finished). */
  start(record: RequestRecord): RequestRecord;
  /** Marks `record` as ended (first call wins) and wakes matching waiters. */
  finish(record: RequestRecord, end: RequestEnd): void;
  /** Copies of the retained records, oldest first (the parsed `body` is shared, not cloned). */
  list(): RequestRecord[];
  clear(): void;
  /** Resolves with the first finished record matching `predicate` (already logged or future). */
  waitFor(predicate: (record: RequestRecord) => boolean, timeoutMs: number): Promise<RequestRecord>;
  /** Rejects all pending waiters (the emulator is closing). */
  close(): void;
}

interface Waiter {
  readonly predicate: (record: RequestRecord) => boolean;
  readonly resolve: (record: RequestRecord) => void;
  readonly reject: (error: Error) => void;
}

/** Options of {@link createRequestLog}. */
export interface RequestLogOptions {
  /** Records retained; older ones are dropped first. Default 1000. */
  readonly capacity?: number;
  /** Clock for `endedAt`; default `Date.now`. */
  readonly now?: () => number;
}

/** Creates a ring-buffer request log. */
export function createRequestLog(options: RequestLogOptions = {}): RequestLog {
  const capacity = Math.max(1, options.capacity ?? 1000);
  const now = options.now ?? Date.now;
  let records: RequestRecord[] = [];
  const waiters = new Set<Waiter>();

  const copy = (record: RequestRecord): RequestRecord => ({ ...record });
  const matches = (waiter: Waiter, record: RequestRecord) => {
    try {
      return waiter.predicate(copy(record));
    } catch (error) {
      waiters.delete(waiter);
      waiter.reject(error instanceof Error ? error : new Error(String(error)));
      return false;
    }
  };

  return {
    start(record) {
      records.push(record);
      // Trim in batches so logging stays O(1) amortised on the request path.
      if (records.length >= capacity * 2) records = records.slice(-capacity);
      return record;
    },
    finish(record, end) {
      if (record.outcome !== undefined) return;
      record.endedAt = now();
      record.outcome = end.outcome;
      if (end.status !== undefined) record.status = end.status;
      if (end.errorType !== undefined) record.errorType = end.errorType;
      if (end.eventsSent !== undefined) record.eventsSent = end.eventsSent;
      for (const waiter of [...waiters]) {
        if (matches(waiter, record)) {
          waiters.delete(waiter);
          waiter.resolve(copy(record));
        }
      }
    },
    list() {
      return records.slice(-capacity).map(copy);
    },
    clear() {
      records = [];
    },
    waitFor(predicate, timeoutMs) {
      return new Promise((resolve, reject) => {
        const settle = { done: false };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`No finished request matched within ${timeoutMs} ms.`));
        }, timeoutMs);
        const waiter: Waiter = {
          predicate,
          resolve: (record) => {
            settle.done = true;
            clearTimeout(timer);
            resolve(record);
          },
          reject: (error) => {
            settle.done = true;
            clearTimeout(timer);
            reject(error);
          },
        };
        const existing = records
          .slice(-capacity)
          .find((r) => r.outcome !== undefined && matches(waiter, r));
        if (settle.done) return;
        if (existing) {
          waiter.resolve(copy(existing));
          return;
        }
        waiters.add(waiter);
      });
    },
    close() {
      for (const waiter of waiters) waiter.reject(new Error("The emulator was closed."));
      waiters.clear();
    },
  };
}
