import { startService } from "@strata/devstack";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MeteringService } from "@strata/proto";
const dummy = { STRATA_DYNAMODB_ENDPOINT: "http://127.0.0.1:9", STRATA_LOG_LEVEL: "warn", STRATA_METRICS_PORT: "0", STRATA_PORT: "0" };
const m = await startService({ packageName: "@strata/metering", name: "metering", env: dummy, output: "inherit" });
const url = `http://127.0.0.1:${m.ports.grpc}`;
async function time(name: string, f: () => Promise<unknown>) {
  for (let i = 0; i < 300; i++) await f();
  const xs: number[] = [];
  for (let i = 0; i < 2000; i++) { const t = performance.now(); await f(); xs.push(performance.now() - t); }
  xs.sort((a, b) => a - b);
  console.log(name, "p50", xs[1000]?.toFixed(3), "p90", xs[1800]?.toFixed(3), "p99", xs[1980]?.toFixed(3));
}
const c1 = createClient(MeteringService, createGrpcTransport({ baseUrl: url }));
await time("connect grpc client, default", () => c1.admit({ requestId: "r", principal: { tenantId: "t" } }));
const c2 = createClient(MeteringService, createGrpcTransport({ baseUrl: url, useBinaryFormat: true, pingIntervalMs: 10000 }));
await time("connect grpc client, ping", () => c2.admit({ requestId: "r", principal: { tenantId: "t" } }));
await m.stop();
