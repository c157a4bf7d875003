import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { describe, expect, it } from "vitest";
import { parseCliArgs } from "./cli.ts";

const BIN = fileURLToPath(new URL("../bin/strata-bedrock-emulator.js", import.meta.url));

function run(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, exited, output: () => ({ stdout, stderr }) };
}

describe("strata-bedrock-emulator CLI", () => {
  it("prints its listening line, serves requests, and stops on SIGTERM", async () => {
    const { child, exited, output } = run(["--port", "0"]);
    try {
      await expect.poll(() => output().stdout, { timeout: 10_000 }).toMatch(/\n$/);
      const match = /^strata-bedrock-emulator listening on (http:\/\/127\.0\.0\.1:(\d+))\n$/.exec(
        output().stdout,
      );
      expect(match, output().stdout + output().stderr).not.toBeNull();
      const health = await fetch(`${match?.[1]}/_emulator/health`);
      expect(await health.json()).toEqual({ status: "ok" });
    } finally {
      child.kill("SIGTERM");
    }
    const [code] = await exited;
    expect(code).toBe(0);
    expect(output().stderr).toBe("");
  });

  it("serves AssumeRole for the --sts-role roles only, with their external id", async () => {
    const role = "arn:aws:iam::123456789012:role/Tenant";
    const { child, exited, output } = run(["--port", "0", "--sts-role", `${role}=ext-42`]);
    try {
      await expect.poll(() => output().stdout, { timeout: 10_000 }).toMatch(/\n$/);
      const url = /listening on (\S+)\n/.exec(output().stdout)?.[1] ?? "";
      const sts = new STSClient({
        endpoint: url,
        region: "us-east-1",
        credentials: { accessKeyId: "AKID", secretAccessKey: "secret" },
        maxAttempts: 1,
      });
      const assume = (ExternalId: string) =>
        sts.send(new AssumeRoleCommand({ RoleArn: role, RoleSessionName: "ci", ExternalId }));
      try {
        expect((await assume("ext-42")).Credentials?.AccessKeyId).toMatch(/^ASIA/);
        await expect(assume("ext-43")).rejects.toMatchObject({ name: "AccessDenied" });
      } finally {
        sts.destroy();
      }
    } finally {
      child.kill("SIGTERM");
    }
    const [code] = await exited;
    expect(code).toBe(0);
  });

  it("prints usage for --help", async () => {
    const { exited, output } = run(["--help"]);
    const [code] = await exited;
    expect(code).toBe(0);
    expect(output().stdout).toMatch(/^Usage: strata-bedrock-emulator/);
  });

  it("exits with status 2 on bad arguments", async () => {
    const { exited, output } = run(["--port", "nope"]);
    const [code] = await exited;
    expect(code).toBe(2);
    expect(output().stderr).toMatch(/--port must be an integer/);
  });
});

describe("parseCliArgs", () => {
  it("defaults to 127.0.0.1:4010 without strict SigV4", () => {
    expect(parseCliArgs([])).toEqual({ port: 4010, host: "127.0.0.1", emulator: {} });
  });

  it("configures strict SigV4 and a bearer token", () => {
    expect(
      parseCliArgs([
        "--strict-sigv4",
        "--access-key-id",
        "AKID",
        "--secret-access-key",
        "s3cr3t",
        "--bearer-token",
        "tok",
        "--host",
        "0.0.0.0",
        "--port",
        "8080",
      ]),
    ).toEqual({
      port: 8080,
      host: "0.0.0.0",
      emulator: {
        strictSigV4: { accessKeyId: "AKID", secretAccessKey: "s3cr3t" },
        bearerToken: "tok",
      },
    });
  });

  it("configures STS roles, the external id after the first =", () => {
    const tenant = "arn:aws:iam::123456789012:role/Tenant";
    const open = "arn:aws-us-gov:iam::123456789012:role/path/Open";
    expect(parseCliArgs(["--sts-role", `${tenant}=ext-1==`, "--sts-role", open])).toEqual({
      port: 4010,
      host: "127.0.0.1",
      emulator: { stsRoles: [{ roleArn: tenant, externalId: "ext-1==" }, { roleArn: open }] },
    });
  });

  it.each([
    ["strict SigV4 without keys", ["--strict-sigv4"], /needs --access-key-id/],
    [
      "an STS role that is not a role ARN",
      ["--sts-role", "arn:aws:s3:::b"],
      /needs an IAM role ARN/,
    ],
    [
      "an STS role with a one-character external id",
      ["--sts-role", "arn:aws:iam::123456789012:role/R=x"],
      /external id must be 2 to 1224/,
    ],
    [
      "the same STS role twice",
      [
        "--sts-role",
        "arn:aws:iam::123456789012:role/R",
        "--sts-role",
        "arn:aws:iam::123456789012:role/R=ab",
      ],
      /given twice/,
    ],
    ["keys without strict SigV4", ["--access-key-id", "a"], /only apply with --strict-sigv4/],
    ["a port out of range", ["--port", "70000"], /--port must be/],
    ["an unknown option", ["--verbose"], /Unknown option/],
  ])("rejects %s", (_case, args, message) => {
    expect(() => parseCliArgs(args)).toThrow(message);
  });
});
