import {
  ConverseCommand,
  type ConverseCommandInput,
  ConverseStreamCommand,
  type GuardrailConfiguration,
  ValidationException,
} from "@aws-sdk/client-bedrock-runtime";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type BedrockEmulator, createBedrockEmulator, GUARDRAIL_TEXT } from "./index.ts";
import { createTestClients, expectBedrockError, type TestClients } from "./testing/test-clients.ts";

const HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0";
const GUARDRAIL = { guardrailIdentifier: "gr-abc123", guardrailVersion: "1" };

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
beforeEach(() => emulator.clearRequests());

const converse = (text: string, guardrailConfig?: GuardrailConfiguration) =>
  clients.http2.send(
    new ConverseCommand({
      modelId: HAIKU,
      messages: [{ role: "user", content: [{ text }] }],
      ...(guardrailConfig ? { guardrailConfig } : {}),
    }),
  );

describe("guardrailConfig validation", () => {
  it.each<[string, GuardrailConfiguration, RegExp]>([
    [
      "an empty identifier",
      { guardrailIdentifier: "", guardrailVersion: "1" },
      /guardrailIdentifier must be a non-empty string of at most 2048/,
    ],
    [
      "an identifier longer than 2048 characters",
      { guardrailIdentifier: "g".repeat(2049), guardrailVersion: "1" },
      /guardrailIdentifier must be a non-empty string/,
    ],
    [
      "a missing version",
      { guardrailIdentifier: "gr-1" },
      /guardrailVersion must be "DRAFT" or a version number/,
    ],
    [
      "a version that is neither DRAFT nor a number",
      { guardrailIdentifier: "gr-1", guardrailVersion: "latest" },
      /guardrailVersion must be "DRAFT" or a version number/,
    ],
    [
      "a lower-case draft",
      { guardrailIdentifier: "gr-1", guardrailVersion: "draft" },
      /guardrailVersion must be "DRAFT"/,
    ],
    [
      "an unknown trace value",
      { guardrailIdentifier: "gr-1", guardrailVersion: "1", trace: "full" as never },
      /trace must be one of enabled, disabled, enabled_full/,
    ],
  ])("rejects %s with ValidationException", async (_case, guardrailConfig, message) => {
    await expectBedrockError(converse("hi", guardrailConfig), {
      name: "ValidationException",
      type: ValidationException,
      status: 400,
      message,
    });
  });

  // Members the SDK's Converse shape cannot carry, sent as raw JSON.
  it.each([
    ["streamProcessingMode on Converse", { ...GUARDRAIL, streamProcessingMode: "sync" }],
    ["an unknown member", { ...GUARDRAIL, guardrailArn: "arn" }],
  ])("rejects %s sent as raw JSON", async (_case, guardrailConfig) => {
    const response = await fetch(`${url}/model/${encodeURIComponent(HAIKU)}/converse`, {
      method: "POST",
      headers: { authorization: "Bearer test", "content-type": "application/json" },
      body: JSON.stringify({
        messages: [{ role: "user", content: [{ text: "hi" }] }],
        guardrailConfig,
      }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toMatch(
      /guardrailConfig has an unknown member/,
    );
  });

  it.each(["DRAFT", "1", "12345678"])("accepts version %s and records the guardrail", async (v) => {
    const response = await converse("hi", {
      guardrailIdentifier: "arn:aws:bedrock:us-east-1:123456789012:guardrail/abc123",
      guardrailVersion: v,
      trace: "enabled",
    });
    expect(response.stopReason).toBe("end_turn");
    const record = await emulator.waitForRequest((r) => r.id === response.$metadata.requestId);
    expect(record.guardrail).toEqual({
      identifier: "arn:aws:bedrock:us-east-1:123456789012:guardrail/abc123",
      version: v,
    });
  });

  it("records no guardrail on a request without one", async () => {
    const response = await converse("hi");
    const record = await emulator.waitForRequest((r) => r.id === response.$metadata.requestId);
    expect(record.guardrail).toBeUndefined();
  });
});

describe("guardrail intervention", () => {
  it.each<[string, string, GuardrailConfiguration | undefined, string]>([
    [
      "a guardrail and the blocked word",
      "Tell me about BLOCKED-TOPIC.",
      GUARDRAIL,
      "guardrail_intervened",
    ],
    [
      "a guardrail and the directive",
      "hi [[emulator:guardrail]]",
      GUARDRAIL,
      "guardrail_intervened",
    ],
    [
      "the directive without a guardrail (as before)",
      "hi [[emulator:guardrail]]",
      undefined,
      "guardrail_intervened",
    ],
    ["the blocked word without a guardrail", "Tell me about BLOCKED-TOPIC.", undefined, "end_turn"],
    ["a guardrail and harmless text", "Tell me about the weather.", GUARDRAIL, "end_turn"],
    [
      "a guardrail and the word in lower case",
      "Tell me about blocked-topic.",
      GUARDRAIL,
      "end_turn",
    ],
    [
      "a guardrail and the word inside another",
      "Tell me about BLOCKED-TOPICS.",
      GUARDRAIL,
      "end_turn",
    ],
  ])("with %s answers %s", async (_case, text, guardrail, stopReason) => {
    const response = await converse(text, guardrail);
    expect(response.stopReason).toBe(stopReason);
    const answer = response.output?.message?.content?.[0]?.text;
    if (stopReason === "guardrail_intervened") expect(answer).toBe(GUARDRAIL_TEXT);
    else expect(answer).toMatch(/^Emulated reply to:/);
  });

  it("only looks at the last user turn", async () => {
    const input: ConverseCommandInput = {
      modelId: HAIKU,
      guardrailConfig: GUARDRAIL,
      messages: [
        { role: "user", content: [{ text: "BLOCKED-TOPIC" }] },
        { role: "assistant", content: [{ text: GUARDRAIL_TEXT }] },
        { role: "user", content: [{ text: "Something else then." }] },
      ],
    };
    const response = await clients.http2.send(new ConverseCommand(input));
    expect(response.stopReason).toBe("end_turn");
  });

  it("intervenes in a stream (sync processing mode accepted), recording the guardrail", async () => {
    const response = await clients.http1.send(
      new ConverseStreamCommand({
        modelId: HAIKU,
        messages: [{ role: "user", content: [{ text: "BLOCKED-TOPIC please" }] }],
        guardrailConfig: { ...GUARDRAIL, streamProcessingMode: "sync" },
      }),
    );
    let text = "";
    let stopReason: string | undefined;
    for await (const event of response.stream ?? []) {
      text += event.contentBlockDelta?.delta?.text ?? "";
      stopReason = event.messageStop?.stopReason ?? stopReason;
    }
    expect(text).toBe(GUARDRAIL_TEXT);
    expect(stopReason).toBe("guardrail_intervened");
    const record = await emulator.waitForRequest((r) => r.operation === "ConverseStream");
    expect(record.guardrail).toEqual({ identifier: "gr-abc123", version: "1" });
  });
});
