export {
  type ArgumentSchemaAjv,
  argumentSchemaDraft,
  createArgumentSchemaAjv,
  re2Engine,
} from "./argument-schema.ts";
export {
  commonEnv,
  type Env,
  flag,
  logLevel,
  type ParseEnvOptions,
  parseEnv,
  port,
  positiveInt,
  serviceUrl,
} from "./config.ts";
export { createHealthService, type HealthService } from "./health.ts";
export {
  notifyReady,
  onShutdown,
  type ReadyMessage,
  type ShutdownOptions,
  type ShutdownStep,
} from "./lifecycle.ts";
export { createLogger, type Logger, type LoggerOptions } from "./logger.ts";
export { createMetricsRegistry } from "./metrics.ts";
export { type OpsServer, type OpsServerOptions, startOpsServer } from "./ops-server.ts";
export { newRequestId, requestIdHeader } from "./request-id.ts";
export {
  bearerAuth,
  createRpcClient,
  createRpcTransport,
  type RpcTransportOptions,
} from "./rpc-client.ts";
export {
  createRpcServer,
  type RpcServer,
  type RpcServerOptions,
  remoteAddressKey,
} from "./rpc-server.ts";
export { type RunServiceOptions, runService, type Servable } from "./run-service.ts";
export {
  type StartSpanOptions,
  startSpan,
  startTracing,
  type TraceSpan,
  type Tracing,
  type TracingOptions,
  tracingEnabled,
} from "./tracing.ts";
