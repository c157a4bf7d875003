import { describe, expect, it } from "vitest";
import { decodeFrame, encodeEvent, encodeException } from "./event-stream.ts";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

describe("event-stream frames", () => {
  it("encodes messageStop byte for byte like the worked example in docs/wire-formats.md", () => {
    const frame = encodeEvent("messageStop", { stopReason: "end_turn" });
    expect(frame.length).toBe(122);
    expect(hex(frame.subarray(0, 12))).toBe("0000007a00000051ca2c4665");
    expect(hex(frame.subarray(-4))).toBe("5fbf09fc");
  });

  it("round-trips an event with its headers", () => {
    const decoded = decodeFrame(
      encodeEvent("contentBlockDelta", { contentBlockIndex: 0, delta: { text: "Hi" } }),
    );
    expect(decoded).toEqual({
      headers: {
        ":event-type": "contentBlockDelta",
        ":content-type": "application/json",
        ":message-type": "event",
      },
      payload: { contentBlockIndex: 0, delta: { text: "Hi" } },
    });
  });

  it("marks exceptions with the lowerCamel :exception-type", () => {
    const decoded = decodeFrame(encodeException("throttlingException", { message: "slow down" }));
    expect(decoded.headers).toEqual({
      ":exception-type": "throttlingException",
      ":content-type": "application/json",
      ":message-type": "exception",
    });
    expect(decoded.payload).toEqual({ message: "slow down" });
  });
});
