/**
 * Helpers for request bodies that arrive as untrusted JSON: parsing that never throws a raw
 * `SyntaxError` at the HTTP layer, and the type guard every validator starts from.
 */
import type { JsonObject, JsonValue } from "./converse-types.ts";

/** True for a plain JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Parses a request body as UTF-8 JSON; `{ ok: false }` when it is not valid JSON. */
export function parseJsonBody(body: Uint8Array): { ok: true; value: JsonValue } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(new TextDecoder().decode(body)) as JsonValue };
  } catch {
    return { ok: false };
  }
}

/** A short description of a JSON value's type for error messages ("array", "null", …). */
export function jsonTypeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}
