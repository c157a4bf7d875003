import type { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import type { ConnectRouter } from "@connectrpc/connect";
import { createHealthService, createRpcServer, type Logger } from "@strata/platform";
import { InferenceService } from "@strata/proto";
import type { Registry } from "prom-client";
import type { Catalog } from "./catalog.ts";
import { type CrossAccountClientsOptions, createCrossAccountClients } from "./cross-account.ts";
import { createInferenceMetrics } from "./metrics.ts";
import { createResilience, defaultResilience, type ResilienceOptions } from "./resilience.ts";
import { createInferenceService } from "./service.ts";

/** What the inference server needs; main.ts builds it from the configuration, tests by hand. */
export interface InferenceServerDeps {
  catalog: Catalog;
  /** The Bedrock Runtime client (createBedrockClient); the server does not own or destroy it. */
  client: BedrockRuntimeClient;
  /**
   * STS and a Bedrock client factory for tenants' cross-account roles (cross-account.ts). Without
   * it, requests naming a role fail. The server does not own or destroy the STS client.
   */
  crossAccount?: Omit<CrossAccountClientsOptions, "logger" | "assumeRoleTotal"> | undefined;
  logger: Logger;
  registry: Registry;
  host: string;
  port: number;
  /** Longest wait for a non-streamed answer or for a stream to start. */
  timeoutMs: number;
  /** Longest silence between two events of a streamed answer. */
  streamIdleTimeoutMs: number;
  /** InvokeModel calls in flight per embedding request; default 8. */
  embeddingConcurrency?: number | undefined;
  /** Retries and circuit breakers; each option defaults to {@link defaultResilience}'s. */
  resilience?: Partial<ResilienceOptions> | undefined;
}

/** The running inference service. */
export interface InferenceServer {
  readonly port: number;
  setServing(serving: boolean): void;
  isServing(): boolean;
  close(graceMs: number): Promise<void>;
}

/**
 * Serves InferenceService and the gRPC health service on one h2c port. Starts not serving:
 * main.ts turns readiness on once the ops server is up too.
 */
export async function createInferenceServer(deps: InferenceServerDeps): Promise<InferenceServer> {
  const health = createHealthService([InferenceService.typeName]);
  const metrics = createInferenceMetrics(deps.registry);
  const service = createInferenceService({
    catalog: deps.catalog,
    client: deps.client,
    crossAccount:
      deps.crossAccount &&
      createCrossAccountClients({
        ...deps.crossAccount,
        logger: deps.logger,
        assumeRoleTotal: metrics.assumeRole,
      }),
    logger: deps.logger,
    metrics,
    resilience: createResilience(
      { ...defaultResilience, ...deps.resilience },
      { registry: deps.registry, logger: deps.logger },
    ),
    timeoutMs: deps.timeoutMs,
    streamIdleTimeoutMs: deps.streamIdleTimeoutMs,
    embeddingConcurrency: deps.embeddingConcurrency,
  });
  const rpc = await createRpcServer({
    host: deps.host,
    port: deps.port,
    logger: deps.logger,
    routes(router: ConnectRouter) {
      health.register(router);
      router.service(InferenceService, service);
    },
  });
  return {
    port: rpc.port,
    setServing: (serving) => health.setServing(serving),
    isServing: () => health.isServing(),
    close: (graceMs) => rpc.close(graceMs),
  };
}
