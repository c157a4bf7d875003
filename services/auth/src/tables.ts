import type { TableSpec } from "@strata/dynamodb";

/** Names of the auth service's tables. */
export interface AuthTables {
  tenants: string;
  keys: string;
  audit: string;
  adminTokens: string;
  changes: string;
}

export function authTables(prefix: string): AuthTables {
  return {
    tenants: `${prefix}tenants`,
    keys: `${prefix}keys`,
    audit: `${prefix}audit`,
    adminTokens: `${prefix}admin-tokens`,
    changes: `${prefix}changes`,
  };
}

/**
 * Table designs. Keys are found by key id (one read per verification) and listed per tenant
 * through the `byTenant` index; audit events are partitioned by tenant and ordered by time; the
 * change feed (revocations, tenant changes) is one ordered partition that every auth replica
 * follows, so a revocation made on one replica reaches the gateways connected to all of them.
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
    { name: tables.adminTokens, partitionKey: "tokenId" },
    { name: tables.changes, partitionKey: "feed", sortKey: "changeKey" },
  ];
}
