import type { StrataError } from "@strata/errors";
import { maxJsonDepth } from "./limits.ts";
import { nestedTooDeeply } from "./openai-error-messages.ts";
import { formatParam, type ParamPath } from "./param-path.ts";

/** Whether a JSON value is an object (not an array, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Path segments kept in the `param` of a too-deep value: enough to name the field at fault. */
const maxParamSegments = 8;

/** An object or array being walked: its keys (undefined for an array) and the next to visit. */
interface Level {
  value: object;
  keys: string[] | undefined;
  next: number;
}

const levelOf = (value: object): Level => ({
  value,
  keys: Array.isArray(value) ? undefined : Object.keys(value),
  next: 0,
});

/**
 * The path to the first object or array (in document order) nested more than `maxDepth` levels
 * deep in a JSON value (the value itself, when an object or array, is level 1), or undefined when
 * there is none. Iterative, so that it works whatever the depth (JSON.parse builds values far
 * deeper than a recursive walk could visit); time linear in the size of the value, memory in its
 * depth (at most `maxDepth` levels are held).
 */
export function pathTooDeep(root: unknown, maxDepth: number): ParamPath | undefined {
  if (root === null || typeof root !== "object") return undefined;
  if (maxDepth < 1) return [];
  const path: Array<string | number> = [];
  const stack: Level[] = [levelOf(root)];
  for (let top = stack.at(-1); top; top = stack.at(-1)) {
    const size = top.keys ? top.keys.length : (top.value as unknown[]).length;
    if (top.next >= size) {
      stack.pop();
      path.pop();
      continue;
    }
    const key = top.keys ? (top.keys[top.next] as string) : top.next;
    top.next++;
    const child: unknown = (top.value as Record<string | number, unknown>)[key];
    if (child === null || typeof child !== "object") continue;
    path.push(key);
    // The child is at level stack.length + 1.
    if (stack.length >= maxDepth) return path;
    stack.push(levelOf(child));
  }
  return undefined;
}

/**
 * The 400 for a JSON value nested deeper than {@link maxJsonDepth}, or undefined. For the body,
 * `param` is the path of the too-deep value cut after a few segments
 * (`tools[0].function.parameters.properties.a.properties.b`), enough to find the field; for a
 * JSON document inside a string field (tool call `arguments`), pass that field's `param`.
 */
export function checkJsonDepth(value: unknown, param?: string): StrataError | undefined {
  const path = pathTooDeep(value, maxJsonDepth);
  if (!path) return undefined;
  return nestedTooDeeply(param ?? formatParam(path.slice(0, maxParamSegments)), maxJsonDepth);
}
