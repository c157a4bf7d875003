// Child processes for the benchmark: start one on loopback, wait until it answers, measure its
// memory, stop it by its own PID. Linux only for memory (/proc); elsewhere memory reads as unknown.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";

/** Resident set size of one process in bytes, from /proc; undefined when it is gone. */
export function processRss(pid: number): number | undefined {
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * CPU time (user + system) a process has used so far, in ms, from /proc; undefined when it is
 * gone. /proc counts in USER_HZ ticks, which Linux fixes at 100 per second for user space.
 */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which is in parentheses and may contain spaces): state is
    // the first, utime the 12th and stime the 13th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** The process and all its descendants (a Python server may fork workers). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [pid];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the command name, which is in parentheses and may contain spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // The process ended while we looked.
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i] ?? -1) ?? []));
  return tree;
}

/** RSS of a process and its descendants in bytes; undefined when the process is gone. */
export function treeRss(pid: number): number | undefined {
  const own = processRss(pid);
  if (own === undefined) return undefined;
  return processTree(pid)
    .slice(1)
    .reduce((sum, child) => sum + (processRss(child) ?? 0), own);
}

/** CPU time of a process and its live descendants in ms; undefined when the process is gone. */
export function treeCpuMs(pid: number): number | undefined {
  const own = processCpuMs(pid);
  if (own === undefined) return undefined;
  return processTree(pid)
    .slice(1)
    .reduce((sum, child) => sum + (processCpuMs(child) ?? 0), own);
}

/**
 * A TCP port that was free on 127.0.0.1 a moment ago, for servers that cannot report the port
 * they bound. Another process could take it in between; on a test machine that is rare.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A server the benchmark started as a child process. */
export interface ChildServer {
  child: ChildProcess;
  pid: number;
  /** Where its stdout and stderr go. */
  logFile: string;
  /** SIGTERM to the process and its descendants (each by its own PID), SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

/** Options of startChild. */
export interface StartChildOptions {
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** stdout and stderr are appended here (servers' banners and logs stay out of the report). */
  logFile: string;
}

/** Spawns a server process whose output goes to a log file. */
export function startChild({ command, args, env, cwd, logFile }: StartChildOptions): ChildServer {
  const out = openSync(logFile, "a");
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", out, out],
  });
  closeSync(out); // the child has its own copy
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    child.once("exit", () => resolve());
    child.once("error", () => resolve());
  });
  const pid = child.pid ?? -1;
  // Should the benchmark end without stopping it (an exception), do not leave it running.
  const killOnExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);
  const stop = async (graceMs = 5_000) => {
    if (child.exitCode !== null || child.signalCode !== null || pid < 0) return;
    const tree = processTree(pid);
    const signal = (name: NodeJS.Signals) => {
      for (const p of tree) {
        try {
          process.kill(p, name);
        } catch {
          // Already gone.
        }
      }
    };
    signal("SIGTERM");
    const timer = setTimeout(() => signal("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
    process.off("exit", killOnExit);
  };
  return { child, pid, logFile, stop };
}

/** The last lines of a log file, to explain a failed start. */
export function logTail(logFile: string, lines = 5): string {
  try {
    return readFileSync(logFile, "utf8").trim().split("\n").slice(-lines).join(" | ");
  } catch {
    return "";
  }
}

/**
 * Polls `url` until `ready(status, body)` holds; throws when the process exits first or the
 * time runs out, quoting the end of its log.
 */
export async function waitUntilReady(
  server: ChildServer,
  url: string,
  ready: (status: number, body: string) => boolean,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  if (server.pid < 0) throw new Error(`could not be started: ${logTail(server.logFile)}`);
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      throw new Error(
        `exited (${server.child.exitCode ?? server.child.signalCode}): ${logTail(server.logFile)}`,
      );
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (ready(res.status, await res.text())) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`not ready within ${timeoutMs} ms: ${logTail(server.logFile)}`);
}
