import { invalidRequest, type StrataError } from "@strata/errors";
import type { z } from "zod";
import {
  aboveMaximum,
  alternatives,
  arrayTooLong,
  belowMinimum,
  emptyArray,
  emptyString,
  invalidEnumValue,
  invalidType,
  invalidValue,
  missingParameter,
  stringTooLong,
} from "./openai-error-messages.ts";
import { formatParam, type ParamPath, valueAt } from "./param-path.ts";

type Issue = z.core.$ZodIssue;

/**
 * Converts the first problem zod found in a request body into the 400 OpenAI would return for it,
 * worded like OpenAI's and with `param` in OpenAI's notation. Values are read back from `body`
 * (not from the issue) so the message describes exactly what the client sent.
 */
export function zodIssueToStrataError(
  issue: Issue,
  body: unknown,
  base: ParamPath = [],
): StrataError {
  const path = [...base, ...issue.path];
  const param = formatParam(path);
  const value = valueAt(body, path);
  if (path.length === 0) {
    return invalidRequest(undefined, "The request body must be a JSON object.", "invalid_type");
  }
  switch (issue.code) {
    case "invalid_type":
      if (value === undefined) return missingParameter(param);
      return invalidType(param, expectation(issue.expected), value);
    case "invalid_value":
      if (typeof value !== "string" && issue.values.every((v) => typeof v === "string")) {
        return invalidType(param, "a string", value);
      }
      return invalidEnumValue(param, value, issue.values);
    case "invalid_union":
      return unionIssueToStrataError(issue, body, path);
    case "too_small":
      return tooSmall(issue, param, value);
    case "too_big":
      return tooBig(issue, param, value);
    case "invalid_format":
      if (issue.format === "regex" && issue.pattern !== undefined) {
        return invalidValue(
          param,
          `string does not match pattern. Expected a string that matches the pattern '${regexSource(issue.pattern)}'.`,
        );
      }
      return invalidValue(param, `expected a ${issue.format}.`);
    default:
      return invalidValue(param, `${issue.message}.`);
  }
}

/**
 * A union failed. For a discriminated union the discriminator itself is wrong. For a plain union
 * (`string | array`), the branch whose type matched the value tells what is wrong inside it; when
 * no branch matched, the value has the wrong type and we list the accepted ones.
 */
function unionIssueToStrataError(
  issue: Extract<Issue, { code: "invalid_union" }>,
  body: unknown,
  path: ParamPath,
): StrataError {
  const param = formatParam(path);
  const value = valueAt(body, path);
  if (issue.discriminator !== undefined && issue.errors.length === 0) {
    if (value === undefined) return missingParameter(param);
    if (typeof value !== "string") return invalidType(param, "a string", value);
    return invalidEnumValue(param, value, "options" in issue ? (issue.options ?? []) : []);
  }
  for (const branch of issue.errors) {
    const [first] = branch;
    if (first && !isTypeMismatch(first, value)) return zodIssueToStrataError(first, body, path);
  }
  if (value === undefined) return missingParameter(param);
  const expected = [
    ...new Set(issue.errors.map(([first]) => (first ? rootExpectation(first) : "a value"))),
  ];
  const [only] = expected;
  return invalidType(
    param,
    expected.length === 1 && only ? only : `one of ${alternatives(expected)}`,
    value,
  );
}

/** The branch rejected the value's JSON type itself, so it says nothing about the value's content. */
function isTypeMismatch(issue: Issue, value: unknown): boolean {
  if (issue.path.length > 0) return false;
  if (issue.code === "invalid_type") return true;
  return issue.code === "invalid_value" && typeof value !== "string";
}

function rootExpectation(issue: Issue): string {
  return issue.code === "invalid_type" ? expectation(issue.expected) : "a string";
}

function expectation(expected: string): string {
  switch (expected) {
    case "int":
      return "an integer";
    case "object":
    case "record":
      return "an object";
    case "array":
      return "an array";
    case "null":
      return "null";
    default:
      return `a ${expected}`;
  }
}

function tooSmall(
  issue: Extract<Issue, { code: "too_small" }>,
  param: string,
  value: unknown,
): StrataError {
  const minimum = Number(issue.minimum);
  if (Array.isArray(value)) {
    if (value.length === 0) return emptyArray(param, minimum);
    return invalidValue(
      param,
      `array too short. Expected an array with minimum length ${minimum}, but got an array with length ${value.length} instead.`,
      "array_below_min_length",
    );
  }
  if (typeof value === "string") {
    if (value.length === 0) return emptyString(param);
    return invalidValue(
      param,
      `string too short. Expected a string with minimum length ${minimum}, but got a string with length ${value.length} instead.`,
      "string_below_min_length",
    );
  }
  return belowMinimum(
    param,
    issue.origin === "int" ? "integer" : "decimal",
    minimum,
    Number(value),
  );
}

function tooBig(
  issue: Extract<Issue, { code: "too_big" }>,
  param: string,
  value: unknown,
): StrataError {
  const maximum = Number(issue.maximum);
  if (Array.isArray(value)) return arrayTooLong(param, maximum, value.length);
  if (typeof value === "string") return stringTooLong(param, maximum, value.length);
  return aboveMaximum(
    param,
    issue.origin === "int" ? "integer" : "decimal",
    maximum,
    Number(value),
  );
}

/** zod reports regexes as `/source/flags`; OpenAI quotes the bare source. */
function regexSource(pattern: string): string {
  const end = pattern.lastIndexOf("/");
  return pattern.startsWith("/") && end > 0 ? pattern.slice(1, end) : pattern;
}
