import { randomBytes } from "node:crypto";

/** The header that carries the request id across every hop and back to the client. */
export const requestIdHeader = "x-request-id";

/** A new request id: `req_` and 24 hex characters (96 random bits). */
export function newRequestId(): string {
  return `req_${randomBytes(12).toString("hex")}`;
}
