import { type DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { create } from "@bufbuild/protobuf";
import { invalidRequest } from "@strata/errors";
import { type QueryUsageRequest, type UsageSummary, UsageSummarySchema } from "@strata/proto";
import type { BudgetScope, BudgetUsage } from "./limiter.ts";

const dayPattern = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Sums a tenant's ledger (requests, tokens, cost) per UTC day, key and model. The ledger is
 * partitioned by tenant and sorted by time, so a period is one Query (paginated); the sums are
 * made here.
 */
export async function queryUsage(
  doc: DynamoDBDocumentClient,
  table: string,
  req: QueryUsageRequest,
): Promise<UsageSummary[]> {
  if (!req.tenantId) throw invalidRequest("tenant_id", "tenant_id is required.");
  for (const [day, param] of [
    [req.sinceDay, "since_day"],
    [req.untilDay, "until_day"],
  ] as const) {
    if (day && !dayPattern.test(day))
      throw invalidRequest(param, `Expected a day as YYYY-MM-DD, got '${day}'.`);
  }
  const from = req.sinceDay || "0000-00-00";
  // Sort keys start with the ISO time: every key of the last day sorts before "<day>T~".
  const to = `${req.untilDay || "9999-12-31"}T~`;
  const sums = new Map<string, UsageSummary>();
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: "tenantId = :t AND usageKey BETWEEN :from AND :to",
        ExpressionAttributeValues: { ":t": req.tenantId, ":from": from, ":to": to },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) {
      const id = `${item.day}|${item.keyId}|${item.model}`;
      let sum = sums.get(id);
      if (!sum) {
        sum = create(UsageSummarySchema, {
          day: item.day,
          tenantId: req.tenantId,
          keyId: item.keyId,
          model: item.model,
        });
        sums.set(id, sum);
      }
      sum.requests++;
      if (item.outcome !== "success") sum.failedRequests++;
      sum.inputTokens += Number(item.inputTokens ?? 0);
      sum.outputTokens += Number(item.outputTokens ?? 0);
      sum.cacheReadInputTokens += Number(item.cacheReadInputTokens ?? 0);
      // Items written before cost was recorded have none: they count 0.
      sum.costMicros += Number(item.costMicros ?? 0);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return [...sums.values()].sort(
    (a, b) =>
      a.day.localeCompare(b.day) ||
      a.keyId.localeCompare(b.keyId) ||
      a.model.localeCompare(b.model),
  );
}

/**
 * What a tenant, or one of its keys, used from `fromMs` to `toMs` (exclusive, by the requests'
 * start), summed from the ledger as budgets count it: input + output tokens and cost. One Query
 * of the tenant's partition over the range (paginated, strongly consistent, so a record written
 * just before a restart counts). Records still buffered in a metering replica are not in it.
 */
export async function ledgerUsage(
  doc: DynamoDBDocumentClient,
  table: string,
  scope: BudgetScope,
): Promise<BudgetUsage> {
  const usage: BudgetUsage = { tokens: 0, costMicros: 0 };
  // Sort keys start with the ISO start time; every key of the last millisecond sorts before "~".
  const from = new Date(scope.fromMs).toISOString();
  const to = `${new Date(scope.toMs - 1).toISOString()}~`;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: "tenantId = :t AND usageKey BETWEEN :from AND :to",
        ...(scope.keyId === undefined ? {} : { FilterExpression: "keyId = :k" }),
        ExpressionAttributeValues: {
          ":t": scope.tenantId,
          ":from": from,
          ":to": to,
          ...(scope.keyId === undefined ? {} : { ":k": scope.keyId }),
        },
        ProjectionExpression: "inputTokens, outputTokens, costMicros",
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) {
      usage.tokens += Number(item.inputTokens ?? 0) + Number(item.outputTokens ?? 0);
      usage.costMicros += Number(item.costMicros ?? 0);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return usage;
}
