import type { ConnectRouter } from "@connectrpc/connect";
import {
  createHealthService,
  createRpcServer,
  type Logger,
  type RpcServer,
} from "@strata/platform";
import { AuthAdminService, AuthService } from "@strata/proto";
import { Counter, type Registry } from "prom-client";
import { adminTokenInterceptor, createAdminService } from "./admin.ts";
import type { AuthStore } from "./store.ts";
import { createKeyVerifier } from "./verify.ts";

/** What the auth server needs; main.ts builds it from the configuration. */
export interface AuthServerDeps {
  store: AuthStore;
  logger: Logger;
  registry: Registry;
  host: string;
  port: number;
  adminPort: number;
  adminTokenHashes: readonly string[];
  pepper?: string | undefined;
  keyMaxAgeDays: number;
  verifyCacheTtlMs: number;
}

/** The running auth service: a data-plane server and an admin server on separate ports. */
export interface AuthServer {
  readonly port: number;
  readonly adminPort: number;
  setServing(serving: boolean): void;
  isServing(): boolean;
  close(graceMs: number): Promise<void>;
}

export async function createAuthServer(deps: AuthServerDeps): Promise<AuthServer> {
  const verifications = new Counter({
    name: "strata_auth_key_verifications_total",
    help: "API key verifications by result.",
    labelNames: ["result"],
    registers: [deps.registry],
  });
  const verifyKey = createKeyVerifier({
    store: deps.store,
    pepper: deps.pepper,
    cacheTtlMs: deps.verifyCacheTtlMs,
    onResult: (result) => verifications.inc({ result }),
  });
  const health = createHealthService([AuthService.typeName, AuthAdminService.typeName]);
  const data: RpcServer = await createRpcServer({
    host: deps.host,
    port: deps.port,
    logger: deps.logger,
    routes(router: ConnectRouter) {
      health.register(router);
      router.service(AuthService, { verifyKey: (req) => verifyKey(req) });
    },
  });
  const admin: RpcServer = await createRpcServer({
    host: deps.host,
    port: deps.adminPort,
    logger: deps.logger,
    interceptors: [adminTokenInterceptor(deps.adminTokenHashes, deps.store)],
    routes(router: ConnectRouter) {
      router.service(
        AuthAdminService,
        createAdminService({
          store: deps.store,
          pepper: deps.pepper,
          keyMaxAgeDays: deps.keyMaxAgeDays,
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
      await Promise.all([data.close(graceMs), admin.close(graceMs)]);
    },
  };
}
