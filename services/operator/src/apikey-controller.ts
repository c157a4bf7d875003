import { create, equals } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "@strata/platform";
import {
  type AuthAdminService,
  type ApiKey as AuthKey,
  KeyStatus,
  type Policy,
  PolicySchema,
} from "@strata/proto";
import type { Counter } from "prom-client";
import { type ApiKeyPlan, type CurrentKey, currentKeyId, planApiKey } from "./apikey-plan.ts";
import { findCondition, setCondition } from "./conditions.ts";
import { adminErrorToSyncError, isConflict, isNotFound, SyncError, safeError } from "./errors.ts";
import type { EventRecorder } from "./events.ts";
import {
  apiKeyLabel,
  controlledBy,
  inspectSecret,
  keySecret,
  refreshedSecret,
} from "./key-secret.ts";
import type { KubeApi } from "./kube.ts";
import { hasFinalizer, setFinalizer, writeStatus } from "./object-updates.ts";
import { keyPolicyToProto } from "./policy-mapping.ts";
import type { ApiKey, ApiKeyStatus, Secret, Tenant } from "./resources.ts";
import { keyTtlSeconds } from "./rotation.ts";
import type { ReconcileResult } from "./tenant-controller.ts";

/** Options of createApiKeyController. */
export interface ApiKeyControllerOptions {
  /** The informer's copy of a Tenant (its allowed namespaces and state). */
  getTenant(name: string): Tenant | undefined;
  /** The operator's Secrets of a namespace, as the informer has them. */
  listCachedSecrets(namespace: string): Secret[];
  kube: Pick<
    KubeApi,
    | "getApiKey"
    | "updateApiKey"
    | "updateApiKeyStatus"
    | "getSecret"
    | "createSecret"
    | "replaceSecret"
    | "deleteSecret"
  >;
  admin: Client<typeof AuthAdminService>;
  events: EventRecorder;
  logger: Logger;
  metrics: { keysIssued: Counter<"reason">; keysRevoked: Counter<"reason"> };
  adminTimeoutMs: number;
  /** Every ApiKey is looked at again after this long at most (auth-side drift). */
  resyncMs: number;
  /** Written into each Secret as `base-url` when set. */
  gatewayBaseUrl: string;
  /** Length of a "day" in ms: 86 400 000 unless the test-only override shortens it. */
  dayMs: number;
  now?: () => number;
}

/**
 * The name of an ApiKey's keys in auth: `k8s/<namespace>/<name>`, then the display name if any,
 * at most 128 characters. It tells an admin listing keys where a key is delivered, and lets the
 * operator find every key of an ApiKey when it is deleted (even one issued just before a crash).
 */
export function authKeyName(apiKey: ApiKey): string {
  const base = keyNameBase(apiKey);
  const display = apiKey.spec.displayName;
  return (display ? `${base} ${display}` : base).slice(0, 128);
}

const keyNameBase = (apiKey: ApiKey) =>
  `k8s/${apiKey.metadata.namespace}/${apiKey.metadata.name}`.slice(0, 128);

const belongsTo = (key: AuthKey, apiKey: ApiKey) => {
  const base = keyNameBase(apiKey);
  return (
    key.tenantId === apiKey.spec.tenant && (key.name === base || key.name.startsWith(`${base} `))
  );
};

const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/** The status fields that describe the delivered key (not conditions or generation). */
const keyFields = (status: ApiKeyStatus): Partial<ApiKeyStatus> => ({
  keyId: status.keyId,
  previousKeyId: status.previousKeyId,
  createdAt: status.createdAt,
  expiresAt: status.expiresAt,
  rotatedAt: status.rotatedAt,
});

/**
 * Reconciles an ApiKey: a key of its tenant, narrowed by spec.policy, delivered into the Secret
 * spec.secretName of its namespace and nowhere else; rotated on schedule with an overlap; replaced
 * when the Secret is deleted or edited, or when auth no longer accepts it; revoked when the ApiKey
 * is deleted or its namespace stops being allowed. The plaintext lives only in memory between
 * auth's answer and the Secret write: never in the status, an event, a log line or a metric.
 */
