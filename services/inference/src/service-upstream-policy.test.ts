import { type AddressInfo, createServer } from "node:net";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import {
  type BedrockEmulator,
  createBedrockEmulator,
  roleCredentials,
} from "@strata/bedrock-emulator";
import { fromConnectError, type StrataError } from "@strata/errors";
import { createLogger, createRpcClient, createRpcTransport } from "@strata/platform";
import {
  type ChatRequestSchema,
  type ChatStreamResponse,
  InferenceService,
  Role,
  StopReason,
  type UpstreamPolicySchema,
} from "@strata/proto";
import { Registry } from "prom-client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createBedrockClient,
  createBedrockRequestHandler,
  emulatorAccessKeyId,
} from "./bedrock-client.ts";
import { createDefaultCatalog } from "./catalog.ts";
import { createInferenceServer, type InferenceServer } from "./server.ts";
import { createStsClient } from "./sts-client.ts";
import { crossAccountDeniedMessage } from "./sts-error.ts";

/**
 * UpstreamPolicy end to end: real gRPC, the real Bedrock and STS SDK clients, the emulator as
 * Bedrock and as STS. Each test uses its own tenant id, so its cross-account client (and cached
 * credentials) is its own.
 */

const TENANT_ROLE = "arn:aws:iam::210987654321:role/StrataTenant";
const EXTERNAL_ID = "ext-7f3a";
const ROLE_KEY = roleCredentials(TENANT_ROLE).accessKeyId;

let emulator: BedrockEmulator;
let url: string;
let server: InferenceServer;
let registry: Registry;
/** The servers' clock offset: moving it forward brings credentials closer to expiry. */
let clockOffsetMs = 0;
const cleanup: (() => unknown)[] = [];

async function startServer(options: { stsEndpoint?: string; crossAccount?: boolean } = {}) {
  const bedrock = {
    region: "us-east-1",
    endpoint: url,
    maxAttempts: 1,
    requestHandler: createBedrockRequestHandler(),
  };
  const client = createBedrockClient({ ...bedrock, credentials: "emulator" });
  const sts = createStsClient({
    region: "us-east-1",
    endpoint: options.stsEndpoint ?? url,
    credentials: "emulator",
    maxAttempts: 1,
  });
  const serverRegistry = new Registry();
  const started = await createInferenceServer({
    catalog: createDefaultCatalog({ region: "us-east-1" }),
    client,
    ...(options.crossAccount === false
      ? {}
      : {
          crossAccount: {
            sts,
            createClient: (credentials) => createBedrockClient({ ...bedrock, credentials }),
            now: () => Date.now() + clockOffsetMs,
          },
        }),
    logger: createLogger({ service: "inference", level: "silent" }),
    registry: serverRegistry,
    host: "127.0.0.1",
    port: 0,
    timeoutMs: 10_000,
    streamIdleTimeoutMs: 10_000,
  });
  cleanup.push(
    () => started.close(500),
    () => client.destroy(),
    () => sts.destroy(),
  );
  return { server: started, registry: serverRegistry };
}

beforeAll(async () => {
  emulator = createBedrockEmulator({
    stsRoles: [{ roleArn: TENANT_ROLE, externalId: EXTERNAL_ID }],
  });
  ({ url } = await emulator.listen(0));
  ({ server, registry } = await startServer());
});
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
  await emulator?.close();
});
beforeEach(() => {
  emulator.clearRequests();
  clockOffsetMs = 0;
});

const inference = (s: InferenceServer = server) =>
  createRpcClient(InferenceService, createRpcTransport({ baseUrl: `http://127.0.0.1:${s.port}` }));

type ChatInit = Exclude<MessageInitShape<typeof ChatRequestSchema>, { $typeName: string }>;
type UpstreamInit = Exclude<MessageInitShape<typeof UpstreamPolicySchema>, { $typeName: string }>;

const chat = (tenantId: string, text: string, upstream?: UpstreamInit): ChatInit => ({
  model: "nova-micro",
  messages: [{ role: Role.USER, content: [{ block: { case: "text", value: text } }] }],
  requestId: `req-${tenantId}`,
  principal: { tenantId, keyId: "key-1" },
  ...(upstream ? { upstream } : {}),
});
const crossAccount = (externalId = EXTERNAL_ID): UpstreamInit => ({
  crossAccount: { roleArn: TENANT_ROLE, externalId },
});
const guardrail: UpstreamInit = { guardrail: { identifier: "gr-tenant", version: "3" } };

