import { STSClient } from "@aws-sdk/client-sts";
import { type BedrockCredentialsSource, emulatorAccessKeyId } from "./bedrock-client.ts";

/** Options of createStsClient. */
export interface StsClientOptions {
  /** Region of the (regional) STS endpoint: the service's Bedrock Region. */
  region: string;
  /**
   * Replaces the endpoint: the emulator's STS stand-in or a VPC endpoint. Default: the SDK's own
   * resolution, which honours `AWS_ENDPOINT_URL_STS`, else the regional endpoint.
   */
  endpoint?: string | undefined;
  /** The service's own credentials, as for its Bedrock client; default `default-chain`. */
  credentials?: BedrockCredentialsSource | undefined;
  /** Attempts per AssumeRole including the first; default 3 (the SDK's standard retries). */
  maxAttempts?: number | undefined;
}

/**
 * The STS client that assumes tenants' cross-account roles
 * (docs/wire-formats.md#credentials-and-cross-account-roles). It signs with the service's own
 * identity (IRSA, Pod Identity, … or the emulator's dummy credentials), which each tenant's role
 * trusts. HTTP/1.1 (the SDK's default for STS): one call per role per hour does not need
 * multiplexing.
 */
export function createStsClient({
  region,
  endpoint,
  credentials = "default-chain",
  maxAttempts = 3,
}: StsClientOptions): STSClient {
  return new STSClient({
    region,
    maxAttempts,
    ...(endpoint ? { endpoint } : {}),
    ...(credentials === "emulator"
      ? { credentials: { accessKeyId: emulatorAccessKeyId, secretAccessKey: "emulator" } }
      : {}),
  });
}
