import { ConverseCommand } from "@aws-sdk/client-bedrock-runtime";
import {
  AssumeRoleCommand,
  type AssumeRoleCommandInput,
  GetCallerIdentityCommand,
  STSClient,
} from "@aws-sdk/client-sts";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type BedrockEmulator, createBedrockEmulator, roleCredentials } from "./index.ts";
import { createTestClient, expectBedrockError, TEST_CREDENTIALS } from "./testing/test-clients.ts";

const HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0";
const TENANT_ROLE = "arn:aws:iam::123456789012:role/StrataTenant";
const OPEN_ROLE = "arn:aws:iam::123456789012:role/team/OpenRole";
const UNLISTED_ROLE = "arn:aws:iam::123456789012:role/Other";

function stsClient(url: string, credentials = TEST_CREDENTIALS): STSClient {
  return new STSClient({ endpoint: url, region: "us-east-1", credentials, maxAttempts: 1 });
}

const assumeRole = (sts: STSClient, input: Partial<AssumeRoleCommandInput> = {}) =>
  sts.send(
    new AssumeRoleCommand({
      RoleArn: TENANT_ROLE,
      RoleSessionName: "strata-tenant-1",
      ExternalId: "ext-123",
      ...input,
    }),
  );

async function stsFailure(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "expected the call to fail").toBeInstanceOf(Error);
  return error as Error & { $metadata: { httpStatusCode?: number }; Type?: string };
}

