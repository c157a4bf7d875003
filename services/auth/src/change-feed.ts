import type { Logger } from "@strata/platform";
import type { AuthStore, Change } from "./store.ts";

/** Options of createChangeFeed. */
export interface ChangeFeedOptions {
  store: AuthStore;
  logger: Logger;
  /** How often the shared feed is read; bounds how late a revocation reaches gateways. */
  pollMs: number;
  /**
   * How far behind the newest read each poll reads again (default 5 s). A change's key is its
   * writer's clock when the write began, so a change can become visible after a later one has
   * been read: a slow write, or an auth replica whose clock is behind. Reading only past the
   * newest key seen would skip it for ever; reading this window again, and skipping what was
   * already delivered, does not, as long as writes and clock skew stay within it.
   */
  lookbackMs?: number;
}

/** Follows the change feed table and fans every new change out to subscribers. */
export interface ChangeFeed {
  subscribe(listener: (change: Change) => void): () => void;
  close(): void;
}

/**
 * The changes of one read that were not delivered before, and the keys to remember for the next
 * read: those still inside the window that starts at `since` (older ones will not be read again).
 */
export function unseenChanges(
  changes: Change[],
  seen: ReadonlySet<string>,
  since: string,
): { fresh: Change[]; seen: Set<string> } {
  const fresh = changes.filter((change) => !seen.has(change.changeKey));
  const keep = new Set<string>();
  for (const key of seen) if (key > since) keep.add(key);
  for (const change of fresh) keep.add(change.changeKey);
  return { fresh, seen: keep };
}

/**
 * Reads the change feed (revocations, tenant changes) every `pollMs` and hands each new entry to
 * every subscriber — the WatchRevocations streams of the gateways connected to this replica.
 * Every auth replica follows the same table, so a change made on any replica reaches every
 * gateway. Each read covers the last `lookbackMs`, so a change that became visible late is still
 * delivered, once. Gateways that (re)connect clear their caches, so they never depend on history.
 */
export function createChangeFeed({
  store,
  logger,
  pollMs,
  lookbackMs = 5_000,
}: ChangeFeedOptions): ChangeFeed {
  const listeners = new Set<(change: Change) => void>();
  let seen = new Set<string>();
  let reading = false;
  const timer = setInterval(async () => {
    if (reading || listeners.size === 0) return;
    reading = true;
    try {
      const since = new Date(Date.now() - lookbackMs).toISOString();
      const read = unseenChanges(await store.readChanges(since), seen, since);
      seen = read.seen;
      for (const change of read.fresh) for (const listener of listeners) listener(change);
    } catch (err) {
      logger.warn({ err }, "reading the change feed failed; retrying");
    } finally {
      reading = false;
    }
  }, pollMs);
  timer.unref();
  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () => clearInterval(timer),
  };
}
