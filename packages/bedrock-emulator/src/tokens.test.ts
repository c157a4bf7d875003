import { describe, expect, it } from "vitest";
import type { ConverseRequest } from "./converse-types.ts";
import { countInputTokens, textTokens } from "./tokens.ts";

const request = (overrides: Partial<ConverseRequest>): ConverseRequest => ({
  messages: [],
  system: [],
  maxTokens: undefined,
  temperature: undefined,
  topP: undefined,
  stopSequences: [],
  hasToolConfig: false,
  tools: [],
  toolChoice: { type: "auto" },
  jsonSchema: undefined,
  guardrail: undefined,
  ...overrides,
});

describe("token rule", () => {
  it.each([
    ["", 0],
    ["a", 1],
    ["abcd", 1],
    ["abcde", 2],
    ["héllo wörld", 3],
    ["😀😀😀😀😀", 2],
  ])("charges ceil(code points / 4) for %j", (text, tokens) => {
    expect(textTokens(text)).toBe(tokens);
  });

  it("sums system, message blocks, images and tool specs", () => {
    const tokens = countInputTokens(
      request({
        system: ["be brief"], // 2
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "hello there" }, // 3
              { type: "image", image: { format: "png", byteLength: 10 } }, // 85
            ],
          },
        ],
        tools: [{ name: "get", description: "desc", inputSchema: { type: "object" } }], // 1 + 1 + 5
      }),
    );
    expect(tokens).toBe(2 + 3 + 85 + 1 + 1 + 5);
  });

  it("charges at least one token", () => {
    expect(countInputTokens(request({}))).toBe(1);
  });
});
