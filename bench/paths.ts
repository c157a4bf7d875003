// The ways the benchmark reaches the Bedrock emulator: directly (the floor), through Strata, and
// through the peers Portkey and LiteLLM. Each is started and stopped here, on loopback only, and
// can say how much memory its processes hold. A peer that is not installed or does not start is
// returned as skipped, with the reason, and the benchmark goes on without it.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type Stack, startStack } from "@strata/devstack";
import { bearerAuth, createRpcClient, createRpcTransport } from "@strata/platform";
import { AuthAdminService, BudgetPeriod } from "@strata/proto";
import {
  type ChildServer,
  freePort,
  processCpuMs,
  processRss,
  startChild,
  treeCpuMs,
  treeRss,
  waitUntilReady,
} from "./processes.ts";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);

/** The model every path asks for (in Strata's catalog and accepted by the emulator). */
export const modelId = "anthropic.claude-3-haiku-20240307-v1:0";

export type PathName = "direct" | "strata" | "portkey" | "litellm";

/** One chat call, the same for every path. */
export interface ChatCall {
  prompt: string;
  stream: boolean;
  maxTokens: number;
  signal: AbortSignal;
}

/** One way of asking the emulator for a chat completion. */
export interface BenchPath {
  name: PathName;
  /** "bedrock": Converse / ConverseStream on the wire; "openai": chat completions. */
  dialect: "bedrock" | "openai";
  send(call: ChatCall): Promise<Response>;
  /** RSS in bytes of each of the gateway's processes by role (none for the direct path). */
  memory(): Record<string, number | undefined>;
  /** CPU time used so far in ms by each of the gateway's processes, by role (as memory()). */
  cpu(): Record<string, number | undefined>;
  /**
   * CPU time used so far in ms by processes the path needs besides the gateway's and the shared
   * emulator (Strata's dynalite, standing in for DynamoDB), by name.
   */
  supportCpu(): Record<string, number | undefined>;
  stop(): Promise<void>;
}

/** A peer that could not be measured, and why. */
export interface Skipped {
  name: PathName;
  skipped: string;
}

/** A shape-valid SigV4 header: the emulator checks the shape unless strict mode is on. */
const sigv4 = `AWS4-HMAC-SHA256 Credential=AKIDBENCH/20261123/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=${"0".repeat(64)}`;

/** The emulator in a process of its own, so that it does not share an event loop with the load. */
export interface EmulatorProcess {
  url: string;
  server: ChildServer;
}

/** A scratch directory for peers' configuration and logs. */
export function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), "strata-bench-"));
}

/** Starts the Bedrock emulator's CLI on 127.0.0.1 and a free port. */
export async function startEmulator(dir: string): Promise<EmulatorProcess> {
  const port = await freePort();
  const server = startChild({
    command: process.execPath,
    args: [
      join(repoRoot, "packages/bedrock-emulator/bin/strata-bedrock-emulator.js"),
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
    ],
    logFile: join(dir, "emulator.log"),
  });
  const url = `http://127.0.0.1:${port}`;
  // Any answer means it is listening (an unsigned GET is refused, which is fine).
  await waitUntilReady(server, url, () => true, 30_000);
  return { url, server };
}

/** Calls Converse / ConverseStream on the emulator: the floor every gateway adds to. */
export function directPath(emulatorUrl: string): BenchPath {
  return {
    name: "direct",
    dialect: "bedrock",
    send: ({ prompt, stream, maxTokens, signal }) =>
      fetch(
        `${emulatorUrl}/model/${encodeURIComponent(modelId)}/${stream ? "converse-stream" : "converse"}`,
        {
          method: "POST",
          signal,
          headers: {
            "content-type": "application/json",
            authorization: sigv4,
            "x-amz-date": "20261123T000000Z",
          },
          body: JSON.stringify({
            messages: [{ role: "user", content: [{ text: prompt }] }],
            inferenceConfig: { maxTokens },
          }),
        },
      ),
    memory: () => ({}),
    cpu: () => ({}),
    supportCpu: () => ({}),
    stop: async () => undefined,
  };
}

/** An OpenAI chat completions call with the given headers. */
function chatCompletions(url: string, headers: Record<string, string>) {
  return ({ prompt, stream, maxTokens, signal }: ChatCall) =>
    fetch(url, {
      method: "POST",
      signal,
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({
        model: modelId,
        max_tokens: maxTokens,
        stream,
        messages: [{ role: "user", content: prompt }],
      }),
    });
}

