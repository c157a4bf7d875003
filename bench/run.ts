// Side-by-side benchmark, in one run against one Bedrock emulator process: calling the emulator
// directly (the floor), Strata (auth, limits, metering and metrics on), the Portkey OSS gateway
// and the LiteLLM proxy. Measures non-streaming latency sequentially and at a fixed concurrency,
// time to first token of streams, throughput at saturation and the gateways' memory, in several
// rounds whose path order rotates so that drift affects every path alike; prints each figure as
// median [min, max] over the rounds, then ratios. A peer that is not installed is skipped with the
// reason; a path's failed requests are counted and shown, never timed. Loopback only; stops by
// itself. See docs/performance.md.
import { rmSync } from "node:fs";
import { listFromEnv, positiveFromEnv } from "./env.ts";
import {
  type Batch,
  type CallOptions,
  firstTokenOutcome,
  runBatch,
  timeCompletion,
  timeStream,
} from "./load.ts";
import { describeMachine, loadNow } from "./machine.ts";
import {
  type BenchPath,
  directPath,
  type EmulatorProcess,
  type PathName,
  type Skipped,
  scratchDir,
  startEmulator,
  startLiteLlm,
  startPortkey,
  startStrata,
} from "./paths.ts";
import { processCpuMs } from "./processes.ts";
import {
  fmt,
  fmtSpread,
  formatTable,
  type Percentiles,
  percentiles,
  type Spread,
  spread,
} from "./stats.ts";

const settings = {
  rounds: positiveFromEnv("BENCH_ROUNDS", 3),
  sequential: positiveFromEnv("BENCH_SEQUENTIAL", 500),
  concurrency: positiveFromEnv("BENCH_CONCURRENCY", 16),
  concurrentTotal: positiveFromEnv("BENCH_CONCURRENT_TOTAL", 2000),
  ttft: positiveFromEnv("BENCH_TTFT", 300),
  saturationConcurrency: positiveFromEnv("BENCH_SATURATION_CONCURRENCY", 64),
  saturationSeconds: positiveFromEnv("BENCH_SATURATION_SECONDS", 5),
  warmup: positiveFromEnv("BENCH_WARMUP", 100),
  timeoutMs: positiveFromEnv("BENCH_REQUEST_TIMEOUT_MS", 30_000),
  liteLlmWorkers: positiveFromEnv("BENCH_LITELLM_WORKERS", 1),
};
const peers = listFromEnv("BENCH_PEERS", "portkey,litellm");
const call: CallOptions = {
  prompt: "Summarise the benefits of a gateway in one sentence.",
  maxTokens: 64,
  timeoutMs: settings.timeoutMs,
};

/** One path's figures in one round. */
interface Round {
  sequential: Percentiles;
  concurrent: Percentiles;
  concurrentRps: number;
  ttft: Percentiles;
  saturationRps: number;
  /** Highest total RSS of the gateway's processes seen during the saturation phase (bytes). */
  loadRss: number;
  /** The same per process. */
  loadRssByRole: Record<string, number>;
  /** CPU time per request of the saturation phase, in ms, of each of the gateway's processes. */
  cpuByRole: Record<string, number>;
  /**
   * The same for the processes outside the gateway: the emulator, the load generator and what
   * the path needs besides (Strata's dynalite).
   */
  supportCpu: Record<string, number>;
}

/** Everything measured on one path. */
interface Measured {
  path: BenchPath;
  rounds: Round[];
  requests: number;
  errors: number;
  errorMessages: string[];
  restRss: Record<string, number | undefined>;
  afterRss: Record<string, number | undefined>;
}

const mb = (bytes: number | undefined) => (bytes === undefined ? Number.NaN : bytes / 2 ** 20);
const total = (byRole: Record<string, number | undefined>) => {
  const values = Object.values(byRole);
  return values.length === 0 || values.some((v) => v === undefined)
    ? Number.NaN
    : values.reduce<number>((sum, v) => sum + (v ?? 0), 0);
};
const loadAtStart = loadNow();
const progress = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Adds a batch's request and error counts to the path's totals. */
function count(m: Measured, batch: Batch): Batch {
  m.requests += batch.samples.length + batch.errors;
  m.errors += batch.errors;
  for (const e of batch.errorMessages) {
    if (m.errorMessages.length < 3 && !m.errorMessages.includes(e)) m.errorMessages.push(e);
  }
  return batch;
}

