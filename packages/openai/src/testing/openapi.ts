import { readFileSync } from "node:fs";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

// Test support: validates our outputs against OpenAI's own OpenAPI spec, so "shaped like OpenAI"
// is checked by the spec, not by our reading of it.

/** The schemas of openai/openai-openapi we validate against (scripts/extract-openapi-subset.ts). */
const specPath = new URL("./openai-openapi-subset.json", import.meta.url);
const specId = "https://strata.test/openai-openapi.json";

/**
 * The spec is OpenAPI 3.1 but still uses 3.0's `nullable: true` in places (e.g. a chunk's
 * `usage`), which JSON Schema validators ignore. Rewrite it into the 3.1 form: `null` added to
 * `type`/`enum`, or an `anyOf` with `{type: "null"}` around a `$ref`.
 */
function rewriteNullable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteNullable);
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = rewriteNullable(value);
  if (out.nullable !== true) return out;
  delete out.nullable;
  if (typeof out.$ref === "string") {
    const { $ref, ...rest } = out;
    return { ...rest, anyOf: [{ $ref }, { type: "null" }] };
  }
  if (typeof out.type === "string") out.type = [out.type, "null"];
  if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
  if (Array.isArray(out.oneOf)) out.oneOf = [...out.oneOf, { type: "null" }];
  return out;
}

let ajv: Ajv2020 | undefined;
const validators = new Map<string, ValidateFunction>();

/** A validator for `components.schemas.<name>` of the OpenAI spec. */
export function openApiValidator(name: string): ValidateFunction {
  let validate = validators.get(name);
  if (validate) return validate;
  if (!ajv) {
    const spec = rewriteNullable(JSON.parse(readFileSync(specPath, "utf8"))) as object;
    ajv = new Ajv2020({ strict: false, allErrors: true, logger: false, validateFormats: true });
    addFormats.default(ajv);
    ajv.addFormat("unixtime", true);
    ajv.addFormat("float", true);
    ajv.addSchema({ ...spec, $id: specId });
  }
  validate = ajv.getSchema(`${specId}#/components/schemas/${name}`);
  if (!validate) throw new Error(`no schema ${name} in the OpenAI spec`);
  validators.set(name, validate);
  return validate;
}

/** The validation errors of `value` against the spec schema `name` (empty when valid). */
export function openApiErrors(name: string, value: unknown): string[] {
  const validate = openApiValidator(name);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""}`);
}
