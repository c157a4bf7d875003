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
  return new StrataError("internal", undefined, { cause: error });
}