const assumeRoles = () => emulator.requests().filter((r) => r.operation === "AssumeRole");
const bedrockCalls = () => emulator.requests().filter((r) => r.operation !== "AssumeRole");

async function failure(promise: Promise<unknown>): Promise<StrataError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectError);
  return fromConnectError(error as ConnectError);
}

async function collect(stream: AsyncIterable<ChatStreamResponse>) {
  const events: ChatStreamResponse[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

const streamStopReason = (events: ChatStreamResponse[]) => {
  const stop = events.find((e) => e.event.case === "stop")?.event;
  return stop?.case === "stop" ? stop.value.stopReason : undefined;
};

describe("cross-account upstream policy", () => {
  it("signs a tenant's chat with the role assumed through STS", async () => {
    const response = await inference().chat(chat("acme", "hello", crossAccount()));
    expect(response.stopReason).toBe(StopReason.END_TURN);
    const [assumed] = assumeRoles();
    expect(assumed).toMatchObject({
      roleArn: TENANT_ROLE,
      outcome: "completed",
      accessKeyId: emulatorAccessKeyId,
      body: {
        RoleSessionName: "strata-acme",
        ExternalId: EXTERNAL_ID,
        DurationSeconds: "3600",
      },
    });
    expect(bedrockCalls()).toMatchObject([{ operation: "Converse", accessKeyId: ROLE_KEY }]);
    expect(ROLE_KEY).toMatch(/^ASIA/);
  });

  it("keeps a tenant without a role on Strata's own credentials", async () => {
    await inference().chat(chat("plain", "hello"));
    expect(assumeRoles()).toHaveLength(0);
    expect(bedrockCalls()).toMatchObject([{ accessKeyId: emulatorAccessKeyId }]);
  });

  it("streams with the assumed role", async () => {
    const events = await collect(
      inference().chatStream({ chat: chat("streamer", "hello", crossAccount()) }),
    );
    expect(streamStopReason(events)).toBe(StopReason.END_TURN);
    expect(bedrockCalls()).toMatchObject([{ operation: "ConverseStream", accessKeyId: ROLE_KEY }]);
  });

  it("embeds with the assumed role", async () => {
    const response = await inference().embed({
      model: "titan-embed-text-v2",
      inputs: ["a", "b"],
      principal: { tenantId: "embedder" },
      upstream: crossAccount(),
    });
    expect(response.embeddings).toHaveLength(2);
    expect(assumeRoles()).toHaveLength(1);
    expect(bedrockCalls().map((r) => [r.operation, r.accessKeyId])).toEqual([
      ["InvokeModel", ROLE_KEY],
      ["InvokeModel", ROLE_KEY],
    ]);
  });

  it("assumes the role once for concurrent and later calls", async () => {
    const request = chat("reuser", "hello", crossAccount());
    await Promise.all([inference().chat(request), inference().chat(request)]);
    await inference().chat(request);
    expect(assumeRoles()).toHaveLength(1);
    expect(bedrockCalls().map((r) => r.accessKeyId)).toEqual([ROLE_KEY, ROLE_KEY, ROLE_KEY]);
  });

  it("assumes the role again once its credentials are within 5 minutes of expiry", async () => {
    const request = chat("refresher", "hello", crossAccount());
    await inference().chat(request);
    clockOffsetMs = 54 * 60_000;
    await inference().chat(request);
    expect(assumeRoles()).toHaveLength(1);
    clockOffsetMs = 56 * 60_000;
    await inference().chat(request);
    // The SDK asks for credentials more than once per call; with the clock still 56 minutes
    // ahead, even fresh credentials look old, so only "assumed again" is asserted here …
    const refreshed = assumeRoles().length;
    expect(refreshed).toBeGreaterThan(1);
    // … and back on time, the refreshed credentials are reused.
    clockOffsetMs = 0;
    await inference().chat(request);
    expect(assumeRoles()).toHaveLength(refreshed);
    expect(bedrockCalls().map((r) => r.accessKeyId)).toEqual([
      ROLE_KEY,
      ROLE_KEY,
      ROLE_KEY,
      ROLE_KEY,
    ]);
  });

  it("refuses a wrong external id with permission_denied / cross_account_denied", async () => {
    const error = await failure(inference().chat(chat("wrong-id", "hello", crossAccount("ext-0"))));
    expect(error).toMatchObject({
      reason: "permission_denied",
      code: "cross_account_denied",
      message: crossAccountDeniedMessage,
    });
    expect(error.message).not.toContain("ext-0");
    expect(assumeRoles()).toMatchObject([{ errorType: "AccessDenied", status: 403 }]);
    expect(bedrockCalls()).toHaveLength(0);
    const metrics = await registry.getSingleMetricAsString("strata_inference_assume_role_total");
    expect(metrics).toMatch(/outcome="cross_account_denied"\} [1-9]/);
    expect(metrics).toMatch(/outcome="success"\} [1-9]/);
  });

  it("fails a stream of a refused role the same way", async () => {
    const error = await failure(
      collect(inference().chatStream({ chat: chat("wrong-stream", "hi", crossAccount("ext-0")) })),
    );
    expect(error).toMatchObject({ reason: "permission_denied", code: "cross_account_denied" });
  });

  it("answers upstream_unavailable when STS cannot be reached", async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const { server: unreachable } = await startServer({ stsEndpoint: `http://127.0.0.1:${port}` });
    const error = await failure(
      inference(unreachable).chat(chat("no-sts", "hello", crossAccount())),
    );
    expect(error.reason).toBe("upstream_unavailable");
    expect(bedrockCalls()).toHaveLength(0);
  });

  it("refuses a role rather than use Strata's account when the service has no STS client", async () => {
    const { server: withoutSts } = await startServer({ crossAccount: false });
    const error = await failure(
      inference(withoutSts).chat(chat("no-client", "hello", crossAccount())),
    );
    expect(error.reason).toBe("internal");
    expect(emulator.requests()).toHaveLength(0);
  });
});

