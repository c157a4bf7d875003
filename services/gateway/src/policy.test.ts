import { create } from "@bufbuild/protobuf";
import { PolicySchema } from "@strata/proto";
import { describe, expect, it } from "vitest";
import { endpointAllowed, globMatch, modelAllowed } from "./policy.ts";

describe("policy", () => {
  it.each([
    ["anthropic.*", "anthropic.claude-3-haiku-20240307-v1:0", true],
    ["*claude*", "us.anthropic.claude-sonnet-4-20250514-v1:0", true],
    ["anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-haiku-20240307-v1:0", true],
    ["anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-haiku-20240307-v1x0", false],
    ["amazon.*", "anthropic.claude", false],
    ["a.c", "abc", false],
    ["*", "arn:aws:bedrock:us-east-1:1:inference-profile/x", true],
  ])("glob %j matches %j: %s", (pattern, value, expected) => {
    expect(globMatch(pattern, value)).toBe(expected);
  });

  it("requires both the tenant's and the key's policy to allow a model", () => {
    const tenant = create(PolicySchema, { allowedModels: ["anthropic.*"] });
    const key = create(PolicySchema, { allowedModels: ["*haiku*"] });
    expect(modelAllowed({ tenant, key }, ["anthropic.claude-3-haiku"])).toBe(true);
    expect(modelAllowed({ tenant, key }, ["anthropic.claude-3-5-sonnet"])).toBe(false);
    expect(modelAllowed({ tenant, key }, ["amazon.nova-haiku"])).toBe(false);
  });

  it("matches a model by any of its names (id or alias)", () => {
    const key = create(PolicySchema, { allowedModels: ["claude-3-haiku"] });
    expect(
      modelAllowed({ key }, ["anthropic.claude-3-haiku-20240307-v1:0", "claude-3-haiku"]),
    ).toBe(true);
  });

  it("treats an empty list as no restriction", () => {
    expect(modelAllowed({}, ["x"])).toBe(true);
    expect(
      endpointAllowed(
        { key: create(PolicySchema, { allowedEndpoints: ["embeddings"] }) },
        "chat.completions",
      ),
    ).toBe(false);
    expect(endpointAllowed({ key: create(PolicySchema, {}) }, "chat.completions")).toBe(true);
  });
});
