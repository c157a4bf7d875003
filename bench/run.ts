// Strata's added latency, measured side by side against calling the Bedrock emulator directly.
// Both paths use the same HTTP client (Node's fetch) and the same emulator; the difference is the
// gateway → auth (cached) → metering → inference → emulator path with metrics and usage settlement
// on. Prints p50/p99 for sequential and concurrent calls, time to first token for streams,
// throughput, and the ratios. Loopback only; stops by itself.
import { startStack } from "@strata/devstack";

const sequential = Number(process.env.BENCH_SEQUENTIAL ?? 500);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const concurrentTotal = Number(process.env.BENCH_CONCURRENT_TOTAL ?? 2000);
const warmup = 100;
const modelId = "anthropic.claude-3-haiku-20240307-v1:0";
const prompt = "Summarise the benefits of a gateway in one sentence.";

const stack = await startStack({ logLevel: "warn", logFile: "/dev/null" });
if (!stack.emulatorUrl || !stack.apiKey) throw new Error("bench needs the emulator");
const emulatorUrl = stack.emulatorUrl;
const apiKey = stack.apiKey;

/** A shape-valid SigV4 header: the emulator checks the shape unless strict mode is on. */
const sigv4 = `AWS4-HMAC-SHA256 Credential=AKIDBENCH/20261123/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=${"0".repeat(64)}`;
const direct = (stream: boolean) => () =>
  fetch(
    `${emulatorUrl}/model/${encodeURIComponent(modelId)}/${stream ? "converse-stream" : "converse"}`,
    {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: sigv4,
        "x-amz-date": "20261123T000000Z",
      },
      body: JSON.stringify({
        messages: [{ role: "user", content: [{ text: prompt }] }],
        inferenceConfig: { maxTokens: 64 },
      }),
    },
  );
const strata = (stream: boolean) => () =>
  fetch(`${stack.gatewayUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({
      model: modelId,
      max_tokens: 64,
      stream,
      messages: [{ role: "user", content: prompt }],
    }),
  });

/** Time to the end of the body (ms). */
async function timeFull(call: () => Promise<Response>): Promise<number> {
  const start = performance.now();
  const res = await call();
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return performance.now() - start;
}

/** Time to the first body bytes carrying content (ms), then drains the stream. */
async function timeFirstToken(call: () => Promise<Response>, marker: string): Promise<number> {
  const start = performance.now();
  const res = await call();
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
  let first = 0;
  const decoder = new TextDecoder();
  for await (const chunk of res.body) {
    if (!first && decoder.decode(chunk, { stream: true }).includes(marker))
      first = performance.now() - start;
  }
  return first;
}

const pct = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

async function runSequential(measure: () => Promise<number>, n: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await measure();
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await measure());
  return out;
}

async function runConcurrent(
  measure: () => Promise<number>,
): Promise<{ samples: number[]; rps: number }> {
  const samples: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < concurrentTotal) samples.push(await measure());
    }),
  );
  return { samples, rps: (samples.length / (performance.now() - start)) * 1000 };
}

const rows: string[][] = [
  ["measure", "direct p50", "direct p99", "strata p50", "strata p99", "added p50", "added p99"],
];
const fmt = (x: number) => x.toFixed(2);
const row = (name: string, d: number[], s: number[]) => {
  const [dp50, dp99, sp50, sp99] = [pct(d, 50), pct(d, 99), pct(s, 50), pct(s, 99)];
  rows.push([name, fmt(dp50), fmt(dp99), fmt(sp50), fmt(sp99), fmt(sp50 - dp50), fmt(sp99 - dp99)]);
  return { dp50, sp50 };
};

try {
  const seqDirect = await runSequential(() => timeFull(direct(false)), sequential);
  const seqStrata = await runSequential(() => timeFull(strata(false)), sequential);
  const seq = row(`non-streaming, sequential (n=${sequential}) [ms]`, seqDirect, seqStrata);

  const conDirect = await runConcurrent(() => timeFull(direct(false)));
  const conStrata = await runConcurrent(() => timeFull(strata(false)));
  row(
    `non-streaming, ${concurrency} concurrent (n=${concurrentTotal}) [ms]`,
    conDirect.samples,
    conStrata.samples,
  );

  const ttftDirect = await runSequential(
    () => timeFirstToken(direct(true), "contentBlockDelta"),
    Math.min(300, sequential),
  );
  const ttftStrata = await runSequential(
    () => timeFirstToken(strata(true), '"content":"'),
    Math.min(300, sequential),
  );
  row("streaming, time to first token, sequential [ms]", ttftDirect, ttftStrata);

  const width = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  console.log(
    rows
      .map((r) =>
        r.map((c, i) => (i === 0 ? c.padEnd(width[i] ?? 0) : c.padStart(width[i] ?? 0))).join("  "),
      )
      .join("\n"),
  );
  console.log(
    `\nthroughput at ${concurrency} concurrent: direct ${conDirect.rps.toFixed(0)} req/s, strata ${conStrata.rps.toFixed(0)} req/s (ratio ${(conStrata.rps / conDirect.rps).toFixed(2)})`,
  );
  console.log(`latency ratio strata/direct, sequential p50: ${(seq.sp50 / seq.dp50).toFixed(2)}`);
  console.log(
    `machine: ${process.arch}, node ${process.version}, cores ${(await import("node:os")).availableParallelism()}`,
  );
} finally {
  await stack.stop();
}
