import { type Logger, pino } from "pino";

export type { Logger } from "pino";

/** Options of createLogger. */
export interface LoggerOptions {
  service: string;
  level?: string;
  /** Where lines go; default stdout. Tests pass a stream to read them. */
  destination?: pino.DestinationStream;
}

/**
 * Fields that must never reach a log line, wherever they appear: key material and credentials.
 * Redaction is the safety net; code should not log these in the first place.
 */
const redactPaths = [
  "apiKey",
  "secret",
  "authorization",
  "token",
  "password",
  "*.apiKey",
  "*.secret",
  "*.authorization",
  "*.token",
  "req.headers.authorization",
  "headers.authorization",
];

/**
 * Structured JSON logs (pino) with the service name on every line and ISO timestamps. Request
 * handlers log through `logger.child({ requestId, tenantId, ... })`; field names are camelCase
 * from a fixed vocabulary (requestId, tenantId, keyId, model, durationMs, status, err).
 */
export function createLogger({ service, level = "info", destination }: LoggerOptions): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths, censor: "[redacted]" },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
