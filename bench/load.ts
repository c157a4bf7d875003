// Timing one request on a path, checking that the answer is the emulator's reply (a path that
// answers with an error is counted as failing, never timed), and running batches of them.
import type { BenchPath } from "./paths.ts";

/** What one call asks for. */
export interface CallOptions {
  prompt: string;
  maxTokens: number;
  /** A request still running after this is aborted and counted as an error. */
  timeoutMs: number;
}

/** A timed request: its duration (ms) when the answer was right, else what was wrong. */
export type Outcome = { ok: true; ms: number } | { ok: false; error: string };

/** A timed stream: time to the first content and to the end (ms), else what was wrong. */
export type StreamOutcome =
  | { ok: true; ttftMs: number; totalMs: number }
  | { ok: false; error: string };

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The reply text of a non-streaming answer in the path's dialect, if it has one. */
function replyText(dialect: BenchPath["dialect"], body: string): unknown {
  const json = JSON.parse(body);
  return dialect === "openai"
    ? json?.choices?.[0]?.message?.content
    : json?.output?.message?.content?.[0]?.text;
}

/** Time to the end of a non-streaming answer, which must carry the emulator's reply. */
export async function timeCompletion(path: BenchPath, options: CallOptions): Promise<Outcome> {
  const start = performance.now();
  try {
    const res = await path.send({
      prompt: options.prompt,
      maxTokens: options.maxTokens,
      stream: false,
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    const body = await res.text();
    const ms = performance.now() - start;
    if (res.status !== 200)
      return { ok: false, error: `HTTP ${res.status}: ${body.slice(0, 200)}` };
    const text = replyText(path.dialect, body);
    if (typeof text !== "string" || !text.startsWith("Emulated")) {
      return { ok: false, error: `no emulator reply in: ${body.slice(0, 200)}` };
    }
    return { ok: true, ms };
  } catch (error) {
    return { ok: false, error: reason(error) };
  }
}

/** How to read a stream in each dialect. */
const streamShape = {
  // The first delta with non-empty content; the terminator; a mid-stream error.
  openai: { content: /"content":"[^"]/, end: /data: \[DONE\]/, error: /data: \{"error"/ },
  // Event-stream frames, read as text: their headers name the event type.
  bedrock: { content: /contentBlockDelta/, end: /messageStop/, error: /:exception-type/ },
} as const;

/**
 * Time to the first content of a stream and to its end. The stream must carry content and end
 * normally (OpenAI: `data: [DONE]`, Bedrock: `messageStop`) with no error event.
 */
export async function timeStream(path: BenchPath, options: CallOptions): Promise<StreamOutcome> {
  const shape = streamShape[path.dialect];
  const start = performance.now();
  try {
    const res = await path.send({
      prompt: options.prompt,
      maxTokens: options.maxTokens,
      stream: true,
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    if (res.status !== 200 || !res.body) {
      return { ok: false, error: `HTTP ${res.status}: ${(await res.text()).slice(0, 200)}` };
    }
    const decoder = new TextDecoder();
    let ttftMs = 0;
    let ended = false;
    let tail = ""; // the end of the previous chunk, so a marker split across chunks is found
    for await (const chunk of res.body) {
      const text = tail + decoder.decode(chunk, { stream: true });
      if (!ttftMs && shape.content.test(text)) ttftMs = performance.now() - start;
      if (shape.error.test(text)) {
        await res.body.cancel().catch(() => undefined);
        return { ok: false, error: `error in stream: ${text.slice(0, 200)}` };
      }
      ended ||= shape.end.test(text);
      tail = text.slice(-64);
    }
    const totalMs = performance.now() - start;
    if (!ttftMs) return { ok: false, error: "stream carried no content" };
    if (!ended) return { ok: false, error: "stream ended without its terminator" };
    return { ok: true, ttftMs, totalMs };
  } catch (error) {
    return { ok: false, error: reason(error) };
  }
}

/** What a batch of requests gave. */
export interface Batch {
  /** Durations of the successful requests (ms). */
  samples: number[];
  errors: number;
  /** Up to three distinct error messages. */
  errorMessages: string[];
  elapsedMs: number;
  /** Successful requests per second. */
  rps: number;
}

/** Options of runBatch: how many at once, and until a count or a duration is reached. */
export interface BatchOptions {
  concurrency: number;
  count?: number;
  durationMs?: number;
}

/** Runs `measure` from `concurrency` loops at once until `count` calls or `durationMs` passed. */
export async function runBatch(
  measure: () => Promise<Outcome>,
  { concurrency, count = Number.POSITIVE_INFINITY, durationMs }: BatchOptions,
): Promise<Batch> {
  const samples: number[] = [];
  const errorMessages: string[] = [];
  let errors = 0;
  let started = 0;
  const start = performance.now();
  const deadline = durationMs === undefined ? Number.POSITIVE_INFINITY : start + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < count && performance.now() < deadline) {
        started++;
        const outcome = await measure();
        if (outcome.ok) samples.push(outcome.ms);
        else {
          errors++;
          if (errorMessages.length < 3 && !errorMessages.includes(outcome.error)) {
            errorMessages.push(outcome.error);
          }
        }
      }
    }),
  );
  const elapsedMs = performance.now() - start;
  return { samples, errors, errorMessages, elapsedMs, rps: (samples.length / elapsedMs) * 1000 };
}

/** A stream measurement as an Outcome of its time to first token. */
export async function firstTokenOutcome(outcome: Promise<StreamOutcome>): Promise<Outcome> {
  const o = await outcome;
  return o.ok ? { ok: true, ms: o.ttftMs } : o;
}
