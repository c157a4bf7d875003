import { reasonMappings } from "./reasons.ts";
import type { StrataError } from "./strata-error.ts";

/** OpenAI's error envelope (`ErrorResponse` in openai-openapi): all four fields always present. */
export interface OpenAIErrorBody {
  error: {
    message: string;
    type: string;
    param: string | null;
    code: string | null;
  };
}

/** The HTTP rendering of a StrataError for an OpenAI client. */
export interface OpenAIErrorResponse {
  status: number;
  body: OpenAIErrorBody;
  headers: Record<string, string>;
}

/**
 * Renders a StrataError as OpenAI renders its errors, so that the SDKs pick the right error class
 * (by status) and retry policy (by `retry-after` / `retry-after-ms`).
 */
export function toOpenAIError(error: StrataError): OpenAIErrorResponse {
  const mapping = reasonMappings[error.reason];
  const headers: Record<string, string> = {};
  if (error.retryAfterMs !== undefined) {
    headers["retry-after"] = String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
    headers["retry-after-ms"] = String(error.retryAfterMs);
  }
  return {
    status: mapping.http,
    headers,
    body: {
      error: {
        message: error.message,
        type: mapping.type,
        param: error.param ?? null,
        code: error.openaiCode,
      },
    },
  };
}
