import { createLogger, createMetricsRegistry, runService, startTracing } from "@strata/platform";
import { createBedrockClient, createBedrockRequestHandler } from "./bedrock-client.ts";
import { createDefaultCatalog, loadCatalogFile } from "./catalog.ts";
import { loadInferenceConfig } from "./config.ts";
import { createInferenceServer } from "./server.ts";
import { createStsClient } from "./sts-client.ts";

const config = loadInferenceConfig(process.env);
const tracing = startTracing({
  service: "inference",
  endpoint: config.STRATA_OTLP_ENDPOINT,
  exportDelayMs: config.STRATA_OTLP_EXPORT_DELAY_MS,
});
const logger = createLogger({ service: "inference", level: config.STRATA_LOG_LEVEL });
const registry = createMetricsRegistry("inference");
const region = config.STRATA_BEDROCK_REGION;
const catalog = config.STRATA_CATALOG_FILE
  ? await loadCatalogFile(config.STRATA_CATALOG_FILE, { region })
  : createDefaultCatalog({ region });
const bedrock = {
  region,
  endpoint: config.STRATA_BEDROCK_ENDPOINT,
  // One connection pool for Strata's own calls and every tenant's cross-account calls.
  requestHandler: createBedrockRequestHandler(),
};
const client = createBedrockClient({ ...bedrock, credentials: config.bedrockCredentials });
const sts = createStsClient({
  region,
  endpoint: config.STRATA_STS_ENDPOINT,
  credentials: config.bedrockCredentials,
});

const server = await createInferenceServer({
  catalog,
  client,
  crossAccount: {
    sts,
    createClient: (credentials) => createBedrockClient({ ...bedrock, credentials }),
  },
  logger,
  registry,
  host: config.STRATA_HOST,
  port: config.STRATA_PORT,
  timeoutMs: config.STRATA_BEDROCK_TIMEOUT_MS,
  streamIdleTimeoutMs: config.STRATA_STREAM_IDLE_TIMEOUT_MS,
  resilience: {
    maxAttempts: config.STRATA_BEDROCK_MAX_ATTEMPTS,
    retryBaseDelayMs: config.STRATA_BEDROCK_RETRY_BASE_DELAY_MS,
    retryMaxDelayMs: config.STRATA_BEDROCK_RETRY_MAX_DELAY_MS,
    breakerFailures: config.STRATA_BREAKER_FAILURES,
    breakerOpenMs: config.STRATA_BREAKER_OPEN_MS,
  },
});
await runService({
  service: "inference",
  tracing,
  logger,
  registry,
  server,
  config,
  ports: { grpc: server.port },
  afterClose: [
    { name: "bedrock", run: () => client.destroy() },
    { name: "sts", run: () => sts.destroy() },
  ],
  details: {
    region,
    endpoint: config.STRATA_BEDROCK_ENDPOINT ?? "regional",
    stsEndpoint: config.STRATA_STS_ENDPOINT ?? "sdk default",
    credentials: config.bedrockCredentials,
    models: catalog.list().length,
  },
});