describe("guardrail upstream policy", () => {
  it("sends the tenant's guardrail with Converse", async () => {
    const response = await inference().chat(chat("guarded", "hello", guardrail));
    expect(response.stopReason).toBe(StopReason.END_TURN);
    const [call] = bedrockCalls();
    expect(call?.guardrail).toEqual({ identifier: "gr-tenant", version: "3" });
    expect(call?.body).toMatchObject({
      guardrailConfig: { guardrailIdentifier: "gr-tenant", guardrailVersion: "3" },
    });
  });

  it("sends it with ConverseStream in sync processing mode", async () => {
    await collect(inference().chatStream({ chat: chat("guarded", "hello", guardrail) }));
    expect(bedrockCalls()[0]?.body).toMatchObject({
      guardrailConfig: {
        guardrailIdentifier: "gr-tenant",
        guardrailVersion: "3",
        streamProcessingMode: "sync",
      },
    });
  });

  it.each<[string, UpstreamInit | undefined, StopReason]>([
    ["with a guardrail as an intervention", guardrail, StopReason.GUARDRAIL_INTERVENED],
    ["without a guardrail as an ordinary answer", undefined, StopReason.END_TURN],
  ])("answers the blocked topic %s", async (_case, upstream, stopReason) => {
    const request = chat("topic", "Tell me about BLOCKED-TOPIC", upstream);
    expect((await inference().chat(request)).stopReason).toBe(stopReason);
    const events = await collect(inference().chatStream({ chat: request }));
    expect(streamStopReason(events)).toBe(stopReason);
  });

  it("applies a guardrail and a cross-account role together", async () => {
    const response = await inference().chat(
      chat("both", "BLOCKED-TOPIC", { ...guardrail, ...crossAccount() }),
    );
    expect(response.stopReason).toBe(StopReason.GUARDRAIL_INTERVENED);
    expect(bedrockCalls()).toMatchObject([
      { accessKeyId: ROLE_KEY, guardrail: { identifier: "gr-tenant", version: "3" } },
    ]);
  });

  it("refuses a guardrail without a version without calling Bedrock", async () => {
    const error = await failure(
      inference().chat(chat("broken", "hello", { guardrail: { identifier: "gr-tenant" } })),
    );
    expect(error.reason).toBe("internal");
    expect(emulator.requests()).toHaveLength(0);
  });
});

describe("catalog geography over ListModels", () => {
  it.each([
    ["anthropic.claude-haiku-4-5-20251001-v1:0", "us", ["us-east-1"]],
    ["anthropic.claude-3-haiku-20240307-v1:0", "us", []],
    ["anthropic.claude-sonnet-4-20250514-v1:0", "us", []],
    ["amazon.titan-embed-text-v2:0", "us", ["us-east-1"]],
  ])("places %s in %s %j", async (id, geography, regions) => {
    const { models } = await inference().listModels({});
    expect(models.find((m) => m.id === id)).toMatchObject({ geography, regions });
  });
});
