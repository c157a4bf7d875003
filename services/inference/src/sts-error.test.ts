import { STSServiceException } from "@aws-sdk/client-sts";
import { type Reason, StrataError } from "@strata/errors";
import { describe, expect, it } from "vitest";
import {
  crossAccountDeniedMessage,
  crossAccountInvalidMessage,
  stsErrorToStrataError,
} from "./sts-error.ts";

const sts = (
  name: string,
  message = "User: arn:aws:sts::1:assumed-role/strata/x is not authorized",
) => new STSServiceException({ name, $fault: "client", $metadata: {}, message });

describe("stsErrorToStrataError", () => {
  it.each<[string, unknown, Reason, string | undefined, string | undefined]>([
    [
      "a refused role",
      sts("AccessDenied"),
      "permission_denied",
      "cross_account_denied",
      crossAccountDeniedMessage,
    ],
    [
      "a malformed role ARN",
      sts("ValidationError"),
      "permission_denied",
      "cross_account_invalid",
      crossAccountInvalidMessage,
    ],
    [
      "a malformed session policy",
      sts("MalformedPolicyDocument"),
      "permission_denied",
      "cross_account_invalid",
      crossAccountInvalidMessage,
    ],
    ["Strata's unknown access key", sts("InvalidClientTokenId"), "internal", undefined, undefined],
    ["Strata's wrong secret", sts("SignatureDoesNotMatch"), "internal", undefined, undefined],
    ["Strata's expired session", sts("ExpiredToken"), "internal", undefined, undefined],
    [
      "no credentials for Strata",
      Object.assign(new Error("none"), { name: "CredentialsProviderError" }),
      "internal",
      undefined,
      undefined,
    ],
    ["STS throttling", sts("Throttling"), "upstream_unavailable", undefined, undefined],
    [
      "a disabled STS Region",
      sts("RegionDisabledException"),
      "upstream_unavailable",
      undefined,
      undefined,
    ],
    [
      "a connection refused",
      Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
      "upstream_unavailable",
      undefined,
      undefined,
    ],
    [
      "the call's own timeout",
      Object.assign(new Error("aborted"), { name: "AbortError" }),
      "upstream_unavailable",
      undefined,
      undefined,
    ],
  ])("maps %s", (_case, error, reason, code, message) => {
    const strata = stsErrorToStrataError(error);
    expect(strata.reason).toBe(reason);
    expect(strata.code).toBe(code);
    if (message !== undefined) expect(strata.message).toBe(message);
    expect(strata.message).not.toMatch(/arn:aws/);
    expect(strata.cause).toBeDefined();
  });

  it("asks to retry after a second when STS is unavailable", () => {
    expect(stsErrorToStrataError(sts("InternalFailure")).retryAfterMs).toBe(1000);
  });

  it("passes a StrataError through", () => {
    const error = new StrataError("cancelled");
    expect(stsErrorToStrataError(error)).toBe(error);
  });
});