/** CPU time so far in ms of the processes outside the gateway, by name. */
function supportCpu(m: Measured, emulatorPid: number): Record<string, number | undefined> {
  const own = process.cpuUsage();
  return {
    emulator: processCpuMs(emulatorPid),
    "load generator": (own.user + own.system) / 1000,
    ...m.path.supportCpu(),
  };
}

/** Each process's CPU time between two readings, per request. */
function cpuPerRequest(
  before: Record<string, number | undefined>,
  after: Record<string, number | undefined>,
  requests: number,
): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after).map(([name, ms]) => {
      const from = before[name];
      return [
        name,
        ms === undefined || from === undefined || requests === 0
          ? Number.NaN
          : (ms - from) / requests,
      ];
    }),
  );
}

/**
 * Runs a saturation batch while sampling the gateway's memory every 250 ms, and measures the CPU
 * time every process spent per request. Settlement and ledger writes lag the answers a little,
 * so the CPU is read half a second after the batch (the previous phase's lag falls inside it in
 * the same way).
 */
async function saturate(
  m: Measured,
  emulatorPid: number,
): Promise<
  Pick<Round, "saturationRps" | "loadRss" | "loadRssByRole" | "cpuByRole" | "supportCpu">
> {
  let loadRss = 0;
  const loadRssByRole: Record<string, number> = {};
  const sample = () => {
    const now = m.path.memory();
    loadRss = Math.max(loadRss, total(now) || 0);
    for (const [role, bytes] of Object.entries(now)) {
      loadRssByRole[role] = Math.max(loadRssByRole[role] ?? 0, bytes ?? 0);
    }
  };
  const timer = setInterval(sample, 250);
  const cpuBefore = m.path.cpu();
  const supportBefore = supportCpu(m, emulatorPid);
  try {
    const batch = count(
      m,
      await runBatch(() => timeCompletion(m.path, call), {
        concurrency: settings.saturationConcurrency,
        durationMs: settings.saturationSeconds * 1000,
      }),
    );
    sample();
    await sleep(500);
    const requests = batch.samples.length + batch.errors;
    return {
      saturationRps: batch.rps,
      loadRss,
      loadRssByRole,
      cpuByRole: cpuPerRequest(cpuBefore, m.path.cpu(), requests),
      supportCpu: cpuPerRequest(supportBefore, supportCpu(m, emulatorPid), requests),
    };
  } finally {
    clearInterval(timer);
  }
}

/** One round on one path: every phase in turn. */
async function measureRound(m: Measured, emulatorPid: number): Promise<Round> {
  const sequential = count(
    m,
    await runBatch(() => timeCompletion(m.path, call), {
      concurrency: 1,
      count: settings.sequential,
    }),
  );
  const concurrent = count(
    m,
    await runBatch(() => timeCompletion(m.path, call), {
      concurrency: settings.concurrency,
      count: settings.concurrentTotal,
    }),
  );
  const ttft = count(
    m,
    await runBatch(() => firstTokenOutcome(timeStream(m.path, call)), {
      concurrency: 1,
      count: settings.ttft,
    }),
  );
  return {
    sequential: percentiles(sequential.samples),
    concurrent: percentiles(concurrent.samples),
    concurrentRps: concurrent.rps,
    ttft: percentiles(ttft.samples),
    ...(await saturate(m, emulatorPid)),
  };
}

