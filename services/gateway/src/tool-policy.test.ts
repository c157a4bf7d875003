import { create } from "@bufbuild/protobuf";
import { toOpenAIError } from "@strata/errors";
import { type ChatCompletion, parseChatCompletionRequest } from "@strata/openai";
import { type Policy, PolicySchema } from "@strata/proto";
import { describe, expect, it } from "vitest";
import {
  argumentsSchemaUsable,
  blockDetails,
  type EnforcedToolPolicy,
  enforcedToolPolicy,
  filterCompletionToolCalls,
  findRefusedTool,
  toolNotAllowedError,
} from "./tool-policy.ts";

/** The filesystem example of the docs: paths must stay under /workspace/, no `..`. */
const workspacePath = JSON.stringify({
  type: "object",
  properties: { path: { type: "string", pattern: "^/workspace/(?:[^.]|\\.(?:[^.]|$))*$" } },
  required: ["path"],
});

type Rule = { name: string; argumentsSchemaJson?: string };
const enforcing = (...allowed: Rule[]): Policy =>
  create(PolicySchema, { toolPolicy: { enforced: true, allowed } });

function policyOf(layers: { tenant?: Policy; key?: Policy }): EnforcedToolPolicy {
  const policy = enforcedToolPolicy(layers);
  if (!policy) throw new Error("expected an enforced policy");
  return policy;
}

