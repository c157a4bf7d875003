import type { TableSpec } from "@strata/dynamodb";

/**
 * The usage ledger: one item per request, partitioned by tenant and ordered by time, so a
 * tenant's usage for a period is one Query. The sort key ends with the request id, which makes
 * every write idempotent: writing the same request twice writes the same item.
 */
export function usageTableSpec(prefix: string): TableSpec {
  return { name: `${prefix}usage`, partitionKey: "tenantId", sortKey: "usageKey" };
}
