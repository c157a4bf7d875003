// One line that says what the figures were measured on, and how busy the machine was: on a
// shared machine the load from other work is part of the result.
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";

/** The 1-minute load average now, to compare with the one at the end. */
export function loadNow(): number {
  return loadavg()[0] ?? Number.NaN;
}

/** CPU, cores, memory, Node, and the 1-minute load average at the start and now. */
export function describeMachine(loadAtStart: number): string {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  return `machine: ${cpu}, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${process.arch}, node ${process.version}; 1-minute load average ${loadAtStart.toFixed(2)} at the start, ${loadNow().toFixed(2)} at the end`;
}
