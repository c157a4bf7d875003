import { describe, expect, it } from "vitest";
import { modelLocation, regionGeography } from "./geography.ts";

describe("regionGeography", () => {
  it.each([
    ["us-east-1", "us"],
    ["us-west-2", "us"],
    ["us-gov-west-1", "us-gov"],
    ["eu-west-3", "eu"],
    ["eu-central-2", "eu"],
    ["ap-northeast-1", "apac"],
    ["ap-southeast-2", "apac"],
    ["ca-central-1", "ca"],
    ["sa-east-1", "sa"],
    ["me-central-1", "me"],
    ["af-south-1", "af"],
    ["il-central-1", "il"],
    ["mx-central-1", "mx"],
    ["cn-north-1", "cn"],
  ])("places %s in %s", (region, geography) => {
    expect(regionGeography(region)).toBe(geography);
  });
});

describe("modelLocation", () => {
  it.each([
    [
      "a model id, served in the Region called",
      "anthropic.claude-3-haiku-20240307-v1:0",
      "eu-west-3",
      "eu",
      ["eu-west-3"],
    ],
    ["an embedding model id", "amazon.titan-embed-text-v1", "us-east-1", "us", ["us-east-1"]],
    ["a us. profile", "us.anthropic.claude-sonnet-4-20250514-v1:0", "us-east-1", "us", []],
    ["an eu. profile", "eu.anthropic.claude-3-haiku-20240307-v1:0", "eu-west-1", "eu", []],
    ["an apac. profile", "apac.amazon.nova-lite-v1:0", "ap-south-1", "apac", []],
    ["a jp. profile", "jp.anthropic.claude-sonnet-4-5-20250929-v1:0", "ap-northeast-1", "jp", []],
    ["an au. profile", "au.anthropic.claude-sonnet-4-5-20250929-v1:0", "ap-southeast-2", "au", []],
    ["a ca. profile", "ca.amazon.nova-lite-v1:0", "ca-central-1", "ca", []],
    [
      "a us-gov. profile",
      "us-gov.anthropic.claude-3-haiku-20240307-v1:0",
      "us-gov-west-1",
      "us-gov",
      [],
    ],
    [
      "a global. profile",
      "global.anthropic.claude-sonnet-4-20250514-v1:0",
      "eu-west-1",
      "global",
      [],
    ],
    [
      "an inference-profile ARN",
      "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.anthropic.claude-3-haiku-20240307-v1:0",
      "eu-west-1",
      "eu",
      [],
    ],
    [
      "a foundation-model ARN, served in the Region called",
      "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
      "us-west-2",
      "us",
      ["us-west-2"],
    ],
    [
      "a provisioned-model ARN",
      "arn:aws:bedrock:ap-northeast-1:123456789012:provisioned-model/abc123",
      "ap-northeast-1",
      "apac",
      ["ap-northeast-1"],
    ],
    [
      "an application inference profile ARN (its routing is not known)",
      "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3",
      "us-east-1",
      "",
      [],
    ],
    [
      "a profile-shaped id with an unknown geography",
      "xx.anthropic.claude-3-haiku-20240307-v1:0",
      "us-east-1",
      "",
      [],
    ],
    ["an ARN of another service", "arn:aws:s3:::bucket/model", "us-east-1", "", []],
  ])("locates %s", (_case, modelId, region, geography, regions) => {
    expect(modelLocation(modelId, region)).toEqual({ geography, regions });
  });
});
