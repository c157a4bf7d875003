import { z } from "zod";
import { createDynamoClient, type DynamoClients } from "./client.ts";
import { ensureTables, type TableSpec } from "./tables.ts";

/** The DynamoDB settings of a service's environment (spread into its config schema). */
export const dynamoEnv = {
  STRATA_DYNAMODB_REGION: z.string().min(1).default("us-east-1"),
  /** A local endpoint (dynalite); unset in AWS. */
  STRATA_DYNAMODB_ENDPOINT: z.url().optional(),
  STRATA_TABLE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]*$/)
    .default("strata-"),
  /** Create missing tables at start (local stack); in AWS the IaC template owns them. */
  STRATA_CREATE_TABLES: z
    .enum(["true", "false", "1", "0"])
    .default("false")
    .transform((v) => v === "true" || v === "1"),
};

/** The parsed DynamoDB settings. */
export interface DynamoConfig {
  STRATA_DYNAMODB_REGION: string;
  STRATA_DYNAMODB_ENDPOINT?: string | undefined;
  STRATA_CREATE_TABLES: boolean;
}

/** Connects to DynamoDB as configured and, when asked to, creates the service's tables. */
export async function openDynamo(
  config: DynamoConfig,
  tables: TableSpec[],
): Promise<DynamoClients> {
  const clients = createDynamoClient({
    region: config.STRATA_DYNAMODB_REGION,
    endpoint: config.STRATA_DYNAMODB_ENDPOINT,
  });
  if (config.STRATA_CREATE_TABLES) await ensureTables(clients.client, tables);
  return clients;
}
