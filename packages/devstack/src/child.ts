import { type ChildProcess, fork } from "node:child_process";
import { createRequire } from "node:module";
import type { ReadyMessage } from "@strata/platform";

const require = createRequire(import.meta.url);

/** A Strata service running as a child process, as in production: its real main.ts and env. */
export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  ports: Record<string, number>;
  /** SIGTERM, then SIGKILL after the grace period; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
  /** Resolves if the process exits without being asked to by stop(): it crashed or was killed. */
  died: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Options of startService. */
export interface StartServiceOptions {
  /** Package name of the service, e.g. "@strata/auth". */
  packageName: string;
  name: string;
  env: Record<string, string>;
  /** Where the child's stdout/stderr go: inherited, or appended to a file descriptor. */
  output: "inherit" | number;
  readyTimeoutMs?: number;
}

/**
 * Forks a service's main module with an IPC channel and waits for its ready message, which names
 * the ports it bound (so every port can be ephemeral). The child stops when this process does.
 */
export function startService({
  packageName,
  name,
  env,
  output,
  readyTimeoutMs = 30_000,
}: StartServiceOptions): Promise<ServiceProcess> {
  const main = require.resolve(packageName);
  const child = fork(main, [], {
    env: { ...process.env, ...env },
    execArgv: [],
    stdio: ["ignore", output, output, "ipc"],
    // Its own process group: a terminal's Ctrl-C (sent to the whole foreground group) reaches
    // only the stack, which stops each service once; the IPC channel still ends it with us.
    detached: true,
  });
  let stopping = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const died = exited.then((how) => (stopping ? new Promise<never>(() => {}) : how));
  const stop = async (graceMs = 10_000) => {
    stopping = true;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${name} did not become ready within ${readyTimeoutMs} ms`));
    }, readyTimeoutMs);
    const early = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      reject(
        new Error(
          `${name} exited before it was ready (code ${code}, signal ${signal}); see its log`,
        ),
      );
    };
    child.once("exit", early);
    child.on("message", (message: ReadyMessage) => {
      if (message?.type !== "ready") return;
      clearTimeout(timer);
      child.off("exit", early);
      resolve({ name, child, ports: message.ports, stop, died });
    });
  });
}
