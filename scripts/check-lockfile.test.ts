import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type LockEntry, lockfileGaps, resolveEntry } from "./check-lockfile.ts";

const biome = (optional: string[]): LockEntry => ({
  version: "2.6.8",
  integrity: "sha512-x",
  optionalDependencies: Object.fromEntries(optional.map((name) => [name, "2.6.8"])),
});
const build: LockEntry = { version: "2.6.8", integrity: "sha512-y" };

describe("lockfileGaps", () => {
  it("names a platform build a package declares but the lockfile lacks", () => {
    const packages = {
      "": { version: "0.1.0" },
      "node_modules/@biomejs/biome": biome(["@biomejs/cli-linux-x64", "@biomejs/cli-darwin-arm64"]),
      "node_modules/@biomejs/cli-linux-x64": build,
    };
    expect(lockfileGaps(packages)).toEqual([
      "node_modules/@biomejs/biome: optional dependency @biomejs/cli-darwin-arm64 has no entry",
    ]);
  });

  it("accepts a lockfile with every declared build, nested or hoisted", () => {
    const packages = {
      "": { version: "0.1.0" },
      "node_modules/a": biome(["b", "c"]),
      "node_modules/a/node_modules/b": build,
      "node_modules/c": build,
      "packages/cli": { version: "0.1.0", optionalDependencies: { c: "1" } },
      "node_modules/@strata/cli": { link: true },
    };
    expect(lockfileGaps(packages)).toEqual([]);
  });

  it("names a registry package pinned without an integrity hash", () => {
    expect(lockfileGaps({ "node_modules/a": { version: "1.0.0" } })).toEqual([
      "node_modules/a: no integrity hash",
    ]);
  });

  it("holds for the committed lockfile", () => {
    const lock = JSON.parse(readFileSync(new URL("../package-lock.json", import.meta.url), "utf8"));
    expect(lockfileGaps(lock.packages)).toEqual([]);
  });
});

describe("resolveEntry", () => {
  it("looks in the package's own node_modules, then each enclosing one", () => {
    const packages = { "node_modules/x/node_modules/y": build, "node_modules/z": build };
    expect(resolveEntry(packages, "node_modules/x/node_modules/@s/w", "y")).toBe(
      "node_modules/x/node_modules/y",
    );
    expect(resolveEntry(packages, "node_modules/x/node_modules/@s/w", "z")).toBe("node_modules/z");
    expect(resolveEntry(packages, "packages/cli", "y")).toBeUndefined();
  });
});
