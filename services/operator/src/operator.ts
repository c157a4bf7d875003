import type { Client } from "@connectrpc/connect";
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import type { Logger, Servable } from "@strata/platform";
import type { AuthAdminService } from "@strata/proto";
import type { Registry } from "prom-client";
import { createApiKeyController } from "./apikey-controller.ts";
import type { OperatorConfig } from "./config.ts";
import { adminErrorToSyncError, isConflict, safeError } from "./errors.ts";
import { createEventRecorder } from "./events.ts";
import { createInformer, type Informer } from "./informer.ts";
import { managedBy, managedByLabel } from "./key-secret.ts";
import type { KubeApi } from "./kube.ts";
import { createLeaderElector } from "./leader-election.ts";
import { createOperatorMetrics } from "./metrics.ts";
import { type ApiKey, group, type Secret, type Tenant, version } from "./resources.ts";
import { createTenantController, type ReconcileResult } from "./tenant-controller.ts";
import { createWorkQueue } from "./work-queue.ts";

/** Options of createOperator. */
export interface OperatorOptions {
  config: Pick<
    OperatorConfig,
    | "identity"
    | "STRATA_WATCH_NAMESPACES"
    | "STRATA_LEASE_NAMESPACE"
    | "STRATA_LEASE_NAME"
    | "STRATA_LEASE_DURATION_MS"
    | "STRATA_LEASE_RENEW_DEADLINE_MS"
    | "STRATA_LEASE_RETRY_PERIOD_MS"
    | "STRATA_RESYNC_MS"
    | "STRATA_USAGE_REFRESH_MS"
    | "STRATA_WORKERS"
    | "STRATA_RETRY_BASE_MS"
    | "STRATA_RETRY_MAX_MS"
    | "STRATA_ADMIN_TIMEOUT_MS"
    | "STRATA_GATEWAY_BASE_URL"
    | "STRATA_ROTATION_DAY_SECONDS"
  >;
  /** For the informers' watches. */
  kc: KubeConfig;
  kube: KubeApi;
  admin: Client<typeof AuthAdminService>;
  logger: Logger;
  registry: Registry;
}

/** The running operator, as runService serves it. */
export interface Operator extends Servable {
  /** Starts informers and leader election; reconciling begins once leading and synced. */
  start(): void;
  isLeader(): boolean;
}

const tenantKey = (name: string) => `Tenant/${name}`;
const apiKeyKey = (namespace: string, name: string) => `ApiKey/${namespace}/${name}`;

/**
 * The controller manager: informers on Tenants, ApiKeys and the operator's Secrets feed one work
 * queue (per-object dedupe, exponential retries); workers reconcile while this replica holds the
 * leader Lease, and stop — in-flight calls aborted, queue dropped — the moment it does not. Every
 * object is re-queued every STRATA_RESYNC_MS to catch changes made in auth. Readiness means "the
 * caches are synced", on every replica: a standby is healthy and ready to take over, and marking
 * it unready would only block rollouts and node drains (its PodDisruptionBudget).
 */
