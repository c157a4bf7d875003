import { loadDevConfig, usage } from "./config.ts";
import { startStack } from "./stack.ts";

let config: ReturnType<typeof loadDevConfig>;
try {
  config = loadDevConfig(process.argv.slice(2), process.env);
} catch (error) {
  process.stderr.write(`strata: ${(error as Error).message}\n\n${usage}`);
  process.exit(2);
}
if (config === "help") {
  process.stdout.write(usage);
  process.exit(0);
}

const stack = await startStack({
  stateDir: config.stateDir,
  gatewayPort: config.gatewayPort,
  bedrock: config.bedrock,
  awsRegion: config.awsRegion,
  logLevel: config.logLevel,
}).catch((error: unknown) => {
  process.stderr.write(`strata: could not start: ${(error as Error).message}\n`);
  process.exit(1);
});

const base = `${stack.gatewayUrl}/v1`;
process.stdout.write(`
Strata is ready: ${base}
  API key (tenant "default"): ${stack.apiKey}
  Bedrock: ${stack.emulatorUrl ? `emulator at ${stack.emulatorUrl} (set AWS credentials and AWS_REGION for Amazon Bedrock)` : `Amazon Bedrock in ${config.awsRegion}`}
  Admin API: ${stack.adminUrl} (token in ${config.stateDir}/admin-token; try: npx strata keys list)
  Data: ${config.stateDir}

  curl ${base}/chat/completions -H "Authorization: Bearer ${stack.apiKey}" \\
    -H "Content-Type: application/json" \\
    -d '{"model":"claude-3-haiku","messages":[{"role":"user","content":"Hello!"}]}'

`);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) process.exit(1);
  stopping = true;
  process.stdout.write(`strata: ${signal}: stopping\n`);
  await stack.stop();
  process.exit(0);
};
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));
