import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Stack, startStack } from "@strata/devstack";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** One span as OTLP/HTTP JSON carries it, with its resource's service name. */
interface ExportedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpExport {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: Array<{
      spans?: Array<{
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind: number;
        attributes?: OtlpAttribute[];
      }>;
    }>;
  }>;
}

const spanKind = { server: 2, client: 3 } as const;

function attributesOf(list: OtlpAttribute[] = []) {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list) {
    const v = value.stringValue ?? value.boolValue ?? value.doubleValue ?? value.intValue;
    if (v !== undefined) out[key] = typeof v === "string" && "intValue" in value ? Number(v) : v;
  }
  return out;
}

/** A tiny OTLP/HTTP (JSON) traces receiver keeping every body it was sent. */
async function startReceiver() {
  const bodies: string[] = [];
  const spans: ExportedSpan[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      bodies.push(body);
      const parsed = JSON.parse(body) as OtlpExport;
      for (const rs of parsed.resourceSpans ?? []) {
        const service = String(attributesOf(rs.resource?.attributes)["service.name"] ?? "");
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            spans.push({
              service,
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? "",
              name: s.name,
              kind: s.kind,
              attributes: attributesOf(s.attributes),
            });
          }
        }
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
  return { url, bodies, spans, close: () => new Promise((r) => server.close(r)) };
}

const services = ["gateway", "auth", "metering", "inference"] as const;

describe("distributed tracing", () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let stack: Stack;

  beforeAll(async () => {
    receiver = await startReceiver();
    const env = { STRATA_OTLP_ENDPOINT: receiver.url, STRATA_OTLP_EXPORT_DELAY_MS: "100" };
    stack = await startStack({
      logLevel: "warn",
      bootstrap: true,
      serviceEnv: Object.fromEntries(services.map((s) => [s, env])),
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await receiver?.close();
  });

  it("follows one chat request across all four services in one trace, without the API key", async () => {
    const apiKey = stack.apiKey ?? "";
    expect(apiKey).not.toBe("");
    // The caller's own trace: the gateway continues it.
    const traceId = randomBytes(16).toString("hex");
    const callerSpanId = randomBytes(8).toString("hex");
    const client = new OpenAI({
      apiKey,
      baseURL: `${stack.gatewayUrl}/v1`,
      maxRetries: 0,
      defaultHeaders: { traceparent: `00-${traceId}-${callerSpanId}-01` },
    });
    const answer = await client.chat.completions.create({
      model: "claude-3-haiku",
      messages: [{ role: "user", content: "trace me please" }],
    });
    expect(answer.choices[0]?.message.content).toContain("trace me please");

    const inTrace = () => receiver.spans.filter((s) => s.traceId === traceId);
    const bedrockCall = () =>
      inTrace().find(
        (s) =>
          s.service === "strata-inference" &&
          s.kind === spanKind.client &&
          s.attributes["gen_ai.system"] === "aws.bedrock",
      );
    const deadline = Date.now() + 10_000;
    for (;;) {
      const admitted = inTrace().some(
        (s) => s.service === "strata-metering" && s.kind === spanKind.server,
      );
      const servedAll = services.every((s) =>
        inTrace().some((span) => span.service === `strata-${s}` && span.kind === spanKind.server),
      );
      // Each service exports on its own schedule: a child can arrive before its parent (the
      // batched Settle's server span before the gateway's client span), so wait for both.
      const ids = new Set(inTrace().map((s) => s.spanId));
      const orphans = inTrace().filter(
        (s) => s.parentSpanId !== callerSpanId && !ids.has(s.parentSpanId ?? ""),
      );
      if (servedAll && admitted && bedrockCall() && orphans.length === 0) break;
      if (Date.now() > deadline) {
        const names = (list: ReturnType<typeof inTrace>) => JSON.stringify(list.map((s) => s.name));
        throw new Error(`spans missing: ${names(inTrace())}; without parent: ${names(orphans)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }

    const spans = inTrace();
    // The gateway's SERVER span is the root of Strata's part, a child of the caller's span.
    const root = spans.find((s) => s.service === "strata-gateway" && s.kind === spanKind.server);
    expect(root?.parentSpanId).toBe(callerSpanId);
    expect(root?.name).toBe("POST /v1/chat/completions");
    expect(root?.attributes).toMatchObject({
      "http.request.method": "POST",
      "url.path": "/v1/chat/completions",
      "http.response.status_code": 200,
      "gen_ai.request.model": "anthropic.claude-3-haiku-20240307-v1:0",
    });
    expect(root?.attributes["strata.tenant_id"]).toBeTruthy();

    // Every other span hangs off a span of the same trace.
    const ids = new Set(spans.map((s) => s.spanId));
    for (const span of spans) {
      if (span === root) continue;
      expect(ids, `parent of ${span.service} ${span.name}`).toContain(span.parentSpanId);
    }

    // Each RPC is a CLIENT span in the caller with the callee's SERVER span as its child.
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    for (const service of ["auth", "metering", "inference"]) {
      const servers = spans.filter(
        (s) => s.service === `strata-${service}` && s.kind === spanKind.server,
      );
      expect(servers.length, service).toBeGreaterThan(0);
      for (const server of servers) {
        const parent = byId.get(server.parentSpanId);
        expect(parent?.kind).toBe(spanKind.client);
        expect(parent?.attributes["rpc.system"]).toBe("grpc");
        expect(parent?.name).toBe(server.name);
      }
    }
    const verify = spans.find((s) => s.service === "strata-auth" && s.kind === spanKind.server);
    expect(verify?.attributes["rpc.method"]).toBe("VerifyKey");

    // The Bedrock call is a child of inference's SERVER span, with GenAI attributes.
    const bedrock = bedrockCall();
    expect(byId.get(bedrock?.parentSpanId ?? "")?.service).toBe("strata-inference");
    expect(bedrock?.attributes).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.request.model": "us.anthropic.claude-3-haiku-20240307-v1:0",
    });
    expect(bedrock?.attributes["gen_ai.usage.input_tokens"]).toBeGreaterThan(0);
    expect(bedrock?.attributes["gen_ai.usage.output_tokens"]).toBeGreaterThan(0);

    // Nothing exported carries the key, the admin token or the prompt.
    const exported = receiver.bodies.join("\n");
    expect(exported).not.toContain(apiKey);
    expect(exported).not.toContain(stack.adminToken);
    expect(exported).not.toContain("trace me please");
  });
});
