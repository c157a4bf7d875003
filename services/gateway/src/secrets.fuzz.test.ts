import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { findSecrets, redactSecrets } from "./secrets.ts";

// Property tests: every prompt text goes through the credential scanner when a tenant enables it,
// so its regular expressions meet arbitrary client text. Built from the detectors' own prefixes,
// labels and token characters, the inputs probe for super-linear backtracking; redaction must be
// idempotent and keep everything that is not a credential. STRATA_FUZZ_SEED replays.

/** Pieces of credentials and of their surroundings, so generated texts nearly match often. */
const piece = fc.constantFrom(
  "sk-",
  "sk-proj-",
  "sk-ant-api03-",
  "sk-strata-",
  "AKIA",
  "ghp_",
  "github_pat_",
  "xoxb-1-",
  "AIza",
  "rk_live_",
  "eyJ",
  ".",
  "-----BEGIN RSA PRIVATE KEY-----",
  "-----END RSA PRIVATE KEY-----",
  "aws_secret_access_key",
  " = ",
  '"',
  "\n",
  "\r\n",
  "-",
  "_",
  "=",
  "/",
  "+",
  " ",
  "A".repeat(16),
  "a1".repeat(12),
  "0".repeat(40),
);
const text = fc
  .tuple(
    fc.array(fc.oneof(piece, fc.string({ maxLength: 4 })), { maxLength: 60 }),
    fc.integer({ min: 1, max: 200 }),
  )
  .map(([pieces, times]) => pieces.join("").repeat(times));

describe("the credential scanner, for any text,", () => {
  it("answers in bounded time; redaction is idempotent and keeps the text around credentials", () => {
    fc.assert(
      fc.property(text, (input) => {
        const started = performance.now();
        const { text: redacted, matches } = redactSecrets(input);
        expect(performance.now() - started).toBeLessThan(2_000);
        expect(redactSecrets(redacted).text).toBe(redacted);
        expect(findSecrets(redacted)).toEqual([]);
        // Outside the matches, the text is unchanged.
        let from = 0;
        let kept = "";
        for (const m of matches) {
          kept += input.slice(from, m.start);
          from = m.end;
        }
        kept += input.slice(from);
        expect(redacted.replace(/\[REDACTED:[a-z_]+\]/g, "")).toBe(kept);
      }),
      { numRuns: 2000 },
    );
  });
});
