/** Options of createWorkQueue. */
export interface WorkQueueOptions {
  /** Delay before the first retry of a failing item; doubled per consecutive failure. */
  baseDelayMs: number;
  /** Longest retry delay. */
  maxDelayMs: number;
}

/**
 * A work queue of object keys (client-go's workqueue semantics):
 * - an item is queued at most once however often it is added (dedupe);
 * - an item is processed by one worker at a time: added while processing, it is queued again
 *   when the worker calls done();
 * - addAfter schedules an add (the earliest schedule of an item wins);
 * - addRateLimited retries a failing item after an exponential per-item backoff, reset by forget().
 */
export interface WorkQueue {
  add(key: string): void;
  addAfter(key: string, delayMs: number): void;
  addRateLimited(key: string): void;
  /** Clears an item's failure count (after a success). */
  forget(key: string): void;
  /** Consecutive failures of an item. */
  failures(key: string): number;
  /** The next item; waits for one. Undefined once the queue is shut down. */
  get(): Promise<string | undefined>;
  /** Marks an item processed. */
  done(key: string): void;
  /** Items waiting (not counting scheduled ones nor those being processed). */
  length(): number;
  /** Drops everything waiting or scheduled (used when leadership is lost). */
  clear(): void;
  /** Wakes every waiting get() with undefined; later adds are ignored. */
  shutDown(): void;
}

export function createWorkQueue({ baseDelayMs, maxDelayMs }: WorkQueueOptions): WorkQueue {
  const queue: string[] = [];
  const dirty = new Set<string>();
  const processing = new Set<string>();
  const scheduled = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  const failureCounts = new Map<string, number>();
  const waiters: Array<(key: string | undefined) => void> = [];
  let shuttingDown = false;

  const push = (key: string) => {
    const waiter = waiters.shift();
    if (waiter) {
      dirty.delete(key);
      processing.add(key);
      waiter(key);
    } else {
      queue.push(key);
    }
  };

  const add = (key: string) => {
    if (shuttingDown || dirty.has(key)) return;
    dirty.add(key);
    if (!processing.has(key)) push(key);
  };

  const addAfter = (key: string, delayMs: number) => {
    if (shuttingDown) return;
    if (delayMs <= 0) {
      add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const existing = scheduled.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      scheduled.delete(key);
      add(key);
    }, delayMs);
    timer.unref();
    scheduled.set(key, { at, timer });
  };

  return {
    add,
    addAfter,
    addRateLimited(key) {
      const n = failureCounts.get(key) ?? 0;
      failureCounts.set(key, n + 1);
      addAfter(key, Math.min(baseDelayMs * 2 ** n, maxDelayMs));
    },
    forget(key) {
      failureCounts.delete(key);
    },
    failures: (key) => failureCounts.get(key) ?? 0,
    get() {
      if (shuttingDown) return Promise.resolve(undefined);
      const key = queue.shift();
      if (key !== undefined) {
        dirty.delete(key);
        processing.add(key);
        return Promise.resolve(key);
      }
      return new Promise((resolve) => waiters.push(resolve));
    },
    done(key) {
      processing.delete(key);
      if (dirty.has(key)) push(key);
    },
    length: () => queue.length,
    clear() {
      for (const { timer } of scheduled.values()) clearTimeout(timer);
      scheduled.clear();
      for (const key of queue.splice(0)) dirty.delete(key);
      failureCounts.clear();
    },
    shutDown() {
      shuttingDown = true;
      for (const { timer } of scheduled.values()) clearTimeout(timer);
      scheduled.clear();
      for (const waiter of waiters.splice(0)) waiter(undefined);
    },
  };
}
