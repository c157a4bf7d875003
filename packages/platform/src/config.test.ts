import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { parseEnv } from "./config.ts";

const dir = mkdtempSync(join(tmpdir(), "strata-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const schema = z.object({ TOKEN: z.string().min(4).optional(), OTHER: z.string().optional() });
const secrets = ["TOKEN"];

describe("parseEnv secrets from files", () => {
  it("reads NAME_FILE into NAME, without the trailing newline (a mounted Secret)", () => {
    const file = join(dir, "token");
    writeFileSync(file, "s3cr3t-value\n");
    expect(parseEnv(schema, { TOKEN_FILE: file }, { secrets }).TOKEN).toBe("s3cr3t-value");
  });

  it("treats a missing file as unset, so optional Secret keys work", () => {
    expect(parseEnv(schema, { TOKEN_FILE: join(dir, "absent") }, { secrets }).TOKEN).toBe(
      undefined,
    );
  });

  it("refuses a secret given both ways, naming it", () => {
    expect(() => parseEnv(schema, { TOKEN: "abcd", TOKEN_FILE: "/x" }, { secrets })).toThrow(
      "TOKEN: set either TOKEN or TOKEN_FILE",
    );
  });

  it("validates the file's content like the variable's, and reads only declared secrets", () => {
    const file = join(dir, "short");
    writeFileSync(file, "ab");
    expect(() => parseEnv(schema, { TOKEN_FILE: file }, { secrets })).toThrow("TOKEN:");
    expect(parseEnv(schema, { OTHER_FILE: file }, { secrets }).OTHER).toBe(undefined);
  });

  it("reports an unreadable file by variable name", () => {
    expect(() => parseEnv(schema, { TOKEN_FILE: dir }, { secrets })).toThrow(
      /TOKEN_FILE: cannot read/,
    );
  });
});
