import { Code } from "@connectrpc/connect";

/**
 * The closed set of reasons a Strata request can fail for. Every service throws exactly these;
 * the table below decides what each looks like on gRPC, HTTP and OpenAI's error envelope.
 */
export type Reason =
  | "invalid_request"
  | "context_length_exceeded"
  | "unauthenticated"
  | "permission_denied"
  | "model_not_found"
  | "not_found"
  | "already_exists"
  | "payload_too_large"
  | "headers_too_large"
  | "request_timeout"
  | "rate_limited"
  | "quota_exceeded"
  | "cancelled"
  | "upstream_timeout"
  | "upstream_unavailable"
  | "internal";

/** How one reason appears on each wire. `code` is OpenAI's `error.code` unless overridden. */
export interface ReasonMapping {
  readonly grpc: Code;
  readonly http: number;
  readonly type: string;
  readonly code: string | null;
  /** The message sent when the original is not safe to show (internal errors). */
  readonly genericMessage: string;
}

/**
 * The one table of the error model (docs/adr/0005-one-error-model.md).
 * 499 for `cancelled` follows nginx: the client closed the request; nobody receives it.
 */
export const reasonMappings = {
  invalid_request: {
    grpc: Code.InvalidArgument,
    http: 400,
    type: "invalid_request_error",
    code: null,
    genericMessage: "The request is invalid.",
  },
  context_length_exceeded: {
    grpc: Code.InvalidArgument,
    http: 400,
    type: "invalid_request_error",
    code: "context_length_exceeded",
    genericMessage: "The input is longer than the model's context window.",
  },
  unauthenticated: {
    grpc: Code.Unauthenticated,
    http: 401,
    type: "invalid_request_error",
    code: "invalid_api_key",
    genericMessage: "Incorrect API key provided.",
  },
  permission_denied: {
    grpc: Code.PermissionDenied,
    http: 403,
    type: "permission_error",
    code: "permission_denied",
    genericMessage: "You are not allowed to perform this request.",
  },
  model_not_found: {
    grpc: Code.NotFound,
    http: 404,
    type: "invalid_request_error",
    code: "model_not_found",
    genericMessage: "The model does not exist or you do not have access to it.",
  },
  not_found: {
    grpc: Code.NotFound,
    http: 404,
    type: "invalid_request_error",
    code: "not_found",
    genericMessage: "Not found.",
  },
  already_exists: {
    grpc: Code.AlreadyExists,
    http: 409,
    type: "invalid_request_error",
    code: "already_exists",
    genericMessage: "The resource already exists.",
  },
  payload_too_large: {
    grpc: Code.InvalidArgument,
    http: 413,
    type: "invalid_request_error",
    code: "request_too_large",
    genericMessage: "The request body is too large.",
  },
  headers_too_large: {
    grpc: Code.InvalidArgument,
    http: 431,
    type: "invalid_request_error",
    code: "request_header_fields_too_large",
    genericMessage: "The request's header fields are too large.",
  },
  request_timeout: {
    grpc: Code.DeadlineExceeded,
    http: 408,
    type: "invalid_request_error",
    code: "request_timeout",
    genericMessage: "The request body did not arrive in time.",
  },
  rate_limited: {
    grpc: Code.ResourceExhausted,
    http: 429,
    type: "rate_limit_error",
    code: "rate_limit_exceeded",
    genericMessage: "Rate limit reached. Please try again later.",
  },
  quota_exceeded: {
    grpc: Code.ResourceExhausted,
    http: 429,
    type: "insufficient_quota",
    code: "insufficient_quota",
    genericMessage: "You exceeded your current quota.",
  },
  cancelled: {
    grpc: Code.Canceled,
    http: 499,
    type: "invalid_request_error",
    code: "cancelled",
    genericMessage: "The request was cancelled.",
  },
  upstream_timeout: {
    grpc: Code.DeadlineExceeded,
    http: 504,
    type: "server_error",
    code: "timeout",
    genericMessage: "The model did not answer in time.",
  },
  upstream_unavailable: {
    grpc: Code.Unavailable,
    http: 503,
    type: "server_error",
    code: "service_unavailable",
    genericMessage: "The service is temporarily unavailable. Please try again later.",
  },
  internal: {
    grpc: Code.Internal,
    http: 500,
    type: "server_error",
    code: "internal_error",
    genericMessage: "The server had an error while processing your request.",
  },
} as const satisfies Record<Reason, ReasonMapping>;

const reasons = new Set<string>(Object.keys(reasonMappings));

/** Narrows a string received over the wire to a known reason. */
export function isReason(value: string): value is Reason {
  return reasons.has(value);
}

/**
 * The reason to assume for a gRPC code when the error carries no Strata detail (a proxy, a
 * timeout raised by the client itself, a crashed peer).
 */
export function grpcCodeToReason(code: Code): Reason {
  switch (code) {
    case Code.InvalidArgument:
    case Code.OutOfRange:
    case Code.FailedPrecondition:
      return "invalid_request";
    case Code.Unauthenticated:
      return "unauthenticated";
    case Code.PermissionDenied:
      return "permission_denied";
    case Code.NotFound:
      return "not_found";
    case Code.AlreadyExists:
      return "already_exists";
    case Code.ResourceExhausted:
      return "rate_limited";
    case Code.Canceled:
      return "cancelled";
    case Code.DeadlineExceeded:
      return "upstream_timeout";
    case Code.Unavailable:
      return "upstream_unavailable";
    case Code.Aborted:
    case Code.Unknown:
    case Code.Unimplemented:
    case Code.Internal:
    case Code.DataLoss:
      return "internal";
    default: {
      const never: never = code;
      return never;
    }
  }
}
