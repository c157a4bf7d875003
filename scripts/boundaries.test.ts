import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

// Module boundaries the repository keeps: code outside a package reaches it through the package's
// exports (`@strata/metering/limits`), never through its src/ folder; test support lives in a
// `src/testing/` folder (left out of the images) or beside the tests, never among shipped modules.
const root = new URL("../", import.meta.url).pathname;
const files = execFileSync("git", ["ls-files", "*.ts", "*.js"], { cwd: root, encoding: "utf8" })
  .split("\n")
  .filter(Boolean);
const specifiers = (file: string) =>
  [...readFileSync(`${root}${file}`, "utf8").matchAll(/(?:from|import\()\s*"([^"]+)"/g)].map(
    (m) => m[1] ?? "",
  );

describe("module boundaries", () => {
  it("no file imports another package's or service's src/ by a relative path", () => {
    const crossings = files.flatMap((file) =>
      specifiers(file)
        .filter(
          (s) =>
            /^(\.\.\/)+(packages|services)\/[^/]+\/src\//.test(s) ||
            /^\.\.\/\.\.\/[^/]+\/src\//.test(s),
        )
        .map((s) => `${file}: ${s}`),
    );
    expect(crossings).toEqual([]);
  });

  it("no shipped module imports vitest (test support lives in src/testing/)", () => {
    const shipped = files.filter(
      (f) =>
        /^(packages|services)\/[^/]+\/src\//.test(f) &&
        !/\.test\.ts$/.test(f) &&
        !f.includes("/src/testing/"),
    );
    const offenders = shipped.filter((file) => specifiers(file).includes("vitest"));
    expect(offenders).toEqual([]);
  });
});
