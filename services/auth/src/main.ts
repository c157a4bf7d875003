import { createDynamoClient, ensureTables } from "@strata/dynamodb";
import {
  createLogger,
  createMetricsRegistry,
  notifyReady,
  onShutdown,
  startOpsServer,
} from "@strata/platform";
import { loadAuthConfig } from "./config.ts";
import { createAuthServer } from "./server.ts";
import { createAuthStore } from "./store.ts";
import { authTableSpecs, authTables } from "./tables.ts";

const config = loadAuthConfig(process.env);
const logger = createLogger({ service: "auth", level: config.STRATA_LOG_LEVEL });
const registry = createMetricsRegistry("auth");
const dynamo = createDynamoClient({
  region: config.STRATA_DYNAMODB_REGION,
  endpoint: config.STRATA_DYNAMODB_ENDPOINT,
});
const tables = authTables(config.STRATA_TABLE_PREFIX);
if (config.STRATA_CREATE_TABLES) await ensureTables(dynamo.client, authTableSpecs(tables));
if (config.STRATA_ADMIN_TOKEN_SHA256.length === 0)
  logger.warn("no admin token configured: the admin API refuses every call");

const server = await createAuthServer({
  store: createAuthStore(dynamo.doc, tables),
  logger,
  registry,
  host: config.STRATA_HOST,
  port: config.STRATA_PORT,
  adminPort: config.STRATA_ADMIN_PORT,
  adminTokenHashes: config.STRATA_ADMIN_TOKEN_SHA256,
  pepper: config.STRATA_KEY_PEPPER,
  keyMaxAgeDays: config.STRATA_KEY_MAX_AGE_DAYS,
  verifyCacheTtlMs: config.STRATA_VERIFY_CACHE_TTL_MS,
});
const ops = await startOpsServer({
  host: config.STRATA_HOST,
  port: config.STRATA_METRICS_PORT,
  registry,
  isReady: server.isServing,
});
server.setServing(true);

onShutdown({
  logger,
  graceMs: config.STRATA_SHUTDOWN_GRACE_MS,
  steps: [
    { name: "readiness", run: () => server.setServing(false) },
    {
      name: "drain",
      run: () => new Promise((r) => setTimeout(r, config.STRATA_SHUTDOWN_DRAIN_MS)),
    },
    { name: "servers", run: () => server.close(config.STRATA_SHUTDOWN_GRACE_MS) },
    { name: "ops", run: () => ops.close() },
  ],
});
logger.info(
  { port: server.port, adminPort: server.adminPort, metricsPort: ops.port },
  "auth ready",
);
notifyReady({
  service: "auth",
  ports: { grpc: server.port, admin: server.adminPort, metrics: ops.port },
});
