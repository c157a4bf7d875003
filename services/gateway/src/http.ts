import type { IncomingMessage, ServerResponse } from "node:http";
import { invalidRequest, StrataError, toOpenAIError } from "@strata/errors";

/**
 * Reads a JSON request body, refusing more than `limit` bytes with a 413 as soon as that is known
 * (from Content-Length, or while reading), and malformed JSON with OpenAI's 400.
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
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
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  if (size === 0) {
    throw invalidRequest(undefined, "The request body is empty. Send a JSON object.");
  }
  const text = Buffer.concat(chunks, size).toString("utf8");
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
