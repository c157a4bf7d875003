import type { ConnectRouter } from "@connectrpc/connect";
import {
  createHealthService,
  createRpcServer,
  type Logger,
  remoteAddressKey,
} from "@strata/platform";
import { AuthAdminService, AuthService } from "@strata/proto";
import { Counter, Gauge, type Registry } from "prom-client";
import { type AdminServiceOptions, createAdminService } from "./admin.ts";
import { adminAuthInterceptor, type BootstrapToken } from "./admin-auth.ts";
import { createChangeFeed } from "./change-feed.ts";
import type { AuthStore } from "./store.ts";
import { createKeyVerifier } from "./verify.ts";
import { watchRevocations } from "./watch.ts";

/** What the auth server needs; main.ts builds it from the configuration. */
export interface AuthServerDeps {
  store: AuthStore;
  /** Metering's usage query, for the admin plane's GetUsage (optional). */
  queryUsage?: AdminServiceOptions["queryUsage"];
  logger: Logger;
  registry: Registry;
  host: string;
  port: number;
  adminPort: number;
  bootstrapTokens: readonly BootstrapToken[];
  pepper?: string | undefined;
  keyMaxAgeDays: number;
  rotationOverlapDays?: number;
  expiryWarningDays?: number;
  adminTokenTtlHours?: number;
  adminTokenMaxTtlHours?: number;
  verifyCacheTtlMs: number;
  /** How often the change feed is read (revocation propagation). */
  changeFeedPollMs?: number;
  watchHeartbeatMs?: number;
  /**
   * How long one WatchRevocations stream lasts before auth ends it and the gateway reconnects
   * (default 4 minutes ±10%, inside the RPC server's 5-minute connection age).
   */
  watchMaxMs?: number;
  /** How often keys are scanned for the expiry-warning gauge. */
  expiryScanMs?: number;
}

/** The running auth service: a data-plane server and an admin server on separate ports. */
export interface AuthServer {
  readonly port: number;
  readonly adminPort: number;
  setServing(serving: boolean): void;
  isServing(): boolean;
  close(graceMs: number): Promise<void>;
}

/** Counts active keys expiring within the warning window per tenant, refreshed every minute. */
function expiryGauge(deps: AuthServerDeps, warningMs: number) {
  const gauge = new Gauge({
    name: "strata_auth_keys_expiring_soon",
    help: "Active API keys that expire within the warning window, per tenant: rotate them.",
    labelNames: ["tenant"],
    registers: [deps.registry],
  });
  const refresh = async () => {
    const at = Date.now();
    const counts = new Map<string, number>();
    for (const key of await deps.store.listKeys()) {
      const active = key.revokedAtMs === undefined && key.expiresAtMs > at && !key.rotatedToKeyId;
      if (active && key.expiresAtMs - at <= warningMs)
        counts.set(key.tenantId, (counts.get(key.tenantId) ?? 0) + 1);
    }
    gauge.reset();
    for (const [tenant, count] of counts) gauge.set({ tenant }, count);
  };
  const timer = setInterval(
    () => refresh().catch((err) => deps.logger.warn({ err }, "key expiry scan failed")),
    deps.expiryScanMs ?? 60_000,
  );
  timer.unref();
  void refresh().catch(() => undefined);
  return () => clearInterval(timer);
}

export async function createAuthServer(deps: AuthServerDeps): Promise<AuthServer> {
  const expiryWarningDays = deps.expiryWarningDays ?? 14;
  const verifications = new Counter({
    name: "strata_auth_key_verifications_total",
    help: "API key verifications by result.",
    labelNames: ["result"],
    registers: [deps.registry],
  });
  let lastStoreErrorLog = 0;
  const verifier = createKeyVerifier({
    store: deps.store,
    pepper: deps.pepper,
    cacheTtlMs: deps.verifyCacheTtlMs,
    onResult: (result) => verifications.inc({ result }),
    onStoreError: (err) => {
      // One line per 10 s: during a DynamoDB outage every verification fails alike.
      if (Date.now() - lastStoreErrorLog < 10_000) return;
      lastStoreErrorLog = Date.now();
      deps.logger.warn({ err }, "key store unreadable: verifications answer 503");
    },
  });
  const feed = createChangeFeed({
    store: deps.store,
    logger: deps.logger,
    pollMs: deps.changeFeedPollMs ?? 250,
  });
  // This replica's own tenant cache follows the feed too, so a suspension applies at once.
  feed.subscribe((change) => {
    if (change.tenantId) verifier.forgetTenant(change.tenantId);
  });
  const stopExpiryGauge = expiryGauge(deps, expiryWarningDays * 86_400_000);
  const health = createHealthService([AuthService.typeName, AuthAdminService.typeName]);
  // Ends the revocation watches at shutdown: they never end by themselves, so the server would
  // wait its whole grace period for them; ended, each gateway re-subscribes to another replica.
  const closing = new AbortController();
  const data = await createRpcServer({
    host: deps.host,
    port: deps.port,
    logger: deps.logger,
    routes(router: ConnectRouter) {
      health.register(router);
      router.service(AuthService, {
        verifyKey: (req, ctx) => verifier.verifyKey(req, ctx.signal),
        watchRevocations: (_, ctx) =>
          watchRevocations(
            feed,
            AbortSignal.any([
              ctx.signal,
              closing.signal,
              // Ended cleanly before the connection's maximum age would cut it (5 min, ±10%):
              // the gateway then reconnects at once, on a fresh connection, without an error.
              AbortSignal.timeout(
                deps.watchMaxMs ?? Math.round(240_000 * (0.9 + 0.2 * Math.random())),
              ),
            ]),
            deps.watchHeartbeatMs ?? 5_000,
          ),
        async recordEvents(req, ctx) {
          const source = ctx.values.get(remoteAddressKey);
          await Promise.all(
            req.events.map((event) =>
              deps.store.appendAudit({
                tenantId: event.principal?.tenantId || "-",
                actor: `key:${event.principal?.keyId ?? "-"}`,
                action: event.action,
                target: event.target,
                result: "blocked",
                source: event.source || source,
                detail: [event.detail, event.requestId && `request ${event.requestId}`]
                  .filter(Boolean)
                  .join("; "),
              }),
            ),
          );
          return {};
        },
      });
    },
  });
  const admin = await createRpcServer({
    host: deps.host,
    port: deps.adminPort,
    logger: deps.logger,
    interceptors: [
      adminAuthInterceptor({
        store: deps.store,
        bootstrapTokens: deps.bootstrapTokens,
        pepper: deps.pepper,
      }),
    ],
    routes(router: ConnectRouter) {
      router.service(
        AuthAdminService,
        createAdminService({
          store: deps.store,
          queryUsage: deps.queryUsage,
          pepper: deps.pepper,
          keyMaxAgeDays: deps.keyMaxAgeDays,
          rotationOverlapDays: deps.rotationOverlapDays ?? 14,
          expiryWarningDays,
          adminTokenTtlHours: deps.adminTokenTtlHours ?? 24,
          adminTokenMaxTtlHours: deps.adminTokenMaxTtlHours ?? 24 * 30,
        }),
      );
    },
  });
  return {
    port: data.port,
    adminPort: admin.port,
    setServing: (serving) => health.setServing(serving),
    isServing: () => health.isServing(),
    close: async (graceMs) => {
      closing.abort();
      feed.close();
      stopExpiryGauge();
      await Promise.all([data.close(graceMs), admin.close(graceMs)]);
    },
  };
}
