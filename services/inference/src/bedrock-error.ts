import { StrataError, networkErrorCodes as socketErrorCodes } from "@strata/errors";

/** How long a client should wait before retrying after throttling or unavailability. */
export const bedrockRetryAfterMs = 1000;

/** Bedrock's messages for inputs longer than the model's context window (they vary by model). */
const contextLengthPattern =
  /input is too long|prompt is too long|too many (input )?tokens|context (window|length)|maximum context/i;

/** Errors of the AWS front door meaning Strata's own AWS identity is wrong: never the client's fault. */
const credentialErrors = new Set([
  "CredentialsProviderError",
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "ExpiredTokenException",
  "ExpiredToken",
  "InvalidClientTokenId",
  "MissingAuthenticationToken",
  "IncompleteSignature",
  "RequestExpired",
  "TokenProviderError",
]);

/** Socket- and HTTP/2-level failures reaching Bedrock: unreachable now, retrying may help. */
const networkErrorCodes = new Set([
  ...socketErrorCodes,
  "ECONNABORTED",
  "ERR_HTTP2_GOAWAY_SESSION",
  "ERR_HTTP2_SESSION_ERROR",
  "ERR_HTTP2_STREAM_ERROR",
  "ERR_HTTP2_STREAM_CANCEL",
  "ERR_HTTP2_ERROR",
  "ERR_HTTP2_INVALID_SESSION",
]);

/** What the service knows about the call that failed, for messages. */
export interface BedrockErrorContext {
  /** The model as the client named it. */
  readonly model?: string | undefined;
}

/**
 * Converts anything a Bedrock SDK call throws into the StrataError to send
 * (docs/adr/0005-one-error-model.md; docs/wire-formats.md#bedrock-errors). Decided by the error's
 * `name` (the SDK sets it from `x-amzn-ErrorType` for modeled and unmodeled errors alike), then by
 * Node's network error codes.
 *
 * - Validation messages are Bedrock's and client-safe, so they are kept; context-window overflow
 *   becomes `context_length_exceeded` (param `messages`).
 * - Access denied and unknown model ids are configuration problems of the deployment, shown to
 *   the client as permission_denied / model_not_found without AWS account details.
 * - Credential failures are Strata's fault: `internal`, with a cause that tells operators what to
 *   check; the client sees the generic message.
 * - Everything else internal keeps the original as `cause` (logged, never sent).
 */
export function bedrockErrorToStrataError(
  error: unknown,
  context: BedrockErrorContext = {},
): StrataError {
  if (error instanceof StrataError) return error;
  const name = errorName(error);
  const message = errorMessage(error);
  const model = context.model ? `\`${context.model}\`` : "the model";
  switch (name) {
    case "ValidationException":
      if (contextLengthPattern.test(message)) {
        return new StrataError("context_length_exceeded", message || undefined, {
          param: "messages",
          cause: error,
        });
      }
      return new StrataError("invalid_request", message || undefined, { cause: error });
    case "AccessDeniedException":
      return new StrataError(
        "permission_denied",
        `Access to model ${model} is denied in the configured AWS account.`,
        { code: "model_access_denied", param: "model", cause: error },
      );
    case "ResourceNotFoundException":
      return new StrataError(
        "model_not_found",
        `The model ${model} does not exist or you do not have access to it.`,
        { param: "model", cause: error },
      );
    case "ThrottlingException":
    case "ModelNotReadyException":
    case "ServiceQuotaExceededException":
      return new StrataError("rate_limited", undefined, {
        retryAfterMs: bedrockRetryAfterMs,
        cause: error,
      });
    case "ModelTimeoutException":
    case "TimeoutError":
      return new StrataError("upstream_timeout", undefined, { cause: error });
    case "ServiceUnavailableException":
    case "ServiceUnavailable":
      return new StrataError("upstream_unavailable", undefined, {
        retryAfterMs: bedrockRetryAfterMs,
        cause: error,
      });
    case "AbortError":
      return new StrataError("cancelled", undefined, { cause: error });
    default:
      break;
  }
  if (credentialErrors.has(name)) {
    return new StrataError("internal", undefined, {
      cause: new Error(
        `Bedrock rejected or could not obtain this service's AWS credentials (${name}): check the IRSA / Pod Identity role or the AWS_* environment`,
        { cause: error },
      ),
    });
  }
  if (isNetworkError(error)) {
    return new StrataError("upstream_unavailable", undefined, {
      retryAfterMs: bedrockRetryAfterMs,
      cause: error,
    });
  }
  // InternalServerException, ModelErrorException, ModelStreamErrorException, unknown.
  return new StrataError("internal", undefined, { cause: error });
}

function errorName(error: unknown): string {
  if (typeof error === "object" && error !== null && "name" in error) {
    const name = (error as { name: unknown }).name;
    if (typeof name === "string") return name;
  }
  return "";
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "object" && error !== null && "message" in error) {
    const message = (error as { message: unknown }).message;
    if (typeof message === "string") return message;
  }
  return "";
}

function isNetworkError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && networkErrorCodes.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Bedrock errors worth another try after a pause: throttling, unavailability, 5xx, timeouts. */
const transientErrors = new Set([
  "ThrottlingException",
  "ModelNotReadyException",
  "ServiceUnavailableException",
  "ServiceUnavailable",
  "InternalServerException",
  "InternalFailure",
  "ModelTimeoutException",
]);

/**
 * Whether a Bedrock SDK error is transient: the same call may succeed if tried again later (or
 * on another model). Throttling, model not ready, unavailability, 5xx, Bedrock's model timeout
 * and network failures are; validation, access, unknown-model, credential errors, the model's
 * own errors (ModelErrorException) and aborts (client gone, Strata's own timer) are not.
 */
export function isTransientBedrockError(error: unknown): boolean {
  if (error instanceof StrataError) return false;
  return transientErrors.has(errorName(error)) || isNetworkError(error);
}

/**
 * Whether another model may serve a request whose call failed with `error`: a transient failure,
 * or the model not being usable in this account and Region (access not granted, unknown id), a
 * configuration problem of one model that another may not have.
 */
export function isFallbackWorthy(error: unknown): boolean {
  const name = errorName(error);
  return (
    isTransientBedrockError(error) ||
    name === "AccessDeniedException" ||
    name === "ResourceNotFoundException" ||
    name === "ServiceQuotaExceededException"
  );
}

/**
 * Whether a Bedrock error says the upstream is failing (what opens a circuit breaker): a transient
 * error other than throttling. Throttling is Bedrock working and asking for less; it is retried
 * and may fall back, but does not take the model out of service for everyone.
 */
export function isUpstreamFailure(error: unknown): boolean {
  return isTransientBedrockError(error) && errorName(error) !== "ThrottlingException";
}
