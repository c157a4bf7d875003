import { invalidRequest, type StrataError } from "@strata/errors";
import type {
  ChatCompletion,
  ChatCompletionMessageToolCall,
  ChatCompletionRequest,
} from "@strata/openai";
import {
  type ArgumentSchemaAjv,
  argumentSchemaDraft,
  createArgumentSchemaAjv,
} from "@strata/platform";
import type { ToolPolicy } from "@strata/proto";
import type { ValidateFunction } from "ajv";
import { LRUCache } from "lru-cache";
import { globMatch, type PolicyLayers } from "./policy.ts";

// Tool-call validation for MCP and IDE clients (docs/tool-call-validation.md).
// A tenant and a key may each enforce a ToolPolicy; a request must satisfy both layers. Pure
// except for a bounded cache of compiled argument schemas.

/** Why a tool call was blocked: its name matches no rule, or its arguments break a rule's schema. */
export type BlockReason = "name" | "arguments";

/** The outcome of checking one tool call the model made. */
export type ToolCallVerdict =
  | { allowed: true }
  | {
      allowed: false;
      reason: BlockReason;
      /** A short, fixed reason for the audit log: never the arguments. */
      detail: string;
    };

/** A tool call removed from an answer. */
export interface BlockedToolCall {
  id: string;
  name: string;
  reason: BlockReason;
  detail: string;
}

/**
 * The enforced layers of a caller's tool policy, ready to check names and calls. Obtain it with
 * enforcedToolPolicy, which returns undefined when no layer enforces anything, so that callers
 * can skip all tool-call work (and any buffering) in the common case.
 */
export interface EnforcedToolPolicy {
  /** Whether every enforced layer has a rule whose name pattern matches `name`. */
  allowsName(name: string): boolean;
  /** Checks a call the model made: its name, then its arguments (JSON text) against every layer. */
  checkCall(name: string, argumentsJson: string): ToolCallVerdict;
}

/** Fixed audit details (the only words about a blocked call that leave the gateway). */
export const blockDetails = {
  name: "name not allowed",
  invalidJson: "arguments are not valid JSON",
  schema: "arguments break the policy schema",
  badSchema: "the policy's arguments schema cannot be used",
  unverifiable: "arguments could not be checked against the policy schema",
} as const;

/**
 * The caller's enforced tool-policy layers, or undefined when neither the tenant's nor the key's
 * policy enforces one (then nothing about tools is checked).
 *
 * Semantics, per layer: a name is allowed when at least one rule's pattern (exact, or glob with
 * `*`) matches it; the arguments must satisfy the schema of *every* matching rule that has one
 * (so `[{name:"fs_*", schema}, {name:"*"}]` allows any tool but still constrains `fs_*` ones:
 * adding a rule can allow new names, never loosen the constraints on names already covered). An
 * enforced layer with no rules allows no tool at all. Both layers must allow a call.
 */
export function enforcedToolPolicy(layers: PolicyLayers): EnforcedToolPolicy | undefined {
  const enforced = [layers.tenant?.toolPolicy, layers.key?.toolPolicy].filter(
    (p): p is ToolPolicy => p?.enforced === true,
  );
  if (enforced.length === 0) return undefined;
  const matching = (policy: ToolPolicy, name: string) =>
    policy.allowed.filter((rule) => globMatch(rule.name, name));
  return {
    allowsName: (name) => enforced.every((policy) => matching(policy, name).length > 0),
    checkCall(name, argumentsJson) {
      const rulesPerLayer = enforced.map((policy) => matching(policy, name));
      if (rulesPerLayer.some((rules) => rules.length === 0)) {
        return { allowed: false, reason: "name", detail: blockDetails.name };
      }
      const constrained = rulesPerLayer.flat().filter((rule) => rule.argumentsSchemaJson !== "");
      let args: unknown;
      try {
        // A call without arguments streams as "": the same as `{}`.
        args = argumentsJson.trim() === "" ? {} : JSON.parse(argumentsJson);
      } catch {
        return { allowed: false, reason: "arguments", detail: blockDetails.invalidJson };
      }
      for (const rule of constrained) {
        const validate = argumentsValidator(rule.argumentsSchemaJson);
        if (!validate) {
          return { allowed: false, reason: "arguments", detail: blockDetails.badSchema };
        }
        let valid: boolean;
        try {
          valid = validate(args);
        } catch {
          // Arguments too deep for a recursive schema overflow Ajv's stack: blocked, not a 500.
          return { allowed: false, reason: "arguments", detail: blockDetails.unverifiable };
        }
        if (!valid) {
          return { allowed: false, reason: "arguments", detail: blockDetails.schema };
        }
      }
      return { allowed: true };
    },
  };
}

/** A declared tool (or a tool_choice) the policy refuses. */
export interface RefusedTool {
  name: string;
  /** OpenAI-style path of the field naming it. */
  param: string;
}

/**
 * The first tool a request names that the policy does not allow, or undefined. `tool_choice` is
 * checked first (forcing a refused tool is the most specific mistake), then each declared tool.
 * Tool calls in the history (assistant `tool_calls`) are not checked: they were produced earlier,
 * by a model whose answer was already filtered, and refusing them would only break conversations
 * that outlive a policy change; their arguments still go through the secrets filter.
 */
