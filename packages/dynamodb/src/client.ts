import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/** Options of createDynamoClient. */
export interface DynamoClientOptions {
  region: string;
  /** A local endpoint (dynalite, DynamoDB Local); unset in AWS, where the region decides. */
  endpoint?: string | undefined;
  /** Attempts per call including the first (SDK standard retry mode). */
  maxAttempts?: number;
}

/**
 * A DynamoDB document client using the default credential chain (env, profile, IRSA, EKS Pod
 * Identity). Against a local endpoint with no credentials configured, dummy ones are used:
 * dynalite checks only the shape of the signature.
 */
export function createDynamoClient({
  region,
  endpoint,
  maxAttempts = 3,
}: DynamoClientOptions): DynamoClients {
  const local = endpoint !== undefined;
  const client = new DynamoDBClient({
    region,
    maxAttempts,
    ...(local ? { endpoint, credentials: { accessKeyId: "local", secretAccessKey: "local" } } : {}),
  });
  const doc = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
  // The SDK's logger middleware filters every item read and written for a log line that its
  // default logger then discards; the services log their own, without the items.
  client.middlewareStack.remove("loggerMiddleware");
  doc.middlewareStack.remove("loggerMiddleware");
  return { client, doc };
}

/** The low-level client (table management) and the document client (items as plain objects). */
export interface DynamoClients {
  client: DynamoDBClient;
  doc: DynamoDBDocumentClient;
}
