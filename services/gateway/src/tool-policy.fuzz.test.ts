import { create } from "@bufbuild/protobuf";
import { StrataError } from "@strata/errors";
import {
  type ChatCompletion,
  type ChatCompletionChunk,
  createChunkTranslator,
  usageToCompletionUsage,
} from "@strata/openai";
import { ChatStreamResponseSchema, PolicySchema, StopReason } from "@strata/proto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createToolCallGuard } from "./tool-call-guard.ts";
import {
  blockDetails,
  type EnforcedToolPolicy,
  enforcedToolPolicy,
  filterCompletionToolCalls,
} from "./tool-policy.ts";

// Property tests: tool-call arguments are written by the model (and so, through prompt injection,
// by anyone); whatever they are, checking them against a tenant's schemas gives a verdict — never
// an exception, which would turn the answer into a 500 or break the stream. STRATA_FUZZ_SEED
// replays (test/fast-check-setup.ts).

/** Longest one check may take (generous: CI machines are shared). */
const deadlineMs = 2_000;

/** Argument schemas a tenant might write, recursive ones included. */
const schemas = [
  { type: "object", properties: { path: { type: "string", pattern: "^/workspace/" } } },
  { type: "object", additionalProperties: { type: "number", maximum: 10 } },
  { $defs: { n: { type: "object", properties: { a: { $ref: "#/$defs/n" } } } }, $ref: "#/$defs/n" },
  {
    type: "object",
    properties: { tree: { $ref: "#/$defs/t" } },
    $defs: { t: { type: "array", items: { $ref: "#/$defs/t" } } },
  },
  { $schema: "http://json-schema.org/draft-07/schema#", type: "object", required: ["q"] },
  { anyOf: [{ type: "object" }, { not: {} }], uniqueItems: true },
].map((schema) => JSON.stringify(schema));

function policyWith(argumentsSchemaJson: string): EnforcedToolPolicy {
  const policy = enforcedToolPolicy({
    tenant: create(PolicySchema, {
      toolPolicy: { enforced: true, allowed: [{ name: "f", argumentsSchemaJson }] },
    }),
  });
  if (!policy) throw new Error("expected an enforced policy");
  return policy;
}

/** `depth` levels of `{"a": ...}` or `[...]` as JSON text. */
const nestedText = fc
  .record({ depth: fc.integer({ min: 1, max: 20_000 }), arrays: fc.boolean() })
  .map(({ depth, arrays }) =>
    arrays
      ? `{"tree":${"[".repeat(depth)}${"]".repeat(depth)}}`
      : `${'{"a":'.repeat(depth)}{}${"}".repeat(depth)}`,
  );

/** Tool-call arguments as a model could write them: JSON, broken JSON, deep JSON, anything. */
const argumentsText = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc
    .dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }))
    .map((v) => JSON.stringify(v)),
  nestedText,
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.json({ maxDepth: 3 }).map((text) => text.slice(0, Math.max(0, text.length - 1))),
);

const verdicts = new Set(["allowed", ...Object.values(blockDetails)]);

