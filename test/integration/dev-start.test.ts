import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, describe, expect, it } from "vitest";

const stateDir = mkdtempSync(join(tmpdir(), "strata-dev-"));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

/** Runs the `npm start` entry point and waits for its ready line. */
async function start(): Promise<{ child: ChildProcess; baseURL: string; apiKey: string }> {
  const child = spawn(
    process.execPath,
    [
      "packages/devstack/bin/strata-dev.js",
      "--port",
      "0",
      "--state-dir",
      stateDir,
      "--log-level",
      "warn",
    ],
    {
      env: { ...process.env, STRATA_BEDROCK: "emulator" },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line:\n${output}`)), 45_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const ready = /Strata is ready: (\S+)\n\s+API key \(tenant "default"\): (\S+)/.exec(output);
      if (ready?.[1] && ready[2]) {
        clearTimeout(timer);
        resolve({ child, baseURL: ready[1], apiKey: ready[2] });
      }
    });
    child.once("exit", (code) => reject(new Error(`exited with ${code}:\n${output}`)));
  });
}

async function stop(child: ChildProcess) {
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

describe("npm start (embedded defaults)", () => {
  it("prints a usable key on first start, and keeps tenants and keys on the second", async () => {
    const first = await start();
    const client = new OpenAI({ baseURL: first.baseURL, apiKey: first.apiKey, maxRetries: 0 });
    const res = await client.chat.completions.create({
      model: "claude-3-haiku",
      messages: [{ role: "user", content: "hello" }],
    });
    expect(res.choices[0]?.message.content).toContain("hello");
    expect(statSync(join(stateDir, "admin-token")).mode & 0o777).toBe(0o600);
    await stop(first.child);

    const second = await start();
    expect(second.apiKey).toBe(first.apiKey);
    const again = new OpenAI({ baseURL: second.baseURL, apiKey: second.apiKey, maxRetries: 0 });
    expect((await again.models.list()).data.length).toBeGreaterThan(0);
    await stop(second.child);
  }, 120_000);
});
