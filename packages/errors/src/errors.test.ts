import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  asStrataError,
  fromConnectError,
  type Reason,
  reasonMappings,
  StrataError,
  toConnectError,
  toOpenAIError,
} from "./index.ts";

const expected: Array<[Reason, number, string, string | null]> = [
  ["invalid_request", 400, "invalid_request_error", null],
  ["context_length_exceeded", 400, "invalid_request_error", "context_length_exceeded"],
  ["unauthenticated", 401, "invalid_request_error", "invalid_api_key"],
  ["permission_denied", 403, "permission_error", "permission_denied"],
  ["model_not_found", 404, "invalid_request_error", "model_not_found"],
  ["not_found", 404, "invalid_request_error", "not_found"],
  ["already_exists", 409, "invalid_request_error", "already_exists"],
  ["payload_too_large", 413, "invalid_request_error", "request_too_large"],
  ["headers_too_large", 431, "invalid_request_error", "request_header_fields_too_large"],
  ["request_timeout", 408, "invalid_request_error", "request_timeout"],
  ["rate_limited", 429, "rate_limit_error", "rate_limit_exceeded"],
  ["quota_exceeded", 429, "insufficient_quota", "insufficient_quota"],
  ["cancelled", 499, "invalid_request_error", "cancelled"],
  ["upstream_timeout", 504, "server_error", "timeout"],
  ["upstream_unavailable", 503, "server_error", "service_unavailable"],
  ["internal", 500, "server_error", "internal_error"],
];

describe("error model", () => {
  it("covers every reason in the table", () => {
    expect(expected.map(([r]) => r).sort()).toEqual(Object.keys(reasonMappings).sort());
  });

  it.each(expected)("renders %s as HTTP %i %s/%s", (reason, status, type, code) => {
    const rendered = toOpenAIError(new StrataError(reason, "msg", { param: "messages" }));
    expect(rendered.status).toBe(status);
    expect(rendered.body).toEqual({ error: { message: "msg", type, param: "messages", code } });
  });

  it.each(expected)("keeps %s, param, code and retry hint across gRPC", (reason) => {
    const original = new StrataError(reason, "client-safe text", {
      param: "tools[0].function.name",
      code: "custom_code",
      retryAfterMs: 1500,
    });
    const wire = toConnectError(original);
    expect(wire.code).toBe(reasonMappings[reason].grpc);
    const back = fromConnectError(wire);
    expect(back.reason).toBe(reason);
    expect(back.message).toBe("client-safe text");
    expect(back.param).toBe("tools[0].function.name");
    expect(back.openaiCode).toBe("custom_code");
    expect(back.retryAfterMs).toBe(1500);
  });

  it("never sends the text of an unknown error over gRPC", () => {
    const wire = toConnectError(new Error("password=hunter2 at db.internal:5432"));
    expect(wire.code).toBe(Code.Internal);
    expect(wire.message).not.toContain("hunter2");
    expect(fromConnectError(wire).reason).toBe("internal");
  });

  it("keeps the cause of an internal error for the logs only", () => {
    const cause = new Error("socket hang up");
    const error = asStrataError(cause);
    expect(error.reason).toBe("internal");
    expect(error.cause).toBe(cause);
    expect(JSON.stringify(toOpenAIError(error).body)).not.toContain("socket hang up");
  });

  it.each([
    ["an AWS SDK error of the server's fault", Object.assign(new Error("x"), { $fault: "server" })],
    [
      "a throttled AWS SDK call",
      Object.assign(new Error("x"), { $fault: "client", $retryable: { throttling: true } }),
    ],
    [
      "a refused connection",
      Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
    ],
    [
      "a wrapped network failure",
      new Error("send failed", {
        cause: Object.assign(new Error("reset"), { code: "ECONNRESET" }),
      }),
    ],
  ])("maps %s that no service converted to 503 with a retry hint, never 500", (_, cause) => {
    const error = asStrataError(cause);
    expect(error.reason).toBe("upstream_unavailable");
    expect(error.retryAfterMs).toBe(1_000);
    expect(toOpenAIError(error).status).toBe(503);
  });

  it("keeps an AWS SDK error of the client's fault (Strata's own request) internal", () => {
    const cause = Object.assign(new Error("ValidationException"), { $fault: "client" });
    expect(asStrataError(cause).reason).toBe("internal");
  });

  it.each([
    [Code.DeadlineExceeded, "upstream_timeout"],
    [Code.Unavailable, "upstream_unavailable"],
    [Code.Canceled, "cancelled"],
    [Code.Unknown, "internal"],
  ] as const)("maps a bare gRPC %s to %s with a generic message", (code, reason) => {
    const error = fromConnectError(new ConnectError("transport text", code));
    expect(error.reason).toBe(reason);
    expect(error.message).toBe(reasonMappings[reason].genericMessage);
  });

  it("sends retry-after in whole seconds, at least 1, and retry-after-ms exactly", () => {
    const { headers } = toOpenAIError(
      new StrataError("rate_limited", undefined, { retryAfterMs: 200 }),
    );
    expect(headers).toEqual({ "retry-after": "1", "retry-after-ms": "200" });
    expect(toOpenAIError(new StrataError("rate_limited")).headers).toEqual({});
  });
});
