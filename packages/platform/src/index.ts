export { parseEnv, commonEnv, port, positiveInt, flag, logLevel, serviceUrl, type Env } from "./config.ts";
export { createLogger, type Logger, type LoggerOptions } from "./logger.ts";
export { createMetricsRegistry } from "./metrics.ts";
export { startOpsServer, type OpsServer, type OpsServerOptions } from "./ops-server.ts";
export { createHealthService, type HealthService } from "./health.ts";
export { createRpcServer, type RpcServer, type RpcServerOptions } from "./rpc-server.ts";
export { createRpcTransport, createRpcClient, type RpcTransportOptions } from "./rpc-client.ts";
export { onShutdown, notifyReady, type ShutdownStep, type ShutdownOptions, type ReadyMessage } from "./lifecycle.ts";
export { newRequestId, requestIdHeader } from "./request-id.ts";
