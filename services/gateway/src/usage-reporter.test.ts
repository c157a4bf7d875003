import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { invalidRequest, toConnectError } from "@strata/errors";
import { createLogger } from "@strata/platform";
import {
  MeteringService,
  type SettleRequest,
  TokenPriceSchema,
  UsageRecordSchema,
} from "@strata/proto";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createUsageReporter } from "./usage-reporter.ts";

const logger = createLogger({ service: "gateway", level: "silent" });
const usage = (requestId: string) =>
  create(UsageRecordSchema, { requestId, principal: { tenantId: "t", keyId: "k" } });

/** A metering fake over Connect's in-memory transport; `behave` decides each Settle call. */
function fakeMetering(behave: (req: SettleRequest, call: number) => void) {
  const calls: string[][] = [];
  const transport = createRouterTransport(({ service }) => {
    service(MeteringService, {
      admit: () => ({}),
      settle(req) {
        calls.push(req.settlements.map((s) => s.usage?.requestId ?? ""));
        behave(req, calls.length);
        return {};
      },
    });
  });
  return { client: createClient(MeteringService, transport), calls };
}

describe("usage reporter", () => {
  it("sends the usage of many requests in one Settle call", async () => {
    const metering = fakeMetering(() => {});
    const reporter = createUsageReporter({
      metering: metering.client,
      logger,
      registry: new Registry(),
      timeoutMs: 1000,
      lingerMs: 20,
    });
    for (let i = 0; i < 30; i++) reporter.report(`r${i}`, usage(`r${i}`));
    await reporter.drain(1000);
    expect(metering.calls).toHaveLength(1);
    expect(metering.calls[0]).toHaveLength(30);
  });

  it("sends each usage with the model's price, so metering can price it without a reservation", async () => {
    let sent: SettleRequest | undefined;
    const metering = fakeMetering((req) => {
      sent = req;
    });
    const reporter = createUsageReporter({
      metering: metering.client,
      logger,
      registry: new Registry(),
      timeoutMs: 1000,
      lingerMs: 1,
    });
    const price = create(TokenPriceSchema, {
      inputPerMillionMicros: 250_000,
      outputPerMillionMicros: 1_250_000,
      cacheReadPerMillionMicros: 25_000,
    });
    reporter.report("priced", usage("priced"), price);
    reporter.report("free", usage("free"));
    await reporter.drain(1000);
    expect(
      sent?.settlements.map((s) => [s.reservationId, s.price?.outputPerMillionMicros]),
    ).toEqual([
      ["priced", 1_250_000],
      ["free", undefined],
    ]);
  });

  it("keeps records while metering is down and delivers them when it is back", async () => {
    const metering = fakeMetering((_, call) => {
      if (call <= 2) throw new ConnectError("down", Code.Unavailable);
    });
    const registry = new Registry();
    const reporter = createUsageReporter({
      metering: metering.client,
      logger,
      registry,
      timeoutMs: 1000,
      lingerMs: 1,
    });
    reporter.report("a", usage("a"));
    reporter.report("b", usage("b"));
    await reporter.drain(5_000);
    expect(metering.calls.at(-1)).toEqual(["a", "b"]);
    expect(metering.calls.length).toBe(3);
    expect(
      await registry.getSingleMetricAsString("strata_gateway_usage_records_lost_total"),
    ).toMatch(/ 0$/m);
  });

  it("counts records metering refuses outright as lost, and goes on with later ones", async () => {
    const metering = fakeMetering((_, call) => {
      if (call === 1) throw toConnectError(invalidRequest("settlements[0].usage", "bad"));
    });
    const registry = new Registry();
    const reporter = createUsageReporter({
      metering: metering.client,
      logger,
      registry,
      timeoutMs: 1000,
      lingerMs: 1,
    });
    reporter.report("bad", usage("bad"));
    await new Promise((r) => setTimeout(r, 50));
    reporter.report("good", usage("good"));
    await reporter.drain(1000);
    expect(metering.calls).toEqual([["bad"], ["good"]]);
    expect(
      await registry.getSingleMetricAsString("strata_gateway_usage_records_lost_total"),
    ).toMatch(/ 1$/m);
  });

  it("counts records dropped when its queue is full", async () => {
    const metering = fakeMetering(() => {});
    const registry = new Registry();
    const reporter = createUsageReporter({
      metering: metering.client,
      logger,
      registry,
      timeoutMs: 1000,
      maxPending: 2,
      lingerMs: 1000,
    });
    for (const id of ["a", "b", "c"]) reporter.report(id, usage(id));
    expect(
      await registry.getSingleMetricAsString("strata_gateway_usage_records_lost_total"),
    ).toMatch(/ 1$/m);
    await reporter.drain(1000);
    expect(metering.calls).toEqual([["a", "b"]]);
  });
});
