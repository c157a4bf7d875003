import { create } from "@bufbuild/protobuf";
import { toOpenAIError } from "@strata/errors";
import { parseChatCompletionRequest } from "@strata/openai";
import { PolicySchema, SecretsMode } from "@strata/proto";
import { describe, expect, it } from "vitest";
import {
  findSecrets,
  redactSecrets,
  type SecretType,
  scanChatRequest,
  secretsActionOf,
  secretTypes,
  sensitiveDataError,
} from "./secrets.ts";

// Fixtures are assembled at run time so that secret scanners do not flag this file; none is a
// real credential (random characters of the right shape).
const rnd = (alphabet: string, n: number, seed = 7) => {
  let out = "";
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out += alphabet[x % alphabet.length];
  }
  return out;
};
const upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const b64 = `${alnum}+/`;
const b64url = `${alnum}-_`;

const awsKeyId = `AKIA${rnd(upper, 16)}`;
const awsSecret = rnd(b64, 40, 11);
const pemBody = Array.from({ length: 4 }, (_, i) => rnd(b64, 64, i + 3)).join("\n");
const pem = (kind = "RSA ") =>
  `-----BEGIN ${kind}PRIVATE KEY-----\n${pemBody}\n-----END ${kind}PRIVATE KEY-----`;
const strataKey = `sk-strata-${rnd(alnum, 12, 5)}_${rnd(alnum, 49, 6)}`;
const openaiKey = `sk-proj-${rnd(b64url, 20, 8)}4${rnd(b64url, 60, 9)}`;
const legacyOpenaiKey = `sk-${rnd(alnum, 20, 10)}T3BlbkFJ${rnd(alnum, 19, 12)}9`;
const anthropicKey = `sk-ant-api03-${rnd(b64url, 93, 13)}AA`;
const githubToken = `ghp_${rnd(alnum, 36, 14)}`;
const githubPat = `github_pat_${rnd(alnum, 22, 15)}_${rnd(alnum, 59, 16)}`;
const slackToken = `xoxb-123456789012-1234567890123-${rnd(alnum, 24, 17)}`;
const googleKey = `AIza${rnd(b64url, 35, 18)}`;
const stripeKey = `sk_live_${rnd(alnum, 24, 19)}`;
const jwt = `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvZSJ9.${rnd(b64url, 43, 20)}`;

