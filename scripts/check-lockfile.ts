// Proves package-lock.json complete before `npm ci` trusts it: every package the registry serves is
// pinned by an integrity hash, and every optional dependency a package declares (the per-platform
// builds of biome, buf, rolldown, lightningcss, TypeScript's native compiler) has its own entry.
// npm records only the platform builds the registry served when the lockfile was written; when a
// registry starts serving more, an install on any machine would add them and change the lockfile,
// and an install on a platform the lockfile lacks would take versions nobody pinned.
// Usage: node scripts/check-lockfile.ts [path]   (exit 1 with one line per gap)
import { readFileSync } from "node:fs";

/** The slice of a lockfile v3 entry this check reads (https://docs.npmjs.com/cli/configuring-npm/package-lock-json). */
export interface LockEntry {
  version?: string;
  integrity?: string;
  link?: boolean;
  optionalDependencies?: Record<string, string>;
}

/**
 * Where Node would find `name` from the package installed at `from` (a lockfile key such as
 * `node_modules/a/node_modules/b`): its own node_modules, then each enclosing one up to the root.
 */
export function resolveEntry(
  packages: Record<string, LockEntry>,
  from: string,
  name: string,
): string | undefined {
  for (let dir = from; ; ) {
    const key = dir === "" ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (packages[key]) return key;
    if (dir === "") return undefined;
    const nested = dir.lastIndexOf("/node_modules/");
    dir = nested < 0 ? "" : dir.slice(0, nested);
  }
}

/** Every gap in a lockfile v3 `packages` map, one readable line each; empty when it is complete. */
export function lockfileGaps(packages: Record<string, LockEntry>): string[] {
  const gaps: string[] = [];
  for (const [key, entry] of Object.entries(packages)) {
    if (key === "" || entry.link) continue;
    const fromRegistry = key.includes("node_modules/");
    if (fromRegistry && !entry.integrity) gaps.push(`${key}: no integrity hash`);
    for (const name of Object.keys(entry.optionalDependencies ?? {})) {
      if (!resolveEntry(packages, key, name)) {
        gaps.push(`${key || "(root)"}: optional dependency ${name} has no entry`);
      }
    }
  }
  return gaps;
}

if (import.meta.main) {
  const path = process.argv[2] ?? "package-lock.json";
  const lock = JSON.parse(readFileSync(path, "utf8")) as { packages?: Record<string, LockEntry> };
  const gaps = lockfileGaps(lock.packages ?? {});
  for (const gap of gaps) console.error(`check-lockfile: ${gap}`);
  if (gaps.length > 0) {
    console.error(
      "check-lockfile: regenerate with `rm -rf node_modules && scripts/npm install` on a machine that reaches the registry, and commit package-lock.json",
    );
    process.exit(1);
  }
  console.log(`check-lockfile: ${Object.keys(lock.packages ?? {}).length} entries, complete`);
}
