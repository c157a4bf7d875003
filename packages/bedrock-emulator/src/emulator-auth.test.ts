import {
  BedrockRuntimeClient,
  BedrockRuntimeServiceException,
  ConverseCommand,
} from "@aws-sdk/client-bedrock-runtime";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BedrockEmulator, createBedrockEmulator } from "./index.ts";
import { createTestClient, expectBedrockError } from "./testing/test-clients.ts";

const CREDENTIALS = { accessKeyId: "AKIDSTRICT", secretAccessKey: "correct-secret" };
const MODEL_ARN =
  "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0";

const converse = () =>
  new ConverseCommand({
    modelId: MODEL_ARN,
    messages: [{ role: "user", content: [{ text: "ünïcödé body" }] }],
  });

function bearerClient(url: string, token: string, http1 = false): BedrockRuntimeClient {
  return new BedrockRuntimeClient({
    endpoint: url,
    region: "us-east-1",
    token: { token },
    authSchemePreference: ["httpBearerAuth"],
    maxAttempts: 1,
    ...(http1 ? { requestHandler: new NodeHttpHandler() } : {}),
  });
}

async function withClient<T>(
  client: BedrockRuntimeClient,
  run: (c: BedrockRuntimeClient) => Promise<T>,
) {
  try {
    return await run(client);
  } finally {
    client.destroy();
  }
}

describe("strict SigV4", () => {
  let emulator: BedrockEmulator;
  let url: string;

  beforeAll(async () => {
    emulator = createBedrockEmulator({ strictSigV4: CREDENTIALS, bearerToken: "api-key-1" });
    ({ url } = await emulator.listen());
  });
  afterAll(() => emulator.close());

  it.each([false, true])(
    "accepts requests signed with the right secret (http1: %s)",
    async (http1) => {
      const response = await withClient(
        createTestClient(url, { http1, credentials: CREDENTIALS }),
        (c) => c.send(converse()),
      );
      expect(response.stopReason).toBe("end_turn");
    },
  );

  it.each([false, true])(
    "rejects a wrong secret with 403 InvalidSignatureException (http1: %s)",
    async (http1) => {
      const client = createTestClient(url, {
        http1,
        credentials: { ...CREDENTIALS, secretAccessKey: "wrong-secret" },
      });
      const error = await withClient(client, (c) =>
        expectBedrockError(c.send(converse()), {
          name: "InvalidSignatureException",
          type: BedrockRuntimeServiceException,
          status: 403,
          message: /signature we calculated does not match/,
        }),
      );
      const record = await emulator.waitForRequest((r) => r.id === error.$metadata?.requestId);
      expect(record).toMatchObject({
        auth: "sigv4",
        outcome: "error",
        errorType: "InvalidSignatureException",
      });
    },
  );

  it("rejects an unknown access key with 403 UnrecognizedClientException", async () => {
    const client = createTestClient(url, {
      credentials: { accessKeyId: "AKIDOTHER", secretAccessKey: "x" },
    });
    await withClient(client, (c) =>
      expectBedrockError(c.send(converse()), { name: "UnrecognizedClientException", status: 403 }),
    );
  });

  it("accepts the configured bearer token and rejects others", async () => {
    const ok = await withClient(bearerClient(url, "api-key-1"), (c) => c.send(converse()));
    expect(ok.stopReason).toBe("end_turn");
    await withClient(bearerClient(url, "api-key-2", true), (c) =>
      expectBedrockError(c.send(converse()), { name: "UnrecognizedClientException", status: 403 }),
    );
  });
});

describe("strict SigV4 without a bearer token", () => {
  it("rejects every bearer token", async () => {
    const emulator = createBedrockEmulator({ strictSigV4: CREDENTIALS });
    const { url } = await emulator.listen();
    await withClient(bearerClient(url, "anything"), (c) =>
      expectBedrockError(c.send(converse()), { name: "UnrecognizedClientException", status: 403 }),
    );
    await emulator.close();
  });
});

describe("default auth", () => {
  let emulator: BedrockEmulator;
  let url: string;

  beforeAll(async () => {
    emulator = createBedrockEmulator();
    ({ url } = await emulator.listen());
  });
  afterAll(() => emulator.close());

  it("accepts any well-formed SigV4 credentials", async () => {
    const client = createTestClient(url, {
      credentials: { accessKeyId: "ANY", secretAccessKey: "thing" },
    });
    const response = await withClient(client, (c) => c.send(converse()));
    expect(response.stopReason).toBe("end_turn");
  });

  it.each([false, true])("accepts Bearer tokens and records them (http1: %s)", async (http1) => {
    const response = await withClient(bearerClient(url, "whatever", http1), (c) =>
      c.send(converse()),
    );
    const record = await emulator.waitForRequest((r) => r.id === response.$metadata.requestId);
    expect(record.auth).toBe("bearer");
  });

  it.each([
    ["no Authorization header", {}, 403, "MissingAuthenticationTokenException"],
    [
      "an empty Bearer token",
      { authorization: "Bearer " },
      403,
      "MissingAuthenticationTokenException",
    ],
    [
      "an unknown scheme",
      { authorization: "Basic dXNlcjpwYXNz" },
      400,
      "IncompleteSignatureException",
    ],
    [
      "a SigV4 header without Signature",
      {
        authorization:
          "AWS4-HMAC-SHA256 Credential=A/20250101/us-east-1/bedrock/aws4_request, SignedHeaders=host",
        "x-amz-date": "20250101T000000Z",
      },
      400,
      "IncompleteSignatureException",
    ],
    [
      "a SigV4 header without a date",
      {
        authorization: `AWS4-HMAC-SHA256 Credential=A/20250101/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=${"a".repeat(64)}`,
      },
      400,
      "IncompleteSignatureException",
    ],
  ])("rejects %s", async (_case, headers: Record<string, string>, status, errorType) => {
    const response = await fetch(`${url}/model/amazon.nova-micro-v1%3A0/converse`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ messages: [{ role: "user", content: [{ text: "a" }] }] }),
    });
    expect(response.status).toBe(status);
    expect(response.headers.get("x-amzn-errortype")).toBe(errorType);
  });
});