export function createApiKeyController(options: ApiKeyControllerOptions) {
  const { kube, admin, events, logger, metrics, now = Date.now } = options;
  const call = (signal: AbortSignal) => ({ signal, timeoutMs: options.adminTimeoutMs });
  const access = (ns: string, name: string) => ({
    get: () => kube.getApiKey(ns, name),
    replace: (k: ApiKey) => kube.updateApiKey(k),
  });
  const statusAccess = (ns: string, name: string) => ({
    get: () => kube.getApiKey(ns, name),
    replace: (k: ApiKey) => kube.updateApiKeyStatus(k),
  });
  const subject = (k: ApiKey) => ({ kind: "ApiKey" as const, metadata: k.metadata });

  /**
   * The Secret, read from the API server rather than the informer's cache: a cache that has not
   * yet seen the operator's own last write would make an intact Secret look edited, and issue
   * a key twice.
   */
  const readSecret = (apiKey: ApiKey): Promise<Secret | undefined> =>
    kube.getSecret(apiKey.metadata.namespace ?? "", apiKey.spec.secretName);

  const describeKey = async (
    keyId: string,
    apiKey: ApiKey,
    policy: Policy,
    signal: AbortSignal,
  ): Promise<{ view: CurrentKey; key?: AuthKey }> => {
    let key: AuthKey | undefined;
    try {
      key = (await admin.getKey({ keyId }, call(signal))).key;
    } catch (error) {
      if (!(error instanceof ConnectError && error.code === Code.NotFound)) throw error;
    }
    if (!key) {
      return {
        view: {
          keyId,
          status: "missing",
          belongs: false,
          policyMatches: false,
          rotatedElsewhere: false,
          createdAtMs: 0,
          expiresAtMs: 0,
        },
      };
    }
    return {
      key,
      view: {
        keyId,
        status:
          key.status === KeyStatus.REVOKED
            ? "revoked"
            : key.status === KeyStatus.EXPIRED
              ? "expired"
              : "active",
        belongs: belongsTo(key, apiKey),
        policyMatches: equals(PolicySchema, key.policy ?? create(PolicySchema), policy),
        rotatedElsewhere: key.rotatedToKeyId !== "",
        createdAtMs: key.createdAtMs,
        expiresAtMs: key.expiresAtMs,
      },
    };
  };

  /** Revokes a key; a key already revoked, expired or gone counts as revoked. */
  const revoke = async (keyId: string, reason: string, signal: AbortSignal) => {
    try {
      const { key } = await admin.getKey({ keyId }, call(signal));
      if (key?.status !== KeyStatus.ACTIVE) return false;
      await admin.revokeKey({ keyId }, call(signal));
      metrics.keysRevoked.inc({ reason });
      return true;
    } catch (error) {
      if (error instanceof ConnectError && error.code === Code.NotFound) return false;
      throw error;
    }
  };

  /**
   * Writes a freshly issued key into the Secret: replaces ours, creates a missing one, and never
   * touches one someone else controls. Re-reads on 409 (a stale cache). If the key cannot be
   * delivered it is revoked again at once, so no key exists that nobody holds.
   */
  const deliver = async (
    apiKey: ApiKey,
    key: { keyId: string; plaintext: string },
    existing: Secret | undefined,
    signal: AbortSignal,
  ) => {
    const ns = apiKey.metadata.namespace ?? "";
    let current = existing;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          if (current && !controlledBy(current, apiKey)) {
            throw new SyncError(
              "SecretConflict",
              `Secret '${apiKey.spec.secretName}' exists and is not managed by this ApiKey.`,
              { retryable: false },
            );
          }
          const body = keySecret(apiKey, key, options.gatewayBaseUrl, current);
          if (current) await kube.replaceSecret(body);
          else await kube.createSecret(body);
          return;
        } catch (error) {
          if (attempt >= 3 || !(isConflict(error) || isNotFound(error))) throw error;
          current = await kube.getSecret(ns, apiKey.spec.secretName);
        }
      }
    } catch (error) {
      logger.warn(
        { err: safeError(error), namespace: ns, name: apiKey.metadata.name, keyId: key.keyId },
        "could not write the key's Secret: revoking the undelivered key",
      );
      await admin
        .revokeKey({ keyId: key.keyId }, call(AbortSignal.timeout(options.adminTimeoutMs)))
        .catch(() => undefined);
      signal.throwIfAborted();
      throw error;
    }
  };

  /** Revokes every active key of the ApiKey (found by name, so none issued before a crash survives). */
  const revokeAll = async (apiKey: ApiKey, reason: string, signal: AbortSignal) => {
    const ids = new Set<string>();
    if (apiKey.status?.keyId) ids.add(apiKey.status.keyId);
    if (apiKey.status?.previousKeyId) ids.add(apiKey.status.previousKeyId);
    try {
      const { keys } = await admin.listKeys({ tenantId: apiKey.spec.tenant }, call(signal));
      for (const k of keys) {
        if (k.status === KeyStatus.ACTIVE && belongsTo(k, apiKey)) ids.add(k.keyId);
      }
    } catch (error) {
      if (!(error instanceof ConnectError && error.code === Code.NotFound)) throw error;
    }
    const revoked: string[] = [];
    for (const id of ids) if (await revoke(id, reason, signal)) revoked.push(id);
    return revoked;
  };

  const deleteOurSecret = async (apiKey: ApiKey) => {
    const secret = await readSecret(apiKey);
    if (secret?.metadata.uid && controlledBy(secret, apiKey)) {
      await kube.deleteSecret(
        secret.metadata.namespace ?? "",
        secret.metadata.name,
        secret.metadata.uid,
      );
      return true;
    }
    return false;
  };

  /** Deletes Secrets this ApiKey wrote under an earlier spec.secretName (their keys are revoked). */
  const removeStaleSecrets = async (apiKey: ApiKey) => {
    const ns = apiKey.metadata.namespace ?? "";
    for (const s of options.listCachedSecrets(ns)) {
      if (
        s.metadata.name !== apiKey.spec.secretName &&
        s.metadata.labels?.[apiKeyLabel] === apiKey.metadata.name &&
        s.metadata.uid &&
        controlledBy(s, apiKey)
      ) {
        await kube.deleteSecret(ns, s.metadata.name, s.metadata.uid);
        logger.info(
          { namespace: ns, name: apiKey.metadata.name, secretName: s.metadata.name },
          "stale Secret deleted",
        );
      }
    }
  };

  const finalize = async (apiKey: ApiKey, signal: AbortSignal) => {
    if (!hasFinalizer(apiKey.metadata)) return;
    const ns = apiKey.metadata.namespace ?? "";
    const revoked = await revokeAll(apiKey, "deleted", signal);
    // Garbage collection would delete it too (ownerReference); deleting it here does not wait for it.
    await deleteOurSecret(apiKey);
    logger.info(
      { namespace: ns, name: apiKey.metadata.name, revoked },
      "ApiKey deleted: keys revoked",
    );
    await events.record(
      subject(apiKey),
      "Normal",
      "KeyRevoked",
      "Finalize",
      revoked.length > 0 ? `ApiKey deleted: revoked ${revoked.join(", ")}.` : "ApiKey deleted.",
    );
    await setFinalizer(apiKey, false, access(ns, apiKey.metadata.name), signal);
  };

  /** Carries out a plan; resolves with the status fields that describe the key afterwards. */
  const execute = async (
    apiKey: ApiKey,
    plan: ApiKeyPlan,
    secret: Secret | undefined,
    policy: Policy,
    current: AuthKey | undefined,
    currentId: string | undefined,
    signal: AbortSignal,
  ): Promise<{ key: Partial<ApiKeyStatus>; note?: string }> => {
    const ns = apiKey.metadata.namespace ?? "";
    const log = logger.child({
      namespace: ns,
      name: apiKey.metadata.name,
      tenantId: apiKey.spec.tenant,
    });
    const previous = apiKey.status ?? {};
    switch (plan.action) {
      case "keep": {
        if (plan.refreshSecret && secret) {
          signal.throwIfAborted();
          await kube.replaceSecret(refreshedSecret(apiKey, secret, options.gatewayBaseUrl));
          log.info({ keyId: plan.keyId }, "Secret fields refreshed");
        }
        const adopted = previous.keyId !== plan.keyId;
        return {
          key: {
            keyId: plan.keyId,
            previousKeyId: adopted
              ? current?.rotatedFromKeyId || previous.keyId
              : previous.previousKeyId,
            createdAt: current ? isoSeconds(current.createdAtMs) : previous.createdAt,
            expiresAt:
              current && current.expiresAtMs > 0 ? isoSeconds(current.expiresAtMs) : undefined,
            rotatedAt:
              adopted && current?.rotatedFromKeyId
                ? isoSeconds(current.createdAtMs)
                : previous.rotatedAt,
          },
        };
      }
      case "issue": {
        signal.throwIfAborted();
        let issued: Awaited<ReturnType<typeof admin.createKey>>;
        try {
          issued = await admin.createKey(
            {
              tenantId: apiKey.spec.tenant,
              name: authKeyName(apiKey),
              ttlSeconds: keyTtlSeconds(apiKey.spec, options.dayMs),
              policy,
            },
            call(signal),
          );
        } catch (error) {
          if (error instanceof ConnectError && error.code === Code.NotFound) {
            throw new SyncError(
              "TenantNotSynced",
              `Tenant '${apiKey.spec.tenant}' is not in auth yet.`,
              { retryable: true },
            );
          }
          throw error;
        }
        const keyId = issued.key?.keyId ?? "";
        await deliver(apiKey, { keyId, plaintext: issued.secret }, secret, signal);
        metrics.keysIssued.inc({ reason: plan.reason === "Created" ? "created" : "reissued" });
        if (plan.revokeKeyId) await revoke(plan.revokeKeyId, "replaced", signal);
        log.info({ keyId, reason: plan.reason, revokedKeyId: plan.revokeKeyId }, "key issued");
        const replaced = plan.revokeKeyId ?? (plan.reason === "Created" ? undefined : currentId);
        return {
          key: {
            keyId,
            ...(replaced ? { previousKeyId: replaced } : {}),
            createdAt: isoSeconds(issued.key?.createdAtMs ?? now()),
            ...(issued.key?.expiresAtMs ? { expiresAt: isoSeconds(issued.key.expiresAtMs) } : {}),
            ...(plan.reason === "Created" ? {} : { rotatedAt: isoSeconds(now()) }),
          },
          note: plan.message,
        };
      }
      case "rotate": {
        signal.throwIfAborted();
        const rotated = await admin.rotateKey(
          { keyId: plan.keyId, overlapSeconds: plan.overlapSeconds, ttlSeconds: plan.ttlSeconds },
          call(signal),
        );
        const keyId = rotated.key?.keyId ?? "";
        await deliver(apiKey, { keyId, plaintext: rotated.secret }, secret, signal);
        metrics.keysIssued.inc({ reason: "rotated" });
        const oldUntil = rotated.previous?.expiresAtMs ?? 0;
        log.info(
          { keyId, previousKeyId: plan.keyId, previousExpiresAt: isoSeconds(oldUntil) },
          "key rotated",
        );
        return {
          key: {
            keyId,
            previousKeyId: plan.keyId,
            createdAt: isoSeconds(rotated.key?.createdAtMs ?? now()),
            ...(rotated.key?.expiresAtMs ? { expiresAt: isoSeconds(rotated.key.expiresAtMs) } : {}),
            rotatedAt: isoSeconds(rotated.key?.createdAtMs ?? now()),
          },
          note: `Rotated ${plan.keyId} to ${keyId}; ${plan.keyId} keeps working until ${isoSeconds(oldUntil)}.`,
        };
      }
      case "block": {
        if (!plan.revoke) return { key: keyFields(previous) };
        const revoked = await revokeAll(apiKey, "namespace_not_allowed", signal);
        const deleted = await deleteOurSecret(apiKey);
        if (revoked.length > 0 || deleted) {
          log.warn({ revoked }, "namespace no longer allowed: keys revoked and Secret deleted");
          return {
            key: { ...(previous.keyId ? { previousKeyId: previous.keyId } : {}) },
            note: `${plan.message} Revoked ${revoked.join(", ") || "nothing"} and deleted the Secret.`,
          };
        }
        return {
          key: {
            ...(previous.keyId
              ? { previousKeyId: previous.keyId }
              : { previousKeyId: previous.previousKeyId }),
          },
        };
      }
      default: {
        const never: never = plan;
        throw new Error(`unknown plan ${JSON.stringify(never)}`);
      }
    }
  };

  return {
    async reconcile(
      namespace: string,
      name: string,
      signal: AbortSignal,
    ): Promise<ReconcileResult> {
      // Read fresh (not from the cache) for the same reason as the Secret: the status this reconcile
      // builds on must include the previous reconcile's write.
      let apiKey = await kube.getApiKey(namespace, name);
      if (!apiKey) return {};
      if (apiKey.metadata.deletionTimestamp) {
        await finalize(apiKey, signal);
        return {};
      }
      apiKey = await setFinalizer(apiKey, true, access(namespace, name), signal);
      if (!apiKey) return {};
      const generation = apiKey.metadata.generation;
      const tenant = options.getTenant(apiKey.spec.tenant);
      const policy = keyPolicyToProto(apiKey.spec.policy);
      let plan: ApiKeyPlan | undefined;
      let outcome: { key: Partial<ApiKeyStatus>; note?: string } | undefined;
      let failure: SyncError | undefined;
      try {
        const secret = await readSecret(apiKey);
        const secretState = inspectSecret(secret, apiKey, options.gatewayBaseUrl);
        const tenantView = {
          exists: Boolean(tenant && !tenant.metadata.deletionTimestamp),
          active: (tenant?.spec?.state ?? "Active") === "Active",
          allowsNamespace: (tenant?.spec?.allowedNamespaces ?? []).includes(namespace),
        };
        const keyId = currentKeyId(secretState, apiKey.status?.keyId);
        const described =
          keyId && tenantView.exists && tenantView.allowsNamespace
            ? await describeKey(keyId, apiKey, policy, signal)
            : undefined;
        plan = planApiKey({
          namespace,
          spec: apiKey.spec,
          tenant: tenantView,
          secret: secretState,
          current: described?.view,
          now: now(),
          dayMs: options.dayMs,
        });
        outcome = await execute(apiKey, plan, secret, policy, described?.key, keyId, signal);
        await removeStaleSecrets(apiKey);
      } catch (error) {
        signal.throwIfAborted();
        // Someone wrote the object or its Secret meanwhile: retry soon, nothing to report.
        if (isConflict(error)) throw error;
        failure = adminErrorToSyncError(error);
      }
      const at = new Date(now());
      const before = findCondition(apiKey.status?.conditions, "Ready");
      const ready = failure
        ? undefined
        : plan?.action === "block"
          ? { status: "False" as const, reason: plan.reason, message: plan.message }
          : {
              status: "True" as const,
              reason: "KeyReady",
              message: `Secret '${apiKey.spec.secretName}' holds an active key.`,
            };
      await writeStatus<ApiKeyStatus, ApiKey>(
        apiKey,
        (current) => {
          let conditions = current.status?.conditions;
          if (failure) {
            conditions = setCondition(
              conditions,
              { type: "Synced", status: "False", reason: failure.reason, message: failure.message },
              generation,
              at,
            );
            const wasReady = findCondition(conditions, "Ready");
            if (wasReady?.status !== "True") {
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
            return { ...current.status, conditions };
          }
          conditions = setCondition(
            conditions,
            {
              type: "Synced",
              status: "True",
              reason: "Synced",
              message: "Auth and the Secret match the spec.",
            },
            generation,
            at,
          );
          if (ready)
            conditions = setCondition(conditions, { type: "Ready", ...ready }, generation, at);
          return { observedGeneration: generation, ...outcome?.key, conditions };
        },
        statusAccess(namespace, name),
        signal,
      );
      const k = subject(apiKey);
      if (failure) {
        if (findCondition(apiKey.status?.conditions, "Synced")?.reason !== failure.reason) {
          await events.record(k, "Warning", failure.reason, "Sync", failure.message);
        }
        throw failure;
      }
      if (plan?.action === "block") {
        if (before?.reason !== plan.reason || outcome?.note) {
          await events.record(k, "Warning", plan.reason, "Sync", outcome?.note ?? plan.message);
        }
        return {};
      }
      if (plan?.action === "issue") {
        const routine = plan.reason === "Created" || plan.reason === "PolicyChanged";
        await events.record(
          k,
          routine ? "Normal" : "Warning",
          plan.reason === "Created" ? "KeyIssued" : plan.reason,
          "Issue",
          outcome?.note ?? plan.message,
        );
      } else if (plan?.action === "rotate") {
        await events.record(k, "Normal", "KeyRotated", "Rotate", outcome?.note ?? "Key rotated.");
      }
      const next = plan?.action === "keep" ? plan.nextRotationAtMs : undefined;
      const untilRotation =
        next !== undefined ? Math.max(0, next - now()) : Number.POSITIVE_INFINITY;
      return { requeueAfterMs: Math.min(options.resyncMs, untilRotation) };
    },
  };
}
