/**
 * Whether a model rule's pattern matches a model: its catalog id or any of its aliases. The
 * pattern is a glob whose only wildcard is `*` (any run of characters, also none); everything
 * else matches literally, case-sensitively, as catalog ids are.
 */
export function modelMatches(pattern: string, names: readonly string[]): boolean {
  const re = globRegExp(pattern);
  return names.some((name) => re.test(name));
}

const cache = new Map<string, RegExp>();

function globRegExp(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (!re) {
    const source = pattern
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*");
    re = new RegExp(`^${source}$`, "s");
    if (cache.size > 1000) cache.clear();
    cache.set(pattern, re);
  }
  return re;
}
