import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { admin, emulatorRequests, marker, newTenantKey, openai } from "./support.ts";

// What opencode does on every model: max_tokens 32,000, above most models' output limits.
describe("max_tokens above the model's output limit", () => {
  it("is lowered to the limit by default, and the answer says so", async () => {
    const tag = marker();
    const { data, response } = await openai()
      .chat.completions.create({
        model: "claude-3-haiku",
        messages: [{ role: "user", content: `hello ${tag}` }],
        max_tokens: 32_000,
      })
      .withResponse();
    expect(data.choices[0]?.message.content).toContain("hello");
    expect(response.headers.get("x-strata-max-tokens-clamped")).toBe("requested=32000; limit=4096");
    const sent = (await emulatorRequests()).find((r) => JSON.stringify(r.body).includes(tag));
    expect(sent?.body).toMatchObject({ inferenceConfig: { maxTokens: 4096 } });
  });

  it("streams too, with the header on the stream", async () => {
    const { data, response } = await openai()
      .chat.completions.create({
        model: "nova-micro",
        messages: [{ role: "user", content: "a stream" }],
        max_completion_tokens: 32_000,
        stream: true,
      })
      .withResponse();
    let text = "";
    for await (const chunk of data) text += chunk.choices[0]?.delta.content ?? "";
    expect(text.length).toBeGreaterThan(0);
    expect(response.headers.get("x-strata-max-tokens-clamped")).toBe("requested=32000; limit=5000");
  });

  it("is refused with a 400 naming max_tokens for a tenant whose policy asks for that", async () => {
    const { tenantId, apiKey } = await newTenantKey();
    await admin().updateTenant({ tenantId, policy: { rejectExcessMaxTokens: true } });
    // The tenant change reaches the gateway's key cache through the revocation feed.
    let error: unknown;
    for (let i = 0; i < 40; i++) {
      error = await openai(apiKey)
        .chat.completions.create({
          model: "claude-3-haiku",
          messages: [{ role: "user", content: "hi" }],
          max_tokens: 32_000,
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      if (error) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({
      status: 400,
      param: "max_tokens",
      message: expect.stringContaining("This model supports at most 4096 completion tokens"),
    });
    // Within the limit, the tenant is served as before.
    const ok = await openai(apiKey).chat.completions.create({
      model: "claude-3-haiku",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 4096,
    });
    expect(ok.choices[0]?.finish_reason).toBe("stop");
  });
});
