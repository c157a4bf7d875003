import { openDynamo } from "@strata/dynamodb";
import { createLogger, createMetricsRegistry, runService } from "@strata/platform";
import { loadMeteringConfig } from "./config.ts";
import { createUsageLedger } from "./ledger.ts";
import { createMeteringServer } from "./server.ts";
import { usageTableSpec } from "./tables.ts";

const config = loadMeteringConfig(process.env);
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
});
const server = await createMeteringServer({
  ledger,
  logger,
  registry,
  host: config.STRATA_HOST,
  port: config.STRATA_PORT,
});
await runService({
  service: "metering",
  logger,
  registry,
  server,
  config,
  ports: { grpc: server.port },
  afterClose: [
    { name: "ledger", run: () => ledger.close(config.STRATA_SHUTDOWN_GRACE_MS) },
    { name: "dynamodb", run: () => dynamo.client.destroy() },
  ],
});
