import { bearerAuth, createRpcClient, createRpcTransport } from "@strata/platform";
import { AuthAdminService } from "@strata/proto";
import OpenAI from "openai";
import { inject } from "vitest";

/** The real OpenAI SDK pointed at the test stack, without retries so each call is one request. */
export function openai(apiKey = inject("apiKey"), options: { maxRetries?: number } = {}): OpenAI {
  return new OpenAI({
    apiKey,
    baseURL: `${inject("gatewayUrl")}/v1`,
    maxRetries: options.maxRetries ?? 0,
  });
}

/** The admin API of the test stack. */
export function admin() {
  const token = inject("adminToken");
  return createRpcClient(
    AuthAdminService,
    createRpcTransport({
      baseUrl: inject("adminUrl"),
      interceptors: [bearerAuth(token)],
    }),
  );
}

let tenantCounter = 0;

/** A fresh tenant and key, so a test's policy or revocation affects nobody else. */
export async function newTenantKey(
  policy: { tenant?: string[]; key?: string[]; endpoints?: string[] } = {},
) {
  const tenantId = `t-${process.pid}-${Date.now().toString(36)}-${tenantCounter++}`;
  await admin().createTenant({ tenantId, policy: { allowedModels: policy.tenant ?? [] } });
  const created = await admin().createKey({
    tenantId,
    name: "test",
    policy: { allowedModels: policy.key ?? [], allowedEndpoints: policy.endpoints ?? [] },
  });
  return { tenantId, apiKey: created.secret, keyId: created.key?.keyId ?? "" };
}

/** A record of the Bedrock emulator's request log. */
export interface EmulatorRecord {
  id: string;
  operation: string;
  modelId: string;
  outcome?: "completed" | "aborted" | "error";
  startedAt: number;
  endedAt?: number;
  body?: unknown;
}

export async function emulatorRequests(): Promise<EmulatorRecord[]> {
  const res = await fetch(`${inject("emulatorUrl")}/_emulator/requests`);
  return (await res.json()) as EmulatorRecord[];
}

/** Polls until `check` returns a value, or fails after the timeout. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A unique marker to find this test's upstream call in the emulator's log. */
export function marker(): string {
  return `m${Math.random().toString(36).slice(2, 10)}`;
}

/** A 1×1 PNG. */
export const tinyPng =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
