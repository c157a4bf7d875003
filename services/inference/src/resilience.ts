import type { Logger } from "@strata/platform";
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  type RetryPolicy,
  retry,
} from "cockatiel";
import { Gauge, type Registry } from "prom-client";
import { isTransientBedrockError, isUpstreamFailure } from "./bedrock-error.ts";

/**
 * How the service rides out a failing Bedrock: retries with jittered exponential backoff for
 * transient errors before any byte of the answer arrived, and a circuit breaker per upstream
 * (Bedrock model id, in Strata's account or a tenant's) so that a failing model (5xx, network,
 * not ready; not mere throttling) is not hammered and its requests go straight to their
 * fallbacks. Built on cockatiel's policies.
 */
export interface ResilienceOptions {
  /** Calls per upstream including the first (STRATA_BEDROCK_MAX_ATTEMPTS). */
  readonly maxAttempts: number;
  /** First retry delay; later ones grow exponentially with decorrelated jitter. */
  readonly retryBaseDelayMs: number;
  /** Ceiling of one retry delay. */
  readonly retryMaxDelayMs: number;
  /**
   * Consecutive requests whose calls to an upstream all failed (5xx, network, timeouts; not
   * throttling), retries included, that open its circuit.
   */
  readonly breakerFailures: number;
  /** How long an open circuit refuses calls before letting one probe through (half-open). */
  readonly breakerOpenMs: number;
}

/** The defaults: 3 calls, 100 ms → 1 s backoff, breaker opens after 5 failed requests for 10 s. */
export const defaultResilience: ResilienceOptions = {
  maxAttempts: 3,
  retryBaseDelayMs: 100,
  retryMaxDelayMs: 1_000,
  breakerFailures: 5,
  breakerOpenMs: 10_000,
};

/** One upstream (a Bedrock model id in one account) behind its circuit breaker. */
export interface Upstream {
  readonly breaker: CircuitBreakerPolicy;
  /** When an open circuit lets a probe through (epoch ms); 0 when closed. */
  readonly reopensAt: number;
  /**
   * Runs `fn` through the breaker. Throws BrokenCircuitError at once while the circuit is open,
   * and also while it is half-open with its one probe in flight (cockatiel would make the call
   * wait for the probe's verdict; a request with a fallback should not wait).
   */
  execute<T>(fn: () => Promise<T>, signal: AbortSignal): Promise<T>;
}

/** Retry and circuit-breaker state of the service. */
export interface Resilience {
  /** Retries transient failures (never a BrokenCircuitError); shared, stateless between calls. */
  readonly retry: RetryPolicy;
  /**
   * The breaker of `bedrockModelId` in `account` ("" for Strata's own, else the tenant's role ARN).
   * Created on first use; one per pair for the service's life (bounded by catalog × accounts).
   */
  upstream(account: string, bedrockModelId: string): Upstream;
}

/** Values of the `strata_inference_circuit_state` gauge. */
const stateValue: Record<CircuitState, number> = {
  [CircuitState.Closed]: 0,
  [CircuitState.Open]: 1,
  [CircuitState.HalfOpen]: 2,
  [CircuitState.Isolated]: 1,
};

/**
 * Creates the policies. Counts on `registry`: `strata_inference_circuit_state{upstream}` (0
 * closed, 1 open, 2 half-open) for Strata's own account's upstreams (tenants' accounts are not
 * labelled, to keep series bounded; their breakers are logged by the service).
 */
export function createResilience(
  options: ResilienceOptions,
  {
    registry,
    logger,
    clock = Date.now,
  }: { registry: Registry; logger: Logger; clock?: () => number },
): Resilience {
  const transient = handleWhen(isTransientBedrockError);
  const retryPolicy = retry(transient, {
    maxAttempts: options.maxAttempts - 1,
    backoff: new ExponentialBackoff({
      initialDelay: options.retryBaseDelayMs,
      maxDelay: options.retryMaxDelayMs,
    }),
  });
  const upstreams = new Map<string, Upstream>();
  const own = new Map<string, Upstream>();
  new Gauge({
    name: "strata_inference_circuit_state",
    help: "Circuit breaker of each Bedrock model id in Strata's own account: 0 closed, 1 open, 2 half-open.",
    labelNames: ["upstream"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [id, u] of own) this.set({ upstream: id }, stateValue[u.breaker.state]);
    },
  });
  return {
    retry: retryPolicy,
    upstream(account, bedrockModelId) {
      const key = `${account}\u0000${bedrockModelId}`;
      let found = upstreams.get(key);
      if (!found) {
        const breaker = circuitBreaker(handleWhen(isUpstreamFailure), {
          halfOpenAfter: options.breakerOpenMs,
          breaker: new ConsecutiveBreaker(options.breakerFailures),
        });
        let reopensAt = 0;
        const fields = { upstream: bedrockModelId, account: account || undefined };
        breaker.onBreak(() => {
          reopensAt = clock() + options.breakerOpenMs;
          logger.warn(
            { ...fields, openMs: options.breakerOpenMs },
            "circuit opened: Bedrock upstream failing, calls refused until a probe succeeds",
          );
        });
        breaker.onReset(() => {
          reopensAt = 0;
          logger.info(fields, "circuit closed: Bedrock upstream answering again");
        });
        found = {
          breaker,
          get reopensAt() {
            return reopensAt;
          },
          execute(fn, signal) {
            if (breaker.state === CircuitState.HalfOpen)
              return Promise.reject(new BrokenCircuitError());
            return breaker.execute(fn, signal);
          },
        };
        upstreams.set(key, found);
        if (account === "") own.set(bedrockModelId, found);
      }
      return found;
    },
  };
}

export { BrokenCircuitError };