describe("enforcedToolPolicy", () => {
  it.each([
    ["no policy at all", {}],
    ["policies without a tool policy", { tenant: create(PolicySchema, {}) }],
    [
      "rules that are not enforced",
      {
        tenant: create(PolicySchema, {
          toolPolicy: { enforced: false, allowed: [{ name: "fs_read" }] },
        }),
      },
    ],
  ])("is undefined (nothing checked) with %s", (_, layers) => {
    expect(enforcedToolPolicy(layers)).toBeUndefined();
  });

  const fsRead = { name: "fs_read", argumentsSchemaJson: workspacePath };
  const cases: Array<
    [
      string,
      { tenant?: Policy; key?: Policy },
      string,
      string,
      "allowed" | keyof typeof blockDetails,
    ]
  > = [
    [
      "an exact name",
      { tenant: enforcing({ name: "get_weather" }) },
      "get_weather",
      "{}",
      "allowed",
    ],
    [
      "a name no rule matches",
      { tenant: enforcing({ name: "get_weather" }) },
      "get_time",
      "{}",
      "name",
    ],
    ["a glob match", { tenant: enforcing({ name: "fs_*" }) }, "fs_write", "{}", "allowed"],
    [
      "a glob that does not match",
      { tenant: enforcing({ name: "fs_*" }) },
      "shell_exec",
      "{}",
      "name",
    ],
    [
      "a glob that is not a prefix match",
      { tenant: enforcing({ name: "fs_*" }) },
      "xfs_read",
      "{}",
      "name",
    ],
    ["an enforced policy without rules", { tenant: enforcing() }, "get_weather", "{}", "name"],
    [
      "a tenant allowing what its key does not",
      { tenant: enforcing({ name: "fs_*" }), key: enforcing({ name: "fs_read" }) },
      "fs_write",
      "{}",
      "name",
    ],
    [
      "a name both layers allow",
      { tenant: enforcing({ name: "fs_*" }), key: enforcing({ name: "fs_read" }) },
      "fs_read",
      "{}",
      "allowed",
    ],
    [
      "a key allowing what its tenant does not",
      { tenant: enforcing({ name: "get_*" }), key: enforcing({ name: "*" }) },
      "fs_read",
      "{}",
      "name",
    ],
    [
      "only the key enforcing",
      { key: enforcing({ name: "get_weather" }) },
      "get_time",
      "{}",
      "name",
    ],
    [
      "a path under /workspace/",
      { tenant: enforcing(fsRead) },
      "fs_read",
      '{"path":"/workspace/src/main.ts"}',
      "allowed",
    ],
    [
      "a path outside /workspace/",
      { tenant: enforcing(fsRead) },
      "fs_read",
      '{"path":"/etc/passwd"}',
      "schema",
    ],
    [
      "a path escaping /workspace/ with ..",
      { tenant: enforcing(fsRead) },
      "fs_read",
      '{"path":"/workspace/../etc/passwd"}',
      "schema",
    ],
    [
      "a look-alike prefix",
      { tenant: enforcing(fsRead) },
      "fs_read",
      '{"path":"/workspace-evil/x"}',
      "schema",
    ],
    [
      "a missing required argument",
      { tenant: enforcing(fsRead) },
      "fs_read",
      '{"file":"/workspace/a"}',
      "schema",
    ],
    [
      "an argument of the wrong type",
      { tenant: enforcing(fsRead) },
      "fs_read",
      '{"path":["/workspace/a"]}',
      "schema",
    ],
    [
      "arguments that are not JSON",
      { tenant: enforcing(fsRead) },
      "fs_read",
      '{"path":"/workspace/a"',
      "invalidJson",
    ],
    [
      "arguments that are not JSON, without a schema",
      { tenant: enforcing({ name: "*" }) },
      "anything",
      "{path:",
      "invalidJson",
    ],
    [
      'no arguments at all (streamed as "") and no required ones',
      { tenant: enforcing({ name: "now", argumentsSchemaJson: '{"type":"object"}' }) },
      "now",
      "",
      "allowed",
    ],
    [
      "no arguments at all when one is required",
      { tenant: enforcing(fsRead) },
      "fs_read",
      "",
      "schema",
    ],
    [
      "a constrained rule next to a catch-all (constraints still apply)",
      { tenant: enforcing(fsRead, { name: "*" }) },
      "fs_read",
      '{"path":"/etc/passwd"}',
      "schema",
    ],
    [
      "a catch-all listed before a constrained rule (order does not matter)",
      { tenant: enforcing({ name: "*" }, fsRead) },
      "fs_read",
      '{"path":"/etc/passwd"}',
      "schema",
    ],
    [
      "a constrained rule next to a catch-all (other tools free)",
      { tenant: enforcing(fsRead, { name: "*" }) },
      "get_time",
      '{"tz":"CET"}',
      "allowed",
    ],
    [
      "the tenant's schema when the key has none",
      { tenant: enforcing(fsRead), key: enforcing({ name: "fs_*" }) },
      "fs_read",
      '{"path":"/tmp/x"}',
      "schema",
    ],
    [
      "the key's schema narrowing the tenant's",
      {
        tenant: enforcing(fsRead),
        key: enforcing({
          name: "fs_read",
          argumentsSchemaJson: JSON.stringify({
            properties: { path: { pattern: "^/workspace/docs/" } },
          }),
        }),
      },
      "fs_read",
      '{"path":"/workspace/src/a.ts"}',
      "schema",
    ],
    [
      "a draft-07 schema",
      {
        tenant: enforcing({
          name: "f",
          argumentsSchemaJson: JSON.stringify({
            $schema: "http://json-schema.org/draft-07/schema#",
            type: "object",
            additionalProperties: false,
            properties: { n: { type: "integer", maximum: 10 } },
          }),
        }),
      },
      "f",
      '{"n":11}',
      "schema",
    ],
    [
      "a schema that cannot be compiled (fails closed)",
      {
        tenant: enforcing({
          name: "f",
          argumentsSchemaJson: '{"$ref":"https://example.com/s.json"}',
        }),
      },
      "f",
      "{}",
      "badSchema",
    ],
    [
      "a schema that is not JSON (fails closed)",
      { tenant: enforcing({ name: "f", argumentsSchemaJson: "{type:" }) },
      "f",
      "{}",
      "badSchema",
    ],
    [
      "an asynchronous schema (fails closed)",
      { tenant: enforcing({ name: "f", argumentsSchemaJson: '{"$async":true}' }) },
      "f",
      "{}",
      "badSchema",
    ],
  ];
  it.each(cases)("checks a call: %s", (_, layers, name, args, expected) => {
    const verdict = policyOf(layers).checkCall(name, args);
    if (expected === "allowed") {
      expect(verdict).toEqual({ allowed: true });
    } else {
      expect(verdict).toEqual({
        allowed: false,
        reason: expected === "name" ? "name" : "arguments",
        detail: blockDetails[expected],
      });
    }
  });

  it("reuses a compiled schema across policies with the same text", () => {
    const a = policyOf({
      tenant: enforcing({ name: "fs_read", argumentsSchemaJson: workspacePath }),
    });
    const b = policyOf({ key: enforcing({ name: "fs_*", argumentsSchemaJson: workspacePath }) });
    expect(a.checkCall("fs_read", '{"path":"/workspace/a"}')).toEqual({ allowed: true });
    expect(b.checkCall("fs_read", '{"path":"/etc"}').allowed).toBe(false);
  });

  it.each([
    [workspacePath, true],
    ['{"type":"object","$id":"https://example.com/same-id"}', true],
    ['{"type":"object","$id":"https://example.com/same-id","required":["x"]}', true],
    ['{"$ref":"#/$defs/p","$defs":{"p":{"type":"object"}}}', true],
    ['{"$ref":"other.json"}', false],
    ["[]", false],
    ["not json", false],
  ])("argumentsSchemaUsable(%s) is %s", (schema, usable) => {
    expect(argumentsSchemaUsable(schema)).toBe(usable);
  });
});

