import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createWorkQueue } from "./work-queue.ts";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const newQueue = () => createWorkQueue({ baseDelayMs: 100, maxDelayMs: 1_000 });

describe("work queue", () => {
  it("queues an item once however often it is added, in order of first add", async () => {
    const q = newQueue();
    q.add("a");
    q.add("b");
    q.add("a");
    expect(q.length()).toBe(2);
    expect(await q.get()).toBe("a");
    expect(await q.get()).toBe("b");
    expect(q.length()).toBe(0);
  });

  it("never hands out an item being processed; one added meanwhile comes back after done", async () => {
    const q = newQueue();
    q.add("a");
    const key = await q.get();
    q.add("a");
    q.add("a");
    expect(q.length()).toBe(0);
    let next: string | undefined;
    void q.get().then((k) => {
      next = k;
    });
    await Promise.resolve();
    expect(next).toBeUndefined();
    q.done(key ?? "");
    await Promise.resolve();
    expect(next).toBe("a");
  });

  it("wakes a waiting worker when an item arrives", async () => {
    const q = newQueue();
    const got = q.get();
    q.add("x");
    expect(await got).toBe("x");
  });

  it("retries a failing item after 100, 200, 400, 800, then at most 1000 ms; forget resets it", async () => {
    const q = newQueue();
    for (const expected of [100, 200, 400, 800, 1_000, 1_000]) {
      q.addRateLimited("a");
      await vi.advanceTimersByTimeAsync(expected - 1);
      expect(q.length()).toBe(0);
      await vi.advanceTimersByTimeAsync(1);
      expect(q.length()).toBe(1);
      q.done((await q.get()) ?? "");
    }
    expect(q.failures("a")).toBe(6);
    q.forget("a");
    q.addRateLimited("a");
    await vi.advanceTimersByTimeAsync(100);
    expect(q.length()).toBe(1);
  });

  it("keeps the earliest of several schedules of one item", async () => {
    const q = newQueue();
    q.addAfter("a", 500);
    q.addAfter("a", 200);
    q.addAfter("a", 900);
    await vi.advanceTimersByTimeAsync(199);
    expect(q.length()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(q.length()).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(q.length()).toBe(1);
  });

  it("clear drops waiting and scheduled items and failure counts", async () => {
    const q = newQueue();
    q.add("a");
    q.addAfter("b", 100);
    q.addRateLimited("c");
    q.clear();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(q.length()).toBe(0);
    expect(q.failures("c")).toBe(0);
    q.add("a");
    expect(q.length()).toBe(1);
  });

  it("shutDown releases waiting workers and ignores later adds", async () => {
    const q = newQueue();
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).toBeUndefined();
    q.add("a");
    expect(q.length()).toBe(0);
    expect(await q.get()).toBeUndefined();
  });
});
