import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/**
 * The operator's metrics. Labels are bounded: the kind (Tenant, ApiKey), a result, a reason from
 * a closed set — never object names, key ids or anything secret.
 */
export function createOperatorMetrics(registry: Registry, queueDepth: () => number) {
  return {
    reconciles: new Counter({
      name: "strata_operator_reconciles_total",
      help: "Reconciles by kind and result (success, error).",
      labelNames: ["kind", "result"] as const,
      registers: [registry],
    }),
    reconcileErrors: new Counter({
      name: "strata_operator_reconcile_errors_total",
      help: "Failed reconciles by kind and reason (the Synced condition's reason).",
      labelNames: ["kind", "reason"] as const,
      registers: [registry],
    }),
    reconcileDuration: new Histogram({
      name: "strata_operator_reconcile_duration_seconds",
      help: "Time to reconcile one object.",
      labelNames: ["kind"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: "strata_operator_queue_depth",
      help: "Objects waiting to be reconciled.",
      registers: [registry],
      collect() {
        this.set(queueDepth());
      },
    }),
    leader: new Gauge({
      name: "strata_operator_leader",
      help: "1 while this replica holds the leader Lease and reconciles, else 0.",
      registers: [registry],
    }),
    keysIssued: new Counter({
      name: "strata_operator_keys_issued_total",
      help: "Keys issued into Secrets, by reason (created, rotated, reissued).",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    keysRevoked: new Counter({
      name: "strata_operator_keys_revoked_total",
      help: "Keys the operator revoked, by reason (deleted, replaced, namespace_not_allowed).",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    watchRestarts: new Counter({
      name: "strata_operator_watch_restarts_total",
      help: "Watches restarted after an error, by resource.",
      labelNames: ["resource"] as const,
      registers: [registry],
    }),
  };
}

export type OperatorMetrics = ReturnType<typeof createOperatorMetrics>;
