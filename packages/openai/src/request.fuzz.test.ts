import { StrataError } from "@strata/errors";
import { ImageFormat } from "@strata/proto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chatCompletionRequestToChatRequest } from "./chat-completion-request-to-chat-request.ts";
import { embeddingRequestToEmbedRequest } from "./embedding-request-to-embed-request.ts";
import { formatParam } from "./param-path.ts";
import { parseChatCompletionRequest } from "./parse-chat-completion-request.ts";
import { parseEmbeddingRequest } from "./parse-embedding-request.ts";
import {
  fetchedImageUrl,
  hostileValue,
  validChatRequest,
  validEmbeddingRequest,
} from "./testing/arbitraries.ts";
import { pngBytes } from "./testing/fixtures.ts";

// Property tests on structurally valid requests (generated, see testing/arbitraries.ts) with one
// field mutated to a hostile value: the parser accepts (and then translation to the neutral schema
// succeeds or refuses with a 400) or refuses with a 400 whose `param` names the mutated field, an
// enclosing one, or the field a cross-field rule names. Never another exception, never slowly.
// numRuns keep each property to a few seconds; STRATA_FUZZ_SEED replays (test/fast-check-setup.ts).

/** Longest a parse plus translation may take, however hostile the input (generous: CI is shared). */
const deadlineMs = 2_000;

const remoteImages = new Map([[fetchedImageUrl, { format: ImageFormat.PNG, data: pngBytes }]]);

type Path = Array<string | number>;

/** Every path to a value inside a JSON document, the root excluded. */
function pathsOf(value: unknown, prefix: Path = []): Path[] {
  const children: Array<[string | number, unknown]> = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : value !== null && typeof value === "object"
      ? Object.entries(value)
      : [];
  return children.flatMap(([key, child]) => [
    [...prefix, key],
    ...pathsOf(child, [...prefix, key]),
  ]);
}

/** A copy of `doc` with the value at `path` replaced (or deleted when `value` is absent). */
function withValueAt(doc: unknown, path: Path, value: { set: unknown } | undefined): unknown {
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let parent: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path.at(-1) as string | number;
  if (value) parent[last] = value.set;
  else if (Array.isArray(parent) && typeof last === "number") parent.splice(last, 1);
  else delete parent[last];
  return copy;
}

/** Runs `work`; returns what it threw (undefined when nothing), and checks the deadline. */
function outcome(work: () => void): unknown {
  const started = performance.now();
  try {
    work();
    return undefined;
  } catch (error) {
    return error;
  } finally {
    expect(performance.now() - started).toBeLessThan(deadlineMs);
  }
}

/** Fails unless `error` is a 400 StrataError with a short message. */
function expectBadRequest(error: unknown): StrataError {
  if (!(error instanceof StrataError)) throw error;
  expect({ reason: error.reason, status: error.httpStatus }).toEqual({
    reason: "invalid_request",
    status: 400,
  });
  expect(error.message.length).toBeGreaterThan(0);
  expect(error.message.length).toBeLessThan(1_000);
  return error;
}

/**
 * Params a refusal may name when a field elsewhere was changed: the rules that relate fields
 * (a tool message answers a call by id and must follow one, `tool_choice` names a declared tool,
 * the conversation opens with a user turn, `stream_options` needs `stream`) name the field that
 * breaks them.
 */
const crossField =
  /^(messages|messages\[\d+\]\.(role|tool_call_id|tool_calls)|tool_choice(\..+)?|stream_options)$/;

/** Whether `inner` is the field `outer` or inside it. */
const within = (inner: string, outer: string) =>
  inner === outer || inner.startsWith(`${outer}.`) || inner.startsWith(`${outer}[`);

/**
 * Whether `param` names the mutated field, a field around it or inside it, another field of the
 * same list entry (`messages[2]`, `tools[0]`: a changed `type` makes its siblings wrong, a removed
 * tool call makes `content` required), or the field of a cross-field rule.
 */
function namesTheField(param: string | undefined, mutated: Path): boolean {
  if (param === undefined) return false;
  const field = formatParam(mutated);
  const entry = mutated.length > 1 ? formatParam(mutated.slice(0, 2)) : undefined;
  return (
    within(field, param) ||
    within(param, field) ||
    (entry !== undefined && within(param, entry)) ||
    crossField.test(param)
  );
}

const chat = (body: unknown) =>
  outcome(() => {
    const request = parseChatCompletionRequest(body);
    try {
      chatCompletionRequestToChatRequest(request, { remoteImages });
    } catch (error) {
      expectBadRequest(error);
    }
  });

describe("a generated valid chat request", () => {
  it("is accepted and translates", () => {
    fc.assert(
      fc.property(validChatRequest, (body) => {
        expect(chat(body)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it("with one field replaced by a hostile value is accepted or refused naming that field", () => {
    const mutated = validChatRequest.chain((body) => {
      const paths = pathsOf(body);
      return fc.record({
        body: fc.constant(body),
        path: fc.constantFrom(...paths),
        value: hostileValue,
      });
    });
    fc.assert(
      fc.property(mutated, ({ body, path, value }) => {
        const error = chat(withValueAt(body, path, { set: value }));
        if (error === undefined) return;
        const refusal = expectBadRequest(error);
        expect([refusal.param, refusal.message, namesTheField(refusal.param, path)]).toEqual([
          refusal.param,
          refusal.message,
          true,
        ]);
      }),
      { numRuns: 1000 },
    );
  });

  it("with one field removed is accepted or refused naming that field", () => {
    const mutated = validChatRequest.chain((body) =>
      fc.record({ body: fc.constant(body), path: fc.constantFrom(...pathsOf(body)) }),
    );
    fc.assert(
      fc.property(mutated, ({ body, path }) => {
        const error = chat(withValueAt(body, path, undefined));
        if (error === undefined) return;
        const refusal = expectBadRequest(error);
        expect([refusal.message, namesTheField(refusal.param, path)]).toEqual([
          refusal.message,
          true,
        ]);
      }),
      { numRuns: 600 },
    );
  });
});

const embeddings = (body: unknown) =>
  outcome(() => {
    embeddingRequestToEmbedRequest(parseEmbeddingRequest(body));
  });

describe("a generated valid embeddings request", () => {
  it("is accepted and translates", () => {
    fc.assert(
      fc.property(validEmbeddingRequest, (body) => {
        expect(embeddings(body)).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });

  it("with one field replaced by a hostile value is accepted or refused naming that field", () => {
    const mutated = validEmbeddingRequest.chain((body) =>
      fc.record({
        body: fc.constant(body),
        path: fc.constantFrom(...pathsOf(body)),
        value: hostileValue,
      }),
    );
    fc.assert(
      fc.property(mutated, ({ body, path, value }) => {
        const error = embeddings(withValueAt(body, path, { set: value }));
        if (error === undefined) return;
        const refusal = expectBadRequest(error);
        expect([refusal.message, namesTheField(refusal.param, path)]).toEqual([
          refusal.message,
          true,
        ]);
      }),
      { numRuns: 1000 },
    );
  });
});
