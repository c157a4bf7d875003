import { randomUUID } from "node:crypto";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { StrataError } from "@strata/errors";
import type { HashScheme } from "./api-key.ts";
import type { AuthTables } from "./tables.ts";

/** A policy as stored: plain lists, empty meaning "no restriction". */
export interface StoredPolicy {
  allowedModels: string[];
  allowedEndpoints: string[];
}

export interface TenantRecord {
  tenantId: string;
  displayName: string;
  status: "active" | "suspended";
  policy: StoredPolicy;
  createdAt: string;
}

/** A key record: metadata and the salted hash. The secret itself is never stored. */
export interface KeyRecord {
  keyId: string;
  tenantId: string;
  name: string;
  scheme: HashScheme;
  salt: string;
  hash: string;
  policy: StoredPolicy;
  /** ISO 8601; also the sort key of the byTenant index. */
  createdAt: string;
  expiresAtMs: number;
  revokedAtMs?: number;
}

/** One append-only audit event. Never key material. */
export interface AuditEvent {
  tenantId: string;
  actor: string;
  action: string;
  target: string;
  result: "success" | "denied" | "failed";
  source: string;
  detail?: string;
}

/** The auth service's persistence, on DynamoDB. */
export interface AuthStore {
  getTenant(tenantId: string): Promise<TenantRecord | undefined>;
  /** Fails with already_exists when the tenant exists. */
  createTenant(tenant: TenantRecord): Promise<void>;
  listTenants(): Promise<TenantRecord[]>;
  getKey(keyId: string): Promise<KeyRecord | undefined>;
  createKey(key: KeyRecord): Promise<void>;
  listKeys(tenantId?: string): Promise<KeyRecord[]>;
  /** Marks a key revoked; returns the updated record, or undefined when there is no such key. */
  revokeKey(keyId: string, atMs: number): Promise<KeyRecord | undefined>;
  appendAudit(event: AuditEvent): Promise<void>;
}

/** Collects every page of a paginated read. */
async function allPages<T>(
  read: (
    startKey?: Record<string, unknown>,
  ) => Promise<{ items: T[]; next?: Record<string, unknown> }>,
): Promise<T[]> {
  const items: T[] = [];
  let next: Record<string, unknown> | undefined;
  do {
    const page = await read(next);
    items.push(...page.items);
    next = page.next;
  } while (next);
  return items;
}

export function createAuthStore(doc: DynamoDBDocumentClient, tables: AuthTables): AuthStore {
  return {
    async getTenant(tenantId) {
      const { Item } = await doc.send(
        new GetCommand({ TableName: tables.tenants, Key: { tenantId } }),
      );
      return Item as TenantRecord | undefined;
    },
    async createTenant(tenant) {
      try {
        await doc.send(
          new PutCommand({
            TableName: tables.tenants,
            Item: tenant,
            ConditionExpression: "attribute_not_exists(tenantId)",
          }),
        );
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) {
          throw new StrataError("already_exists", `Tenant '${tenant.tenantId}' already exists.`, {
            param: "tenant_id",
          });
        }
        throw error;
      }
    },
    listTenants: () =>
      allPages(async (start) => {
        const page = await doc.send(
          new ScanCommand({ TableName: tables.tenants, ExclusiveStartKey: start }),
        );
        return { items: (page.Items ?? []) as TenantRecord[], next: page.LastEvaluatedKey };
      }),
    async getKey(keyId) {
      const { Item } = await doc.send(new GetCommand({ TableName: tables.keys, Key: { keyId } }));
      return Item as KeyRecord | undefined;
    },
    async createKey(key) {
      await doc.send(
        new PutCommand({
          TableName: tables.keys,
          Item: key,
          ConditionExpression: "attribute_not_exists(keyId)",
        }),
      );
    },
    listKeys: (tenantId) =>
      allPages(async (start) => {
        const page = tenantId
          ? await doc.send(
              new QueryCommand({
                TableName: tables.keys,
                IndexName: "byTenant",
                KeyConditionExpression: "tenantId = :t",
                ExpressionAttributeValues: { ":t": tenantId },
                ExclusiveStartKey: start,
              }),
            )
          : await doc.send(new ScanCommand({ TableName: tables.keys, ExclusiveStartKey: start }));
        return { items: (page.Items ?? []) as KeyRecord[], next: page.LastEvaluatedKey };
      }),
    async revokeKey(keyId, atMs) {
      try {
        const { Attributes } = await doc.send(
          new UpdateCommand({
            TableName: tables.keys,
            Key: { keyId },
            UpdateExpression: "SET revokedAtMs = if_not_exists(revokedAtMs, :at)",
            ConditionExpression: "attribute_exists(keyId)",
            ExpressionAttributeValues: { ":at": atMs },
            ReturnValues: "ALL_NEW",
          }),
        );
        return Attributes as KeyRecord;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return undefined;
        throw error;
      }
    },
    async appendAudit(event) {
      const at = new Date().toISOString();
      await doc.send(
        new PutCommand({
          TableName: tables.audit,
          Item: { ...event, at, eventKey: `${at}#${randomUUID()}` },
        }),
      );
    },
  };
}
