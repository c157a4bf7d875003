import {
  AccessDeniedException,
  BedrockRuntimeServiceException,
  InternalServerException,
  ModelErrorException,
  ModelNotReadyException,
  ModelStreamErrorException,
  ModelTimeoutException,
  ResourceNotFoundException,
  ServiceQuotaExceededException,
  ServiceUnavailableException,
  ThrottlingException,
  ValidationException,
} from "@aws-sdk/client-bedrock-runtime";
import { type Reason, StrataError } from "@strata/errors";
import { describe, expect, it } from "vitest";
import { bedrockErrorToStrataError } from "./bedrock-error.ts";

const $metadata = {};
const unmodeled = (name: string, message = "denied") =>
  new BedrockRuntimeServiceException({ name, $fault: "client", $metadata, message });
const networkError = (code: string) =>
  Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });

interface Case {
  name: string;
  error: unknown;
  reason: Reason;
  message?: string | RegExp;
  param?: string;
  code?: string;
  retryAfterMs?: number;
}

const cases: Case[] = [
  {
    name: "keeps Bedrock's message for a validation error",
    error: new ValidationException({ message: "messages.0.content is blank", $metadata }),
    reason: "invalid_request",
    message: "messages.0.content is blank",
  },
  {
    name: "maps 'Input is too long' to context_length_exceeded on messages",
    error: new ValidationException({
      message: "Input is too long for requested model.",
      $metadata,
    }),
    reason: "context_length_exceeded",
    param: "messages",
  },
  {
    name: "maps 'too many input tokens' to context_length_exceeded",
    error: new ValidationException({ message: "Too many input tokens. Max: 8192", $metadata }),
    reason: "context_length_exceeded",
  },
  {
    name: "maps a context window message to context_length_exceeded",
    error: new ValidationException({
      message: "prompt exceeds the model's context window",
      $metadata,
    }),
    reason: "context_length_exceeded",
  },
  {
    name: "maps access denied to permission_denied naming the model",
    error: new AccessDeniedException({ message: "You don't have access", $metadata }),
    reason: "permission_denied",
    message: "Access to model `claude-3-haiku` is denied in the configured AWS account.",
    code: "model_access_denied",
  },
  {
    name: "maps an unknown Bedrock model to model_not_found",
    error: new ResourceNotFoundException({ message: "not found", $metadata }),
    reason: "model_not_found",
    param: "model",
  },
  ...[
    new ThrottlingException({ message: "slow", $metadata }),
    new ModelNotReadyException({ message: "loading", $metadata }),
    new ServiceQuotaExceededException({ message: "quota", $metadata }),
  ].map((error) => ({
    name: `maps ${error.name} to rate_limited with a retry hint`,
    error,
    reason: "rate_limited" as const,
    retryAfterMs: 1000,
  })),
  {
    name: "maps a model timeout to upstream_timeout",
    error: new ModelTimeoutException({ message: "timeout", $metadata }),
    reason: "upstream_timeout",
  },
  {
    name: "maps the HTTP handler's TimeoutError to upstream_timeout",
    error: Object.assign(new Error("Stream timed out"), { name: "TimeoutError" }),
    reason: "upstream_timeout",
  },
  {
    name: "maps service unavailable to upstream_unavailable with a retry hint",
    error: new ServiceUnavailableException({ message: "down", $metadata }),
    reason: "upstream_unavailable",
    retryAfterMs: 1000,
  },
  ...[
    new InternalServerException({ message: "boom with internal detail", $metadata }),
    new ModelErrorException({ message: "model failed", $metadata }),
    new ModelStreamErrorException({ message: "stream failed", $metadata }),
    unmodeled("SomethingNew", "secret detail"),
    new Error("plain"),
    "a string",
  ].map((error) => ({
    name: `maps ${error instanceof Error ? error.name : typeof error} to internal with a generic message`,
    error,
    reason: "internal" as const,
    message: "The server had an error while processing your request.",
  })),
  {
    name: "maps an aborted call to cancelled",
    error: Object.assign(new Error("Request aborted"), { name: "AbortError" }),
    reason: "cancelled",
  },
  ...[
    Object.assign(new Error("Could not load credentials from any providers"), {
      name: "CredentialsProviderError",
    }),
    unmodeled(
      "UnrecognizedClientException",
      "The security token included in the request is invalid.",
    ),
    unmodeled("InvalidSignatureException", "The request signature we calculated does not match"),
    unmodeled("ExpiredTokenException", "The security token included in the request is expired"),
  ].map((error) => ({
    name: `maps the credential error ${error.name} to internal, never the client's fault`,
    error,
    reason: "internal" as const,
    message: "The server had an error while processing your request.",
  })),
  ...["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "ERR_HTTP2_GOAWAY_SESSION"].map((code) => ({
    name: `maps the network error ${code} to upstream_unavailable`,
    error: networkError(code),
    reason: "upstream_unavailable" as const,
    retryAfterMs: 1000,
  })),
  {
    name: "finds a network error code in the cause chain",
    error: new Error("send failed", { cause: networkError("ECONNREFUSED") }),
    reason: "upstream_unavailable",
  },
];

describe("bedrockErrorToStrataError", () => {
  it.each(cases)("$name", ({ error, reason, message, param, code, retryAfterMs }) => {
    const strata = bedrockErrorToStrataError(error, { model: "claude-3-haiku" });
    expect(strata).toBeInstanceOf(StrataError);
    expect(strata.reason).toBe(reason);
    if (message !== undefined) expect(strata.message).toMatch(message);
    if (param !== undefined) expect(strata.param).toBe(param);
    if (code !== undefined) expect(strata.code).toBe(code);
    if (retryAfterMs !== undefined) expect(strata.retryAfterMs).toBe(retryAfterMs);
    expect(strata.cause).toBeDefined();
  });

  it("tells operators what to check when credentials fail, in the cause only", () => {
    const strata = bedrockErrorToStrataError(unmodeled("UnrecognizedClientException"));
    expect(String((strata.cause as Error).message)).toMatch(/IRSA \/ Pod Identity/);
    expect(strata.message).not.toMatch(/IRSA/);
  });

  it("returns a StrataError unchanged", () => {
    const original = new StrataError("rate_limited");
    expect(bedrockErrorToStrataError(original)).toBe(original);
  });
});
