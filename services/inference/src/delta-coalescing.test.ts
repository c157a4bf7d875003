import { create } from "@bufbuild/protobuf";
import { type ChatStreamResponse, ChatStreamResponseSchema } from "@strata/proto";
import { describe, expect, it } from "vitest";
import { appendDelta, availableNow, maxCoalescedChars, notYet } from "./delta-coalescing.ts";

const text = (value: string, index = 0): ChatStreamResponse =>
  create(ChatStreamResponseSchema, {
    event: { case: "blockDelta", value: { index, delta: { case: "text", value } } },
  });
const toolJson = (value: string, index = 0): ChatStreamResponse =>
  create(ChatStreamResponseSchema, {
    event: { case: "blockDelta", value: { index, delta: { case: "toolInputJson", value } } },
  });
const deltaOf = (e: ChatStreamResponse) =>
  e.event.case === "blockDelta" ? e.event.value.delta : undefined;

describe("appendDelta", () => {
  it("joins fragments of the same kind in the same block", () => {
    const pending = text("Hello");
    expect(appendDelta(pending, text(", world"))).toBe(true);
    expect(deltaOf(pending)).toEqual({ case: "text", value: "Hello, world" });
    const args = toolJson('{"city":');
    expect(appendDelta(args, toolJson('"Paris"}'))).toBe(true);
    expect(deltaOf(args)).toEqual({ case: "toolInputJson", value: '{"city":"Paris"}' });
  });

  it("keeps apart what a client must see apart", () => {
    const pending = text("a");
    expect(appendDelta(pending, text("b", 1))).toBe(false);
    expect(appendDelta(pending, toolJson("{}"))).toBe(false);
    expect(
      appendDelta(
        pending,
        create(ChatStreamResponseSchema, { event: { case: "blockStop", value: { index: 0 } } }),
      ),
    ).toBe(false);
    expect(deltaOf(pending)).toEqual({ case: "text", value: "a" });
  });

  it("stops growing a message at its size bound", () => {
    const pending = text("x".repeat(maxCoalescedChars - 1));
    expect(appendDelta(pending, text("y"))).toBe(true);
    expect(appendDelta(pending, text("z"))).toBe(false);
    expect(deltaOf(pending)?.value).toHaveLength(maxCoalescedChars);
  });
});

describe("availableNow", () => {
  it("has what has arrived, and does not wait for what has not", async () => {
    expect(await availableNow(Promise.resolve(1))).toBe(1);
    const later = new Promise((r) => setTimeout(r, 20, 2));
    expect(await availableNow(later)).toBe(notYet);
    await expect(availableNow(Promise.reject(new Error("gone")))).rejects.toThrow("gone");
  });
});
