import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack } from "@strata/devstack";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    gatewayUrl: string;
    gatewayMetricsUrl: string;
    apiKey: string;
    adminUrl: string;
    adminToken: string;
    emulatorUrl: string;
    dynamoEndpoint: string;
    logFile: string;
  }
}

/**
 * Starts one whole stack for the integration tier: dynalite in memory, the Bedrock emulator, and
 * the four services as child processes on ephemeral loopback ports. Services log to a file
 * (printed on failure) instead of the test output.
 */
/** The IAM role of the cross-account tenant in the integration tests. */
export const crossAccountRole = "arn:aws:iam::111122223333:role/strata-bedrock";

export default async function setup(project: TestProject) {
  const logFile = join(mkdtempSync(join(tmpdir(), "strata-it-")), "services.log");
  const stack = await startStack({
    logLevel: "info",
    logFile,
    // The emulator's STS stand-in accepts this tenant role only with its external id.
    emulator: { stsRoles: [{ roleArn: crossAccountRole, externalId: "tenant-ext-42" }] },
    serviceEnv: {
      // Tests here drive many Bedrock faults at the same few models, concurrently: a circuit
      // breaker opened by one test would fail another's request. Breakers are tested on a stack
      // of their own (resilience.test.ts).
      inference: { STRATA_BREAKER_FAILURES: "1000000" },
      gateway: {
        // Long enough that a loaded CI machine does not open a stream with a keep-alive before an
        // upstream 4xx arrives (the fuzz tests expect those as HTTP errors).
        STRATA_SSE_KEEPALIVE_MS: "1000",
        STRATA_MAX_BODY_BYTES: String(2 * 1024 * 1024),
        STRATA_BODY_TIMEOUT_MS: "3000",
      },
    },
  });
  if (!stack.apiKey || !stack.emulatorUrl)
    throw new Error("the test stack needs the emulator and a bootstrap key");
  project.provide("gatewayUrl", stack.gatewayUrl);
  project.provide(
    "gatewayMetricsUrl",
    `http://127.0.0.1:${stack.services.gateway?.ports.metrics}/metrics`,
  );
  project.provide("apiKey", stack.apiKey);
  project.provide("adminUrl", stack.adminUrl);
  project.provide("adminToken", stack.adminToken);
  project.provide("emulatorUrl", stack.emulatorUrl);
  project.provide("dynamoEndpoint", stack.dynamoEndpoint);
  project.provide("logFile", logFile);
  process.stdout.write(
    `integration stack up: gateway ${stack.gatewayUrl}, service logs in ${logFile}\n`,
  );
  return () => stack.stop();
}
