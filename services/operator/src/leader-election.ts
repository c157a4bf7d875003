import type { Logger } from "@strata/platform";
import { safeError } from "./errors.ts";

/** The fields of a coordination.k8s.io/v1 Lease's spec that leader election uses. */
export interface LeaseRecord {
  /** The leader's identity; empty once released. */
  holderIdentity: string;
  leaseDurationSeconds: number;
  /** RFC 3339 times. */
  acquireTime: string;
  renewTime: string;
  leaseTransitions: number;
}

/** A Lease as read: its record and the resourceVersion every write must name. */
export interface StoredLease {
  record: LeaseRecord;
  resourceVersion: string;
}

/** Where the Lease lives (the Kubernetes API in production, memory in tests). */
export interface LeaseStore {
  /** The Lease, or undefined when it does not exist. */
  get(): Promise<StoredLease | undefined>;
  /** Creates the Lease; rejects if it exists. */
  create(record: LeaseRecord): Promise<StoredLease>;
  /** Replaces the Lease if it is still at `resourceVersion`; rejects otherwise (409). */
  update(record: LeaseRecord, resourceVersion: string): Promise<StoredLease>;
}

/** Options of createLeaderElector. */
export interface LeaderElectorOptions {
  store: LeaseStore;
  identity: string;
  /** How long a Lease not renewed stays valid in the eyes of the other candidates. */
  leaseDurationMs: number;
  /** A leader that has not renewed for this long stops leading. Shorter than the duration. */
  renewDeadlineMs: number;
  /** Time between attempts to renew (leader) or acquire (candidate). */
  retryPeriodMs: number;
  /** Called when this replica becomes the leader. */
  onStartedLeading: () => void;
  /** Called when it stops being the leader (lost, expired or released). */
  onStoppedLeading: () => void;
  logger: Logger;
  now?: () => number;
  /** Candidates wait retryPeriod × (1 + jitter·random) between attempts. Default 0.2. */
  jitter?: number;
}

/**
 * Leader election on a coordination.k8s.io Lease, as client-go's leaderelection does it:
 * - a candidate takes the Lease when it is free (no holder, or released) or when its record has
 *   not changed for leaseDuration as measured on the candidate's own clock since it last saw it
 *   change (so clock skew between replicas does not matter);
 * - every write names the resourceVersion it read, so two candidates can never both succeed;
 * - the leader renews every retryPeriod and stops leading once it could not renew for
 *   renewDeadline, which is shorter than leaseDuration: it stops before anyone else may start;
 * - release() (on SIGTERM) clears the holder so a standby takes over at its next attempt.
 */
export interface LeaderElector {
  /** One attempt to acquire or renew, with the state changes that follow. Resolves with the delay
   * before the next attempt. */
  step(): Promise<number>;
  /** Runs step() until the signal aborts. */
  run(signal: AbortSignal): Promise<void>;
  /**
   * Stops leading (if leading), waits for `drain` (in-flight work to end), then releases the
   * Lease so that a standby need not wait for it to expire.
   */
  release(drain?: () => Promise<void>): Promise<void>;
  isLeader(): boolean;
}

export function createLeaderElector(options: LeaderElectorOptions): LeaderElector {
  const {
    store,
    identity,
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
    logger,
    now = Date.now,
    jitter = 0.2,
  } = options;
  const leaseDurationSeconds = Math.max(1, Math.ceil(leaseDurationMs / 1000));
  let leader = false;
  let lastRenewAt = 0;
  /** The record as last seen, the local time it was first seen so, and its resourceVersion. */
  let observed: StoredLease | undefined;
  let observedAt = 0;

  const iso = (ms: number) => new Date(ms).toISOString();
  const sameRecord = (a: LeaseRecord, b: LeaseRecord) =>
    a.holderIdentity === b.holderIdentity &&
    a.renewTime === b.renewTime &&
    a.acquireTime === b.acquireTime &&
    a.leaseTransitions === b.leaseTransitions &&
    a.leaseDurationSeconds === b.leaseDurationSeconds;
  const observe = (lease: StoredLease, at: number) => {
    if (!observed || !sameRecord(observed.record, lease.record)) observedAt = at;
    observed = lease;
  };

  /** Whether this replica holds the Lease after the attempt. */
  const tryAcquireOrRenew = async (): Promise<boolean> => {
    const t = now();
    const current = await store.get();
    if (!current) {
      observe(
        await store.create({
          holderIdentity: identity,
          leaseDurationSeconds,
          acquireTime: iso(t),
          renewTime: iso(t),
          leaseTransitions: 0,
        }),
        t,
      );
      return true;
    }
    observe(current, t);
    const holder = current.record.holderIdentity;
    const heldByOther = holder !== "" && holder !== identity;
    const validForMs = Math.max(1, current.record.leaseDurationSeconds) * 1000;
    if (heldByOther && observedAt + validForMs > t) return false;
    const mine = holder === identity;
    const record: LeaseRecord = {
      holderIdentity: identity,
      leaseDurationSeconds,
      acquireTime: mine ? current.record.acquireTime : iso(t),
      renewTime: iso(t),
      leaseTransitions: mine
        ? current.record.leaseTransitions
        : current.record.leaseTransitions + 1,
    };
    observe(await store.update(record, current.resourceVersion), t);
    return true;
  };

  const withDeadline = <T>(promise: Promise<T>, ms: number): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      promise.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });

  const stopLeading = (why: string) => {
    if (!leader) return;
    leader = false;
    if (why === "released") logger.info({ identity, why }, "stopped leading");
    else logger.warn({ identity, why }, "stopped leading");
    options.onStoppedLeading();
  };

  const step = async (): Promise<number> => {
    // A leader's attempt may not outlive its renew deadline; a candidate's, one retry period.
    const budget = leader
      ? Math.max(1, lastRenewAt + renewDeadlineMs - now())
      : Math.max(retryPeriodMs, 1);
    let ok = false;
    try {
      ok = await withDeadline(tryAcquireOrRenew(), budget);
    } catch (error) {
      logger.debug({ err: safeError(error) }, "lease attempt failed");
    }
    const t = now();
    if (ok) {
      lastRenewAt = t;
      if (!leader) {
        leader = true;
        logger.info({ identity }, "started leading");
        options.onStartedLeading();
      }
    } else if (leader) {
      const holder = observed?.record.holderIdentity;
      if (holder && holder !== identity) stopLeading(`lease taken by ${holder}`);
      else if (t - lastRenewAt >= renewDeadlineMs) stopLeading("renew deadline passed");
    }
    if (leader) return Math.min(retryPeriodMs, Math.max(0, lastRenewAt + renewDeadlineMs - t));
    return Math.round(retryPeriodMs * (1 + jitter * Math.random()));
  };

  return {
    step,
    async run(signal) {
      while (!signal.aborted) {
        const delay = await step();
        if (signal.aborted) break;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          signal.addEventListener(
            "abort",
            () => {
              clearTimeout(timer);
              resolve();
            },
            { once: true },
          );
        });
      }
    },
    async release(drain) {
      if (!leader) return;
      stopLeading("released");
      await drain?.();
      if (!observed || observed.record.holderIdentity !== identity) return;
      const t = now();
      try {
        observed = await store.update(
          {
            holderIdentity: "",
            leaseDurationSeconds: 1,
            acquireTime: iso(t),
            renewTime: iso(t),
            leaseTransitions: observed.record.leaseTransitions,
          },
          observed.resourceVersion,
        );
        logger.info({ identity }, "released the lease");
      } catch (error) {
        logger.warn({ err: safeError(error) }, "could not release the lease");
      }
    },
    isLeader: () => leader,
  };
}
