import { collectDefaultMetrics, Registry } from "prom-client";

/**
 * A Prometheus registry of its own per service (never prom-client's global one), with the
 * default process metrics, so that several services can share a process in tests.
 */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}
