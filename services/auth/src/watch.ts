import { create } from "@bufbuild/protobuf";
import { type WatchRevocationsResponse, WatchRevocationsResponseSchema } from "@strata/proto";
import type { ChangeFeed } from "./change-feed.ts";

/**
 * One gateway's WatchRevocations stream: every change from the feed as it arrives, and a
 * heartbeat after `heartbeatMs` of quiet so the gateway knows the stream is alive (and can fall
 * back to short cache lifetimes when it is not). Ends when the call is cancelled.
 */
export async function* watchRevocations(
  feed: ChangeFeed,
  signal: AbortSignal,
  heartbeatMs: number,
): AsyncGenerator<WatchRevocationsResponse> {
  const pending: WatchRevocationsResponse[] = [];
  let wake: (() => void) | undefined;
  const unsubscribe = feed.subscribe((change) => {
    if (change.keyId)
      pending.push(
        create(WatchRevocationsResponseSchema, {
          event: { case: "revokedKeyId", value: change.keyId },
        }),
      );
    if (change.tenantId)
      pending.push(
        create(WatchRevocationsResponseSchema, {
          event: { case: "changedTenantId", value: change.tenantId },
        }),
      );
    wake?.();
  });
  const onAbort = () => wake?.();
  signal.addEventListener("abort", onAbort);
  try {
    // The first message tells the gateway the watch is established.
    yield create(WatchRevocationsResponseSchema, { event: { case: "heartbeat", value: true } });
    while (!signal.aborted) {
      if (pending.length === 0) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, heartbeatMs).unref();
        });
        wake = undefined;
      }
      if (signal.aborted) break;
      if (pending.length === 0)
        yield create(WatchRevocationsResponseSchema, { event: { case: "heartbeat", value: true } });
      while (pending.length > 0) {
        const next = pending.shift();
        if (next) yield next;
      }
    }
  } finally {
    unsubscribe();
    signal.removeEventListener("abort", onAbort);
  }
}
