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

/** A policy as stored: the proto JSON of strata.auth.v1.Policy. */
export type StoredPolicy = Record<string, unknown>;

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
  rotatedToKeyId?: string;
  rotatedFromKeyId?: string;
}

/** An admin token record: scope, lifetime and the salted hash. */
export interface AdminTokenRecord {
  tokenId: string;
  name: string;
  /** Empty: global. */
  tenantId: string;
  scheme: HashScheme;
  salt: string;
  hash: string;
  createdAtMs: number;
  expiresAtMs: number;
  revokedAtMs?: number;
}

/** One append-only audit event. Never key material or prompt content. */
export interface AuditEvent {
  tenantId: string;
  actor: string;
  action: string;
  target: string;
  result: "success" | "denied" | "failed" | "blocked";
  source: string;
  detail?: string;
}

/** A stored audit event, with its time. */
export interface StoredAuditEvent extends AuditEvent {
  at: string;
}

/** One entry of the change feed gateways follow. */
export interface Change {
  changeKey: string;
  keyId?: string;
  tenantId?: string;
}

/** The auth service's persistence, on DynamoDB. */
export interface AuthStore {
  /** `signal` ends the read early (the caller's deadline passed), as on getKey. */
  getTenant(tenantId: string, signal?: AbortSignal): Promise<TenantRecord | undefined>;
  /** Fails with already_exists when the tenant exists. */
  createTenant(tenant: TenantRecord): Promise<void>;
  /** Writes changed fields; undefined when there is no such tenant. */
  updateTenant(
    tenantId: string,
    changes: Partial<Pick<TenantRecord, "displayName" | "status" | "policy">>,
  ): Promise<TenantRecord | undefined>;
  listTenants(): Promise<TenantRecord[]>;
  /**
   * `signal` ends the read early: VerifyKey passes its call's, so a DynamoDB that hangs holds no
   * connection past the gateway's deadline.
   */
  getKey(keyId: string, signal?: AbortSignal): Promise<KeyRecord | undefined>;
  createKey(key: KeyRecord): Promise<void>;
  listKeys(tenantId?: string): Promise<KeyRecord[]>;
  /** Marks a key revoked; returns the updated record, or undefined when there is no such key. */
  revokeKey(keyId: string, atMs: number): Promise<KeyRecord | undefined>;
  /** Ends a rotated key's life at `expiresAtMs` (never later than it was) and links its successor. */
  retireKey(
    keyId: string,
    expiresAtMs: number,
    successorKeyId: string,
  ): Promise<KeyRecord | undefined>;
  getAdminToken(tokenId: string): Promise<AdminTokenRecord | undefined>;
  createAdminToken(token: AdminTokenRecord): Promise<void>;
  listAdminTokens(): Promise<AdminTokenRecord[]>;
  revokeAdminToken(tokenId: string, atMs: number): Promise<AdminTokenRecord | undefined>;
  appendAudit(event: AuditEvent): Promise<void>;
  /** Newest first. Without a tenant: every tenant's events. */
  listAudit(query: {
    tenantId?: string;
    sinceMs?: number;
    limit: number;
  }): Promise<StoredAuditEvent[]>;
  /** Appends to the change feed (revocations, tenant changes). */
  appendChange(change: Omit<Change, "changeKey">): Promise<void>;
  /** Changes after `afterKey`, oldest first. */
  readChanges(afterKey: string): Promise<Change[]>;
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

/** A time-ordered, unique sort key: ISO time then a random suffix. */
function timeKey(at = new Date()): string {
  return `${at.toISOString()}#${randomUUID()}`;
}

const feed = "all";

export function createAuthStore(doc: DynamoDBDocumentClient, tables: AuthTables): AuthStore {
  const conditionalUpdate = async <T>(
    input: ConstructorParameters<typeof UpdateCommand>[0],
  ): Promise<T | undefined> => {
    try {
      const { Attributes } = await doc.send(
        new UpdateCommand({ ...input, ReturnValues: "ALL_NEW" }),
      );
      return Attributes as T;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  };
  const scanAll = <T>(table: string) =>
    allPages(async (start) => {
      const page = await doc.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
      return { items: (page.Items ?? []) as T[], next: page.LastEvaluatedKey };
    });

  return {
    async getTenant(tenantId, signal) {
      const { Item } = await doc.send(
        new GetCommand({ TableName: tables.tenants, Key: { tenantId } }),
        { abortSignal: signal },
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
    updateTenant(tenantId, changes) {
      const entries = Object.entries(changes).filter(([, v]) => v !== undefined);
      if (entries.length === 0) return this.getTenant(tenantId);
      return conditionalUpdate<TenantRecord>({
        TableName: tables.tenants,
        Key: { tenantId },
        UpdateExpression: `SET ${entries.map((_, i) => `#f${i} = :v${i}`).join(", ")}`,
        ConditionExpression: "attribute_exists(tenantId)",
        ExpressionAttributeNames: Object.fromEntries(entries.map(([k], i) => [`#f${i}`, k])),
        ExpressionAttributeValues: Object.fromEntries(entries.map(([, v], i) => [`:v${i}`, v])),
      });
    },
    listTenants: () => scanAll<TenantRecord>(tables.tenants),
    async getKey(keyId, signal) {
      const { Item } = await doc.send(new GetCommand({ TableName: tables.keys, Key: { keyId } }), {
        abortSignal: signal,
      });
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
      tenantId
        ? allPages(async (start) => {
            const page = await doc.send(
              new QueryCommand({
                TableName: tables.keys,
                IndexName: "byTenant",
                KeyConditionExpression: "tenantId = :t",
                ExpressionAttributeValues: { ":t": tenantId },
                ExclusiveStartKey: start,
              }),
            );
            return { items: (page.Items ?? []) as KeyRecord[], next: page.LastEvaluatedKey };
          })
        : scanAll<KeyRecord>(tables.keys),
    revokeKey: (keyId, atMs) =>
      conditionalUpdate<KeyRecord>({
        TableName: tables.keys,
        Key: { keyId },
        UpdateExpression: "SET revokedAtMs = if_not_exists(revokedAtMs, :at)",
        ConditionExpression: "attribute_exists(keyId)",
        ExpressionAttributeValues: { ":at": atMs },
      }),
    retireKey: (keyId, expiresAtMs, successorKeyId) =>
      conditionalUpdate<KeyRecord>({
        TableName: tables.keys,
        Key: { keyId },
        UpdateExpression: "SET expiresAtMs = :e, rotatedToKeyId = :n",
        // Only a live key that was not rotated already, and never to extend its life.
        ConditionExpression:
          "attribute_exists(keyId) AND attribute_not_exists(revokedAtMs) AND attribute_not_exists(rotatedToKeyId) AND expiresAtMs >= :e",
        ExpressionAttributeValues: { ":e": expiresAtMs, ":n": successorKeyId },
      }),
    async getAdminToken(tokenId) {
      const { Item } = await doc.send(
        new GetCommand({ TableName: tables.adminTokens, Key: { tokenId } }),
      );
      return Item as AdminTokenRecord | undefined;
    },
    async createAdminToken(token) {
      await doc.send(
        new PutCommand({
          TableName: tables.adminTokens,
          Item: token,
          ConditionExpression: "attribute_not_exists(tokenId)",
        }),
      );
    },
    listAdminTokens: () => scanAll<AdminTokenRecord>(tables.adminTokens),
    revokeAdminToken: (tokenId, atMs) =>
      conditionalUpdate<AdminTokenRecord>({
        TableName: tables.adminTokens,
        Key: { tokenId },
        UpdateExpression: "SET revokedAtMs = if_not_exists(revokedAtMs, :at)",
        ConditionExpression: "attribute_exists(tokenId)",
        ExpressionAttributeValues: { ":at": atMs },
      }),
    async appendAudit(event) {
      const at = new Date();
      await doc.send(
        new PutCommand({
          TableName: tables.audit,
          Item: { ...event, at: at.toISOString(), eventKey: timeKey(at) },
          // Append-only: an event is never overwritten.
          ConditionExpression: "attribute_not_exists(eventKey)",
        }),
      );
    },
    async listAudit({ tenantId, sinceMs, limit }) {
      const since = sinceMs ? new Date(sinceMs).toISOString() : "";
      if (tenantId) {
        const { Items = [] } = await doc.send(
          new QueryCommand({
            TableName: tables.audit,
            KeyConditionExpression: since ? "tenantId = :t AND eventKey >= :s" : "tenantId = :t",
            ExpressionAttributeValues: { ":t": tenantId, ...(since ? { ":s": since } : {}) },
            ScanIndexForward: false,
            Limit: limit,
          }),
        );
        return Items as StoredAuditEvent[];
      }
      const all = (await scanAll<StoredAuditEvent & { eventKey: string }>(tables.audit)).filter(
        (e) => e.eventKey >= since,
      );
      all.sort((a, b) => b.eventKey.localeCompare(a.eventKey));
      return all.slice(0, limit);
    },
    async appendChange(change) {
      await doc.send(
        new PutCommand({
          TableName: tables.changes,
          Item: { ...change, feed, changeKey: timeKey() },
        }),
      );
    },
    async readChanges(afterKey) {
      const items = await allPages(async (start) => {
        const page = await doc.send(
          new QueryCommand({
            TableName: tables.changes,
            KeyConditionExpression: "feed = :f AND changeKey > :k",
            ExpressionAttributeValues: { ":f": feed, ":k": afterKey },
            ExclusiveStartKey: start,
          }),
        );
        return { items: (page.Items ?? []) as Change[], next: page.LastEvaluatedKey };
      });
      return items;
    },
  };
}
