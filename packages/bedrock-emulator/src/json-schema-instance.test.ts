import { describe, expect, it } from "vitest";
import type { JsonValue } from "./converse-types.ts";
import { jsonSchemaInstance } from "./json-schema-instance.ts";

describe("jsonSchemaInstance", () => {
  it.each<[string, JsonValue, JsonValue]>([
    ["string", { type: "string" }, "example"],
    ["number", { type: "number" }, 1],
    ["integer", { type: "integer" }, 1],
    ["boolean", { type: "boolean" }, true],
    ["null", { type: "null" }, null],
    ["enum → first value", { type: "string", enum: ["celsius", "fahrenheit"] }, "celsius"],
    ["const", { const: 42 }, 42],
    ["array → one item", { type: "array", items: { type: "integer" } }, [1]],
    [
      "array with minItems",
      { type: "array", items: { type: "boolean" }, minItems: 2 },
      [true, true],
    ],
    ["nullable type list", { type: ["null", "string"] }, "example"],
    ["minimum above 1", { type: "integer", minimum: 5 }, 5],
    ["maximum below 1", { type: "number", maximum: 0.5 }, 0.5],
    ["exclusiveMinimum", { type: "integer", exclusiveMinimum: 3 }, 4],
    ["anyOf → first non-null branch", { anyOf: [{ type: "null" }, { type: "integer" }] }, 1],
    [
      "object → required properties only",
      {
        type: "object",
        properties: { city: { type: "string" }, unit: { type: "string" } },
        required: ["city"],
      },
      { city: "example" },
    ],
    [
      "nested objects",
      {
        type: "object",
        properties: {
          location: {
            type: "object",
            properties: {
              lat: { type: "number" },
              tags: { type: "array", items: { type: "string" } },
            },
            required: ["lat", "tags"],
          },
        },
        required: ["location"],
      },
      { location: { lat: 1, tags: ["example"] } },
    ],
    [
      "$ref into $defs",
      {
        type: "object",
        properties: { p: { $ref: "#/$defs/point" } },
        required: ["p"],
        $defs: {
          point: { type: "object", properties: { x: { type: "integer" } }, required: ["x"] },
        },
      },
      { p: { x: 1 } },
    ],
    [
      "allOf merges objects",
      {
        allOf: [
          { type: "object", properties: { a: { type: "string" } }, required: ["a"] },
          { type: "object", properties: { b: { type: "boolean" } }, required: ["b"] },
        ],
      },
      { a: "example", b: true },
    ],
  ])("builds an instance for %s", (_case, schema, expected) => {
    expect(jsonSchemaInstance(schema)).toEqual(expected);
  });

  it("terminates on self-referencing schemas", () => {
    const schema = {
      type: "object",
      properties: { next: { $ref: "#" } },
      required: ["next"],
    };
    expect(JSON.stringify(jsonSchemaInstance(schema))).toContain("null");
  });
});
