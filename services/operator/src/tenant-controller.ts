import { equals } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "@strata/platform";
import { type AuthAdminService, PolicySchema, TenantStatus } from "@strata/proto";
import { findCondition, setCondition } from "./conditions.ts";
import { adminErrorToSyncError, type SyncError, safeError } from "./errors.ts";
import type { EventRecorder } from "./events.ts";
import type { KubeApi } from "./kube.ts";
import { hasFinalizer, setFinalizer, writeStatus } from "./object-updates.ts";
import { type DesiredTenant, tenantToDesired } from "./policy-mapping.ts";
import type { Tenant, TenantStatus as TenantObjectStatus } from "./resources.ts";
import { totalCostMicros, totalTokens, usagePeriod } from "./usage.ts";

/** Options of createTenantController. */
export interface TenantControllerOptions {
  kube: Pick<KubeApi, "getTenant" | "updateTenant" | "updateTenantStatus">;
  admin: Client<typeof AuthAdminService>;
  events: EventRecorder;
  logger: Logger;
  /** Reconcile the ApiKeys of a tenant (after its namespaces or state may have changed). */
  enqueueApiKeysOf(tenant: string): void;
  adminTimeoutMs: number;
  usageRefreshMs: number;
  now?: () => number;
}

/** What a reconcile asks of the queue: come back after this long (a refresh is due then). */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

/**
 * Reconciles a Tenant into auth: reconcile (read the object) → sync (create or update the tenant
 * in auth when it differs: display name, status, policy) → status (Ready, Synced,
 * observedGeneration, usage). On deletion the tenant is suspended in auth, not erased: auth has
 * no delete, its audit log and usage ledger must outlive the object, and suspending refuses every
 * key at once; re-creating the Tenant reactivates it with its keys.
 */