/** Strata and the processes devstack runs it in. */
export interface StrataPath extends BenchPath {
  stack: Stack;
  /** Dynalite, standing in for DynamoDB in a process of its own. */
  dynamo: ChildServer;
}

/**
 * Dynalite in a process of its own on a free loopback port, in memory: DynamoDB is remote in
 * production, so its work (Strata's ledger writes) must not run in the load generator's event loop.
 */
async function startDynaliteProcess(dir: string): Promise<{ url: string; server: ChildServer }> {
  const port = await freePort();
  const server = startChild({
    command: process.execPath,
    args: [
      require.resolve("dynalite/cli.js"),
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--createTableMs",
      "0",
      "--deleteTableMs",
      "0",
      "--updateTableMs",
      "0",
    ],
    logFile: join(dir, "dynalite.log"),
  });
  const url = `http://127.0.0.1:${port}`;
  // Any answer means it is listening (an unsigned GET is refused, which is fine).
  await waitUntilReady(server, url, () => true, 30_000);
  return { url, server };
}

/**
 * Strata as devstack runs it (gateway, auth, metering and inference as separate processes talking
 * gRPC), aimed at the emulator process, with DynamoDB on dynalite in a process of its own.
 * Requests use a key of a tenant with rate limits, a concurrency limit and a token budget, all far
 * above what the run needs, so every request goes through admission and settlement as in
 * production; metrics are always on.
 */
export async function startStrata(emulatorUrl: string, dir: string): Promise<StrataPath> {
  const dynamo = await startDynaliteProcess(dir);
  const stack = await startStack({
    dynamoEndpoint: dynamo.url,
    // "aws" with the endpoint set for inference: Bedrock is the emulator process, not one
    // embedded in this (the load generator's) process. Dummy credentials, as with the emulator.
    bedrock: "aws",
    awsRegion: "us-east-1",
    logLevel: "warn",
    logFile: "/dev/null",
    serviceEnv: {
      inference: {
        STRATA_BEDROCK_ENDPOINT: emulatorUrl,
        STRATA_BEDROCK_CREDENTIALS: "emulator",
      },
    },
  });
  /** A figure of each service's process, by role. */
  const byService = (figure: (pid: number) => number | undefined) =>
    Object.fromEntries(
      Object.entries(stack.services).map(([role, service]) => [
        role,
        service.child.pid === undefined ? undefined : figure(service.child.pid),
      ]),
    );
  try {
    const admin = createRpcClient(
      AuthAdminService,
      createRpcTransport({
        baseUrl: stack.adminUrl,
        interceptors: [bearerAuth(stack.adminToken)],
      }),
    );
    const tenantId = "bench";
    await admin.createTenant({
      tenantId,
      displayName: "Benchmark",
      policy: {
        limits: {
          rate: {
            requestsPerMinute: 100_000_000,
            tokensPerMinute: 1_000_000_000,
            maxConcurrentRequests: 100_000,
          },
          budget: { period: BudgetPeriod.MONTH, tokens: 1e15 },
        },
      },
    });
    const { secret } = await admin.createKey({ tenantId, name: "bench" });
    return {
      name: "strata",
      dialect: "openai",
      stack,
      send: chatCompletions(`${stack.gatewayUrl}/v1/chat/completions`, {
        authorization: `Bearer ${secret}`,
      }),
      dynamo: dynamo.server,
      memory: () => byService(processRss),
      cpu: () => byService(processCpuMs),
      supportCpu: () => ({ dynalite: processCpuMs(dynamo.server.pid) }),
      stop: async () => {
        await stack.stop();
        await dynamo.server.stop();
      },
    };
  } catch (error) {
    await stack.stop();
    await dynamo.server.stop();
    throw error;
  }
}

/**
 * The Portkey OSS gateway (npm @portkey-ai/gateway, its published build as `npx` would run it,
 * --headless) as a child process. Bedrock goes to the emulator through Portkey's custom host
 * (`x-portkey-custom-host`, which takes precedence over the provider's base URL and may be
 * 127.0.0.1 by default), signed with dummy credentials. Portkey has no client authentication.
 */
