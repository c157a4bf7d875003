import { type Reason, reasonMappings } from "./reasons.ts";

/** Options of a StrataError beyond its reason and message. */
export interface StrataErrorOptions {
  /** The request field at fault, in OpenAI notation (`messages[0].content`). */
  param?: string | undefined;
  /** A specific OpenAI `error.code`, overriding the reason's default. */
  code?: string | undefined;
  /** When retrying makes sense: how long to wait. Becomes `retry-after` on HTTP. */
  retryAfterMs?: number | undefined;
  /** The original error. Logged, never sent to a client. */
  cause?: unknown;
}

/**
 * The one error type Strata services throw (docs/adr/0005-one-error-model.md). Its message is
 * client-safe by construction: anything that is not must go in `cause`, which is logged but never
 * sent.
 */
export class StrataError extends Error {
  readonly reason: Reason;
  readonly param: string | undefined;
  readonly code: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(reason: Reason, message?: string, options: StrataErrorOptions = {}) {
    super(message ?? reasonMappings[reason].genericMessage, { cause: options.cause });
    this.name = "StrataError";
    this.reason = reason;
    this.param = options.param;
    this.code = options.code;
    this.retryAfterMs = options.retryAfterMs;
  }

  /** OpenAI's `error.code` for this error. */
  get openaiCode(): string | null {
    return this.code ?? reasonMappings[this.reason].code;
  }

  get httpStatus(): number {
    return reasonMappings[this.reason].http;
  }
}

/**
 * A shortcut for the most common error: a bad field in the client's request.
 * `invalidRequest("messages[0].role", "Invalid value: 'robot'.")`
 */
export function invalidRequest(
  param: string | undefined,
  message: string,
  code?: string,
): StrataError {
  return new StrataError("invalid_request", message, { param, code });
}
