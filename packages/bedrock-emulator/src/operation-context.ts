/**
 * What an operation handler gets: the exchange, the request's log record, the resolved model and
 * the already-read (and authenticated) body. Handlers return how the request ended, or throw an
 * `EmulatorError` before anything was sent; the emulator renders the error and logs the outcome.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { FaultCounter, FaultTarget } from "./directives.ts";
import type { HttpExchange } from "./http-exchange.ts";
import type { EmulatedModel } from "./models.ts";
import type { RequestEnd, RequestRecord } from "./request-log.ts";

/** Inputs of an operation handler. */
export interface OperationContext {
  readonly exchange: HttpExchange;
  /** The log record; handlers set `body` and update `eventsSent` as they go. */
  readonly record: RequestRecord;
  readonly model: EmulatedModel;
  readonly body: Buffer;
  /** Requests seen per `fail-times` fault (directives.ts). */
  readonly faults: FaultCounter;
  /** Milliseconds since the request arrived (for `metrics.latencyMs` and latency headers). */
  latencyMs(): number;
}

/** An operation handler; resolves with the log outcome. */
export type OperationHandler = (context: OperationContext) => Promise<RequestEnd>;

/** Headers every successful response carries. */
export function baseHeaders(
  context: OperationContext,
  contentType: string,
): Record<string, string> {
  return { "content-type": contentType, "x-amzn-RequestId": context.record.id };
}

/** The request as fault directives see it: its model id, and its body for `fail-times`. */
export function faultTarget(context: OperationContext): FaultTarget {
  return {
    modelId: context.record.modelId,
    key: `${context.record.operation}\u0000${context.record.modelId}\u0000${context.body.toString("utf8")}`,
    counter: context.faults,
  };
}

/** Waits `ms` (if set and positive), ending early with a rejection when the client aborts. */
export async function pause(ms: number | undefined, signal: AbortSignal): Promise<void> {
  if (ms === undefined || ms <= 0) {
    signal.throwIfAborted();
    return;
  }
  await sleep(ms, undefined, { signal });
}
