import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import {
  type BedrockEmulator,
  type BedrockEmulatorOptions,
  createBedrockEmulator,
} from "@strata/bedrock-emulator";

import { bearerAuth, createRpcClient, createRpcTransport } from "@strata/platform";
import { AuthAdminService } from "@strata/proto";
import { type ServiceProcess, startService } from "./child.ts";
import { type LocalDynamo, startDynalite } from "./dynalite.ts";
import { lockStateDir } from "./supervise.ts";

/** Options of startStack. */
export interface StackOptions {
  /** Where data (DynamoDB), the admin token and the dev key live; none keeps everything in memory. */
  stateDir?: string | undefined;
  host?: string;
  /** The gateway's port; 0 picks a free one. */
  gatewayPort?: number;
  /** "emulator" (the default) or "aws": the services use the default AWS credential chain. */
  bedrock?: "emulator" | "aws";
  /** Region for Bedrock when bedrock is "aws". */
  awsRegion?: string | undefined;
  logLevel?: string;
  /** The services' log output: inherited, or a file path to append to. */
  logFile?: string | undefined;
  /** Create the `default` tenant and a first key when they do not exist. */
  bootstrap?: boolean;
  /**
   * A DynamoDB API to use instead of starting dynalite in this process (for instance dynalite in
   * a process of its own); the services create their tables there when missing.
   */
  dynamoEndpoint?: string;
  /** Options of the embedded Bedrock emulator (e.g. the roles its STS stand-in lets be assumed). */
  emulator?: BedrockEmulatorOptions;
  /** Extra environment per service, e.g. { gateway: { STRATA_SSE_KEEPALIVE_MS: "100" } }. */
  serviceEnv?: Partial<
    Record<"auth" | "metering" | "inference" | "gateway", Record<string, string>>
  >;
}

