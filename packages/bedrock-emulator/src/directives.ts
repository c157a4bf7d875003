/**
 * Behaviour directives: `[[emulator:name]]` / `[[emulator:name=value]]` markers in the last user
 * message (or in embedding input texts). They let a test drive a fault or a shape of reply through
 * the whole stack — gateway, SDK, translation — without any side channel. Directives are removed
 * from the text the emulator echoes back. Unknown names and bad values are rejected with a
 * ValidationException so a typo never silently does nothing.
 */

import { isStopReason, type StopReason } from "./converse-types.ts";
import {
  EmulatorError,
  isStreamExceptionType,
  type StreamExceptionType,
} from "./emulator-error.ts";

/** The statuses `[[emulator:status=NNN]]` accepts, each mapped to the modeled exception. */
export const STATUS_DIRECTIVE_ERRORS = {
  400: "ValidationException",
  403: "AccessDeniedException",
  404: "ResourceNotFoundException",
  408: "ModelTimeoutException",
  424: "ModelErrorException",
  429: "ThrottlingException",
  500: "InternalServerException",
  503: "ServiceUnavailableException",
} as const;

/** A status accepted by `[[emulator:status=NNN]]`. */
export type DirectiveStatus = keyof typeof STATUS_DIRECTIVE_ERRORS;

/** Everything the directives of one request asked for. Absent means "not requested". */
export interface Directives {
  readonly throttle: boolean;
  readonly notReady: boolean;
  readonly status: DirectiveStatus | undefined;
  readonly streamErrorAfter: number | undefined;
  readonly streamError: StreamExceptionType | undefined;
  readonly delayMs: number | undefined;
  readonly chunkDelayMs: number | undefined;
  readonly tokens: number | undefined;
  readonly cached: number | undefined;
  /** Tools to call, from `tool=` and `tools=` in order of appearance. */
  readonly tools: readonly string[];
  readonly guardrail: boolean;
  readonly stopReason: StopReason | undefined;
  /** Faults and `delay-ms` apply only to requests for this model id (as sent). */
  readonly faultModel: string | undefined;
  /** Faults apply only to the first N requests with the same model id and text. */
  readonly failTimes: number | undefined;
}

/** Directive names, as written after `emulator:`. */
export const DIRECTIVE_NAMES = [
  "throttle",
  "not-ready",
  "status",
  "stream-error-after",
  "stream-error",
  "delay-ms",
  "chunk-delay-ms",
  "tokens",
  "cached",
  "tool",
  "tools",
  "guardrail",
  "stop-reason",
  "fault-model",
  "fail-times",
] as const;

type DirectiveName = (typeof DIRECTIVE_NAMES)[number];

/** Directives and the input texts with the markers removed. */
export interface ParsedDirectives {
  readonly directives: Directives;
  readonly texts: readonly string[];
}

const DIRECTIVE_PATTERN = /\[\[emulator:([^\]=]*)(?:=([^\]]*))?\]\]/g;
/** Largest `tokens=N`; bounds the work a single request can cause. */
export const MAX_TOKENS_DIRECTIVE = 1_000_000;
/** setTimeout's ceiling; larger delays would fire immediately. */
const MAX_INTEGER_VALUE = 2_147_483_647;

const isDirectiveName = (name: string): name is DirectiveName =>
  (DIRECTIVE_NAMES as readonly string[]).includes(name);

const isDirectiveStatus = (status: number): status is DirectiveStatus =>
  Object.hasOwn(STATUS_DIRECTIVE_ERRORS, status);

function directiveError(marker: string, problem: string): EmulatorError {
  return new EmulatorError(
    "ValidationException",
    `Invalid emulator directive ${marker}: ${problem}`,
  );
}

/**
 * Finds and validates every directive in `texts`. Later directives of the same name win, except
 * `tool`/`tools`, which accumulate.
 */
