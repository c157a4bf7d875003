import type { IncomingMessage, ServerResponse } from "node:http";
import { invalidRequest, StrataError, toOpenAIError } from "@strata/errors";

/** Media types of a JSON body: `application/json` and `application/<anything>+json`. */
const jsonMediaType = /^application\/(?:[\w.-]+\+)?json$/i;

/** Strict UTF-8: invalid bytes throw instead of becoming U+FFFD; a leading BOM is dropped. */
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads a JSON request body, refusing more than `limit` bytes with a 413 as soon as that is known
 * (from Content-Length, or while reading), and with OpenAI's 400 a body declared as something else
 * than JSON (a missing Content-Type is accepted), bytes that are not UTF-8 (RFC 8259 §8.1: never
 * silently replaced, which would change the prompt), and malformed JSON. A client that goes away
 * while sending is `cancelled`.
 */
export async function readJsonBody(
  req: IncomingMessage,
  limit: number,
  timeoutMs = 60_000,
): Promise<unknown> {
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  const tooLarge = () =>
    new StrataError(
      "payload_too_large",
      `The request body is larger than the limit of ${limit} bytes.`,
    );
  if (declared > limit) {
    req.resume();
    throw tooLarge();
  }
  const contentType = req.headers["content-type"];
  const mediaType = contentType?.split(";", 1)[0]?.trim() ?? "";
  if (contentType !== undefined && !jsonMediaType.test(mediaType)) {
    req.resume();
    throw invalidRequest(
      undefined,
      `Unsupported Content-Type '${mediaType.slice(0, 100)}': the request body must be JSON, sent with 'Content-Type: application/json'.`,
      "unsupported_content_type",
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const read = (async () => {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) {
        req.resume();
        throw tooLarge();
      }
      chunks.push(chunk);
    }
  })();
  // A body that trickles in (a slow or malicious client) must not hold a connection and its
  // buffers forever: 408, and the connection is closed after the answer.
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new StrataError(
            "request_timeout",
            `The request body did not arrive within ${timeoutMs} ms.`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    await Promise.race([read, timedOut]);
  } catch (error) {
    read.catch(() => {});
    if (error instanceof StrataError) throw error;
    throw new StrataError("cancelled", "The client closed the connection.", { cause: error });
  } finally {
    clearTimeout(timer);
  }
  if (size === 0) {
    throw invalidRequest(undefined, "The request body is empty. Send a JSON object.");
  }
  let text: string;
  try {
    text = utf8.decode(Buffer.concat(chunks, size));
  } catch {
    throw invalidRequest(
      undefined,
      "We could not parse the JSON body of your request: it is not valid UTF-8. The OpenAI API expects a JSON payload encoded as UTF-8.",
      "invalid_encoding",
    );
  }
  try {
    return JSON.parse(text);
  } catch {
    throw invalidRequest(
      undefined,
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
    );
  }
}

/** Sends a JSON body, serialised once. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(payload),
  });
  res.end(payload);
}

/** Sends a StrataError in OpenAI's envelope, with `retry-after` when it applies. */
export function sendError(res: ServerResponse, error: StrataError): void {
  const rendered = toOpenAIError(error);
  if (res.headersSent) {
    res.end();
    return;
  }
  sendJson(res, rendered.status, rendered.body, rendered.headers);
}