export function findRefusedTool(
  request: ChatCompletionRequest,
  policy: EnforcedToolPolicy,
): RefusedTool | undefined {
  const choice = request.tool_choice;
  if (choice != null && typeof choice !== "string") {
    if (choice.type === "function" && !policy.allowsName(choice.function.name)) {
      return { name: choice.function.name, param: "tool_choice" };
    }
    if (choice.type === "allowed_tools") {
      for (const [k, tool] of choice.allowed_tools.tools.entries()) {
        if (!policy.allowsName(tool.function.name)) {
          return {
            name: tool.function.name,
            param: `tool_choice.allowed_tools.tools[${k}].function.name`,
          };
        }
      }
    }
  }
  for (const [i, tool] of (request.tools ?? []).entries()) {
    if (tool.type === "function" && !policy.allowsName(tool.function.name)) {
      return { name: tool.function.name, param: `tools[${i}].function.name` };
    }
  }
  return undefined;
}

/** The 400 for a refused tool: `invalid_request_error`, code `tool_not_allowed`. */
export function toolNotAllowedError(refused: RefusedTool): StrataError {
  return invalidRequest(
    refused.param,
    `The tool '${refused.name.slice(0, 64)}' is not allowed by your API key's tool policy.`,
    "tool_not_allowed",
  );
}

/**
 * Removes from a non-streamed answer the tool calls the policy blocks, keeping the others (and
 * their ids) in order. When every call is removed from an answer that stopped for `tool_calls`,
 * the finish reason becomes `content_filter`: the answer was cut by a filter, and a client loop
 * that waits for `tool_calls` to run tools must not wait for calls that are not there. Returns a
 * new completion; the input is not modified.
 */
export function filterCompletionToolCalls(
  completion: ChatCompletion,
  policy: EnforcedToolPolicy,
): { completion: ChatCompletion; blocked: BlockedToolCall[] } {
  const blocked: BlockedToolCall[] = [];
  const choices = completion.choices.map((choice) => {
    const calls = choice.message.tool_calls;
    if (!calls || calls.length === 0) return choice;
    const kept: ChatCompletionMessageToolCall[] = [];
    for (const call of calls) {
      const verdict = policy.checkCall(call.function.name, call.function.arguments);
      if (verdict.allowed) kept.push(call);
      else
        blocked.push({
          id: call.id,
          name: call.function.name,
          reason: verdict.reason,
          detail: verdict.detail,
        });
    }
    if (kept.length === calls.length) return choice;
    const { tool_calls: _removed, ...message } = choice.message;
    return {
      ...choice,
      message: kept.length > 0 ? { ...message, tool_calls: kept } : message,
      finish_reason:
        kept.length === 0 && choice.finish_reason === "tool_calls"
          ? ("content_filter" as const)
          : choice.finish_reason,
    };
  });
  if (blocked.length === 0) return { completion, blocked };
  return { completion: { ...completion, choices }, blocked };
}

// Argument schemas: JSON Schema 2020-12 (the MCP default for tool input schemas) unless the schema
// declares draft-07 in `$schema`. `format` is an annotation, as 2020-12 specifies; `$ref` must stay
// inside the schema; asynchronous schemas are refused. Compiled once per schema text, in a bounded
// cache; a schema that cannot be compiled blocks the calls it governs (fail closed).

/**
 * Ajv keeps every schema it compiled (keyed by the schema object) for its instance's lifetime, so
 * the instances are replaced after this many compilations: memory stays bounded however many
 * distinct schemas tenants write. Validators already compiled keep working.
 */
const compilationsPerInstance = 2_000;
let compilations = 0;
const instances = new Map<"draft-07" | "2020-12", ArgumentSchemaAjv>();

/** Compiled validators by schema text; `false` remembers a schema that cannot be used. */
const validators = new LRUCache<string, ValidateFunction | false>({ max: 500 });

function compileSchema(schema: object): ValidateFunction {
  if (++compilations > compilationsPerInstance) {
    compilations = 1;
    instances.clear();
  }
  const draft = argumentSchemaDraft(schema);
  let ajv = instances.get(draft);
  if (!ajv) {
    ajv = createArgumentSchemaAjv(draft);
    instances.set(draft, ajv);
  }
  return ajv.compile(schema);
}

function validatorOf(text: string): ValidateFunction | false {
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch {
    return false;
  }
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) return false;
  try {
    const validate = compileSchema(schema);
    // An asynchronous validator answers with a promise (and rejects it): refused.
    return (validate as { $async?: boolean }).$async === true ? false : validate;
  } catch {
    return false;
  }
}

/** The validator of a schema text (cached), or undefined when it cannot be used. */
function argumentsValidator(text: string): ((data: unknown) => boolean) | undefined {
  let validate = validators.get(text);
  if (validate === undefined) {
    validate = validatorOf(text);
    validators.set(text, validate);
  }
  if (validate === false) return undefined;
  const compiled = validate;
  return (data) => compiled(data) === true;
}

/**
 * Whether an arguments schema compiles with the gateway's settings: a schema that does not blocks
 * every call its rule governs. For tests, and for tools that check policies before storing them.
 */
export function argumentsSchemaUsable(argumentsSchemaJson: string): boolean {
  return argumentsValidator(argumentsSchemaJson) !== undefined;
}
