// Young-generation GC pauses caused by one request/response exchange over Node's HTTP/1.1 and
// over its HTTP/2, client and server in this process, one request at a time: the same bodies,
// the same headers, nothing else running. Strata's services talk gRPC (HTTP/2) to each other;
// this isolates what the transport itself costs the garbage collector, below grpc-js and Strata.
// Prints, per protocol: requests, scavenges, and the scavenge pause per request, mean and max.
// Loopback only; stops by itself. See docs/performance.md ("Where the p99 goes").
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { constants, type PerformanceEntry, PerformanceObserver } from "node:perf_hooks";
import { positiveFromEnv } from "./env.ts";
import { formatTable } from "./stats.ts";

const seconds = positiveFromEnv("BENCH_GC_SECONDS", 8);
const requestBody = Buffer.alloc(300, "a");
const responseBody = Buffer.alloc(200, "b");
const header = "y".repeat(100);

/** Sends one request and reads its whole answer; close() ends client and server. */
type Exchange = (() => Promise<void>) & { close(): void };

/** One exchange at a time over a kept-alive HTTP/1.1 connection. */
async function http1(): Promise<Exchange> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => res.end(responseBody));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const { port } = server.address() as AddressInfo;
  const exchange = () =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(
        { host: "127.0.0.1", port, method: "POST", path: "/x", agent, headers: { "x-h": header } },
        (res) => {
          res.resume();
          res.on("end", resolve);
        },
      );
      req.on("error", reject);
      req.end(requestBody);
    });
  return Object.assign(exchange, {
    close: () => {
      agent.destroy();
      server.close();
    },
  });
}

/** One exchange at a time as a stream of one HTTP/2 session. */
async function http2Exchange(): Promise<Exchange> {
  const server = http2.createServer();
  server.on("stream", (stream) => {
    stream.resume();
    stream.on("end", () => {
      stream.respond({ ":status": 200 });
      stream.end(responseBody);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  const session = http2.connect(`http://127.0.0.1:${port}`);
  const exchange = () =>
    new Promise<void>((resolve, reject) => {
      const req = session.request({ ":method": "POST", ":path": "/x", "x-h": header });
      req.on("error", reject);
      req.resume();
      req.on("end", resolve);
      req.end(requestBody);
    });
  return Object.assign(exchange, {
    close: () => {
      session.close();
      server.close();
    },
  });
}

interface Figures {
  requests: number;
  scavenges: number;
  pauseMs: number[];
}

async function measure(start: () => Promise<Exchange>): Promise<Figures> {
  const exchange = await start();
  for (let i = 0; i < 500; i++) await exchange(); // warm up
  const figures: Figures = { requests: 0, scavenges: 0, pauseMs: [] };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const { detail } = entry as PerformanceEntry & { detail?: { kind?: number } };
      if (detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR)
        figures.pauseMs.push(entry.duration);
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    await exchange();
    figures.requests++;
    // About the rate of Strata's sequential benchmark, so that survivors are per-request.
    await new Promise((r) => setTimeout(r, 1));
  }
  await new Promise((r) => setTimeout(r, 100));
  observer.disconnect();
  exchange.close();
  figures.scavenges = figures.pauseMs.length;
  return figures;
}

const rows: string[][] = [
  [
    "protocol",
    "requests",
    "scavenges",
    "scavenge pause, mean [ms]",
    "scavenge pause, max [ms]",
    "pause per 1,000 requests [ms]",
  ],
];
for (const [name, start] of [
  ["HTTP/1.1 (node:http)", http1],
  ["HTTP/2 (node:http2)", http2Exchange],
] as const) {
  const f = await measure(start);
  const sum = f.pauseMs.reduce((a, b) => a + b, 0);
  rows.push([
    name,
    String(f.requests),
    String(f.scavenges),
    (f.scavenges ? sum / f.scavenges : 0).toFixed(2),
    Math.max(0, ...f.pauseMs).toFixed(2),
    ((sum / f.requests) * 1000).toFixed(1),
  ]);
}
console.log(formatTable(rows));
