import type { Condition } from "./resources.ts";

/** A condition to set: metav1.Condition without its transition time, which setCondition owns. */
export type ConditionUpdate = Omit<Condition, "lastTransitionTime" | "observedGeneration">;

/**
 * Sets one condition in a list (metav1.Condition semantics, as apimachinery's
 * meta.SetStatusCondition): `lastTransitionTime` changes only when `status` changes, while
 * reason, message and observedGeneration always take the new values. Returns a new list; the
 * order of the other conditions is kept.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  observedGeneration: number | undefined,
  now: Date,
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === update.type);
  const existing = index >= 0 ? list[index] : undefined;
  const next: Condition = {
    type: update.type,
    status: update.status,
    ...(observedGeneration !== undefined ? { observedGeneration } : {}),
    lastTransitionTime:
      existing && existing.status === update.status
        ? existing.lastTransitionTime
        : now.toISOString().replace(/\.\d{3}Z$/, "Z"),
    reason: update.reason,
    // The API server caps messages at 32 KiB.
    message: update.message.slice(0, 32_768),
  };
  if (index >= 0) list[index] = next;
  else list.push(next);
  return list;
}

/** The condition of a type, if set. */
export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Whether a condition of this type is set with status "True". */
export function isTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === "True";
}
