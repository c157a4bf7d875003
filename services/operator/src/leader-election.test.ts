import { createLogger } from "@strata/platform";
import { describe, expect, it } from "vitest";
import {
  createLeaderElector,
  type LeaderElector,
  type LeaseRecord,
  type LeaseStore,
  type StoredLease,
} from "./leader-election.ts";

/** An in-memory Lease with the API server's optimistic concurrency (resourceVersion). */
function memoryStore() {
  let lease: StoredLease | undefined;
  let version = 0;
  let down = false;
  const conflict = () => Object.assign(new Error("conflict"), { code: 409 });
  const store: LeaseStore = {
    async get() {
      if (down) throw new Error("unreachable");
      return lease && structuredClone(lease);
    },
    async create(record) {
      if (down) throw new Error("unreachable");
      if (lease) throw conflict();
      lease = { record: { ...record }, resourceVersion: String(++version) };
      return structuredClone(lease);
    },
    async update(record, resourceVersion) {
      if (down) throw new Error("unreachable");
      if (!lease || lease.resourceVersion !== resourceVersion) throw conflict();
      lease = { record: { ...record }, resourceVersion: String(++version) };
      return structuredClone(lease);
    },
  };
  return {
    store,
    holder: () => lease?.record.holderIdentity,
    record: (): LeaseRecord | undefined => lease?.record,
    setDown: (value: boolean) => {
      down = value;
    },
  };
}

const logger = createLogger({ service: "operator-test", level: "silent" });

function candidate(store: LeaseStore, identity: string, clock: { t: number }) {
  const events: string[] = [];
  const elector: LeaderElector = createLeaderElector({
    store,
    identity,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    logger,
    now: () => clock.t,
    jitter: 0,
    onStartedLeading: () => events.push("started"),
    onStoppedLeading: () => events.push("stopped"),
  });
  return { elector, events };
}

describe("leader election on a Lease", () => {
  it("creates the Lease and leads when none exists; the other waits", async () => {
    const mem = memoryStore();
    const clock = { t: 1_000_000 };
    const a = candidate(mem.store, "a", clock);
    const b = candidate(mem.store, "b", clock);
    expect(await a.elector.step()).toBe(2_000);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.events).toEqual(["started"]);
    await b.elector.step();
    expect(b.elector.isLeader()).toBe(false);
    expect(mem.record()).toMatchObject({
      holderIdentity: "a",
      leaseDurationSeconds: 15,
      leaseTransitions: 0,
    });
  });

  it("never lets two candidates both win a race for the same Lease version", async () => {
    const mem = memoryStore();
    const clock = { t: 1_000_000 };
    const a = candidate(mem.store, "a", clock);
    const b = candidate(mem.store, "b", clock);
    await Promise.all([a.elector.step(), b.elector.step()]);
    expect([a.elector.isLeader(), b.elector.isLeader()].filter(Boolean)).toHaveLength(1);
  });

  it("keeps the lease while it renews; a standby does not take a renewed lease", async () => {
    const mem = memoryStore();
    const clock = { t: 1_000_000 };
    const a = candidate(mem.store, "a", clock);
    const b = candidate(mem.store, "b", clock);
    await a.elector.step();
    for (let i = 0; i < 20; i++) {
      clock.t += 2_000;
      await a.elector.step();
      await b.elector.step();
      expect(a.elector.isLeader()).toBe(true);
      expect(b.elector.isLeader()).toBe(false);
    }
    expect(a.events).toEqual(["started"]);
    expect(mem.record()?.leaseTransitions).toBe(0);
  });

  it("lets a standby take over only after a lease duration without renewal, on its own clock", async () => {
    const mem = memoryStore();
    const clock = { t: 1_000_000 };
    const a = candidate(mem.store, "a", clock);
    const b = candidate(mem.store, "b", clock);
    await a.elector.step();
    await b.elector.step(); // b sees the record now
    // a dies (stops renewing). b takes over once 15 s have passed since it saw the record change.
    clock.t += 14_999;
    await b.elector.step();
    expect(b.elector.isLeader()).toBe(false);
    clock.t += 1;
    await b.elector.step();
    expect(b.elector.isLeader()).toBe(true);
    expect(mem.record()).toMatchObject({ holderIdentity: "b", leaseTransitions: 1 });
  });

  it("stops leading at the renew deadline when the API is unreachable, before anyone may take over", async () => {
    const mem = memoryStore();
    const clock = { t: 1_000_000 };
    const a = candidate(mem.store, "a", clock);
    await a.elector.step();
    mem.setDown(true);
    let elapsed = 0;
    while (a.elector.isLeader()) {
      const delay = await a.elector.step();
      if (!a.elector.isLeader()) break;
      clock.t += delay;
      elapsed += delay;
    }
    expect(a.events).toEqual(["started", "stopped"]);
    expect(elapsed).toBe(10_000);
    expect(elapsed).toBeLessThan(15_000);
  });

  it("stops leading at once when it finds the lease held by another", async () => {
    const mem = memoryStore();
    const clock = { t: 1_000_000 };
    const a = candidate(mem.store, "a", clock);
    const b = candidate(mem.store, "b", clock);
    await a.elector.step();
    await b.elector.step();
    // a is paused (e.g. a long GC or a network partition) for longer than the lease duration...
    clock.t += 16_000;
    await b.elector.step();
    expect(b.elector.isLeader()).toBe(true);
    // ...and on waking up sees b's lease: it stops without waiting for its deadline.
    await a.elector.step();
    expect(a.elector.isLeader()).toBe(false);
    expect(a.events).toEqual(["started", "stopped"]);
  });

  it("releases the lease on shutdown so a standby takes over at its next attempt", async () => {
    const mem = memoryStore();
    const clock = { t: 1_000_000 };
    const a = candidate(mem.store, "a", clock);
    const b = candidate(mem.store, "b", clock);
    await a.elector.step();
    await b.elector.step();
    await a.elector.release();
    expect(a.events).toEqual(["started", "stopped"]);
    expect(mem.holder()).toBe("");
    clock.t += 2_000;
    await b.elector.step();
    expect(b.elector.isLeader()).toBe(true);
  });

  it("reacquires its own lease after a restart without waiting", async () => {
    const mem = memoryStore();
    const clock = { t: 1_000_000 };
    await candidate(mem.store, "a", clock).elector.step();
    const restarted = candidate(mem.store, "a", clock);
    await restarted.elector.step();
    expect(restarted.elector.isLeader()).toBe(true);
    expect(mem.record()?.leaseTransitions).toBe(0);
  });
});
