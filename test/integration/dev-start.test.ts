import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, describe, expect, it } from "vitest";

const dirs: string[] = [];
const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), "strata-dev-"));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Started {
  child: ChildProcess;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
  output: () => string;
  errors: () => string;
}

/** Runs a command (the `npm start` entry point, or npm itself) and collects what it prints. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Started {
  const child = spawn(command, args, {
    env: { ...process.env, STRATA_BEDROCK: "emulator", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let errors = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    errors += chunk.toString();
  });
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, exited, output: () => output, errors: () => errors };
}

const devArgs = (stateDir: string, port = "0") => [
  "packages/devstack/bin/strata-dev.js",
  "--port",
  port,
  "--state-dir",
  stateDir,
  "--log-level",
  "warn",
];

/** Waits for the ready line; resolves with the gateway's base URL and the printed key. */
async function ready(started: Started): Promise<{ baseURL: string; apiKey: string }> {
  const deadline = Date.now() + 45_000;
  for (;;) {
    const match = /Strata is ready: (\S+)\n\s+API key \(tenant "default"\): (\S+)/.exec(
      started.output(),
    );
    if (match?.[1] && match[2]) return { baseURL: match[1], apiKey: match[2] };
    if (started.child.exitCode !== null || Date.now() > deadline)
      throw new Error(`no ready line:\n${started.output()}\n${started.errors()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stop(started: Started) {
  started.child.kill("SIGTERM");
  await started.exited;
}

/** The stack's own process (its pid is in stack.json) and every service under it. */
function stackProcesses(stateDir: string): { stack: number; services: Map<string, number> } {
  const { pid } = JSON.parse(readFileSync(join(stateDir, "stack.json"), "utf8")) as { pid: number };
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/);
  const services = new Map<string, number>();
  for (const child of children.map(Number)) {
    const cmdline = readFileSync(`/proc/${child}/cmdline`, "utf8");
    const name = /services\/(\w+)\/src\/main\.ts/.exec(cmdline)?.[1];
    if (name) services.set(name, child);
  }
  return { stack: pid, services };
}

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !isZombie(pid);
const isZombie = (pid: number) => {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};

async function gone(pids: number[], withinMs: number): Promise<number[]> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline && pids.some(alive)) await new Promise((r) => setTimeout(r, 50));
  return pids.filter(alive);
}

describe("npm start (embedded defaults)", () => {
  it("prints a usable key on first start, and keeps tenants and keys on the second", async () => {
    const stateDir = scratch();
    const first = run(process.execPath, devArgs(stateDir));
    const a = await ready(first);
    const client = new OpenAI({ baseURL: a.baseURL, apiKey: a.apiKey, maxRetries: 0 });
    const res = await client.chat.completions.create({
      model: "claude-3-haiku",
      messages: [{ role: "user", content: "hello" }],
    });
    expect(res.choices[0]?.message.content).toContain("hello");
    expect(statSync(join(stateDir, "admin-token")).mode & 0o777).toBe(0o600);

    // A second start on the same data, while the first runs, is refused and says by whom.
    const twin = run(process.execPath, devArgs(stateDir));
    const [twinCode] = await twin.exited;
    expect(twinCode).toBe(1);
    const { stack } = stackProcesses(stateDir);
    expect(twin.errors()).toContain(`${stateDir} is in use by another Strata (pid ${stack})`);
    await stop(first);

    const second = run(process.execPath, devArgs(stateDir));
    const b = await ready(second);
    expect(b.apiKey).toBe(a.apiKey);
    const again = new OpenAI({ baseURL: b.baseURL, apiKey: b.apiKey, maxRetries: 0 });
    expect((await again.models.list()).data.length).toBeGreaterThan(0);
    await stop(second);
  }, 120_000);

  it("stops every service when npm is sent SIGTERM, and starts again on the same data", async () => {
    // What `kill <pid>` or a process manager does to `npm start`: npm exits, and the stack under
    // it must not run on holding the port and the data directory.
    const stateDir = scratch();
    const npm = run("npm", ["start", "--silent", "--port", "0"], { STRATA_STATE_DIR: stateDir });
    const { baseURL } = await ready(npm);
    const { stack, services } = stackProcesses(stateDir);
    expect([...services.keys()].sort()).toEqual(["auth", "gateway", "inference", "metering"]);
    npm.child.kill("SIGTERM");
    await npm.exited;
    expect(await gone([stack, ...services.values()], 15_000)).toEqual([]);
    await expect(fetch(`${baseURL}/models`)).rejects.toThrow();
    expect(existsSync(join(stateDir, "lock"))).toBe(false);

    const again = run(process.execPath, devArgs(stateDir));
    await ready(again);
    await stop(again);
  }, 120_000);

  it("stops the stack and names the service when one dies under it", async () => {
    const stateDir = scratch();
    const started = run(process.execPath, devArgs(stateDir));
    await ready(started);
    const { services } = stackProcesses(stateDir);
    process.kill(services.get("metering") ?? 0, "SIGKILL");
    const [code] = await started.exited;
    expect(code).toBe(1);
    expect(started.errors()).toContain("strata: metering exited unexpectedly (signal SIGKILL");
    expect(await gone([...services.values()], 15_000)).toEqual([]);
  }, 120_000);

  it("names a taken port and how to pick another, without a stack trace", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    try {
      const started = run(process.execPath, devArgs(scratch(), String(port)));
      const [code] = await started.exited;
      expect(code).toBe(1);
      expect(started.errors()).toBe(
        `strata: port ${port} on 127.0.0.1 is already in use (another Strata, or another program): pick another with \`npm start -- --port ${port + 1}\` or STRATA_GATEWAY_PORT=${port + 1}\n`,
      );
    } finally {
      server.close();
    }
  }, 60_000);
});
