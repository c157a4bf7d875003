import { create } from "@bufbuild/protobuf";
import { PolicySchema } from "@strata/proto";
import { describe, expect, it } from "vitest";
import {
  endpointAllowed,
  globMatch,
  modelAllowed,
  regionAllowed,
  sourceAllowed,
} from "./policy.ts";

describe("policy", () => {
  it.each([
    ["anthropic.*", "anthropic.claude-3-haiku-20240307-v1:0", true],
    ["*claude*", "us.anthropic.claude-sonnet-4-20250514-v1:0", true],
    ["anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-haiku-20240307-v1:0", true],
    ["anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-haiku-20240307-v1x0", false],
    ["amazon.*", "anthropic.claude", false],
    ["a.c", "abc", false],
    ["*", "arn:aws:bedrock:us-east-1:1:inference-profile/x", true],
    ["*", "", true],
    ["a*a", "a", false],
    ["a*a", "aa", true],
    ["ab*ba", "aba", false],
    ["ab*ba", "abba", true],
    ["*x*y*", "yx", false],
    ["*x*y*", "axbyc", true],
    ["a**b", "ab", true],
    ["search_*", "search_", true],
    ["*.claude-*-v1:0", "us.anthropic.claude-x-v1:0", true],
  ])("glob %j matches %j: %s", (pattern, value, expected) => {
    expect(globMatch(pattern, value)).toBe(expected);
  });

  it("matches globs in linear time, whatever a tenant writes", () => {
    // A backtracking regex for this pattern needs on the order of 100^10 steps on this value (a
    // tenant-scoped admin could write it, and froze the shared gateway for 29 s with 40 chars).
    const pattern = `${"*a".repeat(10)}*b`;
    expect(globMatch(pattern, "a".repeat(100))).toBe(false);
    expect(globMatch(pattern, `${"a".repeat(100_000)}b`)).toBe(true);
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

  it.each([
    [["eu"], { geography: "eu", regions: [] }, true],
    [["eu"], { geography: "us", regions: [] }, false],
    [["eu"], { geography: "global", regions: [] }, false],
    [["eu-west-1"], { geography: "eu", regions: [] }, false],
    [["eu-west-1"], { geography: "eu", regions: ["eu-west-1"] }, true],
    [["eu"], { geography: "eu", regions: ["eu-central-1"] }, true],
    [["us", "global"], { geography: "global", regions: [] }, true],
    [[], { geography: "us", regions: [] }, true],
  ])("residency %j allows %j: %s", (allowedRegions, model, expected) => {
    expect(regionAllowed({ tenant: create(PolicySchema, { allowedRegions }) }, model)).toBe(
      expected,
    );
  });

  it("requires the client address in both layers' CIDRs", () => {
    const tenant = create(PolicySchema, { allowedSourceCidrs: ["10.0.0.0/8", "2001:db8::/32"] });
    const key = create(PolicySchema, { allowedSourceCidrs: ["10.1.0.0/16"] });
    expect(sourceAllowed({ tenant }, "10.200.0.1")).toBe(true);
    expect(sourceAllowed({ tenant, key }, "10.200.0.1")).toBe(false);
    expect(sourceAllowed({ tenant, key }, "10.1.2.3")).toBe(true);
    expect(sourceAllowed({ tenant }, "2001:db8::1")).toBe(true);
    expect(sourceAllowed({ tenant }, "::ffff:10.0.0.1")).toBe(true);
    expect(sourceAllowed({ tenant }, "192.168.0.1")).toBe(false);
    expect(sourceAllowed({}, "192.168.0.1")).toBe(true);
  });
});
