import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";

const run = promisify(execFile);

describe("the official openai Python SDK", () => {
  it("chats, streams, calls tools, embeds (base64 by default) and gets the right error classes", async () => {
    // The project's own script provides a virtualenv with the pinned SDK (created once, cached).
    const { stdout: python } = await run("scripts/ensure-python-openai.sh", [], {
      timeout: 180_000,
    });
    const { stdout } = await run(python.trim(), ["test/integration/python/client_checks.py"], {
      env: {
        ...process.env,
        STRATA_BASE_URL: `${inject("gatewayUrl")}/v1`,
        STRATA_API_KEY: inject("apiKey"),
      },
      timeout: 60_000,
    });
    const seen = JSON.parse(stdout);
    expect(seen.chat).toMatchObject({ finish_reason: "stop" });
    expect(seen.chat.content).toContain("hello from python");
    expect(seen.stream.text).toContain("stream from python");
    expect(seen.stream.finish).toEqual(["stop"]);
    expect(seen.stream.completion_tokens).toBeGreaterThan(0);
    expect(seen.tools).toMatchObject({
      name: "get_weather",
      arguments: { city: expect.any(String) },
    });
    expect(seen.tools.answer).toContain("rainy");
    expect(seen.embeddings).toMatchObject({ count: 2, length: 256 });
    expect(seen.embeddings.first).toBeCloseTo(seen.embeddings.float_first, 5);
    expect(seen.errors.bad_key).toMatchObject({
      class: "AuthenticationError",
      status: 401,
      code: "invalid_api_key",
    });
    expect(seen.errors.bad_key.request_id).toMatch(/^req_/);
    expect(seen.errors.unknown_model).toMatchObject({
      class: "NotFoundError",
      status: 404,
      code: "model_not_found",
      param: "model",
    });
    expect(seen.errors.bad_param).toMatchObject({
      class: "BadRequestError",
      status: 400,
      param: "n",
    });
    expect(seen.errors.throttled).toMatchObject({
      class: "RateLimitError",
      status: 429,
      code: "rate_limit_exceeded",
    });
    expect(seen.mid_stream?.class).toBe("APIError");
  }, 240_000);
});