export function createOperator({
  config,
  kc,
  kube,
  admin,
  logger,
  registry,
}: OperatorOptions): Operator {
  const queue = createWorkQueue({
    baseDelayMs: config.STRATA_RETRY_BASE_MS,
    maxDelayMs: config.STRATA_RETRY_MAX_MS,
  });
  const metrics = createOperatorMetrics(registry, () => queue.length());
  metrics.leader.set(0);
  const events = createEventRecorder({ kube, instance: config.identity, logger });
  const namespaces = config.STRATA_WATCH_NAMESPACES;
  const watched = (ns: string | undefined) =>
    namespaces.length === 0 || (ns !== undefined && namespaces.includes(ns));

  let leading = false;
  let serving = false;
  let term = new AbortController();
  const inFlight = new Set<Promise<void>>();

  // Nothing is queued before every cache is synced: an ApiKey reconciled before the Tenants are
  // known would be reported TenantNotFound for a moment. Leadership begins with a full enqueue.
  const enqueue = (key: string) => {
    if (leading && synced()) queue.add(key);
  };

  // Informers: Tenants (cluster-scoped), and ApiKeys and our Secrets per watched namespace (or
  // across all namespaces when none are listed, which the chart's RBAC then allows).
  const informers: Array<Informer<KubernetesObject>> = [];
  const tenantInformer = createInformer<Tenant & KubernetesObject>({
    kc,
    name: "tenants",
    path: `/apis/${group}/${version}/tenants`,
    list: () => kube.listTenants(),
    logger,
    onRestart: () => metrics.watchRestarts.inc({ resource: "tenants" }),
    onChange: (tenant, type) => {
      enqueue(tenantKey(tenant.metadata.name));
      if (type === "delete") enqueueApiKeysOf(tenant.metadata.name);
    },
  });
  informers.push(tenantInformer as Informer<KubernetesObject>);
  const apiKeyInformers: Array<Informer<ApiKey & KubernetesObject>> = [];
  const secretInformers: Array<Informer<Secret & KubernetesObject>> = [];
  const secretSelector = `${managedByLabel}=${managedBy}`;
  for (const ns of namespaces.length > 0 ? namespaces : [undefined]) {
    const suffix = ns ? `/${ns}` : "";
    const apiKeys = createInformer<ApiKey & KubernetesObject>({
      kc,
      name: `apikeys${suffix}`,
      path: ns
        ? `/apis/${group}/${version}/namespaces/${ns}/apikeys`
        : `/apis/${group}/${version}/apikeys`,
      list: () => kube.listApiKeys(ns),
      logger,
      onRestart: () => metrics.watchRestarts.inc({ resource: "apikeys" }),
      onChange: (k) => enqueue(apiKeyKey(k.metadata.namespace ?? "", k.metadata.name)),
    });
    apiKeyInformers.push(apiKeys);
    informers.push(apiKeys as Informer<KubernetesObject>);
    const secrets = createInformer<Secret & KubernetesObject>({
      kc,
      name: `secrets${suffix}`,
      path: ns ? `/api/v1/namespaces/${ns}/secrets` : "/api/v1/secrets",
      list: () => kube.listSecrets(secretSelector, ns),
      labelSelector: secretSelector,
      logger,
      onRestart: () => metrics.watchRestarts.inc({ resource: "secrets" }),
      // A Secret deleted or edited by hand: reconcile the ApiKey that owns it.
      onChange: (secret) => {
        const owner = secret.metadata.labels?.["strata.dev/apikey"];
        if (owner && watched(secret.metadata.namespace)) {
          enqueue(apiKeyKey(secret.metadata.namespace ?? "", owner));
        }
      },
    });
    secretInformers.push(secrets);
    informers.push(secrets as Informer<KubernetesObject>);
  }
  const allApiKeys = () => apiKeyInformers.flatMap((i) => i.list());
  function enqueueApiKeysOf(tenant: string) {
    for (const k of allApiKeys()) {
      if (k.spec?.tenant === tenant)
        enqueue(apiKeyKey(k.metadata.namespace ?? "", k.metadata.name));
    }
  }
  const enqueueAll = () => {
    for (const t of tenantInformer.list()) enqueue(tenantKey(t.metadata.name));
    for (const k of allApiKeys()) enqueue(apiKeyKey(k.metadata.namespace ?? "", k.metadata.name));
  };
  const synced = () => informers.every((i) => i.synced());

  const tenants = createTenantController({
    kube,
    admin,
    events,
    logger,
    enqueueApiKeysOf,
    adminTimeoutMs: config.STRATA_ADMIN_TIMEOUT_MS,
    usageRefreshMs: config.STRATA_USAGE_REFRESH_MS,
  });
  const apiKeys = createApiKeyController({
    getTenant: (name) => tenantInformer.get(name),
    listCachedSecrets: (namespace) => secretInformers.flatMap((i) => i.list(namespace)),
    kube,
    admin,
    events,
    logger,
    metrics,
    adminTimeoutMs: config.STRATA_ADMIN_TIMEOUT_MS,
    resyncMs: config.STRATA_RESYNC_MS,
    gatewayBaseUrl: config.STRATA_GATEWAY_BASE_URL,
    dayMs: config.STRATA_ROTATION_DAY_SECONDS * 1000,
  });

  const reconcileOne = async (key: string, signal: AbortSignal) => {
    const [kind = "", ...rest] = key.split("/");
    const end = metrics.reconcileDuration.startTimer({ kind });
    try {
      let result: ReconcileResult;
      if (kind === "Tenant") result = await tenants.reconcile(rest[0] ?? "", signal);
      else result = await apiKeys.reconcile(rest[0] ?? "", rest[1] ?? "", signal);
      queue.forget(key);
      metrics.reconciles.inc({ kind, result: "success" });
      logger.debug({ object: key, requeueAfterMs: result.requeueAfterMs }, "reconciled");
      if (result.requeueAfterMs !== undefined && Number.isFinite(result.requeueAfterMs)) {
        queue.addAfter(key, result.requeueAfterMs);
      }
    } catch (error) {
      if (signal.aborted) return;
      metrics.reconciles.inc({ kind, result: "error" });
      if (isConflict(error)) {
        // Someone changed the object meanwhile: the watch brings the new version; try again soon.
        metrics.reconcileErrors.inc({ kind, reason: "Conflict" });
        queue.addRateLimited(key);
        return;
      }
      const failure = adminErrorToSyncError(error);
      metrics.reconcileErrors.inc({ kind, reason: failure.reason });
      logger.warn(
        { err: safeError(error), object: key, reason: failure.reason, retry: failure.retryable },
        "reconcile failed",
      );
      if (failure.retryable) queue.addRateLimited(key);
      else queue.forget(key);
    } finally {
      end();
    }
  };

  const worker = async () => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      const signal = term.signal;
      if (!leading || signal.aborted) {
        queue.done(key);
        continue;
      }
      const running = reconcileOne(key, signal);
      inFlight.add(running);
      try {
        await running;
      } finally {
        inFlight.delete(running);
        queue.done(key);
      }
    }
  };

  let resyncTimer: NodeJS.Timeout | undefined;
  const startLeading = () => {
    term = new AbortController();
    leading = true;
    metrics.leader.set(1);
    // Reconcile once the caches hold everything; then every object again each resync period.
    const begin = () => {
      if (!leading) return;
      if (!synced()) {
        resyncTimer = setTimeout(begin, 100);
        return;
      }
      enqueueAll();
      resyncTimer = setInterval(enqueueAll, config.STRATA_RESYNC_MS);
    };
    begin();
  };
  const stopLeading = () => {
    leading = false;
    metrics.leader.set(0);
    term.abort(new Error("leadership lost"));
    if (resyncTimer) clearTimeout(resyncTimer);
    resyncTimer = undefined;
    queue.clear();
  };
  const drain = async (ms: number) => {
    await Promise.race([
      Promise.allSettled([...inFlight]),
      new Promise((resolve) => setTimeout(resolve, ms).unref()),
    ]);
  };

  const elector = createLeaderElector({
    store: kube.lease(config.STRATA_LEASE_NAMESPACE, config.STRATA_LEASE_NAME),
    identity: config.identity,
    leaseDurationMs: config.STRATA_LEASE_DURATION_MS,
    renewDeadlineMs: config.STRATA_LEASE_RENEW_DEADLINE_MS,
    retryPeriodMs: config.STRATA_LEASE_RETRY_PERIOD_MS,
    logger,
    onStartedLeading: startLeading,
    onStoppedLeading: stopLeading,
  });
  const electing = new AbortController();
  let electionLoop: Promise<void> | undefined;

  return {
    start() {
      for (const informer of informers) void informer.start();
      for (let i = 0; i < config.STRATA_WORKERS; i++) void worker();
      electionLoop = elector.run(electing.signal);
    },
    isLeader: () => leading,
    setServing(value) {
      serving = value;
    },
    isServing: () => serving && synced(),
    async close(graceMs) {
      electing.abort();
      await electionLoop;
      // Stop reconciling, let in-flight calls end (they were aborted), then hand the Lease over.
      await elector.release(() => drain(Math.min(graceMs, 5_000)));
      queue.shutDown();
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}
