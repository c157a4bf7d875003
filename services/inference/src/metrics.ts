import { Counter, Histogram, type Registry } from "prom-client";

/** Bedrock operations, as the `operation` label. */
export type UpstreamOperation = "converse" | "converse_stream" | "invoke_model";

/** The inference service's Prometheus metrics (labels bounded: catalog ids, operations, reasons). */
export interface InferenceMetrics {
  /** `outcome` is `success` or the StrataError reason (`rate_limited`, `cancelled`, ...). */
  readonly upstreamRequests: Counter<"model" | "operation" | "outcome">;
  readonly upstreamDuration: Histogram<"model" | "operation">;
  readonly timeToFirstToken: Histogram<"model">;
  /** Bedrock calls repeated after a transient error (before any byte of the answer). */
  readonly retries: Counter<"model" | "operation">;
  /** Requests handed from `model` to its catalog fallback `fallback`. */
  readonly fallbacks: Counter<"model" | "fallback">;
  /** Calls not made because the model's circuit breaker was open. */
  readonly circuitRejections: Counter<"model">;
  /**
   * STS AssumeRole calls for tenants' cross-account roles; `outcome` is `success`, the error code
   * (`cross_account_denied`, `cross_account_invalid`) or reason (`upstream_unavailable`,
   * `internal`).
   */
  readonly assumeRole: Counter<"outcome">;
}

/**
 * Registers the service's metrics on its own registry (never prom-client's global one). Duration
 * and time to first token follow the OpenTelemetry GenAI conventions' bucket boundaries.
 */
export function createInferenceMetrics(registry: Registry): InferenceMetrics {
  return {
    upstreamRequests: new Counter({
      name: "strata_inference_upstream_requests_total",
      help: "Bedrock calls by catalog model, operation and outcome (success or error reason).",
      labelNames: ["model", "operation", "outcome"],
      registers: [registry],
    }),
    upstreamDuration: new Histogram({
      name: "strata_inference_upstream_duration_seconds",
      help: "Duration of Bedrock calls, to the end of the answer (streams included).",
      labelNames: ["model", "operation"],
      buckets: [
        0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
      ],
      registers: [registry],
    }),
    timeToFirstToken: new Histogram({
      name: "strata_inference_time_to_first_token_seconds",
      help: "Time from sending a ConverseStream request to its first content delta.",
      labelNames: ["model"],
      buckets: [
        0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
      ],
      registers: [registry],
    }),
    retries: new Counter({
      name: "strata_inference_upstream_retries_total",
      help: "Bedrock calls repeated after a transient error (throttling, 5xx, network), by catalog model and operation.",
      labelNames: ["model", "operation"],
      registers: [registry],
    }),
    fallbacks: new Counter({
      name: "strata_inference_fallbacks_total",
      help: "Chat requests handed from a model to one of its catalog fallbacks.",
      labelNames: ["model", "fallback"],
      registers: [registry],
    }),
    circuitRejections: new Counter({
      name: "strata_inference_circuit_rejections_total",
      help: "Calls not sent to Bedrock because the model's circuit breaker was open.",
      labelNames: ["model"],
      registers: [registry],
    }),
    assumeRole: new Counter({
      name: "strata_inference_assume_role_total",
      help: "STS AssumeRole calls for tenants' cross-account roles, by outcome.",
      labelNames: ["outcome"],
      registers: [registry],
    }),
  };
}
