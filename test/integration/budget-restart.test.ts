import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { type Stack, startStack } from "@strata/devstack";
import { createDynamoClient } from "@strata/dynamodb";
import { bearerAuth, createRpcClient, createRpcTransport } from "@strata/platform";
import { AuthAdminService, BudgetPeriod } from "@strata/proto";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// A budget outlives its limit store. On a stack of its own (metering is restarted here), with
// metering's in-memory store, which a restart empties as a Redis restart empties Redis: the
// budget's usage so far comes back from the usage ledger in DynamoDB.

let stack: Stack;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "strata-budget-restart-"));
  stack = await startStack({
    logLevel: "warn",
    logFile: join(dir, "services.log"),
    // While metering restarts, requests are refused (503) rather than admitted unchecked, so
    // nothing is used that the test does not count.
    serviceEnv: { gateway: { STRATA_METERING_FAIL_MODE: "closed" } },
  });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

async function clientWithBudget(tokens: number): Promise<{ tenantId: string; client: OpenAI }> {
  const admin = createRpcClient(
    AuthAdminService,
    createRpcTransport({ baseUrl: stack.adminUrl, interceptors: [bearerAuth(stack.adminToken)] }),
  );
  const tenantId = `budget-restart-${crypto.randomUUID().slice(0, 8)}`;
  await admin.createTenant({
    tenantId,
    policy: { limits: { budget: { period: BudgetPeriod.MONTH, tokens } } },
  });
  const { secret } = await admin.createKey({ tenantId, name: "budget" });
  const client = new OpenAI({ apiKey: secret, baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0 });
  return { tenantId, client };
}

/** Waits until the tenant's usage ledger holds `count` records. */
async function ledgerHolds(tenantId: string, count: number): Promise<void> {
  const { doc } = createDynamoClient({ region: "us-east-1", endpoint: stack.dynamoEndpoint });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { Count = 0 } = await doc.send(
      new QueryCommand({
        TableName: "strata-usage",
        KeyConditionExpression: "tenantId = :t",
        ExpressionAttributeValues: { ":t": tenantId },
        Select: "COUNT",
      }),
    );
    if (Count >= count) return;
    if (Date.now() > deadline) throw new Error(`${Count} of ${count} ledger records`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const ask = (client: OpenAI, outputTokens: number, maxTokens: number) =>
  client.chat.completions
    .create({
      model: "claude-3-haiku",
      max_tokens: maxTokens,
      messages: [{ role: "user", content: `[[emulator:tokens=${outputTokens}]] count` }],
    })
    .catch((e: unknown) => e);

describe("a token budget across a restart of metering", () => {
  it("still counts what was used before the restart", async () => {
    const { tenantId, client } = await clientWithBudget(1_000);
    let used = 0;
    for (let i = 0; i < 3; i++) {
      const answer = await ask(client, 200, 250);
      expect(answer).not.toBeInstanceOf(Error);
      const { usage } = answer as OpenAI.Chat.Completions.ChatCompletion;
      used += (usage?.prompt_tokens ?? 0) + (usage?.completion_tokens ?? 0);
    }
    expect(used).toBeGreaterThan(600);
    // Settlement is batched off the response path: the restart comes once usage is recorded.
    // (What is settled while metering is down reaches the ledger, not the restarted budget.)
    await ledgerHolds(tenantId, 3);

    // Stopped with SIGTERM, metering writes what its ledger buffer holds before it exits; the
    // new process starts with an empty store, on the same port, where the gateway reconnects.
    const old = stack.services.metering;
    if (!old) throw new Error("no metering service");
    const port = old.ports.grpc;
    await old.stop();
    stack.services.metering = await stack.startReplica("metering", { STRATA_PORT: String(port) });

    // 1,000 − what was used (about 630) leaves less than this request's reservation (prompt +
    // max_tokens 450); with the budget forgotten it would be admitted.
    const refused = await (async () => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const answer = await ask(client, 10, 450);
        // Until the gateway has reconnected, metering is unreachable: 503, try again.
        const unavailable = answer instanceof OpenAI.APIError && answer.status === 503;
        if (!unavailable || Date.now() > deadline) return answer;
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect(refused).toMatchObject({ status: 429, code: "insufficient_quota" });
    expect((refused as Error).message).toContain(`Budget 1000, Used ${used}`);
  });
});
