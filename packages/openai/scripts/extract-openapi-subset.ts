// Extracts from OpenAI's OpenAPI spec (openai/openai-openapi, openapi.json) the component schemas
// the tests validate our outputs against, with everything they reference, into
// src/testing/openai-openapi-subset.json: the whole spec is 3.4 MB, the subset a few dozen KB.
//
//   node packages/openai/scripts/extract-openapi-subset.ts path/to/openapi.json
import { readFileSync, writeFileSync } from "node:fs";

const roots = [
  "CreateChatCompletionRequest",
  "CreateChatCompletionResponse",
  "CreateChatCompletionStreamResponse",
  "CreateEmbeddingRequest",
  "CreateEmbeddingResponse",
  "ErrorResponse",
  "ListModelsResponse",
  "Model",
];

const [specPath] = process.argv.slice(2);
if (!specPath) throw new Error("usage: extract-openapi-subset.ts <openapi.json>");
const spec = JSON.parse(readFileSync(specPath, "utf8"));
const all: Record<string, unknown> = spec.components.schemas;
const keep = new Map<string, unknown>();
const pending = [...roots];
while (pending.length > 0) {
  const name = pending.pop() as string;
  if (keep.has(name)) continue;
  const schema = all[name];
  if (schema === undefined) throw new Error(`missing schema ${name}`);
  keep.set(name, schema);
  for (const [, ref] of JSON.stringify(schema).matchAll(/"#\/components\/schemas\/([^"]+)"/g)) {
    if (ref) pending.push(ref);
  }
}
/** Prose (descriptions, examples) is dropped: only the constraints matter to a validator. */
function withoutProse(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutProse);
  if (node === null || typeof node !== "object") return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => !(prose.has(key) && typeof value !== "object"))
      .filter(([key]) => key !== "x-oaiMeta")
      .map(([key, value]) => [key, withoutProse(value)]),
  );
}
const prose = new Set(["description", "example", "title"]);

const subset = {
  source: `openai/openai-openapi openapi.json (info.version ${spec.info.version})`,
  components: {
    schemas: withoutProse(Object.fromEntries([...keep].sort(([a], [b]) => a.localeCompare(b)))),
  },
};
const out = new URL("../src/testing/openai-openapi-subset.json", import.meta.url);
writeFileSync(out, `${JSON.stringify(subset, null, 1)}\n`);
console.log(`${keep.size} schemas written to ${out.pathname}`);
