import { isIP } from "node:net";
import { invalidRequest } from "@strata/errors";
import { argumentSchemaDraft, createArgumentSchemaAjv } from "@strata/platform";
import { BudgetPeriod, type Policy } from "@strata/proto";

const modelPattern = /^[\w.:/*@-]{1,256}$/;
const endpoints = new Set(["chat.completions", "embeddings", "models"]);
const regionPattern = /^(global|[a-z]{2,3}(-gov)?|[a-z]{2}(-gov)?-[a-z]+-\d)$/;
const toolPattern = /^[\w*.-]{1,64}$/;
const roleArnPattern = /^arn:aws(-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const externalIdPattern = /^[\w+=,.@:/-]{2,1224}$/;

// The gateway enforces argument schemas with the same validators (@strata/platform's
// argument-schema.ts): a schema that does not compile there, a pattern RE2 cannot run among them,
// would block every call its rule governs, so it is refused here, when the policy is written.
function schemaCompiles(schema: object): boolean {
  try {
    createArgumentSchemaAjv(argumentSchemaDraft(schema)).compile(schema);
    return true;
  } catch {
    return false;
  }
}

/** Whether a string is an IPv4 or IPv6 CIDR (or a single address). */
export function isCidr(value: string): boolean {
  const [address = "", prefix, extra] = value.split("/");
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d+$/.test(prefix) && bits >= 0 && bits <= (family === 4 ? 32 : 128);
}

/**
 * Checks a policy before it is stored, naming the offending field (OpenAI-style param), so a
 * typo is refused at the admin API instead of silently allowing or denying traffic. Fields that
 * only make sense for a whole tenant (guardrail, cross-account role, content logging) are refused
 * on keys: a key narrows its tenant, it cannot change where or how calls run.
 */
export function validatePolicy(
  policy: Policy | undefined,
  level: "tenant" | "key",
  param = "policy",
): void {
  if (!policy) return;
  for (const [i, pattern] of policy.allowedModels.entries()) {
    if (!modelPattern.test(pattern))
      throw invalidRequest(`${param}.allowed_models[${i}]`, `Invalid model pattern '${pattern}'.`);
  }
  for (const [i, endpoint] of policy.allowedEndpoints.entries()) {
    if (!endpoints.has(endpoint)) {
      throw invalidRequest(
        `${param}.allowed_endpoints[${i}]`,
        `Unknown endpoint '${endpoint}'; use chat.completions, embeddings or models.`,
      );
    }
  }
  for (const [i, cidr] of policy.allowedSourceCidrs.entries()) {
    if (!isCidr(cidr))
      throw invalidRequest(`${param}.allowed_source_cidrs[${i}]`, `Invalid CIDR '${cidr}'.`);
  }
  for (const [i, region] of policy.allowedRegions.entries()) {
    if (!regionPattern.test(region)) {
      throw invalidRequest(
        `${param}.allowed_regions[${i}]`,
        `Invalid region or geography '${region}' (e.g. eu, us, eu-west-1, global).`,
      );
    }
  }
  for (const [i, rule] of (policy.toolPolicy?.allowed ?? []).entries()) {
    const at = `${param}.tool_policy.allowed[${i}]`;
    if (!toolPattern.test(rule.name))
      throw invalidRequest(`${at}.name`, `Invalid tool name pattern '${rule.name}'.`);
    if (rule.argumentsSchemaJson) {
      let schema: unknown;
      try {
        schema = JSON.parse(rule.argumentsSchemaJson);
      } catch {
        throw invalidRequest(
          `${at}.arguments_schema_json`,
          "The arguments schema is not valid JSON.",
        );
      }
      if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
        throw invalidRequest(
          `${at}.arguments_schema_json`,
          "The arguments schema must be a JSON Schema object.",
        );
      }
      if (!schemaCompiles(schema)) {
        throw invalidRequest(
          `${at}.arguments_schema_json`,
          "The arguments schema is not a valid JSON Schema (2020-12, or draft-07 when $schema says so), or it has a pattern RE2 cannot run (no lookaround or backreferences).",
        );
      }
    }
  }
  for (const [i, rule] of (policy.limits?.models ?? []).entries()) {
    if (!modelPattern.test(rule.model)) {
      throw invalidRequest(
        `${param}.limits.models[${i}].model`,
        `Invalid model pattern '${rule.model}'.`,
      );
    }
  }
  const budget = policy.limits?.budget;
  if (budget) {
    for (const [value, field] of [
      [budget.tokens, "tokens"],
      [budget.costMicros, "cost_micros"],
    ] as const) {
      if (!Number.isInteger(value) || value < 0) {
        throw invalidRequest(
          `${param}.limits.budget.${field}`,
          "A budget is a non-negative whole number.",
        );
      }
    }
    if (
      (budget.tokens > 0 || budget.costMicros > 0) &&
      budget.period === BudgetPeriod.UNSPECIFIED
    ) {
      throw invalidRequest(
        `${param}.limits.budget.period`,
        "A budget needs a period: BUDGET_PERIOD_DAY or BUDGET_PERIOD_MONTH.",
      );
    }
  }
  const tenantOnly: Array<[boolean, string]> = [
    [policy.contentLogging, "content_logging"],
    [policy.guardrail !== undefined, "guardrail"],
    [policy.crossAccount !== undefined, "cross_account"],
  ];
  for (const [set, field] of tenantOnly) {
    if (set && level === "key")
      throw invalidRequest(`${param}.${field}`, `${field} can only be set on a tenant.`);
  }
  if (policy.guardrail) {
    if (!policy.guardrail.identifier)
      throw invalidRequest(`${param}.guardrail.identifier`, "A guardrail needs an identifier.");
    if (!/^(DRAFT|\d{1,8})$/.test(policy.guardrail.version)) {
      throw invalidRequest(
        `${param}.guardrail.version`,
        "A guardrail version is DRAFT or a number.",
      );
    }
  }
  if (policy.crossAccount) {
    if (!roleArnPattern.test(policy.crossAccount.roleArn)) {
      throw invalidRequest(
        `${param}.cross_account.role_arn`,
        "Expected an IAM role ARN (arn:aws:iam::123456789012:role/name).",
      );
    }
    if (!externalIdPattern.test(policy.crossAccount.externalId)) {
      throw invalidRequest(
        `${param}.cross_account.external_id`,
        "An external id is required: 2-1224 characters of [A-Za-z0-9+=,.@:/_-].",
      );
    }
  }
}
