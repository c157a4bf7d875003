/**
 * The HTTP inspection API under `/_emulator/`, for tests that run the emulator out of process
 * (e.g. the CLI in a CI job): health for readiness probes, and the request log. No auth: the
 * emulator is a local development and test tool.
 */
import { EmulatorError } from "./emulator-error.ts";
import type { HttpExchange } from "./http-exchange.ts";
import type { RequestLog } from "./request-log.ts";

/** Path prefix of the inspection API. */
export const INSPECTION_PREFIX = "/_emulator/";

/**
 * Serves `GET /_emulator/health`, `GET /_emulator/requests` and `DELETE /_emulator/requests`.
 * Anything else under the prefix is a 404 `UnknownOperationException`.
 */
export function handleInspection(exchange: HttpExchange, log: RequestLog, requestId: string): void {
  const headers = { "content-type": "application/json", "x-amzn-RequestId": requestId };
  const endpoint = `${exchange.method} ${exchange.rawPath}`;
  switch (endpoint) {
    case "GET /_emulator/health":
      exchange.respond(200, headers, JSON.stringify({ status: "ok" }));
      return;
    case "GET /_emulator/requests":
      exchange.respond(200, headers, JSON.stringify(log.list()));
      return;
    case "DELETE /_emulator/requests":
      log.clear();
      exchange.respond(204, { "x-amzn-RequestId": requestId }, "");
      return;
    default: {
      const error = new EmulatorError(
        "UnknownOperationException",
        `No inspection endpoint matches ${endpoint}.`,
      );
      exchange.respond(
        error.status,
        { ...headers, "x-amzn-ErrorType": error.errorName },
        JSON.stringify(error.toBody()),
      );
    }
  }
}