export function createTenantController(options: TenantControllerOptions) {
  const { kube, admin, events, logger, now = Date.now } = options;
  const call = (signal: AbortSignal) => ({ signal, timeoutMs: options.adminTimeoutMs });
  const access = (name: string) => ({
    get: () => kube.getTenant(name),
    replace: (t: Tenant) => kube.updateTenant(t),
  });
  const statusAccess = (name: string) => ({
    get: () => kube.getTenant(name),
    replace: (t: Tenant) => kube.updateTenantStatus(t),
  });
  const subject = (t: Tenant) => ({ kind: "Tenant" as const, metadata: t.metadata });

  /** Creates or updates the tenant in auth; resolves with what changed ("" when nothing). */
  const sync = async (desired: DesiredTenant, signal: AbortSignal): Promise<string> => {
    let existing: Awaited<ReturnType<typeof admin.getTenant>>["tenant"];
    try {
      existing = (await admin.getTenant({ tenantId: desired.tenantId }, call(signal))).tenant;
    } catch (error) {
      if (!(error instanceof ConnectError && error.code === Code.NotFound)) throw error;
    }
    if (!existing) {
      signal.throwIfAborted();
      await admin.createTenant(
        { tenantId: desired.tenantId, displayName: desired.displayName, policy: desired.policy },
        call(signal),
      );
      if (desired.status === TenantStatus.SUSPENDED) {
        await admin.updateTenant(
          { tenantId: desired.tenantId, status: TenantStatus.SUSPENDED },
          call(signal),
        );
      }
      return "created";
    }
    const changes: string[] = [];
    if (existing.displayName !== desired.displayName) changes.push("display name");
    if (existing.status !== desired.status) changes.push("state");
    if (!existing.policy || !equals(PolicySchema, existing.policy, desired.policy))
      changes.push("policy");
    if (changes.length === 0) return "";
    signal.throwIfAborted();
    await admin.updateTenant(
      {
        tenantId: desired.tenantId,
        ...(changes.includes("display name") ? { displayName: desired.displayName } : {}),
        ...(changes.includes("state") ? { status: desired.status } : {}),
        ...(changes.includes("policy") ? { policy: desired.policy } : {}),
      },
      call(signal),
    );
    return changes.join(", ");
  };

  /** This period's usage, when the last refresh is older than the refresh interval. */
  const usage = async (tenant: Tenant, signal: AbortSignal) => {
    const previous = tenant.status?.usage;
    const at = now();
    const period = usagePeriod(new Date(at), tenant.spec?.policy?.limits?.budget?.period);
    const last = previous?.refreshedAt ? Date.parse(previous.refreshedAt) : 0;
    if (previous?.period === period.label && at - last < options.usageRefreshMs) return previous;
    try {
      const { summaries } = await admin.getUsage(
        { tenantId: tenant.metadata.name, sinceDay: period.sinceDay, untilDay: period.untilDay },
        call(signal),
      );
      return {
        period: period.label,
        tokens: totalTokens(summaries),
        costMicros: totalCostMicros(summaries),
        refreshedAt: new Date(at).toISOString().replace(/\.\d{3}Z$/, "Z"),
      };
    } catch (error) {
      // Usage is informative: without metering (or while it is down) the rest still reconciles.
      logger.debug(
        { err: safeError(error), tenantId: tenant.metadata.name },
        "usage not refreshed",
      );
      return previous;
    }
  };

  const finalize = async (tenant: Tenant, signal: AbortSignal) => {
    if (!hasFinalizer(tenant.metadata)) return;
    try {
      await admin.updateTenant(
        { tenantId: tenant.metadata.name, status: TenantStatus.SUSPENDED },
        call(signal),
      );
    } catch (error) {
      if (!(error instanceof ConnectError && error.code === Code.NotFound)) {
        throw adminErrorToSyncError(error);
      }
    }
    logger.info({ tenantId: tenant.metadata.name }, "tenant deleted: suspended in auth");
    await events.record(
      subject(tenant),
      "Normal",
      "TenantSuspended",
      "Finalize",
      "Tenant deleted: suspended in auth (every key refused; audit log and usage kept).",
    );
    await setFinalizer(tenant, false, access(tenant.metadata.name), signal);
    options.enqueueApiKeysOf(tenant.metadata.name);
  };

  return {
    async reconcile(name: string, signal: AbortSignal): Promise<ReconcileResult> {
      // Read fresh: the status written by the previous reconcile must be the one built on.
      let tenant = await kube.getTenant(name);
      if (!tenant) return {};
      if (tenant.metadata.deletionTimestamp) {
        await finalize(tenant, signal);
        return {};
      }
      tenant = await setFinalizer(tenant, true, access(name), signal);
      if (!tenant) return {};
      const generation = tenant.metadata.generation;
      const desired = tenantToDesired(name, tenant.spec);
      const specChanged = tenant.status?.observedGeneration !== generation;
      let failure: SyncError | undefined;
      try {
        const changed = await sync(desired, signal);
        if (changed) {
          logger.info({ tenantId: name, changed }, "tenant synced to auth");
          await events.record(
            subject(tenant),
            "Normal",
            changed === "created" ? "TenantCreated" : "TenantUpdated",
            "Sync",
            changed === "created" ? "Tenant created in auth." : `Updated in auth: ${changed}.`,
          );
        }
      } catch (error) {
        signal.throwIfAborted();
        failure = adminErrorToSyncError(error);
      }
      const usageNow = failure ? tenant.status?.usage : await usage(tenant, signal);
      const at = new Date(now());
      const suspended = desired.status === TenantStatus.SUSPENDED;
      const previousFailure =
        findCondition(tenant.status?.conditions, "Synced")?.status === "False";
      await writeStatus<TenantObjectStatus, Tenant>(
        tenant,
        (current) => {
          let conditions = current.status?.conditions;
          const ready = findCondition(conditions, "Ready");
          if (failure) {
            conditions = setCondition(
              conditions,
              { type: "Synced", status: "False", reason: failure.reason, message: failure.message },
              generation,
              at,
            );
            // Auth still serves what it last accepted: a tenant that was Ready stays Ready.
            if (ready?.status !== "True") {
              conditions = setCondition(
                conditions,
                {
                  type: "Ready",
                  status: "False",
                  reason: failure.reason,
                  message: failure.message,
                },
                generation,
                at,
              );
            }
          } else {
            conditions = setCondition(
              conditions,
              {
                type: "Synced",
                status: "True",
                reason: "Synced",
                message: "Auth holds this tenant's spec.",
              },
              generation,
              at,
            );
            conditions = setCondition(
              conditions,
              suspended
                ? {
                    type: "Ready",
                    status: "False",
                    reason: "Suspended",
                    message: "The tenant is suspended: every key of the tenant is refused.",
                  }
                : {
                    type: "Ready",
                    status: "True",
                    reason: "Active",
                    message: "The tenant is active in auth.",
                  },
              generation,
              at,
            );
          }
          return {
            ...current.status,
            ...(failure ? {} : { observedGeneration: generation }),
            conditions,
            ...(usageNow ? { usage: usageNow } : {}),
          };
        },
        statusAccess(name),
        signal,
      );
      if (failure) {
        if (!previousFailure) {
          await events.record(subject(tenant), "Warning", failure.reason, "Sync", failure.message);
        }
        throw failure;
      }
      if (specChanged) options.enqueueApiKeysOf(name);
      return { requeueAfterMs: options.usageRefreshMs };
    },
  };
}
