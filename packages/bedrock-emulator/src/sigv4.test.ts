import { describe, expect, it } from "vitest";
import {
  canonicalQuery,
  canonicalUri,
  parseSigV4Authorization,
  type SignedRequest,
  verifySigV4,
} from "./sigv4.ts";

// "get-vanilla" from AWS's published Signature Version 4 test suite.
const VANILLA_AUTH =
  "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
const VANILLA_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const VANILLA_NOW = Date.UTC(2015, 7, 30, 12, 36, 0);

function vanillaRequest(overrides: Partial<SignedRequest> = {}): SignedRequest {
  const headers: Record<string, string> = {
    host: "example.amazonaws.com",
    "x-amz-date": "20150830T123600Z",
  };
  return {
    method: "GET",
    rawPath: "/",
    rawQuery: "",
    header: (name) => headers[name],
    body: new Uint8Array(),
    ...overrides,
  };
}

const verify = (request: SignedRequest, secret = VANILLA_SECRET, now = VANILLA_NOW) =>
  verifySigV4({
    request,
    authorization: parseSigV4Authorization(VANILLA_AUTH),
    secretAccessKey: secret,
    service: "service",
    now,
  });

describe("verifySigV4", () => {
  it("accepts AWS's get-vanilla test vector", () => {
    expect(() => verify(vanillaRequest())).not.toThrow();
  });

  it.each([
    ["a wrong secret", () => verify(vanillaRequest(), "not-the-secret"), /signature we calculated/],
    [
      "a different method",
      () => verify(vanillaRequest({ method: "POST" })),
      /signature we calculated/,
    ],
    [
      "a different path",
      () => verify(vanillaRequest({ rawPath: "/x" })),
      /signature we calculated/,
    ],
    [
      "a different query",
      () => verify(vanillaRequest({ rawQuery: "a=b" })),
      /signature we calculated/,
    ],
    [
      "a request signed 20 minutes ago",
      () => verify(vanillaRequest(), VANILLA_SECRET, VANILLA_NOW + 20 * 60_000),
      /Signature expired/,
    ],
  ])("rejects %s", (_case, run, message) => {
    expect(run).toThrow(message);
  });

  it("rejects a body that does not match x-amz-content-sha256", () => {
    const headers: Record<string, string> = {
      host: "example.amazonaws.com",
      "x-amz-date": "20150830T123600Z",
      "x-amz-content-sha256": "0".repeat(64),
    };
    expect(() => verify(vanillaRequest({ header: (n) => headers[n] }))).toThrow(
      /x-amz-content-sha256/,
    );
  });

  it("requires the signing service to match", () => {
    expect(() =>
      verifySigV4({
        request: vanillaRequest(),
        authorization: parseSigV4Authorization(VANILLA_AUTH),
        secretAccessKey: VANILLA_SECRET,
        service: "bedrock",
        now: VANILLA_NOW,
      }),
    ).toThrow(/scoped to correct service/);
  });
});

describe("parseSigV4Authorization", () => {
  it("extracts the credential scope, signed headers and signature", () => {
    expect(parseSigV4Authorization(VANILLA_AUTH)).toEqual({
      accessKeyId: "AKIDEXAMPLE",
      date: "20150830",
      region: "us-east-1",
      service: "service",
      signedHeaders: ["host", "x-amz-date"],
      signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    });
  });

  it.each([
    ["no Credential", `AWS4-HMAC-SHA256 SignedHeaders=host, Signature=${"a".repeat(64)}`],
    [
      "a short scope",
      `AWS4-HMAC-SHA256 Credential=AKID/20150830, SignedHeaders=host, Signature=${"a".repeat(64)}`,
    ],
    [
      "a malformed signature",
      "AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request, SignedHeaders=host, Signature=xyz",
    ],
  ])("rejects a header with %s", (_case, header) => {
    expect(() => parseSigV4Authorization(header)).toThrow(
      expect.objectContaining({ errorName: "IncompleteSignatureException" }),
    );
  });
});

describe("canonical request parts", () => {
  it("double-encodes the already-encoded wire path, as the SDK signs it", () => {
    expect(canonicalUri("/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse")).toBe(
      "/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse",
    );
    expect(
      canonicalUri("/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fx/converse"),
    ).toBe(
      "/model/arn%253Aaws%253Abedrock%253Aus-east-1%253A1%253Ainference-profile%252Fx/converse",
    );
  });

  it("normalises dot segments", () => {
    expect(canonicalUri("/a/./b/../c")).toBe("/a/c");
  });

  it("sorts and re-encodes the query", () => {
    expect(canonicalQuery("b=2&a=x%20y&a=1")).toBe("a=1&a=x%20y&b=2");
  });
});
