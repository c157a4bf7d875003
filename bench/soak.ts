// Soak: holds SOAK_STREAMS concurrent streaming chat requests through Strata for SOAK_SECONDS
// against an emulator process whose directives make each stream long (many tokens, a delay
// between events). Counts completed and failed streams, samples the RSS of every Strata process
// and their event-loop delay (prom-client's nodejs_eventloop_lag_* on each service's metrics
// port) every few seconds, and prints first / last / max RSS and the slope after warm-up, so that
// "flat memory" is a number. Exits non-zero if any stream failed. Loopback only; stops by itself.
import { rmSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { positiveFromEnv } from "./env.ts";
import { type CallOptions, timeStream } from "./load.ts";
import { describeMachine, loadNow } from "./machine.ts";
import { scratchDir, startEmulator, startStrata } from "./paths.ts";
import { processRss } from "./processes.ts";
import { fmt, formatTable, percentiles, slope } from "./stats.ts";

const settings = {
  streams: positiveFromEnv("SOAK_STREAMS", 64),
  seconds: positiveFromEnv("SOAK_SECONDS", 120),
  sampleSeconds: positiveFromEnv("SOAK_SAMPLE_SECONDS", 5),
  /** Samples before this are left out of the slope (heaps grow to their working size first). */
  warmupSeconds: positiveFromEnv("SOAK_WARMUP_SECONDS", 30),
  tokens: positiveFromEnv("SOAK_TOKENS", 200),
  chunkDelayMs: positiveFromEnv("SOAK_CHUNK_DELAY_MS", 5),
  timeoutMs: positiveFromEnv("SOAK_REQUEST_TIMEOUT_MS", 60_000),
};
const call: CallOptions = {
  prompt: `[[emulator:tokens=${settings.tokens}]] [[emulator:chunk-delay-ms=${settings.chunkDelayMs}]] Tell a long story.`,
  maxTokens: settings.tokens * 2,
  timeoutMs: settings.timeoutMs,
};

/** One look at every Strata process. */
interface Sample {
  /** Seconds since the load started. */
  t: number;
  rss: Record<string, number>;
  /** Highest and 99th-percentile event-loop delay since the previous sample (ms). */
  lagMax: Record<string, number>;
  lagP99: Record<string, number>;
  inFlight: number;
  completed: number;
  failed: number;
}

const mb = (bytes: number) => bytes / 2 ** 20;
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const progress = (line: string) => process.stderr.write(`${line}\n`);

/**
 * Event-loop delay of a service from its Prometheus metrics (seconds → ms). prom-client resets its
 * delay histogram on every scrape, so each reading covers the time since the previous one.
 */
async function eventLoopDelay(metricsPort: number): Promise<{ max: number; p99: number }> {
  const text = await (
    await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(5_000) })
  ).text();
  const read = (name: string) => {
    const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, "m").exec(text);
    return match ? Number(match[1]) * 1000 : Number.NaN;
  };
  return {
    max: read("nodejs_eventloop_lag_max_seconds"),
    p99: read("nodejs_eventloop_lag_p99_seconds"),
  };
}

const loadAtStart = loadNow();

async function main(dir: string): Promise<number> {
  const emulator = await startEmulator(dir);
  try {
    const strata = await startStrata(emulator.url, dir);
    try {
      return await soak(strata);
    } finally {
      await strata.stop();
    }
  } finally {
    await emulator.server.stop();
  }
}

