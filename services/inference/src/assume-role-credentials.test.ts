import { StrataError } from "@strata/errors";
import { describe, expect, it } from "vitest";
import {
  type AssumeRoleInput,
  type AssumeRoleOutcome,
  createAssumeRoleCredentials,
} from "./assume-role-credentials.ts";
import type { AwsCredentials } from "./bedrock-client.ts";

const HOUR = 3_600_000;
const MINUTE = 60_000;

/** A fake STS on a fake clock: each call issues keys `ASIA<n>` valid for an hour. */
function harness(fail?: (call: number) => unknown) {
  let clock = 1_000_000;
  const calls: AssumeRoleInput[] = [];
  const outcomes: AssumeRoleOutcome[] = [];
  let release: (() => void) | undefined;
  let gate: Promise<void> | undefined;
  const provider = createAssumeRoleCredentials({
    roleArn: "arn:aws:iam::123456789012:role/Tenant",
    externalId: "ext-1",
    sessionName: "strata-t1",
    durationSeconds: 3600,
    now: () => clock,
    onAssumeRole: (outcome) => outcomes.push(outcome),
    async assumeRole(input): Promise<AwsCredentials> {
      calls.push(input);
      const n = calls.length;
      if (gate) await gate;
      const failure = fail?.(n);
      if (failure !== undefined) throw failure;
      return {
        accessKeyId: `ASIA${n}`,
        secretAccessKey: "s",
        sessionToken: "t",
        expiration: new Date(clock + HOUR),
      };
    },
  });
  return {
    provider,
    calls,
    outcomes,
    advance: (ms: number) => {
      clock += ms;
    },
    hold() {
      gate = new Promise((resolve) => {
        release = resolve;
      });
    },
    release() {
      gate = undefined;
      release?.();
    },
  };
}

const accessDenied = () => Object.assign(new Error("not authorized"), { name: "AccessDenied" });
const throttled = () => Object.assign(new Error("slow down"), { name: "Throttling" });

async function rejection(promise: Promise<unknown>): Promise<StrataError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StrataError);
  return error as StrataError;
}

describe("assumed-role credentials", () => {
  it("assumes the role once and reuses the credentials while more than 5 minutes remain", async () => {
    const h = harness();
    expect((await h.provider()).accessKeyId).toBe("ASIA1");
    h.advance(HOUR - 5 * MINUTE - 1);
    expect((await h.provider()).accessKeyId).toBe("ASIA1");
    expect(h.calls).toEqual([
      {
        roleArn: "arn:aws:iam::123456789012:role/Tenant",
        externalId: "ext-1",
        sessionName: "strata-t1",
        durationSeconds: 3600,
      },
    ]);
    expect(h.outcomes).toEqual([{ ok: true }]);
  });

  it("refreshes once fewer than 5 minutes remain", async () => {
    const h = harness();
    await h.provider();
    h.advance(HOUR - 5 * MINUTE + 1);
    expect((await h.provider()).accessKeyId).toBe("ASIA2");
    expect((await h.provider()).accessKeyId).toBe("ASIA2");
    expect(h.calls).toHaveLength(2);
  });

  it("shares one AssumeRole among concurrent callers", async () => {
    const h = harness();
    h.hold();
    const pending = [h.provider(), h.provider(), h.provider()];
    h.release();
    const keys = (await Promise.all(pending)).map((c) => c.accessKeyId);
    expect(keys).toEqual(["ASIA1", "ASIA1", "ASIA1"]);
    expect(h.calls).toHaveLength(1);
  });

  it("is marked memoized so the SDK asks it before every request", () => {
    expect(harness().provider.memoized).toBe(true);
  });

  it("fails with cross_account_denied and remembers the refusal for 5 seconds", async () => {
    const h = harness((n) => (n === 1 ? accessDenied() : undefined));
    const first = await rejection(h.provider());
    expect(first).toMatchObject({ reason: "permission_denied", code: "cross_account_denied" });
    expect(await rejection(h.provider())).toBe(first);
    expect(h.calls).toHaveLength(1);
    h.advance(5000);
    expect((await h.provider()).accessKeyId).toBe("ASIA2");
    expect(h.outcomes.map((o) => (o.ok ? "success" : o.error.code))).toEqual([
      "cross_account_denied",
      "success",
    ]);
  });

  it("keeps serving valid credentials when a refresh fails transiently, retrying after 5 s", async () => {
    const h = harness((n) => (n >= 2 ? throttled() : undefined));
    await h.provider();
    h.advance(HOUR - MINUTE);
    expect((await h.provider()).accessKeyId).toBe("ASIA1");
    expect((await h.provider()).accessKeyId).toBe("ASIA1");
    expect(h.calls).toHaveLength(2);
    h.advance(5000);
    expect((await h.provider()).accessKeyId).toBe("ASIA1");
    expect(h.calls).toHaveLength(3);
    h.advance(MINUTE);
    expect(await rejection(h.provider())).toMatchObject({ reason: "upstream_unavailable" });
    expect(h.calls).toHaveLength(4);
  });

  it("retries at once after a transient failure when it has no credentials", async () => {
    const h = harness((n) => (n === 1 ? throttled() : undefined));
    expect(await rejection(h.provider())).toMatchObject({ reason: "upstream_unavailable" });
    expect((await h.provider()).accessKeyId).toBe("ASIA2");
  });

  it("does not mask a refusal on refresh with the old credentials", async () => {
    const h = harness((n) => (n === 2 ? accessDenied() : undefined));
    await h.provider();
    h.advance(HOUR - MINUTE);
    expect(await rejection(h.provider())).toMatchObject({ code: "cross_account_denied" });
  });
});
