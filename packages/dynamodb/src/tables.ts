import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
} from "@aws-sdk/client-dynamodb";

/** A table's key schema, in the few shapes Strata uses: a partition key, an optional sort key, GSIs. */
export interface TableSpec {
  name: string;
  partitionKey: string;
  sortKey?: string;
  indexes?: { name: string; partitionKey: string; sortKey?: string }[];
}

function keySchema(partitionKey: string, sortKey?: string) {
  return [
    { AttributeName: partitionKey, KeyType: "HASH" as const },
    ...(sortKey ? [{ AttributeName: sortKey, KeyType: "RANGE" as const }] : []),
  ];
}

/** The CreateTable input for a spec: on-demand billing, string keys. */
export function createTableInput(spec: TableSpec): CreateTableCommandInput {
  const names = new Set<string>([spec.partitionKey]);
  if (spec.sortKey) names.add(spec.sortKey);
  for (const index of spec.indexes ?? []) {
    names.add(index.partitionKey);
    if (index.sortKey) names.add(index.sortKey);
  }
  const attributes: AttributeDefinition[] = [...names].map((name) => ({
    AttributeName: name,
    AttributeType: "S",
  }));
  return {
    TableName: spec.name,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: attributes,
    KeySchema: keySchema(spec.partitionKey, spec.sortKey),
    ...(spec.indexes?.length
      ? {
          GlobalSecondaryIndexes: spec.indexes.map((index) => ({
            IndexName: index.name,
            KeySchema: keySchema(index.partitionKey, index.sortKey),
            Projection: { ProjectionType: "ALL" as const },
          })),
        }
      : {}),
  };
}

/**
 * Creates the tables that do not exist yet and waits until they are ACTIVE. Used by the local
 * stack and by installs that opt in; in AWS the CloudFormation template owns the tables.
 */
export async function ensureTables(
  client: DynamoDBClient,
  specs: TableSpec[],
  timeoutMs = 30_000,
): Promise<void> {
  await Promise.all(
    specs.map(async (spec) => {
      try {
        await client.send(new CreateTableCommand(createTableInput(spec)));
      } catch (error) {
        if (!(error instanceof ResourceInUseException)) throw error;
      }
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          const { Table } = await client.send(new DescribeTableCommand({ TableName: spec.name }));
          if (Table?.TableStatus === "ACTIVE") return;
        } catch (error) {
          if (!(error instanceof ResourceNotFoundException)) throw error;
        }
        if (Date.now() > deadline) throw new Error(`table ${spec.name} did not become ACTIVE`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }),
  );
}
