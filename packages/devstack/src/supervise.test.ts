import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { assertPortFree, lockStateDir, processAlive, StartError } from "./supervise.ts";

const dirs: string[] = [];
const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), "strata-supervise-"));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""]);
  await once(child, "exit");
  return child.pid ?? 0;
}

describe("lockStateDir", () => {
  it("takes a free directory and gives it back on release", () => {
    const dir = scratch();
    const release = lockStateDir(dir);
    expect(readFileSync(join(dir, "lock"), "utf8")).toBe(`${process.pid}\n`);
    release();
    expect(existsSync(join(dir, "lock"))).toBe(false);
  });

  it("refuses a directory a running process holds, naming its pid", () => {
    const dir = scratch();
    writeFileSync(join(dir, "lock"), `${process.ppid}\n`);
    expect(() => lockStateDir(dir)).toThrow(StartError);
    expect(() => lockStateDir(dir)).toThrow(`in use by another Strata (pid ${process.ppid})`);
  });

  it("takes over a lock left by a process that no longer runs", async () => {
    const dir = scratch();
    const pid = await deadPid();
    expect(processAlive(pid)).toBe(false);
    writeFileSync(join(dir, "lock"), `${pid}\n`);
    lockStateDir(dir)();
  });
});

describe("assertPortFree", () => {
  it("names a taken port and how to pick another", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    try {
      const error = await assertPortFree("127.0.0.1", port).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StartError);
      expect((error as Error).message).toBe(
        `port ${port} on 127.0.0.1 is already in use (another Strata, or another program): pick another with \`npm start -- --port ${port + 1}\` or STRATA_GATEWAY_PORT=${port + 1}`,
      );
    } finally {
      server.close();
    }
    // Free again once the other program is gone.
    await assertPortFree("127.0.0.1", port);
  });
});
