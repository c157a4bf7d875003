/**
 * A smoke test of a running Strata through the real `openai` SDK: the kind e2e scenario
 * (test/e2e/run.sh), the smoke step after each deployment (.github/workflows/deploy.yaml) and the
 * check of a freshly rotated key before it is stored (.github/workflows/rotate-keys.yaml).
 *
 *   STRATA_BASE_URL=https://strata.example.com/v1 STRATA_API_KEY=sk-strata-… node test/e2e/smoke.ts
 *
 * Environment: STRATA_BASE_URL and STRATA_API_KEY (required); STRATA_SMOKE_MODEL (chat model,
 * default claude-3-haiku); STRATA_SMOKE_EMBEDDING_MODEL (also embed when set);
 * STRATA_SMOKE_EMULATOR=1 when the upstream is the Bedrock emulator, which makes the answers
 * deterministic and enables the checks that rely on it. Prints one line per check and never the
 * key; exits 1 on the first failure.
 */
import OpenAI from "openai";

const env = process.env;
const baseURL = required("STRATA_BASE_URL");
const apiKey = required("STRATA_API_KEY");
const model = env.STRATA_SMOKE_MODEL || "claude-3-haiku";
const embeddingModel = env.STRATA_SMOKE_EMBEDDING_MODEL || "";
const emulator = env.STRATA_SMOKE_EMULATOR === "1";

function required(name: string): string {
  const value = env[name];
  if (!value) {
    process.stderr.write(`smoke: ${name} is required\n`);
    process.exit(2);
  }
  return value;
}

function check(ok: boolean, what: string): void {
  if (!ok) {
    process.stderr.write(`smoke: FAIL ${what}\n`);
    process.exit(1);
  }
  process.stdout.write(`smoke: ok ${what}\n`);
}

// Any error the SDK raises is a failure too, reported in one line (the SDK's errors carry the
// response, never the request's Authorization header).
process.on("uncaughtException", (error) => {
  process.stderr.write(`smoke: FAIL ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

// Two retries, as an application would configure it: a rollout may still be settling.
const client = new OpenAI({ baseURL, apiKey, maxRetries: 2, timeout: 60_000 });

const listed = await client.models.retrieve(model);
check(listed.id === model, `GET /models/${model} (allowed for this key)`);

const prompt = "Reply with the single word: ok";
const { data: chat, response } = await client.chat.completions
  .create({ model, messages: [{ role: "user", content: prompt }], max_tokens: 16 })
  .withResponse();
const answer = chat.choices[0]?.message.content ?? "";
check(answer.length > 0, `chat completion with ${model} answered`);
check(
  ["stop", "length"].includes(chat.choices[0]?.finish_reason ?? ""),
  `chat finish_reason ${chat.choices[0]?.finish_reason}`,
);
check((chat.usage?.total_tokens ?? 0) > 0, `chat usage ${chat.usage?.total_tokens} tokens`);
check(/^req_/.test(response.headers.get("x-request-id") ?? ""), "x-request-id on the response");
if (emulator) check(answer.includes(prompt), "the emulator's deterministic answer came through");

const stream = await client.chat.completions.create({
  model,
  messages: [{ role: "user", content: "Count from one to five." }],
  max_tokens: 32,
  stream: true,
  stream_options: { include_usage: true },
});
let streamed = "";
let finish = "";
let streamUsage = 0;
for await (const chunk of stream) {
  streamed += chunk.choices[0]?.delta.content ?? "";
  finish ||= chunk.choices[0]?.finish_reason ?? "";
  streamUsage = chunk.usage?.completion_tokens ?? streamUsage;
}
check(streamed.length > 0 && finish !== "", `streamed answer (finish_reason ${finish})`);
check(streamUsage > 0, `stream usage chunk ${streamUsage} completion tokens`);

if (embeddingModel) {
  const embeddings = await client.embeddings.create({ model: embeddingModel, input: ["a", "b"] });
  check(
    embeddings.data.length === 2 && (embeddings.data[0]?.embedding.length ?? 0) > 0,
    `embeddings with ${embeddingModel}`,
  );
}

if (emulator) {
  // An upstream fault driven through the whole stack reaches the SDK as its own error class.
  const throttled = await client.chat.completions
    .create(
      { model, messages: [{ role: "user", content: "[[emulator:throttle]]" }] },
      {
        maxRetries: 0,
      },
    )
    .then(
      () => undefined,
      (error: unknown) => error,
    );
  check(throttled instanceof OpenAI.RateLimitError, "an upstream throttle is a RateLimitError");
}

const wrongKey = new OpenAI({ baseURL, apiKey: "sk-strata-invalid", maxRetries: 0 });
const refused = await wrongKey.models.list().then(
  () => undefined,
  (error: unknown) => error,
);
check(
  refused instanceof OpenAI.AuthenticationError && refused.code === "invalid_api_key",
  "a wrong key is refused with 401 invalid_api_key",
);