describe("findRefusedTool", () => {
  const tool = (name: string) => ({ type: "function", function: { name, parameters: {} } });
  const request = (extra: Record<string, unknown>) =>
    parseChatCompletionRequest({
      model: "m",
      messages: [{ role: "user", content: "hi" }],
      ...extra,
    });
  const policy = policyOf({ tenant: enforcing({ name: "get_*" }) });

  it.each([
    ["no tools", {}, undefined],
    ["allowed tools", { tools: [tool("get_weather"), tool("get_time")] }, undefined],
    [
      "a refused tool, by its index",
      { tools: [tool("get_weather"), tool("shell_exec")] },
      { name: "shell_exec", param: "tools[1].function.name" },
    ],
    [
      "a tool_choice forcing a refused tool",
      {
        tools: [tool("get_weather"), tool("shell_exec")],
        tool_choice: { type: "function", function: { name: "shell_exec" } },
      },
      { name: "shell_exec", param: "tool_choice" },
    ],
    [
      "an allowed_tools choice naming a refused tool",
      {
        tools: [tool("get_weather"), tool("shell_exec")],
        tool_choice: {
          type: "allowed_tools",
          allowed_tools: {
            mode: "auto",
            tools: [
              { type: "function", function: { name: "get_weather" } },
              { type: "function", function: { name: "shell_exec" } },
            ],
          },
        },
      },
      { name: "shell_exec", param: "tool_choice.allowed_tools.tools[1].function.name" },
    ],
    [
      "tool calls in the history (not checked: they were produced before)",
      {
        tools: [tool("get_weather")],
        messages: [
          { role: "user", content: "hi" },
          {
            role: "assistant",
            tool_calls: [
              { id: "c1", type: "function", function: { name: "shell_exec", arguments: "{}" } },
            ],
          },
          { role: "tool", tool_call_id: "c1", content: "done" },
        ],
      },
      undefined,
    ],
  ])("%s", (_, extra, expected) => {
    expect(findRefusedTool(request(extra), policy)).toEqual(expected);
  });

  it("renders the refusal as OpenAI's 400 with param and code tool_not_allowed", () => {
    const rendered = toOpenAIError(
      toolNotAllowedError({ name: "shell_exec", param: "tools[1].function.name" }),
    );
    expect(rendered.status).toBe(400);
    expect(rendered.body.error).toMatchObject({
      type: "invalid_request_error",
      code: "tool_not_allowed",
      param: "tools[1].function.name",
      message: expect.stringContaining("'shell_exec'"),
    });
  });
});

describe("filterCompletionToolCalls", () => {
  const call = (id: string, name: string, args: string) => ({
    id,
    type: "function" as const,
    function: { name, arguments: args },
  });
  const completion = (calls: ReturnType<typeof call>[]): ChatCompletion => ({
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1,
    model: "m",
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: "Working on it.", refusal: null, tool_calls: calls },
        logprobs: null,
        finish_reason: "tool_calls",
      },
    ],
    usage: {
      prompt_tokens: 1,
      completion_tokens: 1,
      total_tokens: 2,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 },
    },
  });
  const policy = policyOf({
    tenant: enforcing({ name: "fs_read", argumentsSchemaJson: workspacePath }, { name: "get_*" }),
  });

  it("removes the blocked call, keeping the others' ids and order", () => {
    const input = completion([
      call("a", "get_weather", '{"city":"Paris"}'),
      call("b", "fs_read", '{"path":"/etc/shadow"}'),
      call("c", "fs_read", '{"path":"/workspace/README.md"}'),
    ]);
    const before = structuredClone(input);
    const { completion: out, blocked } = filterCompletionToolCalls(input, policy);
    expect(out.choices[0]?.message.tool_calls?.map((c) => c.id)).toEqual(["a", "c"]);
    expect(out.choices[0]?.finish_reason).toBe("tool_calls");
    expect(out.choices[0]?.message.content).toBe("Working on it.");
    expect(blocked).toEqual([
      { id: "b", name: "fs_read", reason: "arguments", detail: blockDetails.schema },
    ]);
    expect(input).toEqual(before);
  });

  it("drops tool_calls and reports content_filter when every call is blocked", () => {
    const { completion: out, blocked } = filterCompletionToolCalls(
      completion([call("a", "shell_exec", "{}"), call("b", "fs_read", "{oops")]),
      policy,
    );
    expect(out.choices[0]?.message).not.toHaveProperty("tool_calls");
    expect(out.choices[0]?.finish_reason).toBe("content_filter");
    expect(blocked.map((b) => [b.id, b.reason])).toEqual([
      ["a", "name"],
      ["b", "arguments"],
    ]);
  });

  it("returns the same completion when nothing is blocked", () => {
    const input = completion([call("a", "get_time", "{}")]);
    expect(filterCompletionToolCalls(input, policy)).toEqual({ completion: input, blocked: [] });
    expect(filterCompletionToolCalls(input, policy).completion).toBe(input);
  });
});
