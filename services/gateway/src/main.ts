import {
  createLogger,
  createMetricsRegistry,
  createRpcClient,
  createRpcTransport,
  runService,
  startTracing,
} from "@strata/platform";
import { AuthService, InferenceService, MeteringService } from "@strata/proto";
import { createAuthenticator } from "./authenticator.ts";
import { createCatalogCache } from "./catalog.ts";
import { createClientIpResolver } from "./client-ip.ts";
import { loadGatewayConfig } from "./config.ts";
import { createImageFetcher } from "./image-fetcher.ts";
import { createSecurityEventReporter } from "./security-events.ts";
import { createGatewayServer } from "./server.ts";
import { createUsageReporter } from "./usage-reporter.ts";

const config = loadGatewayConfig(process.env);
const tracing = startTracing({
  service: "gateway",
  endpoint: config.STRATA_OTLP_ENDPOINT,
  exportDelayMs: config.STRATA_OTLP_EXPORT_DELAY_MS,
});
const logger = createLogger({ service: "gateway", level: config.STRATA_LOG_LEVEL });
const registry = createMetricsRegistry("gateway");
const auth = createRpcClient(AuthService, createRpcTransport({ baseUrl: config.STRATA_AUTH_URL }));
const inference = createRpcClient(
  InferenceService,
  createRpcTransport({ baseUrl: config.STRATA_INFERENCE_URL }),
);
const metering = createRpcClient(
  MeteringService,
  createRpcTransport({ baseUrl: config.STRATA_METERING_URL }),
);
const usage = createUsageReporter({
  metering,
  logger,
  registry,
  timeoutMs: config.STRATA_CONTROL_TIMEOUT_MS,
});

const securityEvents = createSecurityEventReporter({
  auth,
  logger,
  registry,
  timeoutMs: config.STRATA_CONTROL_TIMEOUT_MS,
});

const authenticator = createAuthenticator({
  auth,
  logger,
  registry,
  timeoutMs: config.STRATA_CONTROL_TIMEOUT_MS,
  maxTtlMs: config.STRATA_AUTH_CACHE_MAX_TTL_MS,
  negativeTtlMs: config.STRATA_AUTH_NEGATIVE_TTL_MS,
  unwatchedTtlMs: config.STRATA_AUTH_UNWATCHED_TTL_MS,
});
authenticator.watch();

const server = await createGatewayServer({
  authenticator,
  clientIp: createClientIpResolver({
    trustedProxies: config.STRATA_TRUSTED_PROXY_CIDRS,
    header: config.STRATA_CLIENT_IP_HEADER,
  }),
  inference,
  metering,
  catalog: createCatalogCache({
    inference,
    refreshMs: config.STRATA_CATALOG_REFRESH_MS,
    timeoutMs: config.STRATA_CONTROL_TIMEOUT_MS,
    logger,
  }),
  usage,
  securityEvents,
  imageFetcher:
    config.STRATA_REMOTE_IMAGES === "fetch"
      ? createImageFetcher({
          maxBytes: config.STRATA_REMOTE_IMAGE_MAX_BYTES,
          maxImages: config.STRATA_REMOTE_IMAGE_MAX_COUNT,
          maxTotalBytes: config.STRATA_REMOTE_IMAGE_MAX_TOTAL_BYTES,
          timeoutMs: config.STRATA_REMOTE_IMAGE_TIMEOUT_MS,
        })
      : undefined,
  maxBodyBytes: config.STRATA_MAX_BODY_BYTES,
  bodyTimeoutMs: config.STRATA_BODY_TIMEOUT_MS,
  meteringFailMode: config.STRATA_METERING_FAIL_MODE,
  maxTokensMode: config.STRATA_MAX_TOKENS_MODE,

  keepaliveMs: config.STRATA_SSE_KEEPALIVE_MS,
  upstreamTimeoutMs: config.STRATA_UPSTREAM_TIMEOUT_MS,
  controlTimeoutMs: config.STRATA_CONTROL_TIMEOUT_MS,
  logger,
  registry,
  host: config.STRATA_HOST,
  port: config.STRATA_PORT,
});
await runService({
  service: "gateway",
  tracing,
  logger,
  registry,
  server,
  config,
  ports: { http: server.port },
  afterClose: [
    // What cannot be settled in time is counted and logged by drain, not lost silently.
    { name: "usage", run: (left) => usage.drain(Math.min(5_000, left * 0.7)) },
    { name: "security events", run: (left) => securityEvents.drain(Math.min(2_000, left)) },
    { name: "revocation watch", run: () => authenticator.close() },
  ],
});