async function soak(strata: Awaited<ReturnType<typeof startStrata>>): Promise<number> {
  const services = Object.entries(strata.stack.services).map(([role, service]) => ({
    role,
    pid: service.child.pid ?? -1,
    metricsPort: service.ports.metrics ?? 0,
  }));
  const roles = services.map((s) => s.role);
  let inFlight = 0;
  let completed = 0;
  let failed = 0;
  const errorMessages: string[] = [];
  const ttft: number[] = [];
  const durations: number[] = [];
  const look = async (t: number): Promise<Sample> => {
    const delays = await Promise.all(services.map((s) => eventLoopDelay(s.metricsPort)));
    return {
      t,
      rss: Object.fromEntries(services.map((s) => [s.role, processRss(s.pid) ?? Number.NaN])),
      lagMax: Object.fromEntries(services.map((s, i) => [s.role, delays[i]?.max ?? Number.NaN])),
      lagP99: Object.fromEntries(services.map((s, i) => [s.role, delays[i]?.p99 ?? Number.NaN])),
      inFlight,
      completed,
      failed,
    };
  };

  const rest = await look(0); // also resets the services' delay histograms
  const ownDelay = monitorEventLoopDelay({ resolution: 10 });
  ownDelay.enable();

  const start = performance.now();
  const deadline = start + settings.seconds * 1000;
  const samples: Sample[] = [];
  const sampler = (async () => {
    let next = start + settings.sampleSeconds * 1000;
    while (next <= deadline + 1) {
      await sleep(Math.max(0, next - performance.now()));
      const sample = await look((performance.now() - start) / 1000);
      samples.push(sample);
      progress(
        `${sample.t.toFixed(0)} s: ${fmt(mb(sum(Object.values(sample.rss))))} MB, worst loop delay ${fmt(Math.max(...Object.values(sample.lagMax)))} ms, ${sample.completed} done, ${sample.failed} failed`,
      );
      next += settings.sampleSeconds * 1000;
    }
  })();

  await Promise.all(
    Array.from({ length: settings.streams }, async () => {
      while (performance.now() < deadline) {
        inFlight++;
        const outcome = await timeStream(strata, call);
        inFlight--;
        if (outcome.ok) {
          completed++;
          ttft.push(outcome.ttftMs);
          durations.push(outcome.totalMs);
        } else {
          failed++;
          if (errorMessages.length < 5 && !errorMessages.includes(outcome.error)) {
            errorMessages.push(outcome.error);
          }
        }
      }
    }),
  );
  await sampler;
  ownDelay.disable();
  const elapsed = (performance.now() - start) / 1000;

  const totalRss = (sample: Sample) => sum(Object.values(sample.rss));
  const rssOf = (sample: Sample, role: string) =>
    mb(role === "total" ? totalRss(sample) : (sample.rss[role] ?? Number.NaN));
  console.log(
    `soak: ${settings.streams} concurrent streams of ${settings.tokens} tokens, ${settings.chunkDelayMs} ms between events, for ${settings.seconds} s; a sample every ${settings.sampleSeconds} s`,
  );
  console.log(
    "\nSamples (RSS in MB; loop delay: the highest event-loop delay since the previous sample, in ms):",
  );
  console.log(
    formatTable([
      [
        "t [s]",
        ...roles.map((r) => `${r} RSS`),
        "total RSS",
        ...roles.map((r) => `${r} delay`),
        "streams done",
        "failed",
      ],
      ...[rest, ...samples].map((sample) => [
        sample === rest ? "rest" : sample.t.toFixed(0),
        ...roles.map((r) => fmt(rssOf(sample, r))),
        fmt(rssOf(sample, "total")),
        ...roles.map((r) => (sample === rest ? "" : fmt(sample.lagMax[r] ?? Number.NaN))),
        String(sample.completed),
        String(sample.failed),
      ]),
    ]),
  );

  const afterWarmup = samples.filter((sample) => sample.t >= settings.warmupSeconds);
  const worst = (values: number[]) => (values.length ? Math.max(...values) : Number.NaN);
  console.log(
    `\nStrata's processes over the soak (RSS in MB; slope: least squares over the ${afterWarmup.length} samples from ${settings.warmupSeconds} s on):`,
  );
  console.log(
    formatTable([
      [
        "process",
        "at rest",
        "first",
        "last",
        "max",
        "slope [MB/min]",
        "loop delay max [ms]",
        "loop delay p99, worst window [ms]",
      ],
      ...[...roles, "total"].map((role) => {
        const series = samples.map((sample) => rssOf(sample, role));
        const perRole = (pick: (sample: Sample) => number | undefined) =>
          role === "total" ? "—" : fmt(worst(samples.map((sample) => pick(sample) ?? Number.NaN)));
        return [
          role,
          fmt(rssOf(rest, role)),
          fmt(series[0] ?? Number.NaN),
          fmt(series[series.length - 1] ?? Number.NaN),
          fmt(worst(series)),
          fmt(slope(afterWarmup.map((sample) => ({ x: sample.t / 60, y: rssOf(sample, role) })))),
          perRole((sample) => sample.lagMax[role]),
          perRole((sample) => sample.lagP99[role]),
        ];
      }),
    ]),
  );
  const t = percentiles(ttft);
  const d = percentiles(durations);
  console.log(
    `\nstreams: ${completed} completed (${(completed / elapsed).toFixed(1)}/s), ${failed} failed, over ${elapsed.toFixed(0)} s with ${settings.streams} concurrent`,
  );
  console.log(
    `time to first token: p50 ${fmt(t.p50)} ms, p99 ${fmt(t.p99)} ms; stream duration: p50 ${fmt(d.p50)} ms, p99 ${fmt(d.p99)} ms`,
  );
  console.log(
    `load generator's own event-loop delay: p99 ${fmt(ownDelay.percentile(99) / 1e6)} ms, max ${fmt(ownDelay.max / 1e6)} ms`,
  );
  if (errorMessages.length > 0) console.log(`errors, e.g.: ${errorMessages.join(" || ")}`);
  console.log(describeMachine(loadAtStart));
  return failed > 0 || completed === 0 ? 1 : 0;
}

const dir = scratchDir();
let exitCode = 1;
try {
  exitCode = await main(dir);
} finally {
  if (exitCode === 0) rmSync(dir, { recursive: true, force: true });
  else progress(`the emulator's log is kept in ${dir}`);
}
process.exitCode = exitCode;
