import fc from "fast-check";

// Runs before every unit and integration test file (vitest.config.ts `setupFiles`). The property
// tests pick their own `numRuns` (bounded so each property takes a few seconds); the seed is
// random unless STRATA_FUZZ_SEED is set. To replay a failure, copy the `seed` and `path` that
// fast-check printed:
//
//   STRATA_FUZZ_SEED=-1819245 STRATA_FUZZ_PATH="42:0:3" npx vitest run --project unit \
//     packages/openai/src/fuzz.test.ts -t "mutated requests"
//
// A seed alone replays the whole run; with the path, only the (shrunk) counterexample runs.

const seed = process.env.STRATA_FUZZ_SEED;
const path = process.env.STRATA_FUZZ_PATH;
if (seed !== undefined && seed !== "") {
  const parsed = Number(seed);
  if (!Number.isSafeInteger(parsed)) throw new Error(`STRATA_FUZZ_SEED is not an integer: ${seed}`);
  fc.configureGlobal({ seed: parsed, ...(path ? { path } : {}) });
}
