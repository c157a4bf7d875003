import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadOperatorConfig } from "./config.ts";

const dir = mkdtempSync(join(tmpdir(), "operator-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const base = { STRATA_ADMIN_URL: "http://auth:50052", STRATA_ADMIN_TOKEN: "t" };

describe("operator configuration", () => {
  it("reads the admin token from a file (a mounted Secret), never needing it in the environment", () => {
    const file = join(dir, "admin-token");
    writeFileSync(file, "strata-admin-abc\n");
    const config = loadOperatorConfig({
      STRATA_ADMIN_URL: "http://auth:50052",
      STRATA_ADMIN_TOKEN_FILE: file,
    });
    expect(config.STRATA_ADMIN_TOKEN).toBe("strata-admin-abc");
  });

  it("refuses to start without an admin URL or token", () => {
    expect(() => loadOperatorConfig({})).toThrow(/STRATA_ADMIN_URL[\s\S]*STRATA_ADMIN_TOKEN/);
  });

  it("reads the watched namespaces as a list; empty means all", () => {
    expect(
      loadOperatorConfig({ ...base, STRATA_WATCH_NAMESPACES: " team-a, team-b ," })
        .STRATA_WATCH_NAMESPACES,
    ).toEqual(["team-a", "team-b"]);
    expect(loadOperatorConfig(base).STRATA_WATCH_NAMESPACES).toEqual([]);
    expect(() => loadOperatorConfig({ ...base, STRATA_WATCH_NAMESPACES: "Team_A" })).toThrow(
      /STRATA_WATCH_NAMESPACES/,
    );
  });

  it("uses the pod name as identity, else host and pid", () => {
    expect(loadOperatorConfig({ ...base, POD_NAME: "strata-operator-7d9f-abc" }).identity).toBe(
      "strata-operator-7d9f-abc",
    );
    expect(loadOperatorConfig(base).identity).toMatch(new RegExp(`-${process.pid}$`));
  });

  it("keeps the renew deadline shorter than the lease, and the retry period shorter than both", () => {
    expect(() => loadOperatorConfig({ ...base, STRATA_LEASE_RENEW_DEADLINE_MS: "15000" })).toThrow(
      /STRATA_LEASE_RENEW_DEADLINE_MS/,
    );
    expect(() => loadOperatorConfig({ ...base, STRATA_LEASE_RETRY_PERIOD_MS: "10000" })).toThrow(
      /STRATA_LEASE_RETRY_PERIOD_MS/,
    );
    const config = loadOperatorConfig(base);
    expect([
      config.STRATA_LEASE_DURATION_MS,
      config.STRATA_LEASE_RENEW_DEADLINE_MS,
      config.STRATA_LEASE_RETRY_PERIOD_MS,
    ]).toEqual([15_000, 10_000, 2_000]);
    expect(config.STRATA_ROTATION_DAY_SECONDS).toBe(86_400);
  });
});