export function parseDirectives(texts: readonly string[]): ParsedDirectives {
  let throttle = false;
  let notReady = false;
  let guardrail = false;
  let status: DirectiveStatus | undefined;
  let streamErrorAfter: number | undefined;
  let streamError: StreamExceptionType | undefined;
  let delayMs: number | undefined;
  let chunkDelayMs: number | undefined;
  let tokens: number | undefined;
  let cached: number | undefined;
  let stopReason: StopReason | undefined;
  let faultModel: string | undefined;
  let failTimes: number | undefined;
  const tools: string[] = [];

  const cleaned = texts.map((text) =>
    text.replace(DIRECTIVE_PATTERN, (marker: string, rawName: string, rawValue?: string) => {
      const name = rawName.trim();
      const value = rawValue?.trim();
      if (!isDirectiveName(name)) {
        throw directiveError(marker, `unknown directive; known: ${DIRECTIVE_NAMES.join(", ")}`);
      }
      const flag = () => {
        if (value !== undefined) throw directiveError(marker, "this directive takes no value");
        return true;
      };
      const integer = () => {
        if (value === undefined || !/^\d+$/.test(value) || Number(value) > MAX_INTEGER_VALUE) {
          throw directiveError(marker, "expected a non-negative integer value");
        }
        return Number(value);
      };
      const text = () => {
        if (value === undefined || value === "") throw directiveError(marker, "expected a value");
        return value;
      };
      switch (name) {
        case "throttle":
          throttle = flag();
          break;
        case "not-ready":
          notReady = flag();
          break;
        case "guardrail":
          guardrail = flag();
          break;
        case "status": {
          const code = integer();
          if (!isDirectiveStatus(code)) {
            throw directiveError(
              marker,
              `unsupported status; use one of ${Object.keys(STATUS_DIRECTIVE_ERRORS).join(", ")}`,
            );
          }
          status = code;
          break;
        }
        case "stream-error-after":
          streamErrorAfter = integer();
          break;
        case "stream-error": {
          const type = text();
          if (!isStreamExceptionType(type)) {
            throw directiveError(marker, "unknown stream exception type");
          }
          streamError = type;
          break;
        }
        case "delay-ms":
          delayMs = integer();
          break;
        case "chunk-delay-ms":
          chunkDelayMs = integer();
          break;
        case "tokens":
          tokens = integer();
          if (tokens > MAX_TOKENS_DIRECTIVE) {
            throw directiveError(marker, `at most ${MAX_TOKENS_DIRECTIVE} tokens`);
          }
          break;
        case "cached":
          cached = integer();
          break;
        case "tool":
          tools.push(text());
          break;
        case "tools":
          tools.push(
            ...text()
              .split(",")
              .map((t) => t.trim())
              .filter((t) => t !== ""),
          );
          break;
        case "stop-reason": {
          const reason = text();
          if (!isStopReason(reason)) throw directiveError(marker, "unknown stop reason");
          stopReason = reason;
          break;
        }
        case "fault-model":
          faultModel = text();
          break;
        case "fail-times":
          failTimes = integer();
          break;
        default: {
          const exhaustive: never = name;
          throw directiveError(marker, `unhandled directive ${String(exhaustive)}`);
        }
      }
      return "";
    }),
  );

  return {
    directives: {
      throttle,
      notReady,
      status,
      streamErrorAfter,
      streamError,
      delayMs,
      chunkDelayMs,
      tokens,
      cached,
      tools,
      guardrail,
      stopReason,
      faultModel,
      failTimes,
    },
    texts: cleaned,
  };
}

/** Default messages for injected faults, close to what Bedrock says. */
const FAULT_MESSAGES = {
  ValidationException: "The request failed validation (emulated).",
  AccessDeniedException: "You don't have access to the model with the specified model ID.",
  ResourceNotFoundException: "The requested resource could not be found (emulated).",
  ModelTimeoutException: "Model has timed out in processing the request. Try your request again.",
  ModelErrorException: "The model returned an error (emulated).",
  ThrottlingException: "Too many requests, please wait before trying again.",
  InternalServerException: "The server encountered an internal error (emulated).",
  ServiceUnavailableException: "The service is unavailable. Try your request again later.",
} as const satisfies Record<(typeof STATUS_DIRECTIVE_ERRORS)[DirectiveStatus], string>;

/**
 * How many requests of each (model id, text) a `fail-times` fault has failed so far. Bounded: the
 * oldest entry is forgotten beyond `capacity` (then that request's count starts again).
 */
export interface FaultCounter {
  /** Counts one more request for `key` and returns how many came before it. */
  next(key: string): number;
}

export function createFaultCounter(capacity = 10_000): FaultCounter {
  const counts = new Map<string, number>();
  return {
    next(key) {
      const seen = counts.get(key) ?? 0;
      counts.delete(key);
      counts.set(key, seen + 1);
      if (counts.size > capacity) {
        const oldest = counts.keys().next().value;
        if (oldest !== undefined) counts.delete(oldest);
      }
      return seen;
    },
  };
}

/** Which request a fault is considered for (see {@link directiveApplies}). */
export interface FaultTarget {
  /** The model id as the request sent it. */
  readonly modelId: string;
  /** Identifies repeats of a request for `fail-times`: its model id and raw text. */
  readonly key: string;
  readonly counter: FaultCounter;
}

/**
 * Whether a request's fault and delay directives apply to it: always, unless `fault-model` names
 * another model id, or `fail-times=N` has already failed N requests like it. Counts the request
 * for `fail-times` (call once per request).
 */
export function directiveApplies(directives: Directives, target: FaultTarget): boolean {
  if (directives.faultModel !== undefined && directives.faultModel !== target.modelId) {
    return false;
  }
  if (directives.failTimes === undefined) return true;
  return target.counter.next(target.key) < directives.failTimes;
}

/**
 * The error a request's fault directives ask for, if any. `status` wins over `throttle`, which
 * wins over `not-ready`.
 */
export function directiveFault(directives: Directives): EmulatorError | undefined {
  if (directives.status !== undefined) {
    const name = STATUS_DIRECTIVE_ERRORS[directives.status];
    const details: Record<string, number> =
      name === "ModelErrorException" ? { originalStatusCode: 500 } : {};
    return new EmulatorError(name, FAULT_MESSAGES[name], details);
  }
  if (directives.throttle) {
    return new EmulatorError("ThrottlingException", FAULT_MESSAGES.ThrottlingException);
  }
  if (directives.notReady) {
    return new EmulatorError(
      "ModelNotReadyException",
      "Model is not ready to serve inference requests. The model is being loaded, please retry.",
    );
  }
  return undefined;
}
