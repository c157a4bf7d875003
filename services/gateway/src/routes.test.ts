import { describe, expect, it } from "vitest";
import { loggablePath, matchRoute, unmatchedLabels } from "./routes.ts";

describe("matchRoute", () => {
  it.each([
    ["/v1/chat/completions", "/v1/chat/completions", ""],
    ["/v1/models", "/v1/models", ""],
    ["/v1/models/us.anthropic.claude:0", "/v1/models/{model}", "us.anthropic.claude:0"],
    ["/v1/models/a/b", "/v1/models/{model}", "a/b"],
  ])("serves %s with %s", (path, template, id) => {
    expect(matchRoute(path)).toMatchObject({ route: { template }, id });
  });

  it.each(["/v1/models/", "/v1/chat", "/v1/responses", "/"])("serves nothing at %s", (path) => {
    expect(matchRoute(path)).toBeUndefined();
  });
});

describe("loggablePath", () => {
  it.each([
    ["/v1/responses", "/v1/responses"],
    ["/v1/responses/resp_123", "/v1/responses/resp_123"],
    ["/v1/sk-strata-abc/chat", "/v1/[redacted]/chat"],
    ["/keys/AKIAIOSFODNN7EXAMPLE", "/keys/[redacted]"],
    ["/t/eyJhbGciOiJIUzI1NiJ9.e30.x", "/t/[redacted]"],
    ["/x/Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA", "/x/[redacted]"],
    ["/x/%73k-strata-abc", "/x/[redacted]"],
    [
      "/v1/models/anthropic.claude-3-haiku-20240307-v1:0",
      "/v1/models/anthropic.claude-3-haiku-20240307-v1:0",
    ],
  ])("logs %s as %s", (path, logged) => {
    expect(loggablePath(path)).toBe(logged);
  });

  it("keeps at most 200 characters", () => {
    expect(loggablePath(`/${"a/".repeat(500)}`)).toHaveLength(201);
  });
});

describe("unmatchedLabels", () => {
  it.each([
    ["POST", "/v1/responses", { method: "POST", route: "/v1/responses" }],
    ["POST", "/v1/messages/count_tokens", { method: "POST", route: "/v1/messages" }],
    ["POST", "/model/anthropic.claude/converse", { method: "POST", route: "/model" }],
    ["GET", "/healthz", { method: "GET", route: "/healthz" }],
    ["GET", "/v1/whatever-123", { method: "GET", route: "other" }],
    ["BREW", "/wp-admin/x", { method: "other", route: "other" }],
  ])("labels %s %s", (method, path, labels) => {
    expect(unmatchedLabels(method, path)).toEqual(labels);
  });
});
