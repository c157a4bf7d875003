/**
 * `strata-bedrock-emulator` — runs the emulator as a process, for `npm start`, for users' CI jobs,
 * and for anything not written in TypeScript. Prints one line once listening and shuts down
 * gracefully on SIGINT/SIGTERM. This is the only module that writes to stdout/stderr.
 */
import { parseArgs } from "node:util";
import { type BedrockEmulatorOptions, createBedrockEmulator } from "./emulator.ts";

/** The `--help` text. */
export const USAGE = `Usage: strata-bedrock-emulator [options]

A local Amazon Bedrock Runtime (Converse, ConverseStream, InvokeModel for embeddings) that the
AWS SDK talks to unchanged, over HTTP/1.1 and HTTP/2 (h2c) on one port.

Options:
  --port <n>                 port to listen on (default 4010; 0 picks a free port)
  --host <host>              address to bind (default 127.0.0.1)
  --strict-sigv4             verify SigV4 signatures against --access-key-id/--secret-access-key
  --access-key-id <id>       access key id accepted with --strict-sigv4
  --secret-access-key <key>  secret access key used with --strict-sigv4
  --bearer-token <token>     require this token for "Authorization: Bearer" requests
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
  return { port, host: values.host, emulator };
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