describe("findSecrets", () => {
  const positives: Array<[SecretType, string, string]> = [
    ["aws_access_key_id", `key ${awsKeyId} here`, awsKeyId],
    ["aws_access_key_id", `role creds ASIA${rnd(upper, 16, 2)}`, `ASIA${rnd(upper, 16, 2)}`],
    ["aws_secret_access_key", `aws_secret_access_key = ${awsSecret}\n`, awsSecret],
    ["aws_secret_access_key", `"SecretAccessKey": "${awsSecret}"`, awsSecret],
    ["aws_secret_access_key", `AWS_SECRET_ACCESS_KEY=${awsSecret}`, awsSecret],
    ["private_key", `my key:\n${pem()}\nthanks`, pem()],
    ["private_key", `${pem("")}`, pem("")],
    ["private_key", `${pem("OPENSSH ")}`, pem("OPENSSH ")],
    [
      "private_key",
      `truncated: -----BEGIN EC PRIVATE KEY-----\n${pemBody}\nwhat is it?`,
      `-----BEGIN EC PRIVATE KEY-----\n${pemBody}`,
    ],
    ["strata_api_key", `use ${strataKey}.`, strataKey],
    ["openai_api_key", `OPENAI_API_KEY=${openaiKey}`, openaiKey],
    ["openai_api_key", `key: ${legacyOpenaiKey}`, legacyOpenaiKey],
    ["anthropic_api_key", `x-api-key: ${anthropicKey}`, anthropicKey],
    ["github_token", `token ${githubToken}`, githubToken],
    ["github_token", `token ${githubPat}`, githubPat],
    ["slack_token", `SLACK_BOT_TOKEN=${slackToken}`, slackToken],
    ["google_api_key", `?key=${googleKey}&q=1`, googleKey],
    ["stripe_live_key", `Stripe: ${stripeKey}`, stripeKey],
    ["jwt", `Authorization: Bearer ${jwt}`, jwt],
  ];
  it.each(positives)("finds a %s in %j", (type, text, value) => {
    const found = findSecrets(text);
    expect(found).toHaveLength(1);
    expect(found[0]?.type).toBe(type);
    expect(text.slice(found[0]?.start, found[0]?.end)).toBe(value);
  });

  it("has a positive fixture for every detector", () => {
    expect(new Set(positives.map(([type]) => type))).toEqual(new Set(secretTypes));
  });

  const nearMisses: Array<[string, string]> = [
    ["an AWS key id one character short", `AKIA${rnd(upper, 15)}`],
    ["an AWS key id inside a longer word", `XAKIA${rnd(upper, 16)}`],
    ["an AWS key id in lower case", `akia${rnd(upper, 16).toLowerCase()}`],
    ["40 base64 characters without a label", `checksum ${awsSecret}`],
    ["a labelled AWS secret of 41 characters", `aws_secret_access_key=${awsSecret}x`],
    ["a PEM header in prose", "Keys start with -----BEGIN PRIVATE KEY----- and end with a footer."],
    [
      "a PEM example with an elided body",
      "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
    ],
    ["a public key", `-----BEGIN PUBLIC KEY-----\n${pemBody}\n-----END PUBLIC KEY-----`],
    ["a Strata key with a short secret", `sk-strata-${rnd(alnum, 12, 5)}_${rnd(alnum, 30, 6)}`],
    ["a hyphenated slug starting with sk-", "see sk-learn-tutorial-for-beginners-and-experts"],
    ["sk- inside a word", `task-${rnd(alnum, 30, 21)}`],
    ["a short sk- id", "sk-12345"],
    ["a GitHub token prefix with too few characters", `ghp_${rnd(alnum, 20, 14)}`],
    ["a Slack-like word without digits", "xoxb-not-a-real-token-at-all"],
    ["a Google key one character short", `AIza${rnd(b64url, 34, 18)}`],
    ["a Stripe test key", `sk_test_${rnd(alnum, 24, 19)}`],
    ["a JWT header alone", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"],
    ["an unsigned JWT", "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxMjM0NTY3ODkwIn0."],
    ["the placeholder of a redacted key", "[REDACTED:openai_api_key] [REDACTED:private_key]"],
    [
      "ordinary code",
      "const askUser = (q: string) => prompt(q); // TODO: the task-scheduler key rotation",
    ],
  ];
  it.each(nearMisses)("finds nothing in %s", (_, text) => {
    expect(findSecrets(text)).toEqual([]);
  });

  it("finds several credentials in order, each once", () => {
    const text = `a=${githubToken} b=${strataKey} c=${jwt}`;
    expect(findSecrets(text).map((m) => m.type)).toEqual(["github_token", "strata_api_key", "jwt"]);
  });

  it.each([
    ["sk-", "a".repeat(1_000_000)],
    ["eyJ", `eyJ${"a".repeat(10)}.`.repeat(70_000)],
    ["PEM headers", "-----BEGIN PRIVATE KEY-----\n".repeat(40_000)],
    ["AKIA", "AKIA".repeat(250_000)],
    ["labels", "secret_access_key= ".repeat(50_000)],
    ["dashes", "-".repeat(1_000_000)],
    ["ghp_", `ghp_${"a".repeat(35)}_`.repeat(25_000)],
  ])("scans 1 MB of adversarial %s input (linear patterns: returns)", (_, text) => {
    expect(Array.isArray(findSecrets(text))).toBe(true);
  });
});

describe("redactSecrets", () => {
  it("replaces each credential by its typed placeholder and keeps the rest", () => {
    const text = `export AWS_ACCESS_KEY_ID=${awsKeyId}\nexport AWS_SECRET_ACCESS_KEY=${awsSecret}\n${pem()}\nok?`;
    expect(redactSecrets(text).text).toBe(
      "export AWS_ACCESS_KEY_ID=[REDACTED:aws_access_key_id]\nexport AWS_SECRET_ACCESS_KEY=[REDACTED:aws_secret_access_key]\n[REDACTED:private_key]\nok?",
    );
  });

  it("keeps JSON valid when a credential is inside a JSON string", () => {
    const json = JSON.stringify({ token: githubToken, pem: pem() });
    const redacted = redactSecrets(json).text;
    expect(JSON.parse(redacted)).toEqual({
      token: "[REDACTED:github_token]",
      pem: "[REDACTED:private_key]",
    });
  });

  it("leaves no credential behind once its neighbours are redacted (found by fuzzing)", () => {
    // The first Google-key-shaped run is followed by more key characters, so it is not a key
    // until what follows it is redacted; redacting once must already catch it.
    const input = "AIza00xoxb-1-".repeat(6);
    const { text } = redactSecrets(input);
    expect(findSecrets(text)).toEqual([]);
    expect(redactSecrets(text).text).toBe(text);
  });

  it("returns the same text when there is nothing to redact", () => {
    expect(redactSecrets("nothing to see")).toEqual({ text: "nothing to see", matches: [] });
  });
});

describe("secretsActionOf", () => {
  const layer = (secrets: SecretsMode) => create(PolicySchema, { secrets });
  it.each([
    [undefined, undefined, "off"],
    [SecretsMode.UNSPECIFIED, SecretsMode.UNSPECIFIED, "off"],
    [SecretsMode.REDACT, undefined, "redact"],
    [undefined, SecretsMode.REDACT, "redact"],
    [SecretsMode.REDACT, SecretsMode.BLOCK, "block"],
    [SecretsMode.BLOCK, SecretsMode.REDACT, "block"],
    [SecretsMode.BLOCK, SecretsMode.UNSPECIFIED, "block"],
    [99 as SecretsMode, undefined, "block"],
  ])("tenant %s + key %s → %s", (tenant, key, expected) => {
    expect(
      secretsActionOf({
        tenant: tenant === undefined ? undefined : layer(tenant),
        key: key === undefined ? undefined : layer(key),
      }),
    ).toBe(expected);
  });
});

describe("scanChatRequest", () => {
  const request = () =>
    parseChatCompletionRequest({
      model: "m",
      messages: [
        { role: "system", content: "You are helpful." },
        { role: "user", content: `Why does ${awsKeyId} fail?` },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            {
              id: "c1",
              type: "function",
              function: { name: "read_env", arguments: JSON.stringify({ token: githubToken }) },
            },
          ],
        },
        {
          role: "tool",
          tool_call_id: "c1",
          content: [{ type: "text", text: `STRIPE=${stripeKey}` }],
        },
        {
          role: "user",
          content: [
            { type: "text", text: "and this one?" },
            { type: "image_url", image_url: { url: "https://example.com/x.png" } },
            { type: "text", text: `${jwt} and ${awsKeyId}` },
          ],
        },
      ],
    });

  it("reports every field and type, in request order, without changing the request", () => {
    const input = request();
    const before = structuredClone(input);
    const { request: out, findings } = scanChatRequest(input, { redact: false });
    expect(out).toBe(input);
    expect(input).toEqual(before);
    expect(findings).toEqual([
      { type: "aws_access_key_id", param: "messages[1].content", count: 1 },
      { type: "github_token", param: "messages[2].tool_calls[0].function.arguments", count: 1 },
      { type: "stripe_live_key", param: "messages[3].content[0].text", count: 1 },
      { type: "jwt", param: "messages[4].content[2].text", count: 1 },
      { type: "aws_access_key_id", param: "messages[4].content[2].text", count: 1 },
    ]);
  });

  it("redacts into a new request, sharing the untouched messages", () => {
    const input = request();
    const before = structuredClone(input);
    const { request: out } = scanChatRequest(input, { redact: true });
    expect(input).toEqual(before);
    expect(out.messages[0]).toBe(input.messages[0]);
    expect(out.messages[1]).toEqual({
      role: "user",
      content: "Why does [REDACTED:aws_access_key_id] fail?",
    });
    expect(out.messages[2]).toMatchObject({
      tool_calls: [{ id: "c1", function: { arguments: '{"token":"[REDACTED:github_token]"}' } }],
    });
    expect(out.messages[3]).toMatchObject({
      content: [{ type: "text", text: "STRIPE=[REDACTED:stripe_live_key]" }],
    });
    expect(out.messages[4]).toMatchObject({
      content: [
        { type: "text", text: "and this one?" },
        { type: "image_url", image_url: { url: "https://example.com/x.png" } },
        { type: "text", text: "[REDACTED:jwt] and [REDACTED:aws_access_key_id]" },
      ],
    });
    expect(JSON.stringify(out)).not.toContain(awsKeyId);
  });

  it("returns the same request when there is nothing to find", () => {
    const input = parseChatCompletionRequest({
      model: "m",
      messages: [{ role: "user", content: "hello" }],
    });
    expect(scanChatRequest(input, { redact: true })).toEqual({ request: input, findings: [] });
  });

  it("refuses with OpenAI's 400, naming the type and the field, never the value", () => {
    const [first] = scanChatRequest(request(), { redact: false }).findings;
    if (!first) throw new Error("expected a finding");
    const rendered = toOpenAIError(sensitiveDataError(first));
    expect(rendered.status).toBe(400);
    expect(rendered.body.error).toEqual({
      type: "invalid_request_error",
      code: "sensitive_data_detected",
      param: "messages[1].content",
      message:
        "The request contains what looks like a credential (type: AWS access key id); it was not sent to the model.",
    });
    expect(JSON.stringify(rendered)).not.toContain(awsKeyId);
  });
});
