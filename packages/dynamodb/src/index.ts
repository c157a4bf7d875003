export { createDynamoClient, type DynamoClientOptions, type DynamoClients } from "./client.ts";
export { createTableInput, ensureTables, type TableSpec } from "./tables.ts";
