// The operator as the system tier runs it: its real main.ts in a child process (as in a pod), with
// its own log file and metrics port, stopped by its PID.
import { type ChildProcess, fork } from "node:child_process";
import { closeSync, openSync } from "node:fs";

/** A running operator replica. */
export interface OperatorProcess {
  pid: number;
  /** `http://127.0.0.1:<port>` of its ops server (/metrics, /readyz). */
  opsUrl: string;
  log: string;
  child: ChildProcess;
  exited: Promise<void>;
  /** Sends the signal and resolves when the process has exited (SIGKILL after 15 s). */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts `node services/operator/src/main.ts` with the given environment (on top of this
 * process's), output appended to `log`, and resolves when it reports its ports over IPC.
 */
export function startOperator(env: Record<string, string>, log: string): Promise<OperatorProcess> {
  const fd = openSync(log, "a");
  const child = fork("services/operator/src/main.ts", [], {
    env: { ...process.env, ...env },
    execArgv: [],
    stdio: ["ignore", fd, fd, "ipc"],
  });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the operator did not start within 60 s; see ${log}`));
    }, 60_000);
    const early = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      reject(new Error(`the operator exited at start (${code ?? signal}); see ${log}`));
    };
    child.once("exit", early);
    child.on("message", (message: { type?: string; ports?: Record<string, number> }) => {
      if (message?.type !== "ready") return;
      clearTimeout(timer);
      child.off("exit", early);
      resolve({
        pid: child.pid ?? 0,
        opsUrl: `http://127.0.0.1:${message.ports?.metrics}`,
        log,
        child,
        exited,
        stop,
      });
    });
  });
}

/**
 * The sum of a metric's samples in Prometheus text whose labels include `labels`; 0 when absent.
 */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const set = new Map(
      [...(match[3] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => set.get(k) === v)) sum += Number(match[4]);
  }
  return sum;
}

/** Scrapes a replica's /metrics. */
export async function scrape(op: OperatorProcess): Promise<string> {
  const res = await fetch(`${op.opsUrl}/metrics`);
  return res.text();
}

/**
 * Polls `check` until it returns a value other than undefined/false, or throws the last error
 * (or a timeout) after `timeoutMs`.
 */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 30_000, intervalMs = 200, what = "condition" } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${what} not met within ${timeoutMs} ms${last ? `: ${String((last as Error).message ?? last)}` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
