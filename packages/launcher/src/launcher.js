// Runs a Strata entry point (TypeScript) under Node 24, whatever `node` started the bin.
// Plain JavaScript on purpose: this file is what Node 20 or 22 loads when it is first on PATH, so
// it must parse there. Node >= 24 strips the types itself, so the entry is imported in-process;
// an older Node runs it as a child under the Node 24 that scripts/ensure-node.sh provisions.
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The oldest Node that runs Strata's sources (type stripping without a flag, current APIs). */
export const minimumNodeMajor = 24;

/** The checkout's scripts/ensure-node.sh above `from`, or undefined outside a Strata checkout. */
export function findEnsureNode(from) {
  for (let dir = from; ; dir = dirname(dir)) {
    const script = join(dir, "scripts", "ensure-node.sh");
    if (existsSync(script)) return script;
    if (dirname(dir) === dir) return undefined;
  }
}

/** The signals a terminal or a process manager sends to stop a program; each is passed on once. */
const forwarded = ["SIGINT", "SIGTERM", "SIGHUP"];

/**
 * Runs `entry` (a file URL of a .ts module) with the process's arguments. On Node >= 24 it is
 * imported here. Otherwise it runs under the checkout's provisioned Node 24 as a child in its own
 * process group, so that a Ctrl-C reaches it once, through this process (a terminal signals its
 * whole foreground group); the child's exit code or signal becomes this process's own.
 */
export async function launch(entry, { name = "strata" } = {}) {
  const major = Number(process.versions.node.split(".")[0]);
  if (major >= minimumNodeMajor) {
    await import(entry);
    return;
  }
  const ensureNode = findEnsureNode(dirname(fileURLToPath(import.meta.url)));
  if (!ensureNode) {
    process.stderr.write(
      `${name}: needs Node ${minimumNodeMajor} or newer, and this is Node ${process.versions.node}: install Node ${minimumNodeMajor} (https://nodejs.org/en/download) and run it again\n`,
    );
    process.exit(1);
  }
  let bin;
  try {
    // Prints the bin directory of Node 24; installs it into ~/.cache/strata the first time.
    bin = execFileSync("bash", [ensureNode], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    }).trim();
  } catch {
    process.stderr.write(
      `${name}: Node ${process.versions.node} is too old and Node ${minimumNodeMajor} could not be provisioned (see above): run it as \`scripts/npm exec ${name} -- …\` once Node ${minimumNodeMajor} is installed\n`,
    );
    process.exit(1);
  }
  const child = spawn(join(bin, "node"), [fileURLToPath(entry), ...process.argv.slice(2)], {
    stdio: "inherit",
    detached: true,
    env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}` },
  });
  for (const signal of forwarded) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => {
    if (signal) {
      for (const s of forwarded) process.removeAllListeners(s);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 1);
  });
}
