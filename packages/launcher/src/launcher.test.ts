import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { describe, expect, it } from "vitest";

// The bins as `npx` finds them: node_modules/.bin symlinks, started through their
// `#!/usr/bin/env node` line with an older Node first on PATH (the machine's Node 20 here).
const root = new URL("../../../", import.meta.url).pathname;
const bin = (name: string) => join(root, "node_modules", ".bin", name);

/** The first directory on PATH whose `node` is older than 24, if the machine has one. */
function olderNodeDir(): { dir: string; version: string } | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const node = join(dir, "node");
    if (!dir || !existsSync(node)) continue;
    const version = execFileSync(node, ["-p", "process.versions.node"], {
      encoding: "utf8",
    }).trim();
    if (Number(version.split(".")[0]) < 24) return { dir, version };
  }
  return undefined;
}

const older = olderNodeDir();
const env = older ? { ...process.env, PATH: `${older.dir}${delimiter}${process.env.PATH}` } : {};

function run(name: string, args: string[]) {
  const child = spawn(bin(name), args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, exited, output: () => ({ stdout, stderr }) };
}

describe.skipIf(!older)(
  `the bins under an older Node (${older?.version ?? "none on PATH"})`,
  () => {
    it.each([
      ["strata", /^Usage: strata <command>/],
      ["strata-dev", /^Usage: npm start/],
      ["strata-bedrock-emulator", /^Usage: strata-bedrock-emulator/],
    ])(
      "%s --help runs under Node 24 and exits 0",
      async (name, usage) => {
        const { exited, output } = run(name, ["--help"]);
        const [code] = await exited;
        expect(output().stderr).not.toMatch(/ERR_UNKNOWN_FILE_EXTENSION/);
        expect(output().stdout).toMatch(usage);
        expect(code).toBe(0);
      },
      60_000,
    );

    it("passes the program's exit code through", async () => {
      const { exited, output } = run("strata-bedrock-emulator", ["--no-such-flag"]);
      const [code] = await exited;
      expect(code).toBe(2);
      expect(output().stderr).toMatch(/^strata-bedrock-emulator: /);
    }, 60_000);

    it("stops the program under it when it is sent SIGTERM", async () => {
      const { child, exited, output } = run("strata-bedrock-emulator", ["--port", "0"]);
      await expect.poll(() => output().stdout, { timeout: 30_000 }).toMatch(/listening on \S+\n/);
      const url = /listening on (\S+)\n/.exec(output().stdout)?.[1] ?? "";
      expect((await fetch(`${url}/_emulator/health`)).status).toBe(200);
      child.kill("SIGTERM");
      const [code] = await exited;
      expect(code).toBe(0);
      // The emulator itself is gone, not orphaned: its port refuses connections.
      await expect(fetch(`${url}/_emulator/health`)).rejects.toThrow();
    }, 60_000);
  },
);
