import type { TableSpec } from "@strata/dynamodb";

/** Names of the auth service's tables. */
export interface AuthTables {
  tenants: string;
  keys: string;
  audit: string;
}

export function authTables(prefix: string): AuthTables {
  return { tenants: `${prefix}tenants`, keys: `${prefix}keys`, audit: `${prefix}audit` };
}

/**
 * Table designs. Keys are found by key id (one read per verification) and listed per tenant
 * through the `byTenant` index; audit events are partitioned by tenant and ordered by time.
 */
export function authTableSpecs(tables: AuthTables): TableSpec[] {
  return [
    { name: tables.tenants, partitionKey: "tenantId" },
    {
      name: tables.keys,
      partitionKey: "keyId",
      indexes: [{ name: "byTenant", partitionKey: "tenantId", sortKey: "createdAt" }],
    },
    { name: tables.audit, partitionKey: "tenantId", sortKey: "eventKey" },
  ];
}
