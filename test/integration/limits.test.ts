import { BudgetPeriod } from "@strata/proto";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { admin, openai } from "./support.ts";

let counter = 0;
async function keyFor(limits: object) {
  const tenantId = `lim-${process.pid}-${counter++}`;
  await admin().createTenant({ tenantId, policy: { limits } });
  return openai((await admin().createKey({ tenantId })).secret);
}
const ask = (client: OpenAI, maxTokens = 20, content = "count") =>
  client.chat.completions
    .create({
      model: "claude-3-haiku",
      max_tokens: maxTokens,
      messages: [{ role: "user", content }],
    })
    .withResponse()
    .catch((e: unknown) => e);

describe("rate limits", () => {
  it("answers 429 rate_limit_exceeded with retry-after past the requests-per-minute limit, and x-ratelimit headers before", async () => {
    const client = await keyFor({ rate: { requestsPerMinute: 2 } });
    const first = (await ask(client)) as { response: Response };
    expect(first.response.headers.get("x-ratelimit-limit-requests")).toBe("2");
    expect(first.response.headers.get("x-ratelimit-remaining-requests")).toBe("1");
    expect(first.response.headers.get("x-ratelimit-reset-requests")).toMatch(/^\d+(\.\d+)?(ms|s)$/);
    await ask(client);
    const refused = await ask(client);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect(refused).toMatchObject({ status: 429, code: "rate_limit_exceeded" });
    const headers = (refused as InstanceType<typeof OpenAI.RateLimitError>).headers;
    expect(Number(headers?.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(headers?.get("retry-after-ms"))).toBeGreaterThan(0);
  });

  it("limits tokens per minute, reserving the prompt estimate and max_tokens", async () => {
    const client = await keyFor({ rate: { tokensPerMinute: 300 } });
    // Each answer really uses ~200 tokens: after the first settles, a second reservation of
    // prompt + 250 no longer fits in the minute.
    const long = "[[emulator:tokens=200]] count";
    const first = (await ask(client, 250, long)) as { response: Response };
    expect(first.response.headers.get("x-ratelimit-limit-tokens")).toBe("300");
    const second = await ask(client, 250, long);
    expect(second).toBeInstanceOf(OpenAI.RateLimitError);
    expect(second).toMatchObject({ code: "rate_limit_exceeded" });
  });

  it("lets a key narrow its tenant's limits", async () => {
    const tenantId = `lim-${process.pid}-${counter++}`;
    await admin().createTenant({
      tenantId,
      policy: { limits: { rate: { requestsPerMinute: 100 } } },
    });
    const { secret } = await admin().createKey({
      tenantId,
      policy: { limits: { rate: { requestsPerMinute: 1 } } },
    });
    const client = openai(secret);
    expect(await ask(client)).not.toBeInstanceOf(Error);
    expect(await ask(client)).toBeInstanceOf(OpenAI.RateLimitError);
  });
});

describe("budgets", () => {
  it("never lets 50 concurrent requests overshoot a small token budget", async () => {
    const budget = 1_000;
    const client = await keyFor({ budget: { period: BudgetPeriod.MONTH, tokens: budget } });
    const results = await Promise.all(Array.from({ length: 50 }, () => ask(client, 40)));
    const served = results.filter(
      (r): r is { data: OpenAI.Chat.Completions.ChatCompletion; response: Response } =>
        !(r instanceof Error),
    );
    const refused = results.filter((r) => r instanceof OpenAI.RateLimitError);
    expect(served.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(r).toMatchObject({ status: 429, code: "insufficient_quota" });
    const used = served.reduce((sum, r) => sum + (r.data.usage?.total_tokens ?? 0), 0);
    expect(used).toBeLessThanOrEqual(budget);
  });
});
