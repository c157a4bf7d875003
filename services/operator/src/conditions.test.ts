import { describe, expect, it } from "vitest";
import { findCondition, isTrue, setCondition } from "./conditions.ts";

const t0 = new Date("2026-08-01T10:00:00.123Z");
const t1 = new Date("2026-08-01T11:00:00.000Z");

describe("setCondition (metav1.Condition semantics)", () => {
  it("adds a condition with the time of the change, in whole seconds", () => {
    const list = setCondition(
      undefined,
      { type: "Ready", status: "True", reason: "Active", message: "ok" },
      3,
      t0,
    );
    expect(list).toEqual([
      {
        type: "Ready",
        status: "True",
        observedGeneration: 3,
        lastTransitionTime: "2026-08-01T10:00:00Z",
        reason: "Active",
        message: "ok",
      },
    ]);
  });

  it("keeps lastTransitionTime when the status stays, while reason, message and generation move", () => {
    const first = setCondition(
      undefined,
      { type: "Ready", status: "False", reason: "A", message: "a" },
      1,
      t0,
    );
    const second = setCondition(
      first,
      { type: "Ready", status: "False", reason: "B", message: "b" },
      2,
      t1,
    );
    expect(second[0]).toMatchObject({
      lastTransitionTime: "2026-08-01T10:00:00Z",
      reason: "B",
      message: "b",
      observedGeneration: 2,
    });
  });

  it("moves lastTransitionTime when the status changes", () => {
    const first = setCondition(
      undefined,
      { type: "Ready", status: "False", reason: "A", message: "" },
      1,
      t0,
    );
    const second = setCondition(
      first,
      { type: "Ready", status: "True", reason: "A", message: "" },
      1,
      t1,
    );
    expect(second[0]?.lastTransitionTime).toBe("2026-08-01T11:00:00Z");
  });

  it("changes only its own type and keeps the order of the others", () => {
    let list = setCondition(
      undefined,
      { type: "Ready", status: "True", reason: "R", message: "" },
      1,
      t0,
    );
    list = setCondition(list, { type: "Synced", status: "True", reason: "S", message: "" }, 1, t0);
    const next = setCondition(
      list,
      { type: "Ready", status: "False", reason: "X", message: "" },
      1,
      t1,
    );
    expect(next.map((c) => c.type)).toEqual(["Ready", "Synced"]);
    expect(next[1]).toEqual(list[1]);
    expect(list[0]?.status).toBe("True");
    expect(isTrue(next, "Ready")).toBe(false);
    expect(isTrue(next, "Synced")).toBe(true);
    expect(findCondition(next, "Missing")).toBeUndefined();
  });

  it("caps the message at the API server's limit", () => {
    const list = setCondition(
      undefined,
      { type: "Ready", status: "False", reason: "R", message: "x".repeat(40_000) },
      undefined,
      t0,
    );
    expect(list[0]?.message).toHaveLength(32_768);
    expect(list[0]).not.toHaveProperty("observedGeneration");
  });
});
