import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

/** How `npm start` runs the local stack, from its flags and environment. */
export interface DevConfig {
  stateDir: string;
  gatewayPort: number;
  bedrock: "emulator" | "aws";
  awsRegion: string | undefined;
  logLevel: string;
}

export const usage = `Usage: npm start -- [--port N] [--state-dir DIR] [--bedrock emulator|aws]

Runs Strata on this machine: gateway, auth, metering and inference, DynamoDB on dynalite, and the
Bedrock emulator unless AWS credentials and a region are configured.

  --port N          gateway port (default 8080; env STRATA_GATEWAY_PORT)
  --state-dir DIR   data, admin token and the dev API key (default ./.strata; env STRATA_STATE_DIR)
  --bedrock MODE    emulator | aws (default: aws when AWS credentials and AWS_REGION are set;
                    env STRATA_BEDROCK)
  --log-level L     services' log level (default info; env STRATA_LOG_LEVEL)
`;

/** Whether the environment names AWS credentials the SDK's default chain would find. */
function awsCredentialsConfigured(env: NodeJS.ProcessEnv): boolean {
  return Boolean(
    env.AWS_ACCESS_KEY_ID ||
      env.AWS_PROFILE ||
      env.AWS_WEB_IDENTITY_TOKEN_FILE ||
      env.AWS_CONTAINER_CREDENTIALS_FULL_URI ||
      env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI ||
      env.AWS_BEARER_TOKEN_BEDROCK ||
      existsSync(env.AWS_SHARED_CREDENTIALS_FILE ?? join(homedir(), ".aws", "credentials")),
  );
}

const options = {
  port: { type: "string" },
  "state-dir": { type: "string" },
  bedrock: { type: "string" },
  "log-level": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** The options that take a value; npm may take each of them for itself (see npmTakenFlags). */
const valueOptions = Object.entries(options)
  .filter(([, option]) => option.type === "string")
  .map(([name]) => name);

/**
 * The arguments as `npm start` meant them. Without `--`, npm takes unknown flags for its own
 * config: `npm start --port=8081` reaches the script only as npm_config_port=8081, and
 * `npm start --port 8081` as npm_config_port=true plus a bare "8081" argument. Both are turned
 * back into `--port 8081`. When several flags lost their values that way, which value was whose
 * cannot be known, so that is an error that shows the form that always works.
 */
export function npmTakenFlags(argv: string[], env: NodeJS.ProcessEnv): string[] {
  if (!env.npm_lifecycle_event) return argv;
  const restored: string[] = [];
  const bare: string[] = [];
  for (const name of valueOptions) {
    const value = env[`npm_config_${name.replaceAll("-", "_")}`];
    if (value === undefined) continue;
    if (value === "true") bare.push(name);
    else restored.push(`--${name}`, value);
  }
  if (bare.length === 0) return [...restored, ...argv];
  const { tokens } = parseArgs({ args: argv, options, allowPositionals: true, tokens: true });
  const positionals = tokens.filter((token) => token.kind === "positional");
  if (bare.length > 1 || positionals.length !== 1)
    throw new Error(
      `npm took ${bare.map((n) => `--${n}`).join(" and ")} for itself: put \`--\` before Strata's flags, as in \`npm start -- --port 8081\``,
    );
  const value = positionals[0] as { index: number; value: string };
  const rest = argv.filter((_, i) => i !== value.index);
  return [...restored, `--${bare[0]}`, value.value, ...rest];
}

export function loadDevConfig(argv: string[], env: NodeJS.ProcessEnv): DevConfig | "help" {
  const { values } = parseArgs({ args: npmTakenFlags(argv, env), options });
  if (values.help) return "help";
  const port = Number(values.port ?? env.STRATA_GATEWAY_PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`invalid port: ${values.port}`);
  const awsRegion = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const bedrock =
    values.bedrock ??
    env.STRATA_BEDROCK ??
    (awsRegion && awsCredentialsConfigured(env) ? "aws" : "emulator");
  if (bedrock !== "emulator" && bedrock !== "aws")
    throw new Error(`--bedrock must be emulator or aws, not ${bedrock}`);
  if (bedrock === "aws" && !awsRegion) throw new Error("--bedrock aws needs AWS_REGION");
  return {
    stateDir: resolve(values["state-dir"] ?? env.STRATA_STATE_DIR ?? ".strata"),
    gatewayPort: port,
    bedrock,
    awsRegion,
    logLevel: values["log-level"] ?? env.STRATA_LOG_LEVEL ?? "info",
  };
}
