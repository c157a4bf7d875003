import { ConverseCommand } from "@aws-sdk/client-bedrock-runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BedrockEmulator, createBedrockEmulator, decodeFrame } from "./index.ts";
import { createTestClient, createTestClients, type TestClients } from "./testing/test-clients.ts";

const MODEL = "anthropic.claude-haiku-4-5-20251001-v1:0";
const SIGV4_SHAPED = `AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=${"0".repeat(64)}`;

let emulator: BedrockEmulator;
let url: string;
let clients: TestClients;

beforeAll(async () => {
  emulator = createBedrockEmulator();
  ({ url } = await emulator.listen());
  clients = createTestClients(url);
});

afterAll(async () => {
  clients.destroy();
  await emulator.close();
});

const converse = (text: string) =>
  new ConverseCommand({ modelId: MODEL, messages: [{ role: "user", content: [{ text }] }] });

async function post(path: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: SIGV4_SHAPED,
      "x-amz-date": "20250101T000000Z",
      ...headers,
    },
    body,
  });
  return {
    status: response.status,
    errorType: response.headers.get("x-amzn-errortype"),
    requestId: response.headers.get("x-amzn-requestid"),
    body: (await response.json()) as { message?: string },
  };
}

describe("transport", () => {
  it.each(["http2", "http1"] as const)(
    "serves Converse to the SDK over %s on the shared port",
    async (transport) => {
      const response = await clients[transport].send(converse(`hello over ${transport}`));
      expect(response.output?.message?.content).toEqual([
        { text: `Emulated reply to: hello over ${transport}` },
      ]);
      const record = await emulator.waitForRequest((r) => r.id === response.$metadata.requestId);
      expect(record).toMatchObject({
        operation: "Converse",
        modelId: MODEL,
        httpVersion: transport === "http2" ? "2" : "1.1",
        auth: "sigv4",
        outcome: "completed",
        status: 200,
      });
      expect(record.endedAt).toBeGreaterThanOrEqual(record.startedAt);
      expect(record.body).toEqual({
        messages: [{ role: "user", content: [{ text: `hello over ${transport}` }] }],
      });
    },
  );

  it("answers plain HTTP/1.1 clients such as fetch or curl", async () => {
    const response = await post(
      `/model/${encodeURIComponent(MODEL)}/converse`,
      JSON.stringify({ messages: [{ role: "user", content: [{ text: "from fetch" }] }] }),
    );
    expect(response.status).toBe(200);
    expect(response.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("streams event-stream frames to plain HTTP/1.1 clients", async () => {
    const response = await fetch(`${url}/model/${encodeURIComponent(MODEL)}/converse-stream`, {
      method: "POST",
      headers: { authorization: "Bearer t", "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: [{ text: "raw" }] }] }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/vnd.amazon.eventstream");
    const bytes = Buffer.from(await response.arrayBuffer());
    const types: string[] = [];
    for (let at = 0; at < bytes.length; at += bytes.readUInt32BE(at)) {
      const frame = decodeFrame(bytes.subarray(at, at + bytes.readUInt32BE(at)));
      types.push(frame.headers[":event-type"] ?? "");
    }
    expect(types).toEqual([
      "messageStart",
      "contentBlockDelta",
      "contentBlockDelta",
      "contentBlockDelta",
      "contentBlockDelta",
      "contentBlockStop",
      "messageStop",
      "metadata",
    ]);
  });

  it("answers unknown paths with 404 UnknownOperationException", async () => {
    const response = await post("/model/x/summarize", "{}");
    expect(response).toMatchObject({ status: 404, errorType: "UnknownOperationException" });
    expect(response.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers a non-JSON Converse body with 400 SerializationException", async () => {
    const response = await post(`/model/${MODEL}/converse`, "{not json");
    expect(response).toMatchObject({ status: 400, errorType: "SerializationException" });
    expect(response.body.message).toMatch(/not valid JSON/);
  });

  it("rejects requests without Authorization with 403 MissingAuthenticationTokenException", async () => {
    const response = await fetch(`${url}/model/${MODEL}/converse`, { method: "POST", body: "{}" });
    expect(response.status).toBe(403);
    expect(response.headers.get("x-amzn-errortype")).toBe("MissingAuthenticationTokenException");
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.json()).toEqual({ message: "Missing Authentication Token" });
  });
});

describe("inspection API", () => {
  it("reports health", async () => {
    const response = await fetch(`${url}/_emulator/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it("lists and clears recorded requests", async () => {
    const response = await clients.http2.send(converse("inspect me"));
    const listed = (await (await fetch(`${url}/_emulator/requests`)).json()) as { id: string }[];
    expect(listed.map((r) => r.id)).toContain(response.$metadata.requestId);
    expect(emulator.requests().map((r) => r.id)).toContain(response.$metadata.requestId);

    const cleared = await fetch(`${url}/_emulator/requests`, { method: "DELETE" });
    expect(cleared.status).toBe(204);
    expect(await (await fetch(`${url}/_emulator/requests`)).json()).toEqual([]);
    expect(emulator.requests()).toEqual([]);
  });

  it("does not record inspection calls", async () => {
    emulator.clearRequests();
    await fetch(`${url}/_emulator/health`);
    expect(emulator.requests()).toEqual([]);
  });

  it("answers unknown inspection paths with 404", async () => {
    expect((await fetch(`${url}/_emulator/nope`)).status).toBe(404);
  });
});

describe("lifecycle", () => {
  it("close() ends in-flight requests and open connections promptly", async () => {
    const local = createBedrockEmulator();
    const { url: localUrl } = await local.listen();
    const client = createTestClient(localUrl);
    const pending = client
      .send(converse("wait [[emulator:delay-ms=10000]]"))
      .catch((e: unknown) => e);
    await expect.poll(() => local.requests().length).toBe(1);
    const started = Date.now();
    await local.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(local.requests()[0]?.outcome).toBe("aborted");
    expect(await pending).toBeInstanceOf(Error);
    client.destroy();
  });

  it("keeps only maxRecordedRequests records", async () => {
    const local = createBedrockEmulator({ maxRecordedRequests: 2 });
    const { url: localUrl } = await local.listen();
    const client = createTestClient(localUrl, { http1: true });
    for (const text of ["one", "two", "three"]) await client.send(converse(text));
    expect(
      local
        .requests()
        .map(
          (r) =>
            (r.body as { messages: { content: { text: string }[] }[] }).messages[0]?.content[0]
              ?.text,
        ),
    ).toEqual(["two", "three"]);
    client.destroy();
    await local.close();
  });

  it("refuses to listen twice", async () => {
    await expect(emulator.listen()).rejects.toThrow(/cannot listen/);
  });
});
