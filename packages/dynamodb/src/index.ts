export { createDynamoClient, type DynamoClientOptions, type DynamoClients } from "./client.ts";
export { type DynamoConfig, dynamoEnv, openDynamo } from "./config.ts";
export { createTableInput, ensureTables, type TableSpec } from "./tables.ts";
