import { createLogger } from "@strata/platform";
import { describe, expect, it } from "vitest";
import { createChangeFeed, unseenChanges } from "./change-feed.ts";
import type { AuthStore, Change } from "./store.ts";

const logger = createLogger({ service: "auth", level: "silent" });
const at = (msAgo: number, id: string): Change => ({
  changeKey: `${new Date(Date.now() - msAgo).toISOString()}#${id}`,
  keyId: id,
});

describe("the change feed", () => {
  it("delivers a change that becomes visible after a newer one was read, exactly once", async () => {
    // The table as each read sees it: a revocation whose write began first (older key) commits
    // after a later one has already been read.
    const table: Change[] = [];
    const store = {
      readChanges: async (after: string) => table.filter((c) => c.changeKey > after),
    } as unknown as AuthStore;
    const feed = createChangeFeed({ store, logger, pollMs: 10 });
    const delivered: string[] = [];
    feed.subscribe((change) => delivered.push(change.keyId ?? ""));
    try {
      const slow = at(100, "slow-write");
      table.push(at(0, "fast-write"));
      await new Promise((r) => setTimeout(r, 60));
      expect(delivered).toEqual(["fast-write"]);
      table.push(slow);
      await new Promise((r) => setTimeout(r, 60));
      expect(delivered).toEqual(["fast-write", "slow-write"]);
    } finally {
      feed.close();
    }
  });
});

describe("unseenChanges", () => {
  it("skips what was delivered and forgets keys that fell out of the window", () => {
    const a = { changeKey: "2026-01-01T00:00:01.000Z#a" };
    const b = { changeKey: "2026-01-01T00:00:02.000Z#b" };
    const first = unseenChanges([a, b], new Set(), "2026-01-01T00:00:00.000Z");
    expect(first.fresh).toEqual([a, b]);
    const second = unseenChanges([b], first.seen, "2026-01-01T00:00:01.500Z");
    expect(second.fresh).toEqual([]);
    expect([...second.seen]).toEqual([b.changeKey]);
  });
});
