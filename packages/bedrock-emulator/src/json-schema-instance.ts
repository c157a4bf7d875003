/**
 * Builds a small, deterministic JSON instance that satisfies a JSON schema. Used for tool-call
 * inputs (from `toolSpec.inputSchema.json`) and for structured output (from
 * `outputConfig.textFormat`), so a client that validates what the model returns gets something
 * valid without the emulator having a model.
 *
 * Rules: `const` → that value; `enum` → first value; `$ref` (`#/$defs/…`, `#/definitions/…`) →
 * resolved (`#` is the root); `anyOf`/`oneOf` → first branch; `allOf` → branches merged; objects → required
 * properties only; string "example", number and integer 1 (moved into `minimum`/`maximum`),
 * boolean true, null null, array → one item (or `minItems` items).
 */
import type { JsonObject, JsonValue } from "./converse-types.ts";

/** Recursion cap for self-referencing schemas; deeper levels become null. */
const MAX_DEPTH = 12;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function resolveRef(root: JsonObject, ref: string): JsonValue | undefined {
  if (ref === "#") return root;
  if (!ref.startsWith("#/")) return undefined;
  let node: JsonValue | undefined = root;
  for (const rawPart of ref.slice(2).split("/")) {
    const part = rawPart.replaceAll("~1", "/").replaceAll("~0", "~");
    node = isObject(node) ? node[part] : undefined;
  }
  return node;
}

function schemaType(schema: JsonObject): string | undefined {
  const type = schema.type;
  if (typeof type === "string") return type;
  if (Array.isArray(type)) {
    const first = type.find((t) => typeof t === "string" && t !== "null") ?? type[0];
    return typeof first === "string" ? first : undefined;
  }
  if (isObject(schema.properties) || Array.isArray(schema.required)) return "object";
  if (schema.items !== undefined) return "array";
  return undefined;
}

function numberInstance(schema: JsonObject, integer: boolean): number {
  const min = typeof schema.minimum === "number" ? schema.minimum : undefined;
  const exclusiveMin =
    typeof schema.exclusiveMinimum === "number" ? schema.exclusiveMinimum : undefined;
  const max = typeof schema.maximum === "number" ? schema.maximum : undefined;
  let value = 1;
  if (min !== undefined && value < min) value = integer ? Math.ceil(min) : min;
  if (exclusiveMin !== undefined && value <= exclusiveMin) {
    value = integer ? Math.floor(exclusiveMin) + 1 : exclusiveMin + 1;
  }
  if (max !== undefined && value > max) value = integer ? Math.floor(max) : max;
  return value;
}

function instance(schema: JsonValue | undefined, root: JsonObject, depth: number): JsonValue {
  if (depth > MAX_DEPTH || !isObject(schema)) return depth > MAX_DEPTH ? null : "example";
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0] ?? null;
  if (typeof schema.$ref === "string") {
    return instance(resolveRef(root, schema.$ref), root, depth + 1);
  }
  for (const key of ["anyOf", "oneOf"] as const) {
    const branches = schema[key];
    if (Array.isArray(branches) && branches.length > 0) {
      const branch = branches.find((b) => !(isObject(b) && b.type === "null")) ?? branches[0];
      return instance(branch, root, depth + 1);
    }
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) {
    const merged: JsonObject = {};
    for (const part of schema.allOf) {
      const value = instance(part, root, depth + 1);
      if (isObject(value)) Object.assign(merged, value);
    }
    return merged;
  }

  const type = schemaType(schema);
  switch (type) {
    case "object": {
      const result: JsonObject = {};
      const properties = isObject(schema.properties) ? schema.properties : {};
      const required = Array.isArray(schema.required) ? schema.required : [];
      for (const name of required) {
        if (typeof name === "string") result[name] = instance(properties[name], root, depth + 1);
      }
      return result;
    }
    case "array": {
      const minItems = typeof schema.minItems === "number" ? Math.max(1, schema.minItems) : 1;
      const items = Array.isArray(schema.prefixItems) ? schema.prefixItems : undefined;
      const result: JsonValue[] = [];
      for (let i = 0; i < Math.min(minItems, 16); i++) {
        result.push(instance(items?.[i] ?? schema.items, root, depth + 1));
      }
      return result;
    }
    case "string":
      return "example";
    case "number":
      return numberInstance(schema, false);
    case "integer":
      return numberInstance(schema, true);
    case "boolean":
      return true;
    case "null":
      return null;
    default:
      return "example";
  }
}

/** A deterministic instance of `schema` following the rules in this module's comment. */
export function jsonSchemaInstance(schema: JsonValue): JsonValue {
  return instance(schema, isObject(schema) ? schema : {}, 0);
}
