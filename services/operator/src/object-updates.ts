import { isDeepStrictEqual } from "node:util";
import { isConflict } from "./errors.ts";
import { finalizer, type ObjectMeta } from "./resources.ts";

/** An object with metadata and a status, as the status subresource replaces it. */
interface WithStatus<S> {
  metadata: ObjectMeta;
  status?: S;
}

/** How to read and replace one object. */
export interface ObjectAccess<T> {
  get(): Promise<T | undefined>;
  replace(obj: T): Promise<T>;
}

const attempts = 5;
/** Plain JSON: `undefined` fields dropped, so that comparisons see what the API server stores. */
const json = <T>(value: T): T =>
  value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);

/**
 * Writes a status through the status subresource with optimistic concurrency: the object's
 * resourceVersion goes with the write; on 409 the object is read again and the status computed
 * again from the fresh copy (its conditions' transition times included). Nothing is written when
 * the status would not change, so a reconcile that finds everything in order causes no write and
 * no further watch event. Resolves with the object as stored, or undefined if it is gone.
 */
export async function writeStatus<S, T extends WithStatus<S>>(
  obj: T,
  compute: (current: T) => S,
  access: ObjectAccess<T>,
  signal: AbortSignal,
): Promise<T | undefined> {
  let current: T | undefined = obj;
  for (let i = 0; i < attempts && current; i++) {
    const status = json(compute(current));
    if (isDeepStrictEqual(status, json(current.status))) return current;
    signal.throwIfAborted();
    try {
      return await access.replace({ ...current, status });
    } catch (error) {
      if (!isConflict(error) || i === attempts - 1) throw error;
      current = await access.get();
    }
  }
  return current;
}

/** Whether the operator's finalizer is on the object. */
export const hasFinalizer = (meta: ObjectMeta) => (meta.finalizers ?? []).includes(finalizer);

/**
 * Adds (or removes) the operator's finalizer with an update at the object's resourceVersion,
 * retrying on 409 with a fresh read. Resolves with the object as stored (undefined if gone).
 */
export async function setFinalizer<T extends { metadata: ObjectMeta }>(
  obj: T,
  present: boolean,
  access: ObjectAccess<T>,
  signal: AbortSignal,
): Promise<T | undefined> {
  let current: T | undefined = obj;
  for (let i = 0; i < attempts && current; i++) {
    if (hasFinalizer(current.metadata) === present) return current;
    const others = (current.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    signal.throwIfAborted();
    try {
      return await access.replace({
        ...current,
        metadata: { ...current.metadata, finalizers: present ? [...others, finalizer] : others },
      });
    } catch (error) {
      if (!isConflict(error) || i === attempts - 1) throw error;
      current = await access.get();
    }
  }
  return current;
}
