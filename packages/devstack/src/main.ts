import { loadDevConfig, usage } from "./config.ts";
import { type Stack, startStack } from "./stack.ts";
import { assertPortFree, StartError, watchParent } from "./supervise.ts";

const host = "127.0.0.1";

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

let stack: Stack;
try {
  await assertPortFree(host, config.gatewayPort);
  stack = await startStack({
    host,
    stateDir: config.stateDir,
    gatewayPort: config.gatewayPort,
    bedrock: config.bedrock,
    awsRegion: config.awsRegion,
    logLevel: config.logLevel,
  });
} catch (error) {
  const message = error instanceof StartError ? error.message : `could not start: ${error}`;
  process.stderr.write(`strata: ${message}\n`);
  process.exit(1);
}

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

// Every way this process can be told to stop ends the whole stack: a signal (Ctrl-C, `kill`, a
// process manager, a closed terminal), its parent going away (npm killed under it), or a service
// dying (the stack is not left running without it, e.g. admitting everything without metering).
let stopping = false;
const stop = async (why: string, exitCode: number) => {
  if (stopping) return;
  stopping = true;
  process.stdout.write(`strata: ${why}: stopping\n`);
  await stack.stop();
  process.exit(exitCode);
};
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    if (!stopping) return void stop(signal, 0);
    // Asked again while stopping: the user wants out now. The services stop with us (IPC).
    process.stdout.write(`strata: ${signal} again: exiting without waiting for the services\n`);
    process.exit(1);
  });
}
watchParent(() => void stop("parent process exited", 1));
for (const service of Object.values(stack.services)) {
  void service.died.then(({ code, signal }) => {
    process.stderr.write(
      `strata: ${service.name} exited unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`}; its log is above)\n`,
    );
    return stop(`${service.name} is gone`, 1);
  });
}
