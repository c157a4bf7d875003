import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { StrataError, toConnectError } from "@strata/errors";
import { createLogger } from "@strata/platform";
import {
  AuthService,
  type Principal,
  VerifyKeyResponseSchema,
  WatchRevocationsResponseSchema,
} from "@strata/proto";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createAuthenticator, createStaleAnswers } from "./authenticator.ts";

const logger = createLogger({ service: "gateway", level: "silent" });

/** What auth does with the next VerifyKey call: answer, fail like a transport, or hang. */
type Behaviour = "answer" | "unavailable" | "reset" | "cancelled" | "hang" | "refuse";

function setup(maxTtlMs = 10_000, unwatchedTtlMs = maxTtlMs) {
  let behaviour: Behaviour = "answer";
  let calls = 0;
  let endStream: (() => void) | undefined;
  const transport = createRouterTransport(({ service }) => {
    service(AuthService, {
      async verifyKey(_req, ctx) {
        calls++;
        switch (behaviour) {
          case "answer":
            return create(VerifyKeyResponseSchema, {
              principal: { tenantId: "acme", keyId: "k1" },
              cacheTtlMs: 10_000,
            });
          case "unavailable":
            throw new ConnectError("connect ECONNREFUSED", Code.Unavailable);
          case "reset":
            throw new ConnectError("read ECONNRESET", Code.Aborted);
          case "cancelled":
            // What a session dying under the call looks like (an HTTP/2 CANCEL reset).
            throw new ConnectError("http/2 stream closed with error code CANCEL", Code.Canceled);
          case "hang":
            return new Promise((_, reject) =>
              ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)),
            );
          case "refuse":
            throw toConnectError(new StrataError("unauthenticated", "Incorrect API key provided."));
        }
      },
      async *watchRevocations(_req, ctx) {
        if (behaviour !== "answer")
          throw new ConnectError("connect ECONNREFUSED", Code.Unavailable);
        yield create(WatchRevocationsResponseSchema, { event: { case: "heartbeat", value: true } });
        await new Promise<void>((resolve) => {
          endStream = resolve;
          ctx.signal.addEventListener("abort", () => resolve());
        });
        throw new ConnectError("read ECONNRESET", Code.Unavailable);
      },
      async recordEvents() {
        return {};
      },
    });
  });
  const registry = new Registry();
  const authenticator = createAuthenticator({
    auth: createClient(AuthService, transport),
    logger,
    registry,
    timeoutMs: 100,
    maxTtlMs,
    negativeTtlMs: 0,
    unwatchedTtlMs,
  });
  const watching = async () =>
    (await registry.getSingleMetric("strata_gateway_revocation_watch_up")?.get())?.values[0]
      ?.value === 1;
  const unreachable = async () =>
    (await registry.getSingleMetric("strata_gateway_auth_unreachable_total")?.get())?.values[0]
      ?.value ?? 0;
  return {
    authenticator,
    unreachable,
    set: (next: Behaviour) => {
      behaviour = next;
    },
    calls: () => calls,
    watching,
    /** Ends the revocation stream as a dying auth would. */
    endStream: () => endStream?.(),
  };
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe("authenticator when auth does not answer", () => {
  it.each([
    ["refuses connections", "unavailable"],
    ["resets the connection", "reset"],
    ["dies under the call", "cancelled"],
    ["hangs past the deadline", "hang"],
  ] as const)("answers upstream_unavailable with retry-after when auth %s", async (_, how) => {
    const { authenticator, set, unreachable } = setup();
    set(how);
    const started = performance.now();
    const error = await failure(authenticator.authenticate("Bearer sk-strata-x", "10.0.0.1"));
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(error).toBeInstanceOf(StrataError);
    expect(error).toMatchObject({ reason: "upstream_unavailable", retryAfterMs: 1_000 });
    expect(await unreachable()).toBe(1);
  });

  it("passes auth's own refusal through, and does not count it as an outage", async () => {
    const { authenticator, set, unreachable } = setup();
    set("refuse");
    expect(await failure(authenticator.authenticate("Bearer sk-strata-x", ""))).toMatchObject({
      reason: "unauthenticated",
    });
    expect(await unreachable()).toBe(0);
  });

  it("keeps serving a verified key from its cache until its lifetime ends, without asking auth", async () => {
    const { authenticator, set, calls } = setup(300);
    const caller = await authenticator.authenticate("Bearer sk-strata-ok", "");
    set("unavailable");
    expect(await authenticator.authenticate("Bearer sk-strata-ok", "")).toEqual(caller);
    expect(calls()).toBe(1);
    await new Promise((r) => setTimeout(r, 350));
    expect(await failure(authenticator.authenticate("Bearer sk-strata-ok", ""))).toMatchObject({
      reason: "upstream_unavailable",
    });
  });

  it("cuts every cached entry to the unwatched lifetime when the revocation stream is lost", async () => {
    const { authenticator, set, watching, endStream } = setup(10_000, 200);
    authenticator.watch();
    try {
      for (let i = 0; i < 100 && !(await watching()); i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(await watching()).toBe(true);
      // Cached for 10 s while the stream is up.
      await authenticator.authenticate("Bearer sk-strata-ok", "");
      set("unavailable");
      endStream();
      await new Promise((r) => setTimeout(r, 20));
      expect(await watching()).toBe(false);
      await authenticator.authenticate("Bearer sk-strata-ok", "");
      await new Promise((r) => setTimeout(r, 250));
      expect(await failure(authenticator.authenticate("Bearer sk-strata-ok", ""))).toMatchObject({
        reason: "upstream_unavailable",
      });
    } finally {
      authenticator.close();
    }
  });
});

/** An auth whose VerifyKey answers only when told to, and whose revocation stream the test feeds. */
function gatedAuth() {
  const gates: Array<() => void> = [];
  const events: Array<() => void> = [];
  let push: ((keyId: string) => void) | undefined;
  let revoked = false;
  const transport = createRouterTransport(({ service }) => {
    service(AuthService, {
      async verifyKey() {
        // Auth reads the key now; its answer reaches the gateway when the test opens the gate.
        const active = !revoked;
        await new Promise<void>((resolve) => gates.push(resolve));
        if (!active)
          throw toConnectError(new StrataError("unauthenticated", "This API key was revoked."));
        return create(VerifyKeyResponseSchema, {
          principal: { tenantId: "acme", keyId: "k1" },
          cacheTtlMs: 60_000,
        });
      },
      async *watchRevocations(_req, ctx) {
        yield create(WatchRevocationsResponseSchema, { event: { case: "heartbeat", value: true } });
        const queue: string[] = [];
        let wake: (() => void) | undefined;
        push = (keyId) => {
          queue.push(keyId);
          wake?.();
        };
        while (!ctx.signal.aborted) {
          const keyId = queue.shift();
          if (keyId) {
            yield create(WatchRevocationsResponseSchema, {
              event: { case: "revokedKeyId", value: keyId },
            });
            for (const delivered of events.splice(0)) delivered();
            continue;
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
            ctx.signal.addEventListener("abort", () => resolve(), { once: true });
          });
        }
      },
      async recordEvents() {
        return {};
      },
    });
  });
  const registry = new Registry();
  const authenticator = createAuthenticator({
    auth: createClient(AuthService, transport),
    logger,
    registry,
    timeoutMs: 5_000,
    maxTtlMs: 60_000,
    negativeTtlMs: 0,
  });
  const until = async (check: () => boolean) => {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
    expect(check()).toBe(true);
  };
  /** Starts following revocations; resolves once the stream is up. */
  const watch = async () => {
    authenticator.watch();
    for (let i = 0; i < 200; i++) {
      const up = (await registry.getSingleMetric("strata_gateway_revocation_watch_up")?.get())
        ?.values[0]?.value;
      if (up === 1) return;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error("the revocation stream did not come up");
  };
  return {
    authenticator,
    watch,
    /** Revokes k1 in auth and announces it on the stream; resolves once the gateway has it. */
    revoke: async () => {
      revoked = true;
      await until(() => push !== undefined);
      const delivered = new Promise<void>((resolve) => events.push(resolve));
      push?.("k1");
      await delivered;
      await new Promise((r) => setTimeout(r, 5));
    },
    pending: () => gates.length,
    answer: () => gates.shift()?.(),
    until,
  };
}

describe("authenticator and revocations", () => {
  it("does not cache an answer that was on its way when the key was revoked", async () => {
    const { authenticator, watch, revoke, pending, answer, until } = gatedAuth();
    await watch();
    try {
      // Auth has read the key as active; its answer is still on the wire when the revocation
      // arrives, and reaches the gateway after it.
      const first = authenticator.authenticate("Bearer sk-strata-k1", "");
      await until(() => pending() === 1);
      await revoke();
      answer();
      await first;
      // The next request asks auth again instead of trusting the stale answer for a minute.
      const second = failure(authenticator.authenticate("Bearer sk-strata-k1", ""));
      await until(() => pending() === 1);
      answer();
      expect(await second).toMatchObject({ reason: "unauthenticated" });
    } finally {
      authenticator.close();
    }
  });

  it("evicts a cached key the moment its revocation arrives", async () => {
    const { authenticator, watch, revoke, pending, answer, until } = gatedAuth();
    await watch();
    try {
      const first = authenticator.authenticate("Bearer sk-strata-k1", "");
      await until(() => pending() === 1);
      answer();
      await first;
      // Cached: no call to auth.
      await authenticator.authenticate("Bearer sk-strata-k1", "");
      expect(pending()).toBe(0);
      await revoke();
      const after = failure(authenticator.authenticate("Bearer sk-strata-k1", ""));
      await until(() => pending() === 1);
      answer();
      expect(await after).toMatchObject({ reason: "unauthenticated" });
    } finally {
      authenticator.close();
    }
  });
});

describe("createStaleAnswers", () => {
  it("marks answers asked before an eviction or a clear stale, and forgets past the horizon", () => {
    let t = 0;
    const stale = createStaleAnswers(100, () => t);
    const k1 = { tenantId: "acme", keyId: "k1" } as Principal;
    const asked = stale.now();
    t = 10;
    stale.evicted("key", "k2");
    expect(stale.since(asked, k1)).toBe(false);
    stale.evicted("tenant", "acme");
    expect(stale.since(asked, k1)).toBe(true);
    expect(stale.since(11, k1)).toBe(false);
    // A key id that happens to equal a tenant id is a different thing.
    stale.evicted("key", "acme");
    expect(stale.since(asked, { tenantId: "other", keyId: "k1" } as Principal)).toBe(false);
    t = 500;
    stale.evicted("key", "k3");
    expect(stale.since(asked, k1)).toBe(false);
    stale.cleared();
    expect(stale.since(499, k1)).toBe(true);
  });
});

describe("authenticator when auth renews the revocation stream", () => {
  it("reconnects and logs no warning when auth ends a stream it has served a while", async () => {
    let streams = 0;
    const transport = createRouterTransport(({ service }) => {
      service(AuthService, {
        async verifyKey() {
          return create(VerifyKeyResponseSchema, {
            principal: { tenantId: "acme", keyId: "k1" },
            cacheTtlMs: 10_000,
          });
        },
        async *watchRevocations(_req, ctx) {
          streams++;
          yield create(WatchRevocationsResponseSchema, {
            event: { case: "heartbeat", value: true },
          });
          // Auth's planned end of a stream: a clean return, as at the end of its lifetime.
          if (streams === 1) await new Promise((r) => setTimeout(r, 1_100));
          else await new Promise((r) => ctx.signal.addEventListener("abort", r));
        },
        async recordEvents() {
          return {};
        },
      });
    });
    const lines: Array<{ level: string; msg: string }> = [];
    const authenticator = createAuthenticator({
      auth: createClient(AuthService, transport),
      logger: createLogger({
        service: "gateway",
        level: "debug",
        destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
      }),
      registry: new Registry(),
      timeoutMs: 100,
      maxTtlMs: 10_000,
      negativeTtlMs: 0,
    });
    authenticator.watch();
    try {
      await expect.poll(() => streams, { timeout: 5_000 }).toBe(2);
      expect(lines.filter((l) => l.level === "warn")).toEqual([]);
      expect(lines.map((l) => l.msg)).toContain("revocation watch renewed");
    } finally {
      authenticator.close();
    }
  });
});
