import { describe, expect, it } from "vitest";
import { type Directives, directiveFault, parseDirectives } from "./directives.ts";

const parse = (text: string) => parseDirectives([text]);

describe("parseDirectives", () => {
  it.each<[string, Partial<Directives>]>([
    ["[[emulator:throttle]]", { throttle: true }],
    ["[[emulator:not-ready]]", { notReady: true }],
    ["[[emulator:status=503]]", { status: 503 }],
    ["[[emulator:stream-error-after=3]]", { streamErrorAfter: 3 }],
    ["[[emulator:stream-error=throttlingException]]", { streamError: "throttlingException" }],
    ["[[emulator:delay-ms=200]]", { delayMs: 200 }],
    ["[[emulator:chunk-delay-ms=20]]", { chunkDelayMs: 20 }],
    ["[[emulator:tokens=500]]", { tokens: 500 }],
    ["[[emulator:cached=12]]", { cached: 12 }],
    ["[[emulator:tool=get_weather]]", { tools: ["get_weather"] }],
    ["[[emulator:tools=a, b]] [[emulator:tool=c]]", { tools: ["a", "b", "c"] }],
    ["[[emulator:guardrail]]", { guardrail: true }],
    ["[[emulator:stop-reason=content_filtered]]", { stopReason: "content_filtered" }],
    [
      "[[emulator:fault-model=us.amazon.nova-micro-v1:0]]",
      { faultModel: "us.amazon.nova-micro-v1:0" },
    ],
    ["[[emulator:fail-times=2]]", { failTimes: 2 }],
  ])("parses %s", (text, expected) => {
    expect(parse(text).directives).toMatchObject(expected);
  });

  it("removes directives from the text and keeps the rest", () => {
    expect(parse("What is [[emulator:delay-ms=5]]the weather?").texts).toEqual([
      "What is the weather?",
    ]);
  });

  it("leaves text without directives untouched", () => {
    expect(parse("[[not a directive]] [emulator:throttle]").texts).toEqual([
      "[[not a directive]] [emulator:throttle]",
    ]);
  });

  it.each([
    ["an unknown name", "[[emulator:explode]]", /unknown directive/],
    ["a flag with a value", "[[emulator:throttle=1]]", /takes no value/],
    ["a non-integer", "[[emulator:delay-ms=fast]]", /non-negative integer/],
    ["a negative integer", "[[emulator:tokens=-1]]", /non-negative integer/],
    ["an unsupported status", "[[emulator:status=418]]", /unsupported status/],
    ["an unknown stream exception", "[[emulator:stream-error=boom]]", /unknown stream exception/],
    ["an unknown stop reason", "[[emulator:stop-reason=done]]", /unknown stop reason/],
    ["a tool without a name", "[[emulator:tool=]]", /expected a value/],
    ["too many tokens", "[[emulator:tokens=1000001]]", /at most 1000000 tokens/],
  ])("rejects %s", (_case, text, message) => {
    expect(() => parse(text)).toThrow(message);
  });
});

describe("directiveFault", () => {
  it.each([
    ["[[emulator:throttle]]", "ThrottlingException", 429],
    ["[[emulator:not-ready]]", "ModelNotReadyException", 429],
    ["[[emulator:status=400]]", "ValidationException", 400],
    ["[[emulator:status=403]]", "AccessDeniedException", 403],
    ["[[emulator:status=404]]", "ResourceNotFoundException", 404],
    ["[[emulator:status=408]]", "ModelTimeoutException", 408],
    ["[[emulator:status=424]]", "ModelErrorException", 424],
    ["[[emulator:status=429]]", "ThrottlingException", 429],
    ["[[emulator:status=500]]", "InternalServerException", 500],
    ["[[emulator:status=503]]", "ServiceUnavailableException", 503],
  ])("maps %s to %s (%i)", (text, name, status) => {
    const fault = directiveFault(parse(text).directives);
    expect(fault?.errorName).toBe(name);
    expect(fault?.status).toBe(status);
  });

  it("returns nothing without fault directives", () => {
    expect(directiveFault(parse("[[emulator:tokens=3]]").directives)).toBeUndefined();
  });
});