export async function startPortkey(emulatorUrl: string, dir: string): Promise<BenchPath | Skipped> {
  let script: string;
  try {
    script = join(
      dirname(require.resolve("@portkey-ai/gateway/package.json")),
      "build/start-server.js",
    );
  } catch {
    return {
      name: "portkey",
      skipped: "npm package @portkey-ai/gateway is not installed (npm ci)",
    };
  }
  const port = await freePort();
  const server = startChild({
    command: process.execPath,
    args: [
      "--import",
      join(repoRoot, "bench/peers/portkey-loopback.ts"),
      script,
      `--port=${port}`,
      "--headless",
    ],
    logFile: join(dir, "portkey.log"),
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(server, `${url}/`, (status) => status === 200, 60_000);
  } catch (error) {
    await server.stop();
    return { name: "portkey", skipped: `did not start: ${(error as Error).message}` };
  }
  return {
    name: "portkey",
    dialect: "openai",
    send: chatCompletions(`${url}/v1/chat/completions`, {
      "x-portkey-provider": "bedrock",
      "x-portkey-custom-host": emulatorUrl,
      "x-portkey-aws-access-key-id": "AKIDBENCH",
      "x-portkey-aws-secret-access-key": "bench-secret",
      "x-portkey-aws-region": "us-east-1",
    }),
    memory: () => ({ portkey: treeRss(server.pid) }),
    cpu: () => ({ portkey: treeCpuMs(server.pid) }),
    supportCpu: () => ({}),
    stop: () => server.stop(),
  };
}

/** Where scripts/ensure-bench-peers.sh installed LiteLLM, if it did. */
async function liteLlmBin(): Promise<string | undefined> {
  try {
    const { stdout } = await promisify(execFile)("bash", [
      join(repoRoot, "scripts/ensure-bench-peers.sh"),
      "--check",
    ]);
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The LiteLLM proxy (PyPI litellm[proxy], pinned in bench/peers/litellm-requirements.txt) as a
 * child process: `workers` uvicorn workers (default 1, LiteLLM's own default), its master key
 * as the client key, no database, Bedrock Converse at the emulator through
 * `aws_bedrock_runtime_endpoint`. Access logs are off, as Strata's request logs are (the
 * benchmark runs Strata at level warn). Its memory is that of the process and its descendants.
 */
export async function startLiteLlm(
  emulatorUrl: string,
  dir: string,
  workers = 1,
): Promise<BenchPath | Skipped> {
  const bin = await liteLlmBin();
  if (!bin) {
    return {
      name: "litellm",
      skipped: "not installed: run scripts/ensure-bench-peers.sh (a ~750 MB virtualenv)",
    };
  }
  const masterKey = "sk-bench-litellm";
  const configFile = join(dir, "litellm-config.yaml");
  // JSON is YAML.
  writeFileSync(
    configFile,
    JSON.stringify({
      model_list: [
        {
          model_name: modelId,
          litellm_params: {
            model: `bedrock/converse/${modelId}`,
            aws_access_key_id: "AKIDBENCH",
            aws_secret_access_key: "bench-secret",
            aws_region_name: "us-east-1",
            aws_bedrock_runtime_endpoint: emulatorUrl,
          },
        },
      ],
      general_settings: { master_key: masterKey },
    }),
  );
  const logConfig = join(dir, "litellm-logging.json");
  writeFileSync(
    logConfig,
    JSON.stringify({
      version: 1,
      disable_existing_loggers: false,
      formatters: { plain: { format: "%(levelname)s %(name)s %(message)s" } },
      handlers: {
        stderr: { class: "logging.StreamHandler", formatter: "plain", stream: "ext://sys.stderr" },
      },
      loggers: {
        uvicorn: { handlers: ["stderr"], level: "WARNING" },
        "uvicorn.error": { level: "WARNING" },
        "uvicorn.access": { handlers: ["stderr"], level: "WARNING", propagate: false },
      },
    }),
  );
  const port = await freePort();
  const server = startChild({
    command: join(bin, "litellm"),
    args: [
      "--config",
      configFile,
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--num_workers",
      String(workers),
      "--log_config",
      logConfig,
    ],
    cwd: dir,
    env: {
      // The model price map ships with the package; without this LiteLLM fetches it at start.
      LITELLM_LOCAL_MODEL_COST_MAP: "True",
      LITELLM_LOG: "ERROR",
    },
    logFile: join(dir, "litellm.log"),
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    // Importing LiteLLM takes tens of seconds on a small machine.
    await waitUntilReady(server, `${url}/health/liveliness`, (status) => status === 200, 180_000);
  } catch (error) {
    await server.stop();
    return { name: "litellm", skipped: `did not start: ${(error as Error).message}` };
  }
  return {
    name: "litellm",
    dialect: "openai",
    send: chatCompletions(`${url}/v1/chat/completions`, { authorization: `Bearer ${masterKey}` }),
    memory: () => ({ litellm: treeRss(server.pid) }),
    cpu: () => ({ litellm: treeCpuMs(server.pid) }),
    supportCpu: () => ({}),
    stop: () => server.stop(),
  };
}
