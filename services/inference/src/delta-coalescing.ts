import type { ChatStreamResponse } from "@strata/proto";

/** Text a coalesced delta may reach before it is sent anyway: bounds one message's size. */
export const maxCoalescedChars = 16_384;

/** What `availableNow` resolves to when the promise has not settled yet. */
export const notYet: unique symbol = Symbol("notYet");

/**
 * The promise's value if it is already settled or settles within this turn of the event loop
 * (before I/O is polled again), else `notYet`; a rejection is passed on. Used to tell whether
 * Bedrock's next event is already here (read with the previous ones) or still on its way.
 */
export function availableNow<T>(promise: Promise<T>): Promise<T | typeof notYet> {
  return Promise.race([promise, new Promise<typeof notYet>((r) => setImmediate(r, notYet))]);
}

/**
 * Appends `next` to `pending` when both are deltas of the same kind for the same content block
 * and the result stays under maxCoalescedChars; returns whether it did. Text, reasoning and tool
 * argument fragments concatenate: a client sees the same content in fewer, larger chunks.
 */
export function appendDelta(pending: ChatStreamResponse, next: ChatStreamResponse): boolean {
  if (pending.event.case !== "blockDelta" || next.event.case !== "blockDelta") return false;
  const a = pending.event.value;
  const b = next.event.value;
  if (a.index !== b.index || a.delta.case !== b.delta.case || a.delta.case === undefined) {
    return false;
  }
  const more = b.delta.value ?? "";
  if (a.delta.value.length + more.length > maxCoalescedChars) return false;
  a.delta.value += more;
  return true;
}
