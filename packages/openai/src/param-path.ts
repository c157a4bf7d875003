/** Longest object key kept in a param path: keys of maps such as `logit_bias` come from the user. */
const maxKeyLength = 64;

/** A path to a field of the request body: object keys and array indexes. */
export type ParamPath = readonly PropertyKey[];

/**
 * Renders a path in OpenAI's `param` notation — `messages[2].content[0].image_url.url` — which is
 * what OpenAI puts in `error.param` and what clients show their users.
 */
export function formatParam(path: ParamPath): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") {
      out += `[${segment}]`;
      continue;
    }
    const key = String(segment);
    const shown = key.length > maxKeyLength ? `${key.slice(0, maxKeyLength)}...` : key;
    out += out === "" ? shown : `.${shown}`;
  }
  return out;
}

/** The value at `path` inside `root`, or undefined when the path leaves the document. */
export function valueAt(root: unknown, path: ParamPath): unknown {
  let current: unknown = root;
  for (const segment of path) {
    if (current === null || typeof current !== "object") return undefined;
    if (!Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}
