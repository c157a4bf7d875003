import { createLogger, createMetricsRegistry, runService } from "@strata/platform";
import { createBedrockClient } from "./bedrock-client.ts";
import { createDefaultCatalog, loadCatalogFile } from "./catalog.ts";
import { loadInferenceConfig } from "./config.ts";
import { createInferenceServer } from "./server.ts";

const config = loadInferenceConfig(process.env);
const logger = createLogger({ service: "inference", level: config.STRATA_LOG_LEVEL });
const registry = createMetricsRegistry("inference");
const catalog = config.STRATA_CATALOG_FILE
  ? await loadCatalogFile(config.STRATA_CATALOG_FILE)
  : createDefaultCatalog();
const client = createBedrockClient({
  region: config.STRATA_BEDROCK_REGION,
  endpoint: config.STRATA_BEDROCK_ENDPOINT,
  maxAttempts: config.STRATA_BEDROCK_MAX_ATTEMPTS,
  credentials: config.bedrockCredentials,
});

const server = await createInferenceServer({
  catalog,
  client,
  logger,
  registry,
  host: config.STRATA_HOST,
  port: config.STRATA_PORT,
  timeoutMs: config.STRATA_BEDROCK_TIMEOUT_MS,
  streamIdleTimeoutMs: config.STRATA_STREAM_IDLE_TIMEOUT_MS,
});
await runService({
  service: "inference",
  logger,
  registry,
  server,
  config,
  ports: { grpc: server.port },
  afterClose: [{ name: "bedrock", run: () => client.destroy() }],
  details: {
    region: config.STRATA_BEDROCK_REGION,
    endpoint: config.STRATA_BEDROCK_ENDPOINT ?? "regional",
    credentials: config.bedrockCredentials,
    models: catalog.list().length,
  },
});
