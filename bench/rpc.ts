// The cost of one internal RPC hop, which every Strata request pays twice (metering's Admit, then
// inference's Chat): a unary gRPC call over loopback HTTP/2, client and server in separate
// processes, for three implementations of both ends (see rpc-server.ts): node:http2 alone (the
// floor), Strata's RPC layer (connect-node with Strata's interceptors) and @grpc/grpc-js.
// Measures per call: round trip (sequential), CPU in the client and in the server, and calls per
// second with many in flight. Rounds rotate the order; figures are median [min, max] over rounds.
// Loopback only; the servers exit with this process. See docs/performance.md.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect } from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { createRpcClient, createRpcTransport } from "@strata/platform";
import {
  Health,
  HealthCheckRequestSchema,
  type HealthCheckResponse,
  HealthCheckResponseSchema,
} from "@strata/proto";
import { positiveFromEnv } from "./env.ts";
import { checkPath, grpcFrame, grpcJsCheck } from "./rpc-server.ts";
import { fmt, fmtSpread, formatTable, percentiles, type Spread, spread } from "./stats.ts";

const settings = {
  rounds: positiveFromEnv("BENCH_ROUNDS", 3),
  calls: positiveFromEnv("BENCH_RPC_CALLS", 5000),
  warmup: positiveFromEnv("BENCH_WARMUP", 1000),
  concurrency: positiveFromEnv("BENCH_CONCURRENCY", 64),
  concurrentSeconds: positiveFromEnv("BENCH_RPC_CONCURRENT_SECONDS", 3),
};
const kinds = ["http2", "strata", "grpc-js"] as const;
type Kind = (typeof kinds)[number];

/** CPU time (ms) a process has used, user + system, from /proc (clock ticks of 10 ms). */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Starts `node bench/rpc-server.ts <kind>` and reads the port it prints. */
async function startServer(kind: Kind): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    [new URL("rpc-server.ts", import.meta.url).pathname, kind],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${kind} server exited with ${code}`)));
    child.stdout?.once("data", (line: Buffer) => resolve(Number(String(line).trim())));
  });
  return { child, port };
}

/** One unary Check call as each kind of client makes it. */
type Call = () => Promise<HealthCheckResponse>;

function http2Client(port: number): { call: Call; close: () => void } {
  const session = connect(`http://127.0.0.1:${port}`);
  const body = grpcFrame(toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema)));
  const call: Call = () =>
    new Promise((resolve, reject) => {
      const stream = session.request({
        ":method": "POST",
        ":path": checkPath,
        "content-type": "application/grpc+proto",
        te: "trailers",
      });
      const chunks: Buffer[] = [];
      let status: string | undefined;
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("trailers", (trailers) => {
        status = String(trailers["grpc-status"]);
      });
      stream.on("error", reject);
      stream.on("end", () => {
        if (status !== "0") reject(new Error(`grpc-status ${status}`));
        else resolve(fromBinary(HealthCheckResponseSchema, Buffer.concat(chunks).subarray(5)));
      });
      stream.end(body);
    });
  return { call, close: () => session.close() };
}

function strataClient(port: number): { call: Call; close: () => void } {
  const client = createRpcClient(
    Health,
    createRpcTransport({ baseUrl: `http://127.0.0.1:${port}` }),
  );
  return { call: () => client.check({}), close: () => undefined };
}

function grpcJsClient(port: number): { call: Call; close: () => void } {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const request = create(HealthCheckRequestSchema);
  const call: Call = () =>
    new Promise((resolve, reject) =>
      client.makeUnaryRequest(
        checkPath,
        grpcJsCheck.requestSerialize,
        grpcJsCheck.responseDeserialize,
        request,
        (err, res) => (err || !res ? reject(err) : resolve(res)),
      ),
    );
  return { call, close: () => client.close() };
}

const clients: Record<Kind, (port: number) => { call: Call; close: () => void }> = {
  http2: http2Client,
  strata: strataClient,
  "grpc-js": grpcJsClient,
};

interface Round {
  p50Us: number;
  p99Us: number;
  clientCpuUs: number;
  serverCpuUs: number;
  callsPerSecond: number;
}

async function measureRound(kind: Kind): Promise<Round> {
  const { child, port } = await startServer(kind);
  const { call, close } = clients[kind](port);
  try {
    for (let i = 0; i < settings.warmup; i++) await call();
    const samples: number[] = [];
    const server0 = processCpuMs(child.pid ?? 0);
    const client0 = process.cpuUsage();
    for (let i = 0; i < settings.calls; i++) {
      const start = performance.now();
      await call();
      samples.push((performance.now() - start) * 1000);
    }
    const client = process.cpuUsage(client0);
    const serverMs = processCpuMs(child.pid ?? 0) - server0;
    const { p50, p99 } = percentiles(samples);

    let done = 0;
    const deadline = performance.now() + settings.concurrentSeconds * 1000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: settings.concurrency }, async () => {
        while (performance.now() < deadline) {
          await call();
          done++;
        }
      }),
    );
    return {
      p50Us: p50,
      p99Us: p99,
      clientCpuUs: (client.user + client.system) / settings.calls,
      serverCpuUs: (serverMs * 1000) / settings.calls,
      callsPerSecond: (done / (performance.now() - started)) * 1000,
    };
  } finally {
    close();
    child.stdin?.end();
    await new Promise((resolve) => child.once("exit", resolve));
  }
}

const rounds = Object.fromEntries(kinds.map((k) => [k, [] as Round[]])) as Record<Kind, Round[]>;
for (let round = 0; round < settings.rounds; round++) {
  const order = kinds.map((_, i) => kinds[(i + round) % kinds.length] as Kind);
  for (const kind of order) {
    rounds[kind].push(await measureRound(kind));
    process.stderr.write(`round ${round + 1}/${settings.rounds} ${kind} done\n`);
  }
}

const of = (kind: Kind, field: keyof Round): Spread => spread(rounds[kind].map((r) => r[field]));
const fields: [string, keyof Round][] = [
  ["round trip p50 (µs)", "p50Us"],
  ["round trip p99 (µs)", "p99Us"],
  ["client CPU per call (µs)", "clientCpuUs"],
  ["server CPU per call (µs)", "serverCpuUs"],
  [`calls/s, ${settings.concurrency} in flight`, "callsPerSecond"],
];
process.stdout.write(
  `One unary gRPC call over loopback HTTP/2, client and server in separate processes; ` +
    `${settings.calls} sequential calls per round, ${settings.rounds} rounds, median [min, max].\n\n`,
);
process.stdout.write(
  `${formatTable([
    ["", ...kinds],
    ...fields.map(([label, field]) => [label, ...kinds.map((k) => fmtSpread(of(k, field)))]),
  ])}\n\n`,
);
const ratio = (kind: Kind, field: keyof Round) =>
  of(kind, field).median / of("http2", field).median;
process.stdout.write(
  `${formatTable([
    ["ratio to node:http2 alone (medians)", "strata", "grpc-js"],
    ...fields.map(([label, field]) => [
      label,
      `${fmt(ratio("strata", field))}×`,
      `${fmt(ratio("grpc-js", field))}×`,
    ]),
  ])}\n`,
);
