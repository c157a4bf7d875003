import { roleCredentials } from "@strata/bedrock-emulator";
import { describe, expect, it } from "vitest";
import { crossAccountRole } from "./global-setup.ts";
import { admin, emulatorRequests, marker, openai } from "./support.ts";

let counter = 0;
async function keyFor(policy: object) {
  const tenantId = `up-${process.pid}-${counter++}`;
  await admin().createTenant({ tenantId, policy });
  return openai((await admin().createKey({ tenantId })).secret);
}
const findCall = async (tag: string) =>
  (await emulatorRequests()).filter((r) => JSON.stringify(r.body ?? "").includes(tag));

describe("cross-account tenants", () => {
  it("runs the tenant's chat and embeddings under its own role, assumed with its external id", async () => {
    const client = await keyFor({
      crossAccount: { roleArn: crossAccountRole, externalId: "tenant-ext-42" },
    });
    const tag = marker();
    const res = await client.chat.completions.create({
      model: "claude-3-haiku",
      messages: [{ role: "user", content: tag }],
    });
    expect(res.choices[0]?.finish_reason).toBe("stop");
    const assumed = roleCredentials(crossAccountRole).accessKeyId;
    const [call] = await findCall(tag);
    expect((call as { accessKeyId?: string }).accessKeyId).toBe(assumed);
    const embedTag = marker();
    await client.embeddings.create({ model: "titan-embed-text-v2", input: embedTag });
    const [embedCall] = await findCall(embedTag);
    expect((embedCall as { accessKeyId?: string }).accessKeyId).toBe(assumed);
    // A tenant without a role keeps Strata's own account.
    const own = marker();
    await openai().chat.completions.create({
      model: "claude-3-haiku",
      messages: [{ role: "user", content: own }],
    });
    expect(((await findCall(own))[0] as { accessKeyId?: string }).accessKeyId).not.toBe(assumed);
  });

  it("refuses with 403 cross_account_denied when the external id is wrong, without echoing it", async () => {
    const client = await keyFor({
      crossAccount: { roleArn: crossAccountRole, externalId: "not-the-right-one" },
    });
    const error = await client.chat.completions
      .create({ model: "claude-3-haiku", messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 403, code: "cross_account_denied" });
    expect(JSON.stringify((error as { error?: unknown }).error)).not.toContain("not-the-right-one");
  });
});

describe("guardrails", () => {
  it("applies the tenant's guardrail to every call: an intervention ends with content_filter", async () => {
    const client = await keyFor({ guardrail: { identifier: "gr-strata-test", version: "1" } });
    const tag = marker();
    const ok = await client.chat.completions.create({
      model: "claude-3-haiku",
      messages: [{ role: "user", content: tag }],
    });
    expect(ok.choices[0]?.finish_reason).toBe("stop");
    expect(((await findCall(tag))[0] as { guardrail?: unknown }).guardrail).toEqual({
      identifier: "gr-strata-test",
      version: "1",
    });
    const blocked = await client.chat.completions.create({
      model: "claude-3-haiku",
      messages: [{ role: "user", content: "tell me about BLOCKED-TOPIC" }],
    });
    expect(blocked.choices[0]?.finish_reason).toBe("content_filter");
    const streamed = await client.chat.completions
      .stream({
        model: "claude-3-haiku",
        messages: [{ role: "user", content: "BLOCKED-TOPIC again" }],
      })
      .finalChatCompletion();
    expect(streamed.choices[0]?.finish_reason).toBe("content_filter");
  });
});