describe("STS stand-in with configured roles", () => {
  let emulator: BedrockEmulator;
  let url: string;
  let sts: STSClient;

  beforeAll(async () => {
    emulator = createBedrockEmulator({
      stsRoles: [{ roleArn: TENANT_ROLE, externalId: "ext-123" }, { roleArn: OPEN_ROLE }],
    });
    ({ url } = await emulator.listen());
    sts = stsClient(url);
  });
  afterAll(async () => {
    sts.destroy();
    await emulator.close();
  });
  beforeEach(() => emulator.clearRequests());

  it("assumes a listed role with its external id through the real STSClient", async () => {
    const before = Date.now();
    const response = await assumeRole(sts, { DurationSeconds: 900 });
    const expected = roleCredentials(TENANT_ROLE);
    expect(response.Credentials).toMatchObject({
      AccessKeyId: expected.accessKeyId,
      SecretAccessKey: expected.secretAccessKey,
      SessionToken: expected.sessionToken,
    });
    expect(response.Credentials?.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    const expiresAt = response.Credentials?.Expiration?.getTime() ?? 0;
    expect(expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 900_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 900_000);
    expect(response.AssumedRoleUser).toEqual({
      AssumedRoleId: expect.stringMatching(/^AROA[A-Z2-7]{17}:strata-tenant-1$/),
      Arn: "arn:aws:sts::123456789012:assumed-role/StrataTenant/strata-tenant-1",
    });
    const [record] = emulator.requests();
    expect(response.$metadata.requestId).toBe(record?.id);
    expect(record).toMatchObject({
      operation: "AssumeRole",
      roleArn: TENANT_ROLE,
      accessKeyId: TEST_CREDENTIALS.accessKeyId,
      auth: "sigv4",
      outcome: "completed",
      status: 200,
      body: { Action: "AssumeRole", RoleSessionName: "strata-tenant-1", ExternalId: "ext-123" },
    });
  });

  it("issues the same keys for every AssumeRole of a role, expiring an hour later by default", async () => {
    const first = await assumeRole(sts);
    const second = await assumeRole(sts, { RoleSessionName: "another" });
    expect(second.Credentials?.AccessKeyId).toBe(first.Credentials?.AccessKeyId);
    const remaining = (second.Credentials?.Expiration?.getTime() ?? 0) - Date.now();
    expect(remaining).toBeGreaterThan(3_590_000);
    expect(remaining).toBeLessThanOrEqual(3_600_000);
  });

  it("assumes a listed role without an external id, with or without one sent", async () => {
    const plain = await assumeRole(sts, { RoleArn: OPEN_ROLE, ExternalId: undefined });
    const extra = await assumeRole(sts, { RoleArn: OPEN_ROLE, ExternalId: "whatever" });
    expect(plain.Credentials?.AccessKeyId).toBe(roleCredentials(OPEN_ROLE).accessKeyId);
    expect(extra.AssumedRoleUser?.Arn).toBe(
      "arn:aws:sts::123456789012:assumed-role/OpenRole/strata-tenant-1",
    );
  });

  it.each<[string, Partial<AssumeRoleCommandInput>]>([
    ["a wrong external id", { ExternalId: "ext-999" }],
    ["a missing external id", { ExternalId: undefined }],
    ["a role that is not listed", { RoleArn: UNLISTED_ROLE }],
  ])("denies %s with 403 AccessDenied", async (_case, input) => {
    const error = await stsFailure(assumeRole(sts, input));
    const roleArn = input.RoleArn ?? TENANT_ROLE;
    expect(error.name).toBe("AccessDenied");
    expect(error.Type).toBe("Sender");
    expect(error.$metadata.httpStatusCode).toBe(403);
    expect(error.message).toBe(
      `User: arn:aws:iam::000000000000:user/${TEST_CREDENTIALS.accessKeyId} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
    );
    expect(error.message).not.toContain("ext-");
    expect(emulator.requests()[0]).toMatchObject({
      operation: "AssumeRole",
      roleArn,
      outcome: "error",
      status: 403,
      errorType: "AccessDenied",
    });
  });

  it.each<[string, Partial<AssumeRoleCommandInput>, RegExp]>([
    ["a duration below 900 s", { DurationSeconds: 60 }, /greater than or equal to 900/],
    ["a duration above 12 h", { DurationSeconds: 43_201 }, /less than or equal to 43200/],
    ["a one-character session name", { RoleSessionName: "x" }, /roleSessionName/],
    ["a session name with a space", { RoleSessionName: "strata tenant" }, /roleSessionName/],
    ["a role ARN that is not one", { RoleArn: "arn:aws:s3:::my-bucket/key" }, /is invalid/],
    ["a one-character external id", { ExternalId: "x" }, /externalId/],
  ])("rejects %s with 400 ValidationError", async (_case, input, message) => {
    const error = await stsFailure(assumeRole(sts, input));
    expect(error.name).toBe("ValidationError");
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.message).toMatch(message);
  });

  it("answers other STS actions with InvalidAction", async () => {
    const error = await stsFailure(sts.send(new GetCallerIdentityCommand({})));
    expect(error.name).toBe("InvalidAction");
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(emulator.requests()[0]).toMatchObject({
      operation: "Unknown",
      errorType: "InvalidAction",
    });
  });

  it("answers an unsigned request with MissingAuthenticationToken", async () => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `Action=AssumeRole&Version=2011-06-15&RoleArn=${encodeURIComponent(OPEN_ROLE)}&RoleSessionName=s1`,
    });
    expect(response.status).toBe(403);
    expect(response.headers.get("content-type")).toBe("text/xml");
    expect(await response.text()).toMatch(
      /<ErrorResponse xmlns="https:\/\/sts.amazonaws.com\/doc\/2011-06-15\/"><Error><Type>Sender<\/Type><Code>MissingAuthenticationToken<\/Code>/,
    );
  });

  it("records the assumed role's access key on the Bedrock calls signed with it", async () => {
    const { Credentials } = await assumeRole(sts);
    const bedrock = createTestClient(url, {
      credentials: {
        accessKeyId: Credentials?.AccessKeyId ?? "",
        secretAccessKey: Credentials?.SecretAccessKey ?? "",
        sessionToken: Credentials?.SessionToken ?? "",
      },
    });
    try {
      const reply = await bedrock.send(
        new ConverseCommand({
          modelId: HAIKU,
          messages: [{ role: "user", content: [{ text: "hi" }] }],
        }),
      );
      const record = await emulator.waitForRequest((r) => r.id === reply.$metadata.requestId);
      expect(record.accessKeyId).toBe(roleCredentials(TENANT_ROLE).accessKeyId);
    } finally {
      bedrock.destroy();
    }
  });
});

describe("STS stand-in without configured roles", () => {
  it("accepts any role ARN and does not check external ids", async () => {
    const emulator = createBedrockEmulator();
    const { url } = await emulator.listen();
    const sts = stsClient(url);
    try {
      const response = await assumeRole(sts, { RoleArn: UNLISTED_ROLE, ExternalId: "anything" });
      expect(response.Credentials?.AccessKeyId).toBe(roleCredentials(UNLISTED_ROLE).accessKeyId);
    } finally {
      sts.destroy();
      await emulator.close();
    }
  });

  it("refuses a configured role that is not a role ARN", () => {
    expect(() => createBedrockEmulator({ stsRoles: [{ roleArn: "arn:aws:s3:::bucket" }] })).toThrow(
      /not an IAM role ARN/,
    );
  });
});

describe("access keys in the request log", () => {
  let emulator: BedrockEmulator;
  let url: string;

  beforeAll(async () => {
    emulator = createBedrockEmulator();
    ({ url } = await emulator.listen());
  });
  afterAll(() => emulator.close());

  it("records the SigV4 access key id of a Bedrock call, and none for Bearer", async () => {
    const bedrock = createTestClient(url);
    try {
      const reply = await bedrock.send(
        new ConverseCommand({
          modelId: HAIKU,
          messages: [{ role: "user", content: [{ text: "hi" }] }],
        }),
      );
      const record = await emulator.waitForRequest((r) => r.id === reply.$metadata.requestId);
      expect(record.accessKeyId).toBe(TEST_CREDENTIALS.accessKeyId);
    } finally {
      bedrock.destroy();
    }
    const response = await fetch(`${url}/model/${encodeURIComponent(HAIKU)}/converse`, {
      method: "POST",
      headers: { authorization: "Bearer k", "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: [{ text: "hi" }] }] }),
    });
    const id = response.headers.get("x-amzn-requestid");
    const record = await emulator.waitForRequest((r) => r.id === id);
    expect(record).toMatchObject({ auth: "bearer" });
    expect(record.accessKeyId).toBeUndefined();
  });
});

describe("STS stand-in with strict SigV4", () => {
  const STRICT = { accessKeyId: "AKIDSTRICT", secretAccessKey: "correct-secret" };
  let emulator: BedrockEmulator;
  let url: string;

  beforeAll(async () => {
    emulator = createBedrockEmulator({ strictSigV4: STRICT });
    ({ url } = await emulator.listen());
  });
  afterAll(() => emulator.close());

  it("verifies the AssumeRole signature, then accepts the issued session credentials", async () => {
    const sts = stsClient(url, STRICT);
    try {
      const { Credentials } = await assumeRole(sts);
      const credentials = {
        accessKeyId: Credentials?.AccessKeyId ?? "",
        secretAccessKey: Credentials?.SecretAccessKey ?? "",
        sessionToken: Credentials?.SessionToken ?? "",
      };
      const converse = () =>
        new ConverseCommand({
          modelId: HAIKU,
          messages: [{ role: "user", content: [{ text: "hi" }] }],
        });
      const good = createTestClient(url, { credentials });
      const forged = createTestClient(url, {
        credentials: { ...credentials, sessionToken: "forged" },
      });
      try {
        expect((await good.send(converse())).stopReason).toBe("end_turn");
        await expectBedrockError(forged.send(converse()), {
          name: "UnrecognizedClientException",
          status: 403,
        });
      } finally {
        good.destroy();
        forged.destroy();
      }
    } finally {
      sts.destroy();
    }
  });

  it("rejects an AssumeRole signed with the wrong secret as SignatureDoesNotMatch", async () => {
    const sts = stsClient(url, { ...STRICT, secretAccessKey: "wrong" });
    try {
      const error = await stsFailure(assumeRole(sts));
      expect(error.name).toBe("SignatureDoesNotMatch");
      expect(error.$metadata.httpStatusCode).toBe(403);
    } finally {
      sts.destroy();
    }
  });
});
