import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { type Stack, startStack } from "@strata/devstack";
import { bearerAuth, createRpcClient, createRpcTransport } from "@strata/platform";
import { AuthAdminService, BudgetPeriod, SecretsMode } from "@strata/proto";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// A real Prometheus scrapes a running stack after traffic; every query of the shipped dashboards
// and every alert expression must evaluate, and return data, against what it scraped.

const run = promisify(execFile);
const observability = resolve("deploy/helm/strata/files");
let stack: Stack;
let prometheus: ChildProcess | undefined;
let promUrl: string;

async function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

async function query(
  expr: string,
): Promise<{ status: string; data?: { result: unknown[] }; error?: string }> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return (await res.json()) as { status: string; data?: { result: unknown[] }; error?: string };
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "strata-prom-"));
  stack = await startStack({
    logFile: join(dir, "services.log"),
    serviceEnv: { auth: { STRATA_KEY_EXPIRY_SCAN_MS: "500" } },
  });
  const targets = Object.values(stack.services).map((s) => `127.0.0.1:${s.ports.metrics}`);
  writeFileSync(
    join(dir, "prometheus.yml"),
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - ${join(observability, "alerts.yaml")}\nscrape_configs:\n  - job_name: strata\n    static_configs:\n      - targets: ${JSON.stringify(targets)}\n`,
  );
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prometheus = spawn(
    "prometheus",
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: "ignore" },
  );
  for (let i = 0; i < 100; i++) {
    const ready = await fetch(`${promUrl}/-/ready`).catch(() => undefined);
    if (ready?.ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }

  // Traffic that touches every metric the dashboards and alerts read.
  const admin = createRpcClient(
    AuthAdminService,
    createRpcTransport({ baseUrl: stack.adminUrl, interceptors: [bearerAuth(stack.adminToken)] }),
  );
  await admin.createTenant({
    tenantId: "observed",
    policy: {
      secrets: SecretsMode.BLOCK,
      limits: {
        rate: { requestsPerMinute: 5 },
        budget: { period: BudgetPeriod.MONTH, tokens: 100_000, costMicros: 10_000_000 },
      },
    },
  });
  const { secret } = await admin.createKey({ tenantId: "observed", ttlSeconds: 3 * 86_400 });
  const client = new OpenAI({ apiKey: secret, baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0 });
  const ask = (content: string) =>
    client.chat.completions
      .create({ model: "claude-3-haiku", messages: [{ role: "user", content }] })
      .catch((e: unknown) => e);
  await ask("hello");
  const stream = await client.chat.completions.create({
    model: "claude-3-haiku",
    stream: true,
    messages: [{ role: "user", content: "stream" }],
  });
  for await (const _ of stream);
  await client.embeddings.create({ model: "titan-embed-text-v2", input: "e" });
  await ask("[[emulator:throttle]]");
  await ask("[[emulator:status=503]]");
  await ask("key AKIAIOSFODNN7EXAMPLE");
  for (let i = 0; i < 6; i++) await ask("over the limit");
  // Wait until Prometheus holds two scrapes of the traffic: rates need two samples of a series.
  for (let i = 0; i < 300; i++) {
    const rate = await query("sum(rate(strata_gateway_requests_total[5m]))").catch(() => undefined);
    if ((rate?.data?.result.length ?? 0) > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 2_000));
}, 120_000);

afterAll(async () => {
  prometheus?.kill();
  await stack?.stop();
});

/** Every PromQL expression of the dashboards, with Grafana's variables filled in. */
function dashboardQueries(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const name of ["tenant-usage", "latency-errors", "limits-budgets"]) {
    const dashboard = JSON.parse(
      readFileSync(join(observability, "dashboards", `${name}.json`), "utf8"),
    ) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        out.push([
          `${name}: ${panel.title}`,
          target.expr.replaceAll("$tenant", ".*").replaceAll("$__range", "1h"),
        ]);
      }
    }
  }
  return out;
}

/** Alert expressions without their final comparison: what they measure must exist. */
function alertQueries(): Array<[string, string]> {
  const text = readFileSync(join(observability, "alerts.yaml"), "utf8");
  return [...text.matchAll(/- alert: (\w+)\n\s+expr: (.+)\n/g)].map(([, name, expr]) => {
    const cut = Math.max(expr?.lastIndexOf(" > ") ?? -1, expr?.lastIndexOf(" < ") ?? -1);
    return [name ?? "", (cut > 0 ? expr?.slice(0, cut) : expr) ?? ""];
  });
}

describe("dashboards and alerts against a real Prometheus", () => {
  it("has valid rule syntax and passing alert unit tests (promtool)", async () => {
    await run("promtool", ["check", "rules", join(observability, "alerts.yaml")]);
    const { stdout } = await run("promtool", [
      "test",
      "rules",
      join(observability, "alerts.test.yaml"),
    ]);
    expect(stdout).toContain("SUCCESS");
  });

  it.each(dashboardQueries())("returns data for dashboard panel %s", async (_, expr) => {
    const result = await query(expr);
    expect(result.status, result.error).toBe("success");
    expect(result.data?.result.length, expr).toBeGreaterThan(0);
  });

  it.each(alertQueries())("returns data for what alert %s measures", async (_, expr) => {
    const result = await query(expr);
    expect(result.status, result.error).toBe("success");
    expect(result.data?.result.length, expr).toBeGreaterThan(0);
  });
});
