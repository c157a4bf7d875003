import type { Logger } from "@strata/platform";
import type { AuthStore, Change } from "./store.ts";

/** Options of createChangeFeed. */
export interface ChangeFeedOptions {
  store: AuthStore;
  logger: Logger;
  /** How often the shared feed is read; bounds how late a revocation reaches gateways. */
  pollMs: number;
}

/** Follows the change feed table and fans every new change out to subscribers. */
export interface ChangeFeed {
  subscribe(listener: (change: Change) => void): () => void;
  close(): void;
}

/**
 * Reads the change feed (revocations, tenant changes) every `pollMs` and hands each new entry to
 * every subscriber — the WatchRevocations streams of the gateways connected to this replica.
 * Every auth replica follows the same table, so a change made on any replica reaches every
 * gateway. The feed is read from the time this replica started: gateways that (re)connect clear
 * their caches, so they never depend on history.
 */
export function createChangeFeed({ store, logger, pollMs }: ChangeFeedOptions): ChangeFeed {
  const listeners = new Set<(change: Change) => void>();
  let cursor = new Date().toISOString();
  let reading = false;
  const timer = setInterval(async () => {
    if (reading) return;
    if (listeners.size === 0) {
      cursor = new Date().toISOString();
      return;
    }
    reading = true;
    try {
      for (const change of await store.readChanges(cursor)) {
        cursor = change.changeKey;
        for (const listener of listeners) listener(change);
      }
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
