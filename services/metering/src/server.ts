import type { ConnectRouter } from "@connectrpc/connect";
import { invalidRequest } from "@strata/errors";
import { createHealthService, createRpcServer, type Logger } from "@strata/platform";
import { MeteringService, type QueryUsageRequest, type UsageSummary } from "@strata/proto";
import { Counter, type Registry } from "prom-client";
import type { UsageLedger } from "./ledger.ts";
import type { Limiter } from "./limiter.ts";

/** What the metering server needs; main.ts builds it from the configuration. */
export interface MeteringServerDeps {
  ledger: UsageLedger;
  /** Rate limits, concurrency and budgets (createLimiter over a memory or Redis store). */
  limiter: Limiter;
  /** Reads the ledger for QueryUsage. */
  queryUsage: (req: QueryUsageRequest) => Promise<UsageSummary[]>;
  logger: Logger;
  registry: Registry;
  host: string;
  port: number;
}

export interface MeteringServer {
  readonly port: number;
  setServing(serving: boolean): void;
  isServing(): boolean;
  close(graceMs: number): Promise<void>;
}

/**
 * Metering: Admit checks a request against its tenant's and key's rate limits, concurrency and
 * budgets and reserves what it may use (or refuses with rate_limited / quota_exceeded); Settle
 * corrects each reservation to the real usage, frees its slots, and records one usage entry per
 * request in the ledger, many per call.
 */
export async function createMeteringServer(deps: MeteringServerDeps): Promise<MeteringServer> {
  const tokens = new Counter({
    name: "strata_metering_tokens_total",
    help: "Tokens settled, by tenant, model and type (input, output, cache_read, cache_write).",
    labelNames: ["tenant", "model", "type"],
    registers: [deps.registry],
  });
  const health = createHealthService([MeteringService.typeName]);
  const server = await createRpcServer({
    host: deps.host,
    port: deps.port,
    logger: deps.logger,
    routes(router: ConnectRouter) {
      health.register(router);
      router.service(MeteringService, {
        async admit(req) {
          if (!req.requestId) throw invalidRequest("request_id", "request_id is required.");
          const rateLimit = await deps.limiter.admit(req);
          return { reservationId: req.requestId, rateLimit };
        },
        async queryUsage(req) {
          return { summaries: await deps.queryUsage(req) };
        },
        async settle(req) {
          for (const [i, { usage }] of req.settlements.entries()) {
            if (!usage?.requestId || !usage.principal?.tenantId) {
              throw invalidRequest(
                `settlements[${i}].usage`,
                "A usage record needs a request id and a tenant.",
              );
            }
          }
          const results = await Promise.all(req.settlements.map((s) => deps.limiter.settle(s)));
          for (const [i, { usage }] of req.settlements.entries()) {
            const settled = results[i];
            if (!usage || !settled) continue;
            // The ledger item carries the cost the budgets were charged; a settlement sent twice
            // rewrites the same item with the same cost.
            deps.ledger.record(usage, settled.costMicros);
            // A settlement sent twice is counted once.
            if (!usage.principal || settled.result === "already_settled") continue;
            const labels = { tenant: usage.principal.tenantId, model: usage.model };
            tokens.inc({ ...labels, type: "input" }, usage.inputTokens);
            tokens.inc({ ...labels, type: "output" }, usage.outputTokens);
            tokens.inc({ ...labels, type: "cache_read" }, usage.cacheReadInputTokens);
            tokens.inc({ ...labels, type: "cache_write" }, usage.cacheWriteInputTokens);
          }
          return {};
        },
      });
    },
  });
  return {
    port: server.port,
    setServing: (serving) => health.setServing(serving),
    isServing: () => health.isServing(),
    close: (graceMs) => server.close(graceMs),
  };
}