/** Warms a path up (connections, JIT, caches); undefined if it works, else why it does not. */
async function warmUp(m: Measured): Promise<string | undefined> {
  const batches = [
    await runBatch(() => timeCompletion(m.path, call), { concurrency: 1, count: settings.warmup }),
    await runBatch(() => firstTokenOutcome(timeStream(m.path, call)), {
      concurrency: 1,
      count: 20,
    }),
    await runBatch(() => timeCompletion(m.path, call), {
      concurrency: settings.concurrency,
      count: settings.concurrency * 10,
    }),
  ].map((b) => count(m, b));
  if (batches.every((b) => b.samples.length === 0)) {
    return `every warm-up request failed: ${batches[0]?.errorMessages[0] ?? "unknown error"}`;
  }
  return undefined;
}

/** The row cells of one figure: per path, median [min, max] over the rounds. */
function figureRow(
  label: string,
  measured: Measured[],
  value: (round: Round, direct: Round) => number,
  options: { skipDirect?: boolean } = {},
): string[] {
  const direct = measured.find((m) => m.path.name === "direct");
  return [
    label,
    ...measured.map((m) => {
      if (options.skipDirect && m.path.name === "direct") return "—";
      return fmtSpread(
        spread(
          m.rounds.map((r, i) => {
            const d = direct?.rounds[i];
            return d ? value(r, d) : Number.NaN;
          }),
        ),
      );
    }),
  ];
}

/** Per-round ratios of Strata to another path, as median [min, max] ("—" when not meaningful). */
function ratio(
  strata: Measured,
  other: Measured,
  value: (round: Round, direct: Round) => number,
  direct: Measured,
): Spread {
  return spread(
    strata.rounds.map((r, i) => {
      const o = other.rounds[i];
      const d = direct.rounds[i];
      if (!o || !d) return Number.NaN;
      // An added figure at or below zero is within noise of the floor: no meaningful ratio.
      const denominator = value(o, d);
      return denominator > 0 ? value(r, d) / denominator : Number.NaN;
    }),
  );
}

