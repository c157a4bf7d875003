/**
 * Test support (not part of the public API): real `@aws-sdk/client-bedrock-runtime` clients
 * pointed at an emulator, one on the SDK's default HTTP/2 handler and one on HTTP/1.1
 * (`NodeHttpHandler`), both with retries disabled so error tests see exactly one request.
 */
import { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { expect } from "vitest";

/** Credentials every test client signs with unless told otherwise. */
export const TEST_CREDENTIALS = { accessKeyId: "AKIDEMULATOR", secretAccessKey: "emulator-secret" };

/** The two transports the emulator must serve on one port. */
export interface TestClients {
  readonly http2: BedrockRuntimeClient;
  readonly http1: BedrockRuntimeClient;
  destroy(): void;
}

/** Creates an SDK client for `url` (HTTP/2 unless `http1`). */
export function createTestClient(
  url: string,
  options: {
    http1?: boolean;
    credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  } = {},
): BedrockRuntimeClient {
  return new BedrockRuntimeClient({
    endpoint: url,
    region: "us-east-1",
    credentials: options.credentials ?? TEST_CREDENTIALS,
    maxAttempts: 1,
    ...(options.http1 ? { requestHandler: new NodeHttpHandler() } : {}),
  });
}

/** Both clients for `url`. */
export function createTestClients(url: string): TestClients {
  const http2 = createTestClient(url);
  const http1 = createTestClient(url, { http1: true });
  return {
    http2,
    http1,
    destroy() {
      http2.destroy();
      http1.destroy();
    },
  };
}

/** Awaits `promise`, expecting it to reject with an SDK error of `name` and HTTP `status`. */
export async function expectBedrockError(
  promise: Promise<unknown>,
  expected: {
    name: string;
    status?: number;
    message?: string | RegExp;
    type?: abstract new (...args: never[]) => Error;
  },
): Promise<Error & { $metadata?: { httpStatusCode?: number; requestId?: string } }> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "expected the call to fail").toBeInstanceOf(Error);
  const failure = error as Error & { $metadata?: { httpStatusCode?: number; requestId?: string } };
  expect(failure.name).toBe(expected.name);
  if (expected.type) expect(failure).toBeInstanceOf(expected.type);
  if (expected.status !== undefined)
    expect(failure.$metadata?.httpStatusCode).toBe(expected.status);
  if (expected.message !== undefined) expect(failure.message).toMatch(expected.message);
  return failure;
}
