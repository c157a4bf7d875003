import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

  it("applies the README's example policy file, and the gateway enforces it", async () => {
    const readme = readFileSync("README.md", "utf8");
    const example = /```json\n([\s\S]*?)```/.exec(readme)?.[1];
    if (!example) throw new Error("the README has no policy example");
    const file = join(mkdtempSync(join(tmpdir(), "policy-")), "policy.json");
    writeFileSync(file, example);
    const tenant = `readme-${Date.now().toString(36)}`;
    await strata("tenants", "create", tenant);
    await strata("tenants", "update", tenant, "--policy-file", file);
    const shown = JSON.parse((await strata("tenants", "show", tenant, "--json")).stdout) as {
      policy: { allowedRegions: string[]; limits: { rate: { requestsPerMinute: number } } };
    };
    expect(shown.policy.allowedRegions).toEqual(["us"]);
    expect(shown.policy.limits.rate.requestsPerMinute).toBe(600);
    const { stdout } = await strata("keys", "create", "--tenant", tenant, "--json");
    const key = (JSON.parse(stdout) as { secret: string }).secret;
    // On the embedded default (us-east-1) the example leaves the tenant its allowed models...
    const res = await openai(key).chat.completions.create({
      model: "claude-3-haiku",
      messages: [{ role: "user", content: "hi" }],
    });
    expect(res.choices[0]?.finish_reason).toBe("stop");
    // ...and no other.
    const refused = await openai(key)
      .chat.completions.create({ model: "llama3-8b", messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 403, code: "model_not_allowed" });
  });

  it("reports usage per day, key and model, and only the scoped tenant's", async () => {
    const tenant = `usage-${Date.now().toString(36)}`;
    await strata("tenants", "create", tenant);
    const created = JSON.parse(
      (await strata("keys", "create", "--tenant", tenant, "--json")).stdout,
    ) as {
      secret: string;
      key: { keyId: string };
    };
    const client = openai(created.secret);
    let prompt = 0;
    let completion = 0;
    // claude-3-haiku's catalog price: $0.25 in, $1.25 out per million tokens; each request's
    // cost rounds up to a whole micro-dollar.
    let costMicros = 0;
    for (let i = 0; i < 3; i++) {
      const res = await client.chat.completions.create({
        model: "claude-3-haiku",
        messages: [{ role: "user", content: `[[emulator:tokens=${100 * (i + 1)}]] usage ${i}` }],
      });
      prompt += res.usage?.prompt_tokens ?? 0;
      completion += res.usage?.completion_tokens ?? 0;
      costMicros += Math.ceil(
        ((res.usage?.prompt_tokens ?? 0) * 250_000 +
          (res.usage?.completion_tokens ?? 0) * 1_250_000) /
          1_000_000,
      );
    }
    const today = new Date().toISOString().slice(0, 10);
    let summaries: Array<{
      keyId: string;
      model: string;
      requests: number;
      inputTokens: number;
      outputTokens: number;
      costMicros: number;
      day: string;
    }> = [];
    for (let i = 0; i < 50 && summaries.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const report = JSON.parse(
        (await strata("usage", "--tenant", tenant, "--since", today, "--json")).stdout,
      ) as { summaries?: typeof summaries };
      summaries = report.summaries?.filter((s) => s.requests >= 3) ?? [];
    }
    expect(summaries).toEqual([
      expect.objectContaining({
        day: today,
        keyId: created.key.keyId,
        model: "anthropic.claude-3-haiku-20240307-v1:0",
        requests: 3,
        inputTokens: prompt,
        outputTokens: completion,
        costMicros,
      }),
    ]);
    expect(Number.isInteger(summaries[0]?.costMicros)).toBe(true);
    const text = (await strata("usage", "--tenant", tenant)).stdout;
    expect(text).toContain(created.key.keyId);
    // The cost column: micro-dollars as dollars with six decimals, e.g. $0.000450.
    expect(text.split("\n")[0]).toMatch(/ COST$/);
    expect(text).toContain(`$0.${String(costMicros).padStart(6, "0")}`);
    // A token scoped to another tenant cannot read this one's usage.
    const other = `usage-other-${Date.now().toString(36)}`;
    await strata("tenants", "create", other);
    const scoped = JSON.parse(
      (await strata("admin-tokens", "create", "--name", "o", "--tenant", other, "--json")).stdout,
    ) as { secret: string };
    const refused = await run(
      process.execPath,
      ["packages/cli/bin/strata.js", "usage", "--tenant", tenant],
      {
        env: {
          ...process.env,
          STRATA_ADMIN_URL: inject("adminUrl"),
          STRATA_ADMIN_TOKEN: scoped.secret,
        },
      },
    ).catch((e: unknown) => e as { code: number; stderr: string });
    expect(refused).toMatchObject({ code: 1 });
    // Without --tenant: a global token sees every tenant's usage, this one's among them; a scoped
    // token sees its own tenant's only.
    type Report = { summaries?: Array<{ tenantId: string; requests: number }> };
    const all = JSON.parse((await strata("usage", "--since", today, "--json")).stdout) as Report;
    expect(all.summaries?.filter((s) => s.tenantId === tenant)).toEqual([
      expect.objectContaining({ tenantId: tenant, requests: 3 }),
    ]);
    const own = await run(process.execPath, ["packages/cli/bin/strata.js", "usage", "--json"], {
      env: {
        ...process.env,
        STRATA_ADMIN_URL: inject("adminUrl"),
        STRATA_ADMIN_TOKEN: scoped.secret,
      },
    });
    expect((JSON.parse(own.stdout) as Report).summaries ?? []).toEqual([]);
  });

  it("rotates a key into one with the same lifetime; --overlap-days 0 stops the old key now", async () => {
    const tenant = `rotate-${Date.now().toString(36)}`;
    await strata("tenants", "create", tenant);
    type Created = { secret: string; key: { keyId: string; expiresAtMs: string } };
    type Rotated = Created & { previous: { expiresAtMs: string } };
    const first = JSON.parse(
      (await strata("keys", "create", "--tenant", tenant, "--ttl-days", "30", "--json")).stdout,
    ) as Created;
    const works = (key: string) =>
      openai(key)
        .chat.completions.create({
          model: "claude-3-haiku",
          messages: [{ role: "user", content: "hi" }],
        })
        .then(
          () => true,
          (e: unknown) => {
            if ((e as { status?: number }).status === 401) return false;
            throw e;
          },
        );
    expect(await works(first.secret)).toBe(true);

    const rotatedAt = Date.now();
    const second = JSON.parse(
      (await strata("keys", "rotate", first.key.keyId, "--overlap-days", "0", "--json")).stdout,
    ) as Rotated;
    // 30 days from the rotation, not the 90-day default.
    expect(Number(second.key.expiresAtMs) - rotatedAt).toBeGreaterThan(30 * 86_400_000 - 60_000);
    expect(Number(second.key.expiresAtMs) - rotatedAt).toBeLessThan(30 * 86_400_000 + 60_000);
    expect(Number(second.previous.expiresAtMs)).toBeLessThanOrEqual(Date.now());
    expect(await works(second.secret)).toBe(true);
    // Refused within the second revocations are promised in, though it was just used.
    const deadline = Date.now() + 1_000;
    while ((await works(first.secret)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(await works(first.secret)).toBe(false);

    // Without --overlap-days: the default overlap of 14 days.
    const third = JSON.parse(
      (await strata("keys", "rotate", second.key.keyId, "--json")).stdout,
    ) as Rotated;
    const overlap = Number(third.previous.expiresAtMs) - Date.now();
    expect(overlap).toBeGreaterThan(14 * 86_400_000 - 60_000);
    expect(overlap).toBeLessThanOrEqual(14 * 86_400_000);
    expect(await works(second.secret)).toBe(true);

    for (const args of [
      ["--overlap-days", "-1"],
      ["--overlap-days=-1"],
      ["--overlap-days", "soon"],
    ]) {
      const error = await strata("keys", "rotate", third.key.keyId, ...args).catch(
        (e: unknown) => e as { code: number; stderr: string },
      );
      expect(error).toMatchObject({ code: 1 });
      const { stderr } = error as { stderr: string };
      expect(stderr).toMatch(/^strata: .*--overlap-days/);
      expect(stderr).not.toMatch(/\n\s+at /);
    }
  });

  it("fails with a clear message and exit code without an admin token", async () => {
    const error = await run(process.execPath, ["packages/cli/bin/strata.js", "tenants", "list"], {
      env: { ...process.env, STRATA_ADMIN_URL: inject("adminUrl"), STRATA_ADMIN_TOKEN: "wrong" },
    }).catch((e: unknown) => e as { code: number; stderr: string });
    expect(error).toMatchObject({ code: 1 });
    expect((error as { stderr: string }).stderr).toContain("admin token");
  });
});
