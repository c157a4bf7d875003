import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
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
    expect(seen.embeddings.tokens_as_text).toBe(true);
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

describe("the README's examples, as a newcomer runs them", () => {
  const readme = readFileSync("README.md", "utf8");
  /** A README code block of a language, pointed at this test's gateway. */
  const example = (lang: string) => {
    const block = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(readme)?.[1];
    if (!block) throw new Error(`the README has no ${lang} example`);
    return block.replaceAll("http://127.0.0.1:8080", inject("gatewayUrl"));
  };
  const env = { ...process.env, STRATA_API_KEY: inject("apiKey") };

  it("the Python example runs and prints an embedding", async () => {
    const { stdout: python } = await run("scripts/ensure-python-openai.sh", [], {
      timeout: 180_000,
    });
    const { stdout } = await run(python.trim(), ["-c", example("python")], { env });
    expect(JSON.parse(stdout.replaceAll("'", '"'))).toHaveLength(4);
  }, 240_000);

  it("the TypeScript example runs as hello.ts in an ES module project on Node 24", async () => {
    const dir = mkdtempSync(join(tmpdir(), "strata-readme-ts-"));
    try {
      writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
      // The project's own openai package stands in for `npm install openai`.
      mkdirSync(join(dir, "node_modules"));
      symlinkSync(resolve("node_modules/openai"), join(dir, "node_modules", "openai"));
      writeFileSync(join(dir, "hello.ts"), example("ts"));
      const { stdout } = await run(process.execPath, ["hello.ts"], { cwd: dir, env });
      expect(stdout.length).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