/** A running local stack. */
export interface Stack {
  gatewayUrl: string;
  /** `http://host:port` of auth's admin plane. */
  adminUrl: string;
  adminToken: string;
  /** The default tenant's key, when bootstrapped. */
  apiKey: string | undefined;
  emulatorUrl: string | undefined;
  emulator: BedrockEmulator | undefined;
  dynamoEndpoint: string;
  services: Record<string, ServiceProcess>;
  /** Starts one more gateway replica on the same services (its URL is `http://host:<ports.http>`). */
  startGateway(env?: Record<string, string>): Promise<ServiceProcess>;
  /**
   * Starts one more replica of a service with the environment the stack gave the first one, plus
   * `env` (e.g. a gateway whose STRATA_INFERENCE_URL is a load balancer). Stopped with the stack.
   */
  startReplica(
    name: "auth" | "metering" | "inference" | "gateway",
    env?: Record<string, string>,
  ): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

/** What `strata` (the CLI) reads to find a running local stack. */
export interface StackDescriptor {
  adminUrl: string;
  gatewayUrl: string;
  pid: number;
}

/** Reads a secret file, or creates it with 0600 permissions. */
function secretFile(path: string, create: () => string): string {
  if (existsSync(path)) return readFileSync(path, "utf8").trim();
  const value = create();
  writeFileSync(path, `${value}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return value;
}

/**
 * Starts the whole system on this machine, with the same code paths as in production: dynalite
 * for DynamoDB (unless `dynamoEndpoint` names one) and the Bedrock emulator, both in this
 * process, and auth, metering, inference and the gateway as child processes talking real gRPC.
 * Used by `npm start` and the integration tests.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const host = options.host ?? "127.0.0.1";
  const stateDir = options.stateDir;
  if (stateDir) mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const started: Array<{ stop(): Promise<void> }> = [];
  if (stateDir) {
    const release = lockStateDir(stateDir);
    started.push({ stop: async () => release() });
  }
  const output = options.logFile ? openSync(options.logFile, "a") : "inherit";
  const stop = async () => {
    for (const part of started.splice(0).reverse()) await part.stop().catch(() => undefined);
  };

  try {
    let dynamoEndpoint = options.dynamoEndpoint;
    if (dynamoEndpoint === undefined) {
      const dynamo: LocalDynamo = await startDynalite(
        stateDir ? { path: join(stateDir, "dynamodb") } : {},
      );
      started.push({ stop: () => dynamo.close() });
      dynamoEndpoint = dynamo.endpoint;
    }
    let emulator: BedrockEmulator | undefined;
    let emulatorUrl: string | undefined;
    if ((options.bedrock ?? "emulator") === "emulator") {
      emulator = createBedrockEmulator(options.emulator);
      emulatorUrl = (await emulator.listen(0, host)).url;
      const running = emulator;
      started.push({ stop: () => running.close() });
    }
    const newToken = () => `strata-admin-${randomBytes(32).toString("base64url")}`;
    const adminToken = stateDir ? secretFile(join(stateDir, "admin-token"), newToken) : newToken();

    const common = {
      STRATA_HOST: host,
      STRATA_LOG_LEVEL: options.logLevel ?? "info",
      STRATA_METRICS_PORT: "0",
      STRATA_SHUTDOWN_GRACE_MS: "5000",
    };
    const dynamoEnv = {
      STRATA_DYNAMODB_ENDPOINT: dynamoEndpoint,
      STRATA_DYNAMODB_REGION: "us-east-1",
      STRATA_CREATE_TABLES: "true",
    };
    const bedrockEnv: Record<string, string> = emulatorUrl
      ? // The emulator also stands in for STS (cross-account tenants assume roles through it).
        {
          STRATA_BEDROCK_ENDPOINT: emulatorUrl,
          STRATA_BEDROCK_REGION: "us-east-1",
          STRATA_STS_ENDPOINT: emulatorUrl,
        }
      : options.awsRegion
        ? { STRATA_BEDROCK_REGION: options.awsRegion }
        : {};
    const service = async (
      name: "auth" | "metering" | "inference" | "gateway",
      env: Record<string, string>,
    ) => {
      const proc = await startService({
        packageName: `@strata/${name}`,
        name,
        output,
        env: { ...common, STRATA_PORT: "0", ...env, ...options.serviceEnv?.[name] },
      });
      started.push(proc);
      return proc;
    };
    const url = (proc: ServiceProcess, port: string) => `http://${host}:${proc.ports[port]}`;
    // Auth reads usage from metering (`strata usage`), so metering comes first.
    const meteringEnv = { ...dynamoEnv, STRATA_LEDGER_FLUSH_MS: "200" };
    const [metering, inference] = await Promise.all([
      service("metering", meteringEnv),
      service("inference", bedrockEnv),
    ]);
    const authEnv = {
      ...dynamoEnv,
      STRATA_ADMIN_PORT: "0",
      STRATA_ADMIN_TOKEN_SHA256: createHash("sha256").update(adminToken).digest("hex"),
      STRATA_METERING_URL: url(metering, "grpc"),
    };
    const auth = await service("auth", authEnv);
    const gatewayEnv = {
      STRATA_AUTH_URL: url(auth, "grpc"),
      STRATA_METERING_URL: url(metering, "grpc"),
      STRATA_INFERENCE_URL: url(inference, "grpc"),
    };
    const gateway = await service("gateway", {
      ...gatewayEnv,
      STRATA_PORT: String(options.gatewayPort ?? 0),
    });
    const replicaEnv = {
      auth: authEnv,
      metering: meteringEnv,
      inference: bedrockEnv,
      gateway: gatewayEnv,
    };
    const adminUrl = url(auth, "admin");
    const gatewayUrl = url(gateway, "http");
    const apiKey =
      options.bootstrap === false ? undefined : await bootstrap(adminUrl, adminToken, stateDir);
    if (stateDir) {
      const descriptor: StackDescriptor = { adminUrl, gatewayUrl, pid: process.pid };
      const descriptorFile = join(stateDir, "stack.json");
      writeFileSync(descriptorFile, `${JSON.stringify(descriptor, null, 2)}\n`, { mode: 0o600 });
      // Stopped, the stack is no longer there for the CLI to find.
      started.push({ stop: async () => rmSync(descriptorFile, { force: true }) });
    }
    return {
      gatewayUrl,
      adminUrl,
      adminToken,
      apiKey,
      emulatorUrl,
      emulator,
      dynamoEndpoint,
      services: { auth, metering, inference, gateway },
      startGateway: (env = {}) => service("gateway", { ...gatewayEnv, ...env }),
      startReplica: (name, env = {}) => service(name, { ...replicaEnv[name], ...env }),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Creates the `default` tenant and its first key when missing. With a state directory the key is
 * kept there (0600) so later starts can show it again; Strata itself stores only its hash.
 */
async function bootstrap(
  adminUrl: string,
  adminToken: string,
  stateDir: string | undefined,
): Promise<string> {
  const admin = createRpcClient(
    AuthAdminService,
    createRpcTransport({
      baseUrl: adminUrl,
      interceptors: [bearerAuth(adminToken)],
    }),
  );
  const { tenants } = await admin.listTenants({});
  if (!tenants.some((t) => t.tenantId === "default")) {
    await admin.createTenant({ tenantId: "default", displayName: "Default tenant" });
  }
  const keyFile = stateDir ? join(stateDir, "default-api-key") : undefined;
  if (keyFile && existsSync(keyFile)) return readFileSync(keyFile, "utf8").trim();
  const { secret } = await admin.createKey({ tenantId: "default", name: "first key" });
  if (keyFile) writeFileSync(keyFile, `${secret}\n`, { mode: 0o600 });
  return secret;
}
