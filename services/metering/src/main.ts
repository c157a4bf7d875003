import { openDynamo } from "@strata/dynamodb";
import { createLogger, createMetricsRegistry, runService, startTracing } from "@strata/platform";
import { loadMeteringConfig } from "./config.ts";
import { createUsageLedger } from "./ledger.ts";
import { limitStoreFromConfig } from "./limit-store-from-config.ts";
import { createLimiter } from "./limiter.ts";
import { createMeteringServer } from "./server.ts";
import { usageTableSpec } from "./tables.ts";
import { ledgerUsage, queryUsage } from "./usage-query.ts";

const config = loadMeteringConfig(process.env);
const tracing = startTracing({
  service: "metering",
  endpoint: config.STRATA_OTLP_ENDPOINT,
  exportDelayMs: config.STRATA_OTLP_EXPORT_DELAY_MS,
});
const logger = createLogger({ service: "metering", level: config.STRATA_LOG_LEVEL });
const registry = createMetricsRegistry("metering");
const usageTable = usageTableSpec(config.STRATA_TABLE_PREFIX);
const dynamo = await openDynamo(config, [usageTable]);

const ledger = createUsageLedger({
  doc: dynamo.doc,
  table: usageTable.name,
  logger,
  registry,
  flushIntervalMs: config.STRATA_LEDGER_FLUSH_MS,
  maxBuffered: config.STRATA_LEDGER_BUFFER_MAX,
  writeTimeoutMs: config.STRATA_LEDGER_WRITE_TIMEOUT_MS,
});
const store = await limitStoreFromConfig(config, logger);
const limiter = createLimiter({
  store,
  registry,
  logger,
  failMode: config.STRATA_LIMITS_FAIL_MODE,
  leaseMs: config.STRATA_LIMITS_LEASE_MS,
  reservationTtlMs: config.STRATA_RESERVATION_TTL_MS,
  // A budget outlives a restart of its store: a period the store does not know starts from the
  // ledger's sum.
  budgetHistory: (scope) => ledgerUsage(dynamo.doc, usageTable.name, scope),
});
const server = await createMeteringServer({
  ledger,
  limiter,
  queryUsage: (req) => queryUsage(dynamo.doc, usageTable.name, req),
  logger,
  registry,
  host: config.STRATA_HOST,
  port: config.STRATA_PORT,
});
await runService({
  service: "metering",
  tracing,
  logger,
  registry,
  server,
  config,
  ports: { grpc: server.port },
  afterClose: [
    { name: "ledger", run: (left) => ledger.close(left) },
    { name: "limits store", run: () => store.close() },
    { name: "dynamodb", run: () => dynamo.client.destroy() },
  ],
});
