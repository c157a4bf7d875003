import { createHash } from "node:crypto";
import { type Client, ConnectError } from "@connectrpc/connect";
import { asStrataError, StrataError } from "@strata/errors";
import type { Logger } from "@strata/platform";
import {
  type AuthService,
  ErrorDetailSchema,
  type Principal,
  type VerifyKeyResponse,
} from "@strata/proto";
import { LRUCache } from "lru-cache";
import { Counter, Gauge, type Registry } from "prom-client";
import type { PolicyLayers } from "./policy.ts";

/** Who a request is for, and what they may do. */
export interface Caller {
  principal: Principal;
  policy: PolicyLayers;
}

/** Options of createAuthenticator. */
export interface AuthenticatorOptions {
  auth: Client<typeof AuthService>;
  logger: Logger;
  registry: Registry;
  timeoutMs: number;
  maxTtlMs: number;
  negativeTtlMs: number;
  /** Cache lifetime while the revocation watch is down: revocations then apply within it. */
  unwatchedTtlMs?: number;
  maxEntries?: number;
}

/** Verifies API keys, with a cache that follows auth's revocations. */
export interface Authenticator {
  authenticate(authorization: string | undefined, sourceIp: string): Promise<Caller>;
  /** Follows auth's WatchRevocations until close(); reconnects with backoff. */
  watch(): void;
  close(): void;
}

type Entry = { ok: true; caller: Caller } | { ok: false; error: StrataError };

/** OpenAI's message when no key is sent at all. */
const missingKey =
  "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).";

/**
 * Whether a VerifyKey call failed without an answer from auth: auth's own refusals carry Strata's
 * error detail. Whatever the transport reports instead (Unavailable for a refused connection,
 * DeadlineExceeded past the deadline, Aborted for a reset, Canceled for a session that died under
 * the call: the call has no signal of its own to be cancelled by) means auth did not answer.
 */
function unanswered(error: unknown): boolean {
  return error instanceof ConnectError && error.findDetails(ErrorDetailSchema).length === 0;
}

/**
 * Remembers, briefly, when keys and tenants were last evicted and the cache last cleared, so that a
 * VerifyKey answer asked for before that moment is recognised as possibly stale. Entries older than
 * a verification can be in flight (`horizonMs`, its deadline) are forgotten: no answer still on its
 * way can predate them.
 */
export function createStaleAnswers(horizonMs: number, now: () => number = () => performance.now()) {
  const evictedAt = new Map<string, number>();
  let clearedAt = Number.NEGATIVE_INFINITY;
  const forget = (at: number) => {
    // Insertion order is eviction order (re-evicting deletes first), so the oldest come first.
    for (const [id, when] of evictedAt) {
      if (at - when <= horizonMs) break;
      evictedAt.delete(id);
    }
  };
  return {
    now,
    /** A key or tenant was evicted: answers about it asked for until now are stale. */
    evicted(kind: "key" | "tenant", id: string) {
      const at = now();
      evictedAt.delete(`${kind}:${id}`);
      evictedAt.set(`${kind}:${id}`, at);
      forget(at);
    },
    /** The whole cache was emptied: every answer asked for until now is stale. */
    cleared() {
      clearedAt = now();
      evictedAt.clear();
    },
    /** Whether an answer about `principal`, asked for at `askedAt`, may predate an eviction. */
    since(askedAt: number, principal: Principal): boolean {
      return (
        clearedAt >= askedAt ||
        (evictedAt.get(`key:${principal.keyId}`) ?? Number.NEGATIVE_INFINITY) >= askedAt ||
        (evictedAt.get(`tenant:${principal.tenantId}`) ?? Number.NEGATIVE_INFINITY) >= askedAt
      );
    },
  };
}

