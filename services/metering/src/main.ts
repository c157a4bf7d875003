import { createDynamoClient, ensureTables } from "@strata/dynamodb";
import {
  createLogger,
  createMetricsRegistry,
  notifyReady,
  onShutdown,
  startOpsServer,
} from "@strata/platform";
import { loadMeteringConfig } from "./config.ts";
import { createUsageLedger } from "./ledger.ts";
import { createMeteringServer } from "./server.ts";
import { usageTableSpec } from "./tables.ts";

const config = loadMeteringConfig(process.env);
const logger = createLogger({ service: "metering", level: config.STRATA_LOG_LEVEL });
const registry = createMetricsRegistry("metering");
const dynamo = createDynamoClient({
  region: config.STRATA_DYNAMODB_REGION,
  endpoint: config.STRATA_DYNAMODB_ENDPOINT,
});
const usageTable = usageTableSpec(config.STRATA_TABLE_PREFIX);
if (config.STRATA_CREATE_TABLES) await ensureTables(dynamo.client, [usageTable]);

const ledger = createUsageLedger({
  doc: dynamo.doc,
  table: usageTable.name,
  logger,
  registry,
  flushIntervalMs: config.STRATA_LEDGER_FLUSH_MS,
  maxBuffered: config.STRATA_LEDGER_BUFFER_MAX,
});
const server = await createMeteringServer({
  ledger,
  logger,
  registry,
  host: config.STRATA_HOST,
  port: config.STRATA_PORT,
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
    { name: "ledger", run: () => ledger.close(config.STRATA_SHUTDOWN_GRACE_MS) },
    { name: "ops", run: () => ops.close() },
  ],
});
logger.info({ port: server.port, metricsPort: ops.port }, "metering ready");
notifyReady({ service: "metering", ports: { grpc: server.port, metrics: ops.port } });