describe("a tool policy, for any arguments,", () => {
  it("returns a verdict, never throws, in bounded time", () => {
    fc.assert(
      fc.property(fc.constantFrom(...schemas), argumentsText, (schema, args) => {
        const started = performance.now();
        const verdict = policyWith(schema).checkCall("f", args);
        expect(performance.now() - started).toBeLessThan(deadlineMs);
        expect(verdicts.has(verdict.allowed ? "allowed" : verdict.detail)).toBe(true);
      }),
      { numRuns: 800 },
    );
  });

  it("blocks arguments too deep for a recursive schema (was a RangeError: a 500, or a broken stream)", () => {
    const args = `${'{"a":'.repeat(20_000)}{}${"}".repeat(20_000)}`;
    expect(policyWith(schemas[2] as string).checkCall("f", args)).toEqual({
      allowed: false,
      reason: "arguments",
      detail: blockDetails.unverifiable,
    });
  });

  it("filters such calls out of a non-streamed answer instead of failing it", () => {
    const completion: ChatCompletion = {
      id: "c",
      object: "chat.completion",
      created: 1,
      model: "m",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: null,
            refusal: null,
            tool_calls: [
              {
                id: "t",
                type: "function",
                function: {
                  name: "f",
                  arguments: `${'{"a":'.repeat(20_000)}{}${"}".repeat(20_000)}`,
                },
              },
            ],
          },
          logprobs: null,
          finish_reason: "tool_calls",
        },
      ],
      usage: usageToCompletionUsage(undefined),
    };
    const { completion: filtered, blocked } = filterCompletionToolCalls(
      completion,
      policyWith(schemas[2] as string),
    );
    expect(blocked).toMatchObject([{ id: "t", detail: blockDetails.unverifiable }]);
    expect(filtered.choices[0]?.finish_reason).toBe("content_filter");
  });
});

const e = {
  toolStart: (index: number, id: string, name: string) =>
    create(ChatStreamResponseSchema, {
      event: { case: "blockStart", value: { index, toolUse: { id, name } } },
    }),
  toolInput: (index: number, value: string) =>
    create(ChatStreamResponseSchema, {
      event: { case: "blockDelta", value: { index, delta: { case: "toolInputJson", value } } },
    }),
  stop: () =>
    create(ChatStreamResponseSchema, {
      event: { case: "stop", value: { stopReason: StopReason.TOOL_USE } },
    }),
};

describe("the tool-call guard, for any streamed tool calls,", () => {
  it("releases only calls the policy allows, and never throws", () => {
    const call = fc.record({
      name: fc.constantFrom("f", "g"),
      args: argumentsText,
      cuts: fc.array(fc.nat(), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(
        fc.constantFrom(...schemas),
        fc.array(call, { maxLength: 3 }),
        (schema, calls) => {
          const policy = policyWith(schema);
          const guard = createToolCallGuard({ policy });
          const translator = createChunkTranslator({
            id: "c",
            created: 1,
            model: "m",
            includeUsage: false,
          });
          const out: ChatCompletionChunk[] = [];
          for (const [index, { name, args, cuts }] of calls.entries()) {
            const points = [...new Set(cuts.map((c) => c % (args.length + 1)))].sort(
              (a, b) => a - b,
            );
            const fragments = [0, ...points, args.length]
              .slice(0, -1)
              .map((start, i) => args.slice(start, [...points, args.length][i]));
            for (const event of [
              e.toolStart(index, `t${index}`, name),
              ...fragments.map((f) => e.toolInput(index, f)),
            ]) {
              for (const chunk of translator.next(event)) out.push(...guard.next(chunk));
            }
          }
          for (const chunk of translator.next(e.stop())) out.push(...guard.next(chunk));
          out.push(...guard.end());
          const released = new Map<number, { name: string; args: string }>();
          for (const chunk of out) {
            for (const fragment of chunk.choices[0]?.delta.tool_calls ?? []) {
              const seen = released.get(fragment.index) ?? { name: "", args: "" };
              seen.name += fragment.function?.name ?? "";
              seen.args += fragment.function?.arguments ?? "";
              released.set(fragment.index, seen);
            }
          }
          for (const { name, args } of released.values()) {
            expect(policy.checkCall(name, args)).toEqual({ allowed: true });
          }
          expect(released.size + guard.blocked).toBe(calls.length);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("fails a stream only with a StrataError", () => {
    const guard = createToolCallGuard({ policy: policyWith(schemas[0] as string) });
    const chunk: ChatCompletionChunk = {
      id: "c",
      object: "chat.completion.chunk",
      created: 1,
      model: "m",
      choices: [
        { index: 0, delta: {}, logprobs: null, finish_reason: null },
        { index: 1, delta: {}, logprobs: null, finish_reason: null },
      ],
    };
    expect(() => guard.next(chunk)).toThrow(StrataError);
  });
});
