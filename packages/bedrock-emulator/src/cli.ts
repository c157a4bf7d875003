/**
 * `strata-bedrock-emulator` — runs the emulator as a process, for `npm start`, for users' CI jobs,
 * and for anything not written in TypeScript. Prints one line once listening and shuts down
 * gracefully on SIGINT/SIGTERM. This is the only module that writes to stdout/stderr.
 */
import { parseArgs } from "node:util";
import { type BedrockEmulatorOptions, createBedrockEmulator } from "./emulator.ts";
import { isExternalId, isRoleArn, type StsRole } from "./sts.ts";

/** The `--help` text. */
export const USAGE = `Usage: strata-bedrock-emulator [options]

A local Amazon Bedrock Runtime (Converse, ConverseStream, InvokeModel for embeddings) that the
AWS SDK talks to unchanged, over HTTP/1.1 and HTTP/2 (h2c) on one port, with an STS stand-in
(AssumeRole) on the same port.

Options:
  --port <n>                 port to listen on (default 4010; 0 picks a free port)
  --host <host>              address to bind (default 127.0.0.1)
  --strict-sigv4             verify SigV4 signatures against --access-key-id/--secret-access-key
  --access-key-id <id>       access key id accepted with --strict-sigv4
  --secret-access-key <key>  secret access key used with --strict-sigv4
  --bearer-token <token>     require this token for "Authorization: Bearer" requests
  --sts-role <arn[=id]>      a role AssumeRole accepts, with the external id it requires after
                             the first "=" (repeatable; default: any role, no external id check)
  --help                     show this help
`;

/** Parsed command line. */
export interface CliOptions {
  readonly port: number;
  readonly host: string;
  readonly emulator: BedrockEmulatorOptions;
}

/** Parses `argv` (without node and script); throws an Error with a user-facing message. */
export function parseCliArgs(argv: readonly string[]): CliOptions | "help" {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: "string", default: "4010" },
      host: { type: "string", default: "127.0.0.1" },
      "strict-sigv4": { type: "boolean", default: false },
      "access-key-id": { type: "string" },
      "secret-access-key": { type: "string" },
      "bearer-token": { type: "string" },
      "sts-role": { type: "string", multiple: true },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return "help";
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65_535) {
    throw new Error(`--port must be an integer between 0 and 65535, got "${values.port}"`);
  }
  const accessKeyId = values["access-key-id"];
  const secretAccessKey = values["secret-access-key"];
  if (values["strict-sigv4"] && (!accessKeyId || !secretAccessKey)) {
    throw new Error("--strict-sigv4 needs --access-key-id and --secret-access-key");
  }
  if (!values["strict-sigv4"] && (accessKeyId || secretAccessKey)) {
    throw new Error("--access-key-id/--secret-access-key only apply with --strict-sigv4");
  }
  const emulator: BedrockEmulatorOptions = {};
  if (values["strict-sigv4"] && accessKeyId && secretAccessKey) {
    emulator.strictSigV4 = { accessKeyId, secretAccessKey };
  }
  if (values["bearer-token"] !== undefined) emulator.bearerToken = values["bearer-token"];
  if (values["sts-role"] !== undefined) emulator.stsRoles = parseStsRoles(values["sts-role"]);
  return { port, host: values.host, emulator };
}

/**
 * Parses `--sts-role ARN[=EXTERNAL_ID]` values. Role ARNs contain ":" but no "=" in practice, so
 * the first "=" separates the external id (which may itself contain "=", e.g. base64 padding).
 * IAM allows "=" in role names; such a role cannot be given here with or without an external id
 * (use the `stsRoles` option in-process).
 */
export function parseStsRoles(values: readonly string[]): StsRole[] {
  const roles: StsRole[] = [];
  for (const value of values) {
    const eq = value.indexOf("=");
    const roleArn = eq < 0 ? value : value.slice(0, eq);
    const externalId = eq < 0 ? undefined : value.slice(eq + 1);
    if (!isRoleArn(roleArn)) {
      throw new Error(
        `--sts-role needs an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>), optionally followed by =EXTERNAL_ID; got "${value}"`,
      );
    }
    if (externalId !== undefined && !isExternalId(externalId)) {
      throw new Error(
        `--sts-role ${roleArn}: the external id must be 2 to 1224 characters of [A-Za-z0-9_+=,.@:/-]`,
      );
    }
    if (roles.some((r) => r.roleArn === roleArn)) {
      throw new Error(`--sts-role ${roleArn} is given twice`);
    }
    roles.push(externalId === undefined ? { roleArn } : { roleArn, externalId });
  }
  return roles;
}

/** Runs the CLI; sets `process.exitCode` on argument errors. */
export async function main(argv: readonly string[]): Promise<void> {
  let options: CliOptions | "help";
  try {
    options = parseCliArgs(argv);
  } catch (error) {
    process.stderr.write(`strata-bedrock-emulator: ${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (options === "help") {
    process.stdout.write(USAGE);
    return;
  }
  const emulator = createBedrockEmulator(options.emulator);
  const { url } = await emulator.listen(options.port, options.host);
  process.stdout.write(`strata-bedrock-emulator listening on ${url}\n`);
  const stop = () => {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    emulator.close().then(
      () => {
        process.exitCode = 0;
      },
      (error: unknown) => {
        process.stderr.write(`strata-bedrock-emulator: close failed: ${String(error)}\n`);
        process.exitCode = 1;
      },
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
