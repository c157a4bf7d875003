import { openDynamo } from "@strata/dynamodb";
import {
  createLogger,
  createMetricsRegistry,
  createRpcClient,
  createRpcTransport,
  runService,
  startTracing,
} from "@strata/platform";
import { MeteringService } from "@strata/proto";
import { loadAuthConfig } from "./config.ts";
import { createAuthServer } from "./server.ts";
import { createAuthStore } from "./store.ts";
import { authTableSpecs, authTables } from "./tables.ts";

const config = loadAuthConfig(process.env);
const tracing = startTracing({
  service: "auth",
  endpoint: config.STRATA_OTLP_ENDPOINT,
  exportDelayMs: config.STRATA_OTLP_EXPORT_DELAY_MS,
});
const logger = createLogger({ service: "auth", level: config.STRATA_LOG_LEVEL });
const registry = createMetricsRegistry("auth");
const tables = authTables(config.STRATA_TABLE_PREFIX);
const dynamo = await openDynamo(config, authTableSpecs(tables));

if (config.STRATA_ADMIN_TOKEN_SHA256.length === 0) {
  logger.warn("no admin token configured: the admin API refuses every call");
}

const metering = config.STRATA_METERING_URL
  ? createRpcClient(MeteringService, createRpcTransport({ baseUrl: config.STRATA_METERING_URL }))
  : undefined;

const server = await createAuthServer({
  store: createAuthStore(dynamo.doc, tables),
  queryUsage:
    metering && (async (req) => (await metering.queryUsage(req, { timeoutMs: 30_000 })).summaries),
  logger,
  registry,
  host: config.STRATA_HOST,
  port: config.STRATA_PORT,
  adminPort: config.STRATA_ADMIN_PORT,
  bootstrapTokens: config.STRATA_ADMIN_TOKEN_SHA256,
  pepper: config.STRATA_KEY_PEPPER,
  keyMaxAgeDays: config.STRATA_KEY_MAX_AGE_DAYS,
  rotationOverlapDays: config.STRATA_KEY_ROTATION_OVERLAP_DAYS,
  expiryWarningDays: config.STRATA_KEY_EXPIRY_WARNING_DAYS,
  adminTokenTtlHours: config.STRATA_ADMIN_TOKEN_TTL_HOURS,
  adminTokenMaxTtlHours: config.STRATA_ADMIN_TOKEN_MAX_TTL_HOURS,
  changeFeedPollMs: config.STRATA_CHANGE_FEED_POLL_MS,
  expiryScanMs: config.STRATA_KEY_EXPIRY_SCAN_MS,

  verifyCacheTtlMs: config.STRATA_VERIFY_CACHE_TTL_MS,
});
await runService({
  service: "auth",
  tracing,
  logger,
  registry,
  server,
  config,
  ports: { grpc: server.port, admin: server.adminPort },
  afterClose: [{ name: "dynamodb", run: () => dynamo.client.destroy() }],
});
