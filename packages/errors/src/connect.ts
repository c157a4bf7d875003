import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema } from "@strata/proto";
import { grpcCodeToReason, isReason, reasonMappings } from "./reasons.ts";
import { StrataError } from "./strata-error.ts";

/**
 * Converts anything thrown inside an RPC handler into the ConnectError to send: a StrataError
 * keeps its reason, param and retry hint as a typed `strata.common.v1.ErrorDetail`; anything else
 * becomes `internal` with a generic message, so no internal text leaks across the wire.
 */
export function toConnectError(error: unknown): ConnectError {
  if (error instanceof StrataError) {
    const detail = create(ErrorDetailSchema, {
      reason: error.reason,
      param: error.param ?? "",
      code: error.code ?? "",
      retryAfterMs: error.retryAfterMs ?? 0,
    });
    return new ConnectError(error.message, reasonMappings[error.reason].grpc, undefined, [
      { desc: ErrorDetailSchema, value: detail },
    ]);
  }
  if (error instanceof ConnectError && error.findDetails(ErrorDetailSchema).length > 0) {
    return error;
  }
  if (error instanceof ConnectError && error.code === Code.Canceled) {
    return error;
  }
  return toConnectError(new StrataError("internal", undefined, { cause: error }));
}

/**
 * Converts an error received from a Strata RPC back into a StrataError. Errors without a Strata
 * detail (deadline hit on the client side, peer unreachable) are mapped by gRPC code, with a
 * generic message: their text comes from the transport, not from Strata.
 */
export function fromConnectError(error: ConnectError): StrataError {
  const [detail] = error.findDetails(ErrorDetailSchema);
  if (detail && isReason(detail.reason)) {
    return new StrataError(detail.reason, error.rawMessage, {
      param: detail.param || undefined,
      code: detail.code || undefined,
      retryAfterMs: detail.retryAfterMs || undefined,
    });
  }
  return new StrataError(grpcCodeToReason(error.code), undefined, { cause: error });
}

/** Any throwable as a StrataError: itself, a converted ConnectError, or `internal`. */
export function asStrataError(error: unknown): StrataError {
  if (error instanceof StrataError) return error;
  if (error instanceof ConnectError) return fromConnectError(error);
  if (error instanceof Error && error.name === "AbortError") {
    return new StrataError("cancelled", undefined, { cause: error });
  }
  if (isDependencyOutage(error)) {
    return new StrataError("upstream_unavailable", undefined, {
      retryAfterMs: 1_000,
      cause: error,
    });
  }
  return new StrataError("internal", undefined, { cause: error });
}

/** Node's socket-level error codes meaning the peer cannot be reached right now. */
export const networkErrorCodes: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "ETIMEDOUT",
]);

/**
 * Whether an error a service did not convert itself says that one of its own dependencies is
 * down or overloaded, not that Strata is broken: an AWS SDK error of the server's fault or marked
 * retryable (DynamoDB 5xx, throttling), the SDK's own timeout, or a network failure. Those are 503
 * with a retry hint, never 500.
 */
function isDependencyOutage(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && typeof e === "object" && depth < 4; depth++) {
    const fields = e as { $fault?: unknown; $retryable?: unknown; code?: unknown; name?: unknown };
    if (fields.$fault === "server" || fields.$retryable !== undefined) return true;
    if (fields.name === "TimeoutError") return true;
    if (typeof fields.code === "string" && networkErrorCodes.has(fields.code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
