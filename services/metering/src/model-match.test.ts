import { describe, expect, it } from "vitest";
import { modelMatches } from "./model-match.ts";

const names = ["anthropic.claude-3-haiku-20240307-v1:0", "claude-3-haiku"];

describe("modelMatches", () => {
  it.each([
    ["the exact catalog id", "anthropic.claude-3-haiku-20240307-v1:0", true],
    ["an alias", "claude-3-haiku", true],
    ["a glob over aliases", "claude-*", true],
    ["a glob over ids", "anthropic.*", true],
    ["everything", "*", true],
    ["a wildcard in the middle", "claude-*-haiku", true],
    ["not a prefix alone", "claude-3", false],
    ["dots literally, not as any character", "anthropicXclaude-*", false],
    ["case-sensitively", "Claude-*", false],
    ["another model", "nova-*", false],
  ])("matches %s: %s → %s", (_, pattern, expected) => {
    expect(modelMatches(pattern, names)).toBe(expected);
  });
});
