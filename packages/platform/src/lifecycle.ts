import type { Logger } from "./logger.ts";

/** A step of an orderly stop, run in order. */
export interface ShutdownStep {
  name: string;
  /**
   * `remainingMs`: how long is left before the hard exit (less a margin for the exit itself), so
   * a step that flushes buffers can stop in time to count and log what it could not flush,
   * instead of being killed in the middle.
   */
  run: (remainingMs: number) => Promise<void> | void;
}

/** Kept back from the hard limit for the steps after a slow one, and for the exit itself. */
const exitMarginMs = 250;

/** Options of onShutdown. */
export interface ShutdownOptions {
  logger: Logger;
  /** Hard limit for the whole stop; the process exits 1 after it. */
  graceMs: number;
  steps: ShutdownStep[];
}

/**
 * Runs the steps once, on SIGTERM or SIGINT (readiness off first, then servers closed, then
 * buffers flushed), and exits. A second signal or the grace limit forces the exit.
 */
export function onShutdown({ logger, graceMs, steps }: ShutdownOptions): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    const hardExitAt = Date.now() + graceMs + 1_000;
    const deadline = setTimeout(() => {
      logger.error({ graceMs }, "shutdown exceeded its grace period: exiting");
      process.exit(1);
    }, graceMs + 1_000);
    deadline.unref();
    for (const step of steps) {
      try {
        await step.run(Math.max(0, hardExitAt - exitMarginMs - Date.now()));
      } catch (err) {
        logger.error({ err, step: step.name }, "shutdown step failed");
      }
    }
    logger.info("stopped");
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
  // Started by a parent over IPC (the dev stack, tests): stop with it, never outlive it.
  if (typeof process.send === "function")
    process.once("disconnect", () => void stop("parent exited"));
}

/** What a service reports when it is ready: the ports it actually bound (0 means ephemeral). */
export interface ReadyMessage {
  type: "ready";
  service: string;
  ports: Record<string, number>;
}

/**
 * Tells a parent process (the dev stack, tests) that this service is ready and on which ports,
 * over the IPC channel when there is one. Without a parent this does nothing.
 */
export function notifyReady(message: Omit<ReadyMessage, "type">): void {
  if (typeof process.send === "function") {
    process.send({ type: "ready", ...message } satisfies ReadyMessage);
  }
}
