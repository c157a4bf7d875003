import { describe, expect, it } from "vitest";
import { loadInferenceConfig } from "./config.ts";

describe("loadInferenceConfig", () => {
  it("applies the documented defaults", () => {
    expect(loadInferenceConfig({})).toMatchObject({
      STRATA_PORT: 50053,
      STRATA_BEDROCK_REGION: "us-east-1",
      STRATA_BEDROCK_MAX_ATTEMPTS: 3,
      STRATA_BEDROCK_TIMEOUT_MS: 60_000,
      STRATA_STREAM_IDLE_TIMEOUT_MS: 60_000,
      bedrockCredentials: "default-chain",
    });
  });

  it("takes the region from AWS_REGION unless STRATA_BEDROCK_REGION is set", () => {
    expect(loadInferenceConfig({ AWS_REGION: "eu-west-1" }).STRATA_BEDROCK_REGION).toBe(
      "eu-west-1",
    );
    expect(
      loadInferenceConfig({ AWS_REGION: "eu-west-1", STRATA_BEDROCK_REGION: "us-west-2" })
        .STRATA_BEDROCK_REGION,
    ).toBe("us-west-2");
  });

  it.each([
    { name: "no endpoint", env: {}, expected: "default-chain" },
    {
      name: "an endpoint and no AWS credentials",
      env: { STRATA_BEDROCK_ENDPOINT: "http://127.0.0.1:4010" },
      expected: "emulator",
    },
    {
      name: "an endpoint and IRSA",
      env: {
        STRATA_BEDROCK_ENDPOINT: "https://vpce-1.bedrock-runtime.us-east-1.vpce.amazonaws.com",
        AWS_WEB_IDENTITY_TOKEN_FILE: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
        AWS_ROLE_ARN: "arn:aws:iam::1:role/r",
      },
      expected: "default-chain",
    },
    {
      name: "an endpoint and Pod Identity",
      env: {
        STRATA_BEDROCK_ENDPOINT: "http://127.0.0.1:4010",
        AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://169.254.170.23/v1/credentials",
      },
      expected: "default-chain",
    },
    {
      name: "an endpoint and static keys",
      env: { STRATA_BEDROCK_ENDPOINT: "http://127.0.0.1:4010", AWS_ACCESS_KEY_ID: "AKID" },
      expected: "default-chain",
    },
    {
      name: "an endpoint, no credentials, and credentials forced to the chain",
      env: {
        STRATA_BEDROCK_ENDPOINT: "http://127.0.0.1:4010",
        STRATA_BEDROCK_CREDENTIALS: "chain",
      },
      expected: "default-chain",
    },
    {
      name: "credentials forced to the emulator",
      env: { STRATA_BEDROCK_CREDENTIALS: "emulator", AWS_PROFILE: "dev" },
      expected: "emulator",
    },
  ])("uses $expected credentials with $name", ({ env, expected }) => {
    expect(loadInferenceConfig(env).bedrockCredentials).toBe(expected);
  });

  it.each([
    { name: "nothing set", env: {}, expected: undefined },
    {
      name: "the emulator as Bedrock (it serves STS too)",
      env: { STRATA_BEDROCK_ENDPOINT: "http://127.0.0.1:4010" },
      expected: "http://127.0.0.1:4010",
    },
    {
      name: "STRATA_STS_ENDPOINT",
      env: {
        STRATA_BEDROCK_ENDPOINT: "http://127.0.0.1:4010",
        STRATA_STS_ENDPOINT: "http://127.0.0.1:4020",
      },
      expected: "http://127.0.0.1:4020",
    },
    {
      name: "the emulator as Bedrock and AWS_ENDPOINT_URL_STS (left to the SDK)",
      env: {
        STRATA_BEDROCK_ENDPOINT: "http://127.0.0.1:4010",
        AWS_ENDPOINT_URL_STS: "http://127.0.0.1:4030",
      },
      expected: undefined,
    },
    {
      name: "a VPC endpoint with real credentials",
      env: {
        STRATA_BEDROCK_ENDPOINT: "https://vpce-1.bedrock-runtime.us-east-1.vpce.amazonaws.com",
        AWS_WEB_IDENTITY_TOKEN_FILE: "/var/run/secrets/token",
      },
      expected: undefined,
    },
  ])("resolves the STS endpoint with $name", ({ env, expected }) => {
    expect(loadInferenceConfig(env).STRATA_STS_ENDPOINT).toBe(expected);
  });

  it.each([
    { STRATA_BEDROCK_ENDPOINT: "not a url" },
    { STRATA_STS_ENDPOINT: "sts.local" },
    { STRATA_BEDROCK_MAX_ATTEMPTS: "0" },
    { STRATA_BEDROCK_TIMEOUT_MS: "-5" },
    { STRATA_BEDROCK_CREDENTIALS: "magic" },
  ])("refuses %j", (env) => {
    expect(() => loadInferenceConfig(env)).toThrow(/invalid configuration/);
  });

  it("keeps AWS variables out of the parsed configuration", () => {
    const config = loadInferenceConfig({
      AWS_ACCESS_KEY_ID: "AKID",
      AWS_ENDPOINT_URL_STS: "http://x",
    });
    expect(config).not.toHaveProperty("AWS_ACCESS_KEY_ID");
    expect(config).not.toHaveProperty("AWS_ENDPOINT_URL_STS");
  });
});
