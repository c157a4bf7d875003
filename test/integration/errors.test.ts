import { once } from "node:events";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import OpenAI from "openai";
import { describe, expect, inject, it } from "vitest";
import { admin, emulatorRequests, eventually, marker, newTenantKey, openai } from "./support.ts";

const model = "claude-3-haiku";
const ask = (client: OpenAI, content: string) =>
  client.chat.completions
    .create({ model, messages: [{ role: "user", content }] })
    .catch((e: unknown) => e);

describe("errors in OpenAI's envelope", () => {
  it.each([
    ["no key", undefined, "missing_api_key"],
    ["a malformed key", "sk-not-a-strata-key", "invalid_api_key"],
    [
      "a well-formed unknown key",
      "sk-strata-AAAAAAAAAAAA_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "invalid_api_key",
    ],
  ])("answers 401 for %s, without echoing it", async (_, key, code) => {
    const res = await fetch(`${inject("gatewayUrl")}/v1/chat/completions`, {
      method: "POST",
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        "content-type": "application/json",
      },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("x-request-id")).toMatch(/^req_/);
    const body = (await res.json()) as { error: Record<string, unknown> };
    expect(body.error).toMatchObject({ type: "invalid_request_error", code, param: null });
    if (key) expect(JSON.stringify(body)).not.toContain(key.slice(12));
  });

  it("answers 401 through the SDK as AuthenticationError", async () => {
    expect(await ask(openai("sk-strata-wrong"), "hi")).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it("refuses a revoked key immediately with revoked_api_key", async () => {
    const { apiKey, keyId } = await newTenantKey();
    expect(await ask(openai(apiKey), "hi")).not.toBeInstanceOf(Error);
    await admin().revokeKey({ keyId });
    // The gateway caches verifications briefly (10 s at most here); revocation push comes later.
    const error = await eventually(async () => {
      const e = await ask(openai(apiKey), "hi");
      return e instanceof OpenAI.AuthenticationError ? e : undefined;
    }, 15_000);
    expect(error.code).toBe("revoked_api_key");
  });

  it("answers 403 model_not_allowed for a model outside the key's policy", async () => {
    const { apiKey } = await newTenantKey({ key: ["amazon.*"] });
    const error = await ask(openai(apiKey), "hi");
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(error).toMatchObject({ status: 403, code: "model_not_allowed", param: "model" });
    const nova = await openai(apiKey).chat.completions.create({
      model: "nova-micro",
      messages: [{ role: "user", content: "hi" }],
    });
    expect(nova.choices[0]?.finish_reason).toBe("stop");
  });

  it("hides models outside the policy from /v1/models", async () => {
    const { apiKey } = await newTenantKey({ tenant: ["amazon.*"] });
    const ids = (await openai(apiKey).models.list()).data.map((m) => m.id);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.every((id) => id.startsWith("amazon."))).toBe(true);
  });

  it("answers 403 for an endpoint outside the key's policy", async () => {
    const { apiKey } = await newTenantKey({ endpoints: ["embeddings"] });
    expect(await ask(openai(apiKey), "hi")).toMatchObject({
      status: 403,
      code: "endpoint_not_allowed",
    });
  });

  it("answers 404 model_not_found for an unknown model", async () => {
    const error = await openai()
      .chat.completions.create({ model: "gpt-17", messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error).toMatchObject({ code: "model_not_found", param: "model" });
  });

  it.each([
    ["[[emulator:throttle]]", 429, OpenAI.RateLimitError, "rate_limit_exceeded"],
    ["[[emulator:not-ready]]", 429, OpenAI.RateLimitError, "rate_limit_exceeded"],
    ["[[emulator:status=503]]", 503, OpenAI.InternalServerError, "service_unavailable"],
    // Bedrock's 5xx, still failing after the retries: the upstream is unavailable.
    ["[[emulator:status=500]]", 503, OpenAI.InternalServerError, "service_unavailable"],
    ["[[emulator:status=408]]", 504, OpenAI.InternalServerError, "timeout"],
    ["[[emulator:status=403]]", 403, OpenAI.PermissionDeniedError, "model_access_denied"],
  ])("maps upstream %s to HTTP %i", async (directive, status, errorClass, code) => {
    const error = await ask(openai(), `${directive} hi`);
    expect(error).toBeInstanceOf(errorClass);
    expect(error).toMatchObject({ status, code });
    if (status === 429 || status === 503) {
      expect((error as InstanceType<typeof OpenAI.APIError>).headers?.get("retry-after")).toMatch(
        /^\d+$/,
      );
    }
  });

  it("answers 413 for a body over the limit", async () => {
    const res = await fetch(`${inject("gatewayUrl")}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${inject("apiKey")}`, "content-type": "application/json" },
      body: JSON.stringify({
        model,
        messages: [{ role: "user", content: "x".repeat(3 * 1024 * 1024) }],
      }),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      "request_too_large",
    );
  });

  it("answers 408 in OpenAI's envelope to a body that trickles in, and closes the connection", async () => {
    const { hostname, port } = new URL(inject("gatewayUrl"));
    const socket = connect(Number(port), hostname);
    await once(socket, "connect");
    socket.write(
      [
        "POST /v1/chat/completions HTTP/1.1",
        `host: ${hostname}`,
        `authorization: Bearer ${inject("apiKey")}`,
        "content-type: application/json",
        "content-length: 1000",
        "",
        '{"model":"claude-3-haiku",',
      ].join("\r\n"),
    );
    const started = Date.now();
    let raw = "";
    socket.on("data", (chunk: Buffer) => {
      raw += chunk.toString("utf8");
    });
    await once(socket, "close");
    // STRATA_BODY_TIMEOUT_MS is 3000 in the integration stack.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_500);
    expect(raw).toMatch(/^HTTP\/1\.1 408 /);
    expect(raw.toLowerCase()).toContain("connection: close");
    const body = JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4)) as {
      error: Record<string, unknown>;
    };
    expect(body.error).toMatchObject({ type: "invalid_request_error", code: "request_timeout" });
  });

  it("answers 400 for a body that is not JSON", async () => {
    const res = await fetch(`${inject("gatewayUrl")}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${inject("apiKey")}`, "content-type": "application/json" },
      body: "{not json",
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe(
      "invalid_request_error",
    );
  });

  it.each([
    ["GET", "/v1/nope"],
    ["GET", "/v1/chat/completions"],
    ["POST", "/v1/models"],
  ])("answers 404 in OpenAI's envelope for %s %s", async (method, path) => {
    const res = await fetch(`${inject("gatewayUrl")}${path}`, {
      method,
      headers: { authorization: `Bearer ${inject("apiKey")}` },
    });
    expect(res.status).toBe(404);
    expect(res.headers.get("x-request-id")).toMatch(/^req_/);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("unknown_url");
    // The 404 says what there is.
    expect(error.message).toBe(
      `Unknown request URL: ${method} ${path}. Strata serves POST /v1/chat/completions, POST /v1/embeddings, GET /v1/models, GET /v1/models/{model}.`,
    );
  });

  it("logs and counts a URL it does not serve, with the path masked and bounded", async () => {
    const metric = async () => {
      const text = await (await fetch(inject("gatewayMetricsUrl"))).text();
      const line = text
        .split("\n")
        .find(
          (l) =>
            l.startsWith("strata_gateway_unmatched_requests_total{") &&
            l.includes('method="POST"') &&
            l.includes('route="/v1/responses"'),
        );
      return Number(line?.split(" ")[1] ?? 0);
    };
    const before = await metric();
    const secret = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789";
    const res = await fetch(`${inject("gatewayUrl")}/v1/responses/${secret}?key=${secret}`, {
      method: "POST",
      headers: { authorization: `Bearer ${inject("apiKey")}` },
      body: "{}",
    });
    expect(res.status).toBe(404);
    const requestId = res.headers.get("x-request-id");
    await expect.poll(metric).toBe(before + 1);
    const line = await eventually(async () =>
      readFileSync(inject("logFile"), "utf8")
        .split("\n")
        .find((l) => l.includes(`"requestId":"${requestId}"`) && l.includes('"msg":"request"')),
    );
    expect(JSON.parse(line)).toMatchObject({
      method: "POST",
      path: "/v1/responses/[redacted]",
      route: "(unmatched)",
      status: 404,
    });
    expect(readFileSync(inject("logFile"), "utf8")).not.toContain(secret);
  });

  it("answers oversized request headers with 431 in OpenAI's envelope, with x-request-id", async () => {
    const { hostname, port } = new URL(inject("gatewayUrl"));
    const socket = connect(Number(port), hostname);
    await once(socket, "connect");
    socket.write(`GET /v1/models HTTP/1.1\r\nhost: x\r\nx-big: ${"a".repeat(20_000)}\r\n\r\n`);
    let raw = "";
    socket.setEncoding("utf8").on("data", (chunk: string) => {
      raw += chunk;
    });
    await once(socket, "close");
    const [head = "", body = ""] = raw.split("\r\n\r\n");
    expect(head).toMatch(/^HTTP\/1\.1 431 /);
    expect(head).toMatch(/\r\nx-request-id: req_/);
    expect(JSON.parse(body)).toEqual({
      error: {
        message: "The request's header fields are larger than this server accepts (16 KiB in all).",
        type: "invalid_request_error",
        param: null,
        code: "request_header_fields_too_large",
      },
    });
  });

  it("answers a load balancer's health check on the API port without a key", async () => {
    const res = await fetch(`${inject("gatewayUrl")}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ready" });
    // Only the exact path: anything else stays behind the key.
    expect((await fetch(`${inject("gatewayUrl")}/readyz/x`)).status).toBe(404);
  });
});

describe("streaming failures", () => {
  it("sends a mid-stream upstream failure as an error event the SDK throws, never a normal stop", async () => {
    const stream = await openai().chat.completions.create({
      model,
      messages: [
        { role: "user", content: "[[emulator:stream-error-after=3]] [[emulator:tokens=20]] go" },
      ],
      stream: true,
    });
    const seen: string[] = [];
    const error = await (async () => {
      for await (const chunk of stream) {
        seen.push(chunk.choices[0]?.delta.content ?? "");
        expect(chunk.choices[0]?.finish_reason ?? null).toBeNull();
      }
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as Error).message).toBeTruthy();
    expect(seen.join("").trim().length).toBeGreaterThan(0);
  });

  it("keeps a silent stream alive with SSE comments", async () => {
    const res = await fetch(`${inject("gatewayUrl")}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${inject("apiKey")}`, "content-type": "application/json" },
      body: JSON.stringify({
        model,
        stream: true,
        messages: [{ role: "user", content: "[[emulator:delay-ms=2500]] slow" }],
      }),
    });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text.startsWith(": keep-alive")).toBe(true);
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
  });

  it("cancels the Bedrock call when the client goes away", async () => {
    const tag = marker();
    const abort = new AbortController();
    const stream = await openai().chat.completions.create(
      {
        model,
        stream: true,
        messages: [
          {
            role: "user",
            content: `[[emulator:chunk-delay-ms=100]] [[emulator:tokens=100]] ${tag}`,
          },
        ],
      },
      { signal: abort.signal },
    );
    const abortedAt = await (async () => {
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content) {
          abort.abort();
          return Date.now();
        }
      }
      return 0;
    })().catch(() => Date.now());
    const record = await eventually(async () =>
      (await emulatorRequests()).find(
        (r) => JSON.stringify(r.body ?? "").includes(tag) && r.outcome === "aborted",
      ),
    );
    expect(record.operation).toBe("ConverseStream");
    expect(abortedAt).toBeGreaterThan(0);
  });
});