function report(measured: Measured[], skipped: Skipped[], emulator: EmulatorProcess): void {
  const header = ["measure (median [min, max] over rounds)", ...measured.map((m) => m.path.name)];
  const c = settings.concurrency;
  const rows: string[][] = [
    header,
    figureRow(`non-streaming, sequential p50 [ms]`, measured, (r) => r.sequential.p50),
    figureRow(`non-streaming, sequential p99 [ms]`, measured, (r) => r.sequential.p99),
    figureRow(
      `  added p50 vs direct [ms]`,
      measured,
      (r, d) => r.sequential.p50 - d.sequential.p50,
      { skipDirect: true },
    ),
    figureRow(
      `  added p99 vs direct [ms]`,
      measured,
      (r, d) => r.sequential.p99 - d.sequential.p99,
      { skipDirect: true },
    ),
    figureRow(`non-streaming, ${c} concurrent p50 [ms]`, measured, (r) => r.concurrent.p50),
    figureRow(`non-streaming, ${c} concurrent p99 [ms]`, measured, (r) => r.concurrent.p99),
    figureRow(
      `  added p50 vs direct [ms]`,
      measured,
      (r, d) => r.concurrent.p50 - d.concurrent.p50,
      { skipDirect: true },
    ),
    figureRow(
      `  added p99 vs direct [ms]`,
      measured,
      (r, d) => r.concurrent.p99 - d.concurrent.p99,
      { skipDirect: true },
    ),
    figureRow(`streaming, time to first token p50 [ms]`, measured, (r) => r.ttft.p50),
    figureRow(`streaming, time to first token p99 [ms]`, measured, (r) => r.ttft.p99),
    figureRow(`  added TTFT p50 vs direct [ms]`, measured, (r, d) => r.ttft.p50 - d.ttft.p50, {
      skipDirect: true,
    }),
    figureRow(`  added TTFT p99 vs direct [ms]`, measured, (r, d) => r.ttft.p99 - d.ttft.p99, {
      skipDirect: true,
    }),
    figureRow(`throughput, ${c} concurrent [req/s]`, measured, (r) => r.concurrentRps),
    figureRow(
      `throughput, saturation (${settings.saturationConcurrency} concurrent) [req/s]`,
      measured,
      (r) => r.saturationRps,
    ),
    figureRow("CPU per request at saturation, gateway [ms]", measured, (r) => total(r.cpuByRole), {
      skipDirect: true,
    }),
    figureRow(
      "CPU per request at saturation, emulator [ms]",
      measured,
      (r) => r.supportCpu.emulator ?? Number.NaN,
    ),
    figureRow(
      "CPU per request at saturation, load generator [ms]",
      measured,
      (r) => r.supportCpu["load generator"] ?? Number.NaN,
    ),
    ["gateway RSS at rest, after warm-up [MB]", ...measured.map((m) => fmt(mb(total(m.restRss))))],
    figureRow("gateway RSS under load, max [MB]", measured, (r) => mb(r.loadRss), {
      skipDirect: true,
    }),
    ["gateway RSS at rest, after the run [MB]", ...measured.map((m) => fmt(mb(total(m.afterRss))))],
    ["failed requests / requests", ...measured.map((m) => `${m.errors} / ${m.requests}`)],
  ];
  console.log(formatTable(rows));

  const strata = measured.find((m) => m.path.name === "strata");
  if (strata) {
    const roles = Object.keys(strata.restRss);
    console.log(
      "\nStrata's processes (devstack runs each service as its own Node process; dynalite stands in for DynamoDB, which is remote in production):",
    );
    console.log(
      formatTable([
        [
          "process",
          "RSS at rest [MB]",
          "RSS under load, max [MB]",
          "RSS after the run [MB]",
          "CPU per request at saturation [ms]",
        ],
        ...[...roles, "total"].map((role) => {
          const pick = (byRole: Record<string, number | undefined>) =>
            role === "total" ? total(byRole) : byRole[role];
          return [
            role,
            fmt(mb(pick(strata.restRss))),
            fmtSpread(
              spread(
                strata.rounds.map((r) => mb(role === "total" ? r.loadRss : r.loadRssByRole[role])),
              ),
            ),
            fmt(mb(pick(strata.afterRss))),
            fmtSpread(spread(strata.rounds.map((r) => pick(r.cpuByRole) ?? Number.NaN))),
          ];
        }),
        [
          "dynalite (not in total)",
          "",
          "",
          "",
          fmtSpread(spread(strata.rounds.map((r) => r.supportCpu.dynalite ?? Number.NaN))),
        ],
      ]),
    );
  }

  const direct = measured.find((m) => m.path.name === "direct");
  if (strata && direct) {
    const others = measured.filter((m) => m !== strata);
    type RatioRow = [string, (r: Round, d: Round) => number, boolean];
    const ratioRows: RatioRow[] = [
      ["non-streaming latency p50, sequential", (r) => r.sequential.p50, true],
      ["added latency p50, sequential", (r, d) => r.sequential.p50 - d.sequential.p50, false],
      ["added latency p99, sequential", (r, d) => r.sequential.p99 - d.sequential.p99, false],
      [`added latency p50, ${c} concurrent`, (r, d) => r.concurrent.p50 - d.concurrent.p50, false],
      ["added time to first token p50", (r, d) => r.ttft.p50 - d.ttft.p50, false],
      [`throughput, ${c} concurrent`, (r) => r.concurrentRps, true],
      ["throughput, saturation", (r) => r.saturationRps, true],
      ["CPU per request at saturation, gateway", (r) => total(r.cpuByRole), false],
      ["gateway RSS under load, max", (r) => r.loadRss, false],
    ];
    console.log(
      "\nRatios, Strata / other path: per-round ratio, median [min, max]. Latency and memory: below 1 is better for Strata; throughput: above 1 is. Rounds where the other path's added latency was ≤ 0 (within noise of the floor) are left out.",
    );
    console.log(
      formatTable([
        ["ratio", ...others.map((o) => `strata / ${o.path.name}`)],
        ...ratioRows.map(([label, value, withDirect]) => [
          label,
          ...others.map((o) =>
            o === direct && !withDirect ? "—" : fmtSpread(ratio(strata, o, value, direct)),
          ),
        ]),
      ]),
    );
  }

  for (const m of measured) {
    if (m.errors > 0) {
      console.log(
        `\n${m.path.name}: ${m.errors} failed requests, e.g. ${m.errorMessages.join(" || ")}`,
      );
    }
  }
  for (const s of skipped) console.log(`\n${s.name}: skipped: ${s.skipped}`);
  console.log(`\n${describeMachine(loadAtStart)}`);
  console.log(
    `settings: rounds ${settings.rounds}, sequential ${settings.sequential}, ${c} concurrent × ${settings.concurrentTotal}, TTFT ${settings.ttft}, saturation ${settings.saturationConcurrency} concurrent × ${settings.saturationSeconds} s, warm-up ${settings.warmup}, LiteLLM workers ${settings.liteLlmWorkers}; emulator ${emulator.url} (own process)`,
  );
}

