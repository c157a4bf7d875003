import { defineConfig } from "vitest/config";

// Two tiers run by `npm test`: unit tests beside the code, and integration tests that start the
// whole stack (services, emulator, dynalite) on ephemeral ports. System tests (real Redis,
// Prometheus) get their own tier: `vitest run --project system`.
// .ci/run asks for a JSON report of every test (STRATA_TEST_REPORT) to total its tiers.
const report = process.env.STRATA_TEST_REPORT;

export default defineConfig({
  test: {
    reporters: report ? ["default", ["json", { outputFile: report }]] : ["default"],
    projects: [
      {
        test: {
          name: "unit",
          include: [
            "packages/*/src/**/*.test.ts",
            "services/*/src/**/*.test.ts",
            "scripts/**/*.test.ts",
          ],
          // Fixes fast-check's seed from STRATA_FUZZ_SEED, to replay a property failure.
          setupFiles: ["test/fast-check-setup.ts"],
          testTimeout: 15_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/integration/global-setup.ts"],
          setupFiles: ["test/fast-check-setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        // Real infrastructure on this machine (redis-server, prometheus): run
        // scripts/ensure-system-tools.sh first. Not part of `npm test`.
        test: {
          name: "system",
          // Each file starts real servers; one at a time keeps 2 cores from starving them.
          fileParallelism: false,

          include: ["test/system/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
