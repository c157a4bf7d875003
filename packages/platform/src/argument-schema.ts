import { Ajv } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import type { RegExpEngine } from "ajv/dist/types/index.js";
import { RE2JS } from "re2js";

/**
 * Tool-argument schemas of tool policies: JSON Schema 2020-12 (the MCP default for tool input
 * schemas) unless `$schema` declares draft-07. Auth compiles them when a policy is written (a
 * schema that does not compile is refused there); the gateway compiles them to check the model's
 * tool calls. Both must agree, so both build their validators here.
 *
 * Every `pattern` and `patternProperties` regular expression runs on RE2's linear-time engine
 * (re2js, a pure-JavaScript port): a tenant's `^(a+)+$` cannot freeze the shared gateway on a
 * crafted argument, as JavaScript's backtracking engine would. RE2 has no backreferences or
 * lookaround: a schema that uses them does not compile, and is refused when it is written.
 */
export type ArgumentSchemaAjv = Ajv | Ajv2020;

/** Ajv's regular-expression hook on re2js: `test` is an unanchored search, as ECMA-262's is. */
export const re2Engine: RegExpEngine = Object.assign(
  (pattern: string) => {
    const compiled = RE2JS.compile(pattern);
    return {
      test: (value: string) => compiled.matcher(value).find(),
      // Ajv keys its compiled patterns by this: each pattern needs its own.
      toString: () => `re2:${pattern}`,
    };
  },
  { code: "re2js" },
);

const options = {
  strict: false,
  allErrors: false,
  logger: false,
  // Do not register `$id`s: two tenants' schemas with the same `$id` must not collide.
  addUsedSchema: false,
  code: { regExp: re2Engine },
} as const;

const draft07 = /^https?:\/\/json-schema\.org\/draft-07\/schema#?$/;

/** Which dialect a schema is in: draft-07 when its `$schema` says so, 2020-12 otherwise. */
export function argumentSchemaDraft(schema: object): "draft-07" | "2020-12" {
  const declared = (schema as { $schema?: unknown }).$schema;
  return typeof declared === "string" && draft07.test(declared) ? "draft-07" : "2020-12";
}

/** A new Ajv instance for one dialect of argument schemas, with the settings above. */
export function createArgumentSchemaAjv(draft: "draft-07" | "2020-12"): ArgumentSchemaAjv {
  return draft === "draft-07" ? new Ajv(options) : new Ajv2020(options);
}
