import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createUpstreamCall, UpstreamTimeoutError } from "./upstream-call.ts";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

const never = () => new Promise<never>(() => {});

describe("createUpstreamCall", () => {
  it("aborts when the RPC's signal aborts, without reporting a timeout", () => {
    const rpc = new AbortController();
    const call = createUpstreamCall(rpc.signal);
    rpc.abort(new Error("client gone"));
    expect(call.signal.aborted).toBe(true);
    expect(call.timedOut).toBe(false);
  });

  it("starts aborted when the RPC already ended", () => {
    const rpc = new AbortController();
    rpc.abort();
    expect(createUpstreamCall(rpc.signal).signal.aborted).toBe(true);
  });

  it("aborts with a timeout when the armed timer fires", () => {
    const call = createUpstreamCall(new AbortController().signal);
    call.arm(100);
    vi.advanceTimersByTime(99);
    expect(call.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(call.timedOut).toBe(true);
    expect(call.signal.reason).toBeInstanceOf(UpstreamTimeoutError);
  });

  it("restarts the timer when re-armed and stops it when disarmed", () => {
    const call = createUpstreamCall(new AbortController().signal);
    call.arm(100);
    vi.advanceTimersByTime(80);
    call.arm(100);
    vi.advanceTimersByTime(80);
    expect(call.signal.aborted).toBe(false);
    call.disarm();
    vi.advanceTimersByTime(1000);
    expect(call.signal.aborted).toBe(false);
  });

  it("rejects a pending race as soon as the call aborts", async () => {
    const call = createUpstreamCall(new AbortController().signal);
    call.arm(50);
    const raced = call.race(never());
    vi.advanceTimersByTime(50);
    await expect(raced).rejects.toBeInstanceOf(UpstreamTimeoutError);
  });

  it("settles a race with the promise while the call lives", async () => {
    const call = createUpstreamCall(new AbortController().signal);
    await expect(call.race(Promise.resolve(7))).resolves.toBe(7);
  });

  it("stops following the RPC once disposed", () => {
    const rpc = new AbortController();
    const call = createUpstreamCall(rpc.signal);
    call.dispose();
    rpc.abort();
    expect(call.signal.aborted).toBe(false);
  });
});