async function main(dir: string): Promise<number> {
  const stops: Array<() => Promise<void>> = [];
  try {
    const emulator = await startEmulator(dir);
    stops.push(() => emulator.server.stop());
    progress(
      `emulator at ${emulator.url}; starting Strata${peers.length ? ` and ${peers.join(", ")}` : ""}…`,
    );
    const starting: Array<Promise<BenchPath | Skipped>> = [startStrata(emulator.url, dir)];
    if (peers.includes("portkey")) starting.push(startPortkey(emulator.url, dir));
    if (peers.includes("litellm"))
      starting.push(startLiteLlm(emulator.url, dir, settings.liteLlmWorkers));
    const started = await Promise.allSettled(starting);
    const skipped: Skipped[] = [];
    const paths: BenchPath[] = [directPath(emulator.url)];
    for (const s of started) {
      if (s.status === "rejected") continue;
      if ("skipped" in s.value) skipped.push(s.value);
      else {
        const path = s.value;
        paths.push(path);
        stops.push(() => path.stop());
      }
    }
    // Strata failing to start ends the run (after the peers that did start are stopped).
    const failed = started.find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
    for (const name of ["portkey", "litellm"] as PathName[]) {
      if (!peers.includes(name)) skipped.push({ name, skipped: "not in BENCH_PEERS" });
    }

    let measured: Measured[] = paths.map((path) => ({
      path,
      rounds: [],
      requests: 0,
      errors: 0,
      errorMessages: [],
      restRss: {},
      afterRss: {},
    }));
    for (const m of measured) {
      progress(`warming up ${m.path.name}…`);
      const failure = await warmUp(m);
      if (failure) {
        if (m.path.name === "direct" || m.path.name === "strata") {
          throw new Error(`${m.path.name}: ${failure}`);
        }
        skipped.push({ name: m.path.name, skipped: failure });
      }
    }
    measured = measured.filter((m) => !skipped.some((s) => s.name === m.path.name));
    await sleep(1000);
    for (const m of measured) m.restRss = m.path.memory();

    for (let round = 0; round < settings.rounds; round++) {
      // Rotate the order each round so that no path always runs first or last.
      const order = measured.map((_, i) => measured[(i + round) % measured.length] as Measured);
      for (const m of order) {
        const started = performance.now();
        m.rounds[round] = await measureRound(m, emulator.server.pid);
        progress(
          `round ${round + 1}/${settings.rounds} ${m.path.name}: ${((performance.now() - started) / 1000).toFixed(1)} s, ${m.errors} failed so far`,
        );
      }
    }
    await sleep(1000);
    for (const m of measured) m.afterRss = m.path.memory();

    report(measured, skipped, emulator);
    const own = measured.filter((m) => m.path.name === "direct" || m.path.name === "strata");
    return own.some((m) => m.errors > 0) ? 1 : 0;
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

const dir = scratchDir();
let exitCode = 1;
try {
  exitCode = await main(dir);
} finally {
  if (exitCode === 0) rmSync(dir, { recursive: true, force: true });
  else progress(`the emulator's and peers' logs are kept in ${dir}`);
}
process.exitCode = exitCode;
