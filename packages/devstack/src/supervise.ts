import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

/** A start that cannot go ahead, with a message a person can act on (no stack trace). */
export class StartError extends Error {
  override name = "StartError";
}

/** Whether a process with this id exists (signal 0 checks without signalling). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The pid in a lock file; NaN when it is gone or unreadable. */
function readOwner(path: string): number {
  try {
    return Number(readFileSync(path, "utf8").trim());
  } catch {
    return Number.NaN;
  }
}

/**
 * Takes the state directory for this process: `<dir>/lock` holds the owner's pid, created
 * exclusively. A lock left by a process that no longer runs is taken over; one held by a running
 * process is a StartError naming it, instead of two stacks opening the same database (dynalite's
 * LevelDB would refuse the second with "Database is closed"). Returns the release function.
 */
export function lockStateDir(dir: string, pid = process.pid): () => void {
  const path = join(dir, "lock");
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, `${pid}\n`);
      closeSync(fd);
      return () => {
        if (readOwner(path) === pid) rmSync(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 2) throw error;
    }
    const owner = readOwner(path);
    if (Number.isInteger(owner) && owner > 0 && owner !== pid && processAlive(owner))
      throw new StartError(
        `${dir} is in use by another Strata (pid ${owner}): stop it first (kill ${owner}), or start this one with --state-dir <another directory>`,
      );
    rmSync(path, { force: true });
  }
}

/**
 * Fails with a StartError naming the port when something already listens on host:port, so that a
 * taken port is reported before any service starts (port 0 is always free).
 */
export async function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE")
      throw new StartError(
        `port ${port} on ${host} is already in use (another Strata, or another program): pick another with \`npm start -- --port ${port + 1}\` or STRATA_GATEWAY_PORT=${port + 1}`,
      );
    if (code === "EACCES")
      throw new StartError(
        `port ${port} on ${host} needs privileges this user does not have: pick one above 1023 with \`npm start -- --port 8080\``,
      );
    throw error;
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * Calls `onGone` once when this process's parent exits (it is then re-parented, so its parent
 * id changes): a stack started by `npm start` stops when npm is killed, instead of running on
 * with the port and the data directory. Returns a function that stops watching.
 */
export function watchParent(onGone: () => void, intervalMs = 250): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