/** Extracts the key from `Authorization: Bearer <key>`; undefined when absent or not Bearer. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/**
 * Verifies API keys through the auth service, with a bounded cache in front: successful answers
 * for as long as auth allows (never past the key's expiry, never longer than maxTtlMs), refusals
 * briefly. The cache is keyed by the key's SHA-256, not the key; concurrent requests with the same
 * uncached key share one call. Revocations and tenant changes arrive over auth's WatchRevocations
 * stream and evict the affected entries at once; while that stream is down, entries live at most
 * `unwatchedTtlMs` (those cached before it dropped are cut short to that), and the cache is
 * emptied whenever the stream (re)connects, so a revocation is never missed for longer than that.
 * It is also how long a key already verified keeps working once auth is gone.
 *
 * When auth cannot be reached or does not answer within `timeoutMs`, an uncached key is refused
 * with 503 `service_unavailable` and a retry-after (counted in
 * strata_gateway_auth_unreachable_total), never a 500 or a 504 blaming the model.
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const {
    auth,
    logger,
    timeoutMs,
    maxTtlMs,
    negativeTtlMs,
    unwatchedTtlMs = 1_000,
    maxEntries = 100_000,
  } = options;
  const cache = new LRUCache<string, Entry>({
    max: maxEntries,
    dispose: (entry, cacheKey) => {
      if (entry.ok) unindex(entry.caller.principal, cacheKey);
    },
  });
  const byKeyId = new Map<string, Set<string>>();
  const byTenant = new Map<string, Set<string>>();
  const inflight = new Map<string, Promise<Entry>>();
  let watching = false;
  let closed = false;
  let abort: AbortController | undefined;

  const watchUp = new Gauge({
    name: "strata_gateway_revocation_watch_up",
    help: "1 while the gateway follows auth's revocation stream.",
    registers: [options.registry],
    collect() {
      this.set(watching ? 1 : 0);
    },
  });
  void watchUp;
  const unreachable = new Counter({
    name: "strata_gateway_auth_unreachable_total",
    help: "Key verifications refused with 503 because auth could not be reached or did not answer in time.",
    registers: [options.registry],
  });
  let lastUnreachableLog = 0;
  const evictions = new Counter({
    name: "strata_gateway_key_cache_evictions_total",
    help: "Cached key verifications dropped because auth reported a revocation or tenant change.",
    labelNames: ["reason"],
    registers: [options.registry],
  });

  function index(map: Map<string, Set<string>>, id: string, cacheKey: string) {
    const set = map.get(id) ?? new Set<string>();
    set.add(cacheKey);
    map.set(id, set);
  }
  function unindex(principal: Principal, cacheKey: string) {
    byKeyId.get(principal.keyId)?.delete(cacheKey);
    if (byKeyId.get(principal.keyId)?.size === 0) byKeyId.delete(principal.keyId);
    byTenant.get(principal.tenantId)?.delete(cacheKey);
    if (byTenant.get(principal.tenantId)?.size === 0) byTenant.delete(principal.tenantId);
  }
  const evict = (kind: "key" | "tenant", id: string) => {
    const map = kind === "key" ? byKeyId : byTenant;
    for (const cacheKey of [...(map.get(id) ?? [])]) {
      cache.delete(cacheKey);
      evictions.inc({ reason: kind === "key" ? "revoked" : "tenant_changed" });
    }
    stale.evicted(kind, id);
  };
  // A verification in flight when its key is revoked (or the cache is cleared) carries auth's
  // answer from before: it must not be cached, or the revocation would be missed for its lifetime.
  const stale = createStaleAnswers(timeoutMs);

  const verify = async (apiKey: string, sourceIp: string, cacheKey: string): Promise<Entry> => {
    let entry: Entry;
    let ttl: number;
    const askedAt = stale.now();
    try {
      const res: VerifyKeyResponse = await auth.verifyKey({ apiKey, sourceIp }, { timeoutMs });
      const principal = res.principal;
      if (!principal)
        throw new StrataError("internal", undefined, {
          cause: new Error("VerifyKey returned no principal"),
        });
      entry = {
        ok: true,
        caller: { principal, policy: { tenant: res.tenantPolicy, key: res.keyPolicy } },
      };
      ttl = Math.min(
        maxTtlMs,
        res.cacheTtlMs,
        watching ? Number.POSITIVE_INFINITY : unwatchedTtlMs,
      );
    } catch (error) {
      if (unanswered(error)) {
        // Auth is down, partitioned or hung: nothing is known about the key. A 503 with a retry
        // hint tells clients (the OpenAI SDKs retry it) that the outage, not the key, is at fault.
        unreachable.inc();
        if (Date.now() - lastUnreachableLog > 10_000) {
          lastUnreachableLog = Date.now();
          logger.warn({ err: error }, "auth unreachable: uncached keys refused with 503");
        }
        throw new StrataError(
          "upstream_unavailable",
          "API keys cannot be verified right now. Please try again shortly.",
          { retryAfterMs: 1_000, cause: error },
        );
      }
      const strata = asStrataError(error);
      // Only definite answers about the key itself are cached. A suspended tenant is not (it may
      // be reactivated at any moment), nor is an unreachable auth service.
      if (strata.reason !== "unauthenticated") throw strata;

      entry = { ok: false, error: strata };
      ttl = negativeTtlMs;
    }
    if (entry.ok && stale.since(askedAt, entry.caller.principal)) ttl = 0;
    if (ttl > 0) {
      cache.set(cacheKey, entry, { ttl });
      if (entry.ok) {
        index(byKeyId, entry.caller.principal.keyId, cacheKey);
        index(byTenant, entry.caller.principal.tenantId, cacheKey);
      }
    }
    return entry;
  };

  /**
   * The stream is gone, so revocations no longer arrive: no entry may outlive `unwatchedTtlMs`
   * from now, whatever lifetime it was cached with while the stream was up.
   */
  const shortenLifetimes = () => {
    for (const cacheKey of [...cache.keys()]) {
      const entry = cache.peek(cacheKey);
      if (entry && cache.getRemainingTTL(cacheKey) > unwatchedTtlMs)
        cache.set(cacheKey, entry, { ttl: unwatchedTtlMs });
    }
  };

  const follow = async () => {
    let failures = 0;
    while (!closed) {
      abort = new AbortController();
      let planned = false;
      const openedAt = performance.now();
      try {
        for await (const message of auth.watchRevocations({}, { signal: abort.signal })) {
          const event = message.event;
          if (!watching) {
            // Connected: anything cached before may have missed a revocation.
            cache.clear();
            stale.cleared();
            watching = true;
            failures = 0;
            logger.info("following auth's revocations");
          }
          if (event.case === "revokedKeyId") evict("key", event.value);
          else if (event.case === "changedTenantId") evict("tenant", event.value);
        }
        // Auth ends each stream after a few minutes, before its connection is aged out: a planned
        // renewal, not a fault. A stream that ends at once (auth shutting down) backs off.
        planned = watching && performance.now() - openedAt > 1_000;
      } catch (err) {
        if (!closed) {
          const cause = asStrataError(err).cause ?? err;
          logger.warn(
            { error: cause instanceof Error ? cause.message : String(cause) },
            "revocation watch lost; caching briefly until it is back",
          );
        }
      }
      if (watching) shortenLifetimes();
      watching = false;
      if (closed) return;
      if (planned) {
        logger.debug("revocation watch renewed");
        failures = 0;
        continue;
      }
      failures++;
      await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** failures)).unref());
    }
  };

  return {
    async authenticate(authorization, sourceIp) {
      const apiKey = bearerToken(authorization);
      if (!apiKey)
        throw new StrataError("unauthenticated", missingKey, { code: "missing_api_key" });
      const cacheKey = createHash("sha256").update(apiKey).digest("base64url");
      let entry = cache.get(cacheKey);
      if (!entry) {
        let pending = inflight.get(cacheKey);
        if (!pending) {
          pending = verify(apiKey, sourceIp, cacheKey).finally(() => inflight.delete(cacheKey));
          inflight.set(cacheKey, pending);
        }
        entry = await pending;
      }
      if (!entry.ok) throw entry.error;
      return entry.caller;
    },
    watch() {
      void follow();
    },
    close() {
      closed = true;
      abort?.abort();
    },
  };
}
