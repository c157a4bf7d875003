export { createDynamoClient, type DynamoClientOptions, type DynamoClients } from "./client.ts";
export { ensureTables, createTableInput, type TableSpec } from "./tables.ts";
