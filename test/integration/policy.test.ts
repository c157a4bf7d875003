import { readFileSync } from "node:fs";
import { SecretsMode } from "@strata/proto";
import type OpenAI from "openai";
import { describe, expect, inject, it } from "vitest";
import { admin, emulatorRequests, eventually, marker, openai } from "./support.ts";

const model = "claude-3-haiku";
let counter = 0;
/** A tenant with this policy and a key for it. */
async function keyFor(policy: object, keyPolicy: object = {}) {
  const tenantId = `pol-${process.pid}-${counter++}`;
  await admin().createTenant({ tenantId, policy });
  const { secret } = await admin().createKey({ tenantId, policy: keyPolicy });
  return { tenantId, client: openai(secret) };
}
const tool = (name: string): OpenAI.Chat.Completions.ChatCompletionTool => ({
  type: "function",
  function: {
    name,
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
});
const cityIsParis = JSON.stringify({
  type: "object",
  properties: { city: { const: "Paris" } },
  required: ["city"],
});

describe("tool-call validation", () => {
  it("refuses a request declaring a tool outside the policy, naming the param", async () => {
    const { client } = await keyFor({
      toolPolicy: { enforced: true, allowed: [{ name: "get_weather" }] },
    });
    const error = await client.chat.completions
      .create({
        model,
        tools: [tool("get_weather"), tool("run_shell")],
        messages: [{ role: "user", content: "hi" }],
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      status: 400,
      code: "tool_not_allowed",
      param: "tools[1].function.name",
    });
  });

  it("blocks a returned tool call whose arguments break the schema, and keeps the others", async () => {
    const { client, tenantId } = await keyFor({
      toolPolicy: {
        enforced: true,
        allowed: [{ name: "get_weather" }, { name: "get_time", argumentsSchemaJson: cityIsParis }],
      },
    });
    const { data, response } = await client.chat.completions
      .create({
        model,
        tools: [tool("get_weather"), tool("get_time")],
        messages: [{ role: "user", content: "[[emulator:tools=get_weather,get_time]] both" }],
      })
      .withResponse();
    const names = (data.choices[0]?.message.tool_calls ?? []).map((c) =>
      c.type === "function" ? c.function.name : "",
    );
    expect(names).toEqual(["get_weather"]);
    expect(response.headers.get("x-strata-tool-calls-blocked")).toBe("1");
    expect(data.choices[0]?.finish_reason).toBe("tool_calls");
    const events = await eventually(async () => {
      const { events } = await admin().listAuditEvents({ tenantId });
      return events.some((e) => e.action === "tool_call.blocked") ? events : undefined;
    });
    const blocked = events.find((e) => e.action === "tool_call.blocked");
    expect(blocked).toMatchObject({ target: "get_time", result: "blocked" });
    expect(JSON.stringify(events)).not.toContain("example"); // the arguments are never audited
  });

  it("blocks it in a stream too: the SDK sees only the allowed call, indexed from 0", async () => {
    const { client } = await keyFor({
      toolPolicy: {
        enforced: true,
        allowed: [{ name: "get_time", argumentsSchemaJson: cityIsParis }, { name: "get_weather" }],
      },
    });
    const final = await client.chat.completions
      .stream({
        model,
        tools: [tool("get_time"), tool("get_weather")],
        messages: [{ role: "user", content: "[[emulator:tools=get_time,get_weather]] both" }],
      })
      .finalChatCompletion();
    const calls = final.choices[0]?.message.tool_calls ?? [];
    expect(calls.map((c) => (c.type === "function" ? c.function.name : ""))).toEqual([
      "get_weather",
    ]);
  });

  it("ends with content_filter when every returned tool call was blocked", async () => {
    const { client } = await keyFor(
      {},
      {
        toolPolicy: {
          enforced: true,
          allowed: [
            {
              name: "fs_*",
              argumentsSchemaJson: JSON.stringify({
                type: "object",
                properties: { path: { type: "string", pattern: "^/workspace/" } },
                required: ["path"],
              }),
            },
          ],
        },
      },
    );
    const fsRead: OpenAI.Chat.Completions.ChatCompletionTool = {
      type: "function",
      function: {
        name: "fs_read",
        parameters: {
          type: "object",
          properties: { path: { type: "string" } },
          required: ["path"],
        },
      },
    };
    const res = await client.chat.completions.create({
      model,
      tools: [fsRead],
      messages: [{ role: "user", content: "[[emulator:tool=fs_read]] read /etc/passwd" }],
    });
    expect(res.choices[0]?.message.tool_calls ?? []).toEqual([]);
    expect(res.choices[0]?.finish_reason).toBe("content_filter");
  });
});

describe("credentials in prompts", () => {
  const leaky = "deploy with AKIAIOSFODNN7EXAMPLE please";

  it("blocks a prompt carrying an AWS access key id, naming the message, without echoing it", async () => {
    const { client } = await keyFor({ secrets: SecretsMode.BLOCK });
    const error = await client.chat.completions
      .create({ model, messages: [{ role: "user", content: leaky }] })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      status: 400,
      code: "sensitive_data_detected",
      param: "messages[0].content",
    });
    expect((error as Error).message).not.toContain("AKIAIOSFODNN7EXAMPLE");
  });

  it("redacts it before Bedrock when the policy says redact", async () => {
    const { client } = await keyFor({ secrets: SecretsMode.REDACT });
    const tag = marker();
    const res = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: `${tag} ${leaky}` }],
    });
    expect(res.choices[0]?.message.content).not.toContain("AKIAIOSFODNN7EXAMPLE");
    const sent = (await emulatorRequests()).find((r) => JSON.stringify(r.body ?? "").includes(tag));
    expect(JSON.stringify(sent?.body)).toContain("[REDACTED:");
    expect(JSON.stringify(sent?.body)).not.toContain("AKIAIOSFODNN7EXAMPLE");
  });

  it("lets it through when the tenant does not filter", async () => {
    const res = await openai().chat.completions.create({
      model,
      messages: [{ role: "user", content: leaky }],
    });
    expect(res.choices[0]?.message.content).toContain("AKIAIOSFODNN7EXAMPLE");
  });
});

describe("content logging", () => {
  it("logs prompts only for tenants that opted in", async () => {
    const quiet = marker();
    const loud = marker();
    await openai().chat.completions.create({ model, messages: [{ role: "user", content: quiet }] });
    const { client } = await keyFor({ contentLogging: true });
    await client.chat.completions.create({ model, messages: [{ role: "user", content: loud }] });
    const log = await eventually(async () => {
      const text = readFileSync(inject("logFile"), "utf8");
      return text.includes(loud) ? text : undefined;
    });
    expect(log).not.toContain(quiet);
  });
});

describe("data residency", () => {
  it("refuses a model served outside the tenant's regions and hides it from /v1/models", async () => {
    const { client } = await keyFor({ allowedRegions: ["eu"] });
    const error = await client.chat.completions
      .create({ model, messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 403, code: "region_not_allowed", param: "model" });
    expect((await client.models.list()).data).toEqual([]);
  });

  it("serves the models of an allowed geography", async () => {
    const { client } = await keyFor({ allowedRegions: ["us"] });
    const res = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "hi" }],
    });
    expect(res.choices[0]?.finish_reason).toBe("stop");
    expect((await client.models.list()).data.length).toBeGreaterThan(0);
  });
});
