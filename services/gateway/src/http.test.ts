import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import { StrataError } from "@strata/errors";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readJsonBody } from "./http.ts";

/** A request whose body arrives in these chunks (or fails after them, like a client that left). */
function request(
  chunks: Array<string | Uint8Array>,
  headers: Record<string, string> = { "content-type": "application/json" },
  fail?: Error,
): IncomingMessage {
  const body = Readable.from(
    (async function* () {
      for (const chunk of chunks)
        yield typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk);
      if (fail) throw fail;
    })(),
  );
  return Object.assign(body, { headers }) as unknown as IncomingMessage;
}

async function refusal(req: IncomingMessage, limit = 1_000): Promise<StrataError> {
  const error = await readJsonBody(req, limit).then(
    () => new Error("the body was accepted"),
    (e: unknown) => e,
  );
  if (error instanceof StrataError) return error;
  throw error;
}

describe("readJsonBody", () => {
  it.each([
    ["application/json", "application/json"],
    ["a charset", "application/json; charset=utf-8"],
    ["upper case", "Application/JSON"],
    ["a +json type", "application/vnd.api+json"],
  ])("accepts a JSON body with %s", async (_, contentType) => {
    expect(
      await readJsonBody(request(['{"a":', "1}"], { "content-type": contentType }), 100),
    ).toEqual({ a: 1 });
  });

  it("accepts a body without Content-Type (curl -d sends one, some minimal clients none)", async () => {
    expect(await readJsonBody(request(["[1]"], {}), 100)).toEqual([1]);
  });

  it("drops a UTF-8 byte order mark", async () => {
    expect(await readJsonBody(request([Uint8Array.from([0xef, 0xbb, 0xbf]), "{}"]), 100)).toEqual(
      {},
    );
  });

  it.each([
    ["form data, as curl -d sends without -H", "application/x-www-form-urlencoded"],
    ["text", "text/plain"],
    ["multipart", "multipart/form-data; boundary=x"],
    ["an empty type", ""],
  ])("refuses a body declared as %s (was parsed as JSON anyway)", async (_, contentType) => {
    const error = await refusal(request(["{}"], { "content-type": contentType }));
    expect(error).toMatchObject({ reason: "invalid_request", code: "unsupported_content_type" });
    expect(error.param).toBeUndefined();
  });

  it("refuses bytes that are not UTF-8 (were silently replaced by U+FFFD, changing the prompt)", async () => {
    const body = [
      Buffer.from('{"content":"'),
      Uint8Array.from([0xc3, 0x28, 0xff]),
      Buffer.from('"}'),
    ];
    expect(await refusal(request(body))).toMatchObject({
      reason: "invalid_request",
      code: "invalid_encoding",
    });
  });

  it("refuses a UTF-8 sequence cut between two chunks only if it stays cut", async () => {
    const euro = Buffer.from('"€"');
    expect(await readJsonBody(request([euro.subarray(0, 2), euro.subarray(2)]), 100)).toBe("€");
    expect(await refusal(request([euro.subarray(0, 2)]))).toMatchObject({
      code: "invalid_encoding",
    });
  });

  it.each([
    ["empty", [], "The request body is empty. Send a JSON object."],
    ["truncated", ['{"model":"m","messages":[{'], undefined],
    ["not JSON", ["model=m"], undefined],
  ])("refuses an %s body with OpenAI's 400", async (_, chunks, message) => {
    const error = await refusal(request(chunks));
    expect(error.reason).toBe("invalid_request");
    if (message) expect(error.message).toBe(message);
  });

  it("answers 413 from Content-Length before reading, and while reading without it", async () => {
    const declared = request(["{}"], {
      "content-type": "application/json",
      "content-length": "5000",
    });
    expect(await refusal(declared)).toMatchObject({ reason: "payload_too_large" });
    expect((await refusal(request(["[", "1,".repeat(600), "1]"]))).httpStatus).toBe(413);
  });

  it("reports a client that went away while sending as cancelled, not as a 500", async () => {
    const aborted = Object.assign(new Error("aborted"), { code: "ECONNRESET" });
    expect(await refusal(request(['{"a":'], undefined, aborted))).toMatchObject({
      reason: "cancelled",
    });
  });

  it("answers any bytes with a value or a 4xx StrataError", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 64 }),
            fc.json().map((j) => j.slice(0, 40)),
          ),
          {
            maxLength: 4,
          },
        ),
        async (chunks) => {
          const result = await readJsonBody(request(chunks), 200).then(
            () => undefined,
            (e: unknown) => e,
          );
          if (result === undefined) return;
          expect(result).toBeInstanceOf(StrataError);
          expect((result as StrataError).httpStatus).toBeGreaterThanOrEqual(400);
          expect((result as StrataError).httpStatus).toBeLessThan(500);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
