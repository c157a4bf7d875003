import { StrataError, toOpenAIError } from "@strata/errors";

/**
 * What to answer a connection whose request Node's HTTP parser refused before any handler ran
 * (the server's `clientError` event), as raw HTTP/1.1 bytes: OpenAI's error envelope with
 * `x-request-id`, like every other answer, instead of Node's bare status line. Header fields past
 * the limit are 431, a request that did not arrive in time 408, anything else malformed 400.
 * Undefined when there is nobody to answer (the client reset the connection).
 */
export function clientErrorResponse(
  error: NodeJS.ErrnoException,
  requestId: string,
): string | undefined {
  if (error.code === "ECONNRESET" || error.code === "EPIPE") return undefined;
  let strata: StrataError;
  switch (error.code) {
    case "HPE_HEADER_OVERFLOW":
      strata = new StrataError(
        "headers_too_large",
        "The request's header fields are larger than this server accepts (16 KiB in all).",
      );
      break;
    case "ERR_HTTP_REQUEST_TIMEOUT":
      strata = new StrataError("request_timeout", "The request did not arrive in time.");
      break;
    default:
      strata = new StrataError(
        "invalid_request",
        "The request is not valid HTTP/1.1 and could not be read.",
        { code: "malformed_http_request" },
      );
  }
  const { status, body } = toOpenAIError(strata);
  const payload = JSON.stringify(body);
  const reason = {
    400: "Bad Request",
    408: "Request Timeout",
    431: "Request Header Fields Too Large",
  }[status];
  return [
    `HTTP/1.1 ${status} ${reason ?? "Error"}`,
    "content-type: application/json",
    `content-length: ${Buffer.byteLength(payload)}`,
    `x-request-id: ${requestId}`,
    "connection: close",
    "",
    payload,
  ].join("\r\n");
}
