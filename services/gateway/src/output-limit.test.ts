import { create } from "@bufbuild/protobuf";
import { ChatRequestSchema, PolicySchema } from "@strata/proto";
import { describe, expect, it } from "vitest";
import { applyOutputLimit, rejectsExcessMaxTokens } from "./output-limit.ts";

const request = (maxTokens?: number) =>
  create(ChatRequestSchema, {
    model: "m",
    inferenceConfig: maxTokens === undefined ? {} : { maxTokens },
  });

describe("applyOutputLimit", () => {
  it("lowers a max_tokens above the model's limit and says so", () => {
    const chat = request(32_000);
    expect(applyOutputLimit(chat, { maxOutputTokens: 8192 }, false)).toBe(
      "requested=32000; limit=8192",
    );
    expect(chat.inferenceConfig?.maxTokens).toBe(8192);
  });

  it.each([
    ["at the limit", 8192],
    ["below it", 100],
    ["when none is asked for", undefined],
  ])("leaves max_tokens alone %s", (_, maxTokens) => {
    const chat = request(maxTokens);
    expect(applyOutputLimit(chat, { maxOutputTokens: 8192 }, false)).toBeUndefined();
    expect(chat.inferenceConfig?.maxTokens).toBe(maxTokens);
  });

  it("refuses it with a 400 naming max_tokens when strict", () => {
    expect(() => applyOutputLimit(request(32_000), { maxOutputTokens: 8192 }, true)).toThrow(
      expect.objectContaining({
        reason: "invalid_request",
        param: "max_tokens",
        message:
          "max_tokens is too large: 32000. This model supports at most 8192 completion tokens.",
      }),
    );
  });
});

describe("rejectsExcessMaxTokens", () => {
  const strict = create(PolicySchema, { rejectExcessMaxTokens: true });
  it.each([
    ["the gateway default", undefined, {}, false],
    ["the gateway set to reject", "reject", {}, true],
    ["a tenant asking for it", "clamp", { tenant: strict }, true],
    ["a key asking for it", "clamp", { key: strict }, true],
  ] as const)("is decided by %s", (_, mode, layers, expected) => {
    expect(rejectsExcessMaxTokens(mode, layers)).toBe(expected);
  });
});
