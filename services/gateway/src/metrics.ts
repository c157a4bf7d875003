import { Counter, Histogram, type Registry } from "prom-client";

/** The gateway's request metrics. Labels are bounded: tenant, model, endpoint, status code. */
export interface GatewayMetrics {
  meteringUnreachable: Counter<"mode">;
  /** Requests for a URL no route serves, by method and API family (bounded, never the path). */
  unmatched: Counter<"method" | "route">;
  requests: Counter<"tenant" | "model" | "endpoint" | "code">;
  duration: Histogram<"tenant" | "model" | "endpoint" | "code">;
  timeToFirstToken: Histogram<"tenant" | "model">;
  tokens: Counter<"tenant" | "model" | "type">;
  /** Tool calls of the model removed by a tool policy; reason `name` or `arguments`. */
  toolCallsBlocked: Counter<"tenant" | "reason">;
  /** Credentials found in prompts, by type and action (`blocked` or `redacted`). */
  secretsDetected: Counter<"tenant" | "type" | "action">;
}

/**
 * Names follow OpenTelemetry's GenAI semantic conventions where one exists
 * (gen_ai.server.request.duration, gen_ai.server.time_to_first_token, gen_ai.client.token.usage),
 * with Strata's prefix and Prometheus units.
 */
export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  return {
    meteringUnreachable: new Counter({
      name: "strata_gateway_metering_unreachable_total",
      help: "Requests for which metering could not be reached, by the fail mode applied (open: admitted without limits).",
      labelNames: ["mode"],
      registers: [registry],
    }),

    unmatched: new Counter({
      name: "strata_gateway_unmatched_requests_total",
      help: "Requests for a URL no route serves, by method and the API family tried (e.g. /v1/responses): clients expecting routes Strata lacks.",
      labelNames: ["method", "route"],
      registers: [registry],
    }),
    requests: new Counter({
      name: "strata_gateway_requests_total",
      help: "Requests by tenant, model, endpoint and HTTP status code.",
      labelNames: ["tenant", "model", "endpoint", "code"],
      registers: [registry],
    }),
    duration: new Histogram({
      name: "strata_gateway_request_duration_seconds",
      help: "Time from request to the end of the response (gen_ai.server.request.duration).",
      labelNames: ["tenant", "model", "endpoint", "code"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    timeToFirstToken: new Histogram({
      name: "strata_gateway_time_to_first_token_seconds",
      help: "Time from request to the first content chunk of a stream (gen_ai.server.time_to_first_token).",
      labelNames: ["tenant", "model"],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    tokens: new Counter({
      name: "strata_gateway_tokens_total",
      help: "Tokens by tenant, model and type (input, output, cached) (gen_ai.client.token.usage).",
      labelNames: ["tenant", "model", "type"],
      registers: [registry],
    }),
    toolCallsBlocked: new Counter({
      name: "strata_gateway_tool_calls_blocked_total",
      help: "Tool calls of the model blocked by a tool policy, by tenant and reason (name, arguments).",
      labelNames: ["tenant", "reason"],
      registers: [registry],
    }),
    secretsDetected: new Counter({
      name: "strata_gateway_secrets_detected_total",
      help: "Credentials found in prompts, by tenant, type and action (blocked, redacted).",
      labelNames: ["tenant", "type", "action"],
      registers: [registry],
    }),
  };
}
