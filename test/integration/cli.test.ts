import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";
import { openai } from "./support.ts";

const run = promisify(execFile);
const strata = (...args: string[]) =>
  run(process.execPath, ["packages/cli/bin/strata.js", ...args], {
    env: {
      ...process.env,
      STRATA_ADMIN_URL: inject("adminUrl"),
      STRATA_ADMIN_TOKEN: inject("adminToken"),
    },
  });

describe("strata CLI", () => {
  it("creates a tenant and a key that works through the gateway, and lists it without the secret", async () => {
    const tenant = `cli-${Date.now().toString(36)}`;
    await strata("tenants", "create", tenant, "--name", "CLI tenant");
    const { stdout } = await strata(
      "keys",
      "create",
      "--tenant",
      tenant,
      "--name",
      "from-cli",
      "--json",
    );
    const created = JSON.parse(stdout) as { secret: string; key: { keyId: string } };
    expect(created.secret).toMatch(/^sk-strata-/);
    const res = await openai(created.secret).chat.completions.create({
      model: "claude-3-haiku",
      messages: [{ role: "user", content: "hi from the cli key" }],
    });
    expect(res.choices[0]?.finish_reason).toBe("stop");

    const listed = await strata("keys", "list", "--tenant", tenant);
    expect(listed.stdout).toContain(created.key.keyId);
    expect(listed.stdout).toContain("active");
    expect(listed.stdout).not.toContain(created.secret.slice(23));
    expect((await strata("tenants", "list")).stdout).toContain(tenant);
  });

  it("fails with a clear message and exit code without an admin token", async () => {
    const error = await run(process.execPath, ["packages/cli/bin/strata.js", "tenants", "list"], {
      env: { ...process.env, STRATA_ADMIN_URL: inject("adminUrl"), STRATA_ADMIN_TOKEN: "wrong" },
    }).catch((e: unknown) => e as { code: number; stderr: string });
    expect(error).toMatchObject({ code: 1 });
    expect((error as { stderr: string }).stderr).toContain("admin token");
  });
});
