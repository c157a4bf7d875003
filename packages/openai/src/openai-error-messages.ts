import { invalidRequest, type StrataError } from "@strata/errors";

// OpenAI's 400s follow a handful of fixed sentence shapes, each with its own `error.code`. Clients
// and people grep for them, so we reproduce the shapes (and codes) instead of inventing our own.
// Observed shapes, e.g.:
//   Invalid type for 'max_tokens': expected an integer, but got a decimal number instead.  (invalid_type)
//   Missing required parameter: 'messages[1].tool_call_id'.                               (missing_required_parameter)
//   Invalid value: 'robot'. Supported values are: 'system', 'user', and 'tool'.           (invalid_value)
//   Invalid 'tools[8].function.name': string does not match pattern. Expected a string ... (invalid_value)
//   Unsupported value: 'temperature' does not support 0.1 with this model. ...           (unsupported_value)

/** Longest user-supplied value echoed back in a message; longer ones are cut with an ellipsis. */
const maxEcho = 80;

/** A value as OpenAI names its type in messages: "a string", "an integer", "a decimal number"... */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "string":
      return "a string";
    case "number":
      return Number.isInteger(value) ? "an integer" : "a decimal number";
    case "boolean":
      return "a boolean";
    case "object":
      return "an object";
    default:
      return `a ${typeof value}`;
  }
}

/** A user value quoted for a message, shortened so a 10 MB string is not echoed back. */
export function echo(value: unknown): string {
  let text: string;
  try {
    text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > maxEcho ? `${text.slice(0, maxEcho)}...` : text;
}

/** A value as OpenAI shows it inside a sentence: strings quoted, numbers and the rest bare. */
function quoted(value: unknown): string {
  return typeof value === "string" ? `'${echo(value)}'` : echo(value);
}

/** `'a', 'b', and 'c'` — OpenAI's list style for supported values. */
export function quotedList(values: readonly unknown[]): string {
  const quoted = values.map((v) => `'${String(v)}'`);
  if (quoted.length <= 2) return quoted.join(" and ");
  return `${quoted.slice(0, -1).join(", ")}, and ${quoted.at(-1)}`;
}

/** A list of alternatives: `a string or an array`, `a string, an array, or null`. */
export function alternatives(descriptions: readonly string[]): string {
  if (descriptions.length <= 2) return descriptions.join(" or ");
  return `${descriptions.slice(0, -1).join(", ")}, or ${descriptions.at(-1)}`;
}

/** A required field is absent. */
export function missingParameter(param: string): StrataError {
  return invalidRequest(
    param,
    `Missing required parameter: '${param}'.`,
    "missing_required_parameter",
  );
}

/** A field has the wrong JSON type; `expected` is already phrased ("a number", "an object"). */
export function invalidType(param: string, expected: string, value: unknown): StrataError {
  return invalidRequest(
    param,
    `Invalid type for '${param}': expected ${expected}, but got ${describeValue(value)} instead.`,
    "invalid_type",
  );
}

/** A field holds a value outside its closed set. */
export function invalidEnumValue(
  param: string,
  value: unknown,
  supported: readonly unknown[],
): StrataError {
  return invalidRequest(
    param,
    `Invalid value: '${echo(value)}'. Supported values are: ${quotedList(supported)}.`,
    "invalid_value",
  );
}

/** A field is well-typed but its value is wrong for a reason given in `detail`. */
export function invalidValue(param: string, detail: string, code = "invalid_value"): StrataError {
  return invalidRequest(param, `Invalid '${param}': ${detail}`, code);
}

/**
 * A parameter OpenAI accepts but Amazon Bedrock cannot honour. We refuse it rather than ignore it:
 * a client that asks for `n: 3` or `logprobs` and silently gets something else has a bug it
 * cannot see.
 */
export function unsupportedParameter(param: string, why: string): StrataError {
  return invalidRequest(
    param,
    `Unsupported parameter: '${param}' is not supported by this gateway. ${why}`,
    "unsupported_parameter",
  );
}

/** A parameter whose value (not presence) cannot be honoured, e.g. `n: 2`. */
export function unsupportedValue(param: string, value: unknown, why: string): StrataError {
  return invalidRequest(
    param,
    `Unsupported value: '${param}' does not support ${quoted(value)} with this gateway. ${why}`,
    "unsupported_value",
  );
}

/** Whether a numeric parameter is an integer or a decimal in the spec: OpenAI words them apart. */
export type NumberKind = "integer" | "decimal";

/** A number below the parameter's minimum. */
export function belowMinimum(
  param: string,
  kind: NumberKind,
  minimum: number,
  value: number,
): StrataError {
  return invalidValue(
    param,
    `${kind} below minimum value. Expected a value >= ${minimum}, but got ${value} instead.`,
    `${kind}_below_min_value`,
  );
}

/** A number above the parameter's maximum. */
export function aboveMaximum(
  param: string,
  kind: NumberKind,
  maximum: number,
  value: number,
): StrataError {
  return invalidValue(
    param,
    `${kind} above maximum value. Expected a value <= ${maximum}, but got ${value} instead.`,
    `${kind}_above_max_value`,
  );
}

/** An empty array where at least `minimum` items are required. */
export function emptyArray(param: string, minimum = 1): StrataError {
  return invalidValue(
    param,
    `empty array. Expected an array with minimum length ${minimum}, but got an empty array instead.`,
    "empty_array",
  );
}

/** An array with more items than allowed. */
export function arrayTooLong(param: string, maximum: number, length: number): StrataError {
  return invalidValue(
    param,
    `array too long. Expected an array with maximum length ${maximum}, but got an array with length ${length} instead.`,
    "array_above_max_length",
  );
}

/** An empty string where text is required. */
export function emptyString(param: string): StrataError {
  return invalidValue(
    param,
    "empty string. Expected a string with minimum length 1, but got an empty string instead.",
    "empty_string",
  );
}

/** A string longer than allowed. */
export function stringTooLong(param: string, maximum: number, length: number): StrataError {
  return invalidValue(
    param,
    `string too long. Expected a string with maximum length ${maximum}, but got a string with length ${length} instead.`,
    "string_above_max_length",
  );
}

/** Objects and arrays nested deeper than allowed. */
export function nestedTooDeeply(param: string, maximum: number): StrataError {
  return invalidValue(
    param,
    `the JSON value is nested too deeply. Expected at most ${maximum} levels of nested objects and arrays.`,
    "nested_too_deeply",
  );
}

/** More images than one request may carry. */
export function tooManyImages(param: string, maximum: number): StrataError {
  return invalidValue(
    param,
    `too many images. Expected at most ${maximum} images in one request.`,
    "too_many_images",
  );
}
