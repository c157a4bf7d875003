import { describe, expect, it } from "vitest";
import { argumentSchemaDraft, createArgumentSchemaAjv } from "./argument-schema.ts";

describe("argument schemas", () => {
  it("runs patterns in linear time: ^(a+)+$ against a long near-match", () => {
    // JavaScript's backtracking engine needs ~2^n steps here (20.5 s froze the gateway at n=30).
    const validate = createArgumentSchemaAjv("2020-12").compile({
      type: "string",
      pattern: "^(a+)+$",
    });
    expect(validate(`${"a".repeat(50_000)}b`)).toBe(false);
    expect(validate("a".repeat(50_000))).toBe(true);
  });

  it("keeps each pattern apart (patterns, patternProperties)", () => {
    const validate = createArgumentSchemaAjv("2020-12").compile({
      type: "object",
      properties: { a: { type: "string", pattern: "^x" }, b: { type: "string", pattern: "^y" } },
      patternProperties: { "^z_": { type: "number" } },
    });
    expect(validate({ a: "x1", b: "y1", z_q: 1 })).toBe(true);
    expect(validate({ a: "y1", b: "y1" })).toBe(false);
    expect(validate({ a: "x1", b: "x1" })).toBe(false);
    expect(validate({ z_q: "not a number" })).toBe(false);
  });

  it.each([
    ["a lookahead", "^(?!x)"],
    ["a backreference", "(a)\\1"],
  ])("refuses a schema whose pattern has %s (RE2 cannot run it)", (_, pattern) => {
    expect(() => createArgumentSchemaAjv("2020-12").compile({ type: "string", pattern })).toThrow();
  });

  it("reads draft-07 from $schema, 2020-12 otherwise", () => {
    expect(argumentSchemaDraft({ $schema: "http://json-schema.org/draft-07/schema#" })).toBe(
      "draft-07",
    );
    expect(argumentSchemaDraft({ type: "object" })).toBe("2020-12");
  });
});
