import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  PatchStrategy,
  setHeaderOptions,
  V1MicroTime,
} from "@kubernetes/client-node";
import { isNotFound } from "./errors.ts";
import type { LeaseRecord, LeaseStore, StoredLease } from "./leader-election.ts";
import { type ApiKey, group, type Secret, type Tenant, version } from "./resources.ts";

/**
 * Every Kubernetes API call the operator makes, and nothing more: the chart's RBAC for the
 * operator (deploy/helm/strata/templates/operator.yaml) grants exactly these verbs.
 *
 * | call                                   | verb (resource)                                    |
 * |----------------------------------------|----------------------------------------------------|
 * | list/watch Tenants, ApiKeys            | list, watch (tenants, apikeys)                     |
 * | getTenant, getApiKey                   | get (tenants, apikeys)                             |
 * | updateTenant, updateApiKey (finalizer) | update (tenants, apikeys)                          |
 * | update*Status                          | update (tenants/status, apikeys/status)            |
 * | list/watch Secrets (our label only)    | list, watch (secrets)                              |
 * | getSecret / create / replace / delete  | get, create, update, delete (secrets)              |
 * | createEvent / patchEvent (series)      | create, patch (events.k8s.io events)               |
 * | the Lease                              | get, create, update (coordination.k8s.io leases)   |
 */
export interface KubeApi {
  listTenants(): Promise<KubernetesListObject<Tenant & KubernetesObject>>;
  listApiKeys(namespace?: string): Promise<KubernetesListObject<ApiKey & KubernetesObject>>;
  listSecrets(
    labelSelector: string,
    namespace?: string,
  ): Promise<KubernetesListObject<Secret & KubernetesObject>>;
  getTenant(name: string): Promise<Tenant | undefined>;
  getApiKey(namespace: string, name: string): Promise<ApiKey | undefined>;
  /** Replaces the object (its metadata: finalizers), at its resourceVersion. */
  updateTenant(tenant: Tenant): Promise<Tenant>;
  updateApiKey(apiKey: ApiKey): Promise<ApiKey>;
  /** Replaces the status subresource, at the object's resourceVersion. */
  updateTenantStatus(tenant: Tenant): Promise<Tenant>;
  updateApiKeyStatus(apiKey: ApiKey): Promise<ApiKey>;
  getSecret(namespace: string, name: string): Promise<Secret | undefined>;
  createSecret(secret: Secret): Promise<Secret>;
  /** Replaces a Secret at its resourceVersion. */
  replaceSecret(secret: Secret): Promise<Secret>;
  /** Deletes a Secret if it is still the one with this uid. */
  deleteSecret(namespace: string, name: string, uid: string): Promise<void>;
  createEvent(event: EventObject): Promise<void>;
  /** Bumps an event's series (count and last time seen). */
  patchEventSeries(namespace: string, name: string, count: number, at: Date): Promise<void>;
  /** The leader-election Lease. */
  lease(namespace: string, name: string): LeaseStore;
}

/** An events.k8s.io/v1 Event as the operator writes it. */
export interface EventObject {
  metadata: { name: string; namespace: string };
  eventTime: Date;
  reportingController: string;
  reportingInstance: string;
  action: string;
  reason: string;
  note: string;
  type: "Normal" | "Warning";
  regarding: {
    apiVersion: string;
    kind: string;
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
  };
}

const orUndefined = async <T>(call: Promise<T>): Promise<T | undefined> => {
  try {
    return await call;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
};

/**
 * The Kubernetes API through @kubernetes/client-node, authenticated by the KubeConfig
 * (KUBECONFIG out of a cluster, the pod's service-account token inside one).
 */
export function createKubeApi(kc: KubeConfig): KubeApi {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const coordination = kc.makeApiClient(CoordinationV1Api);
  const events = kc.makeApiClient(EventsV1Api);
  const tenants = { group, version, plural: "tenants" };
  const apikeys = { group, version, plural: "apikeys" };
  // The typed client turns timestamps into Dates; the informers' watch hands back JSON strings.
  // Everything the operator keeps is plain JSON, as the watch gives it.
  const plain = <T>(value: unknown): T =>
    value === undefined ? (undefined as T) : (JSON.parse(JSON.stringify(value)) as T);

  return {
    listTenants: () => custom.listClusterCustomObject(tenants),
    listApiKeys: (namespace) =>
      namespace
        ? custom.listNamespacedCustomObject({ ...apikeys, namespace })
        : custom.listCustomObjectForAllNamespaces({ group, version, resourcePlural: "apikeys" }),
    listSecrets: async (labelSelector, namespace) =>
      plain(
        namespace
          ? await core.listNamespacedSecret({ namespace, labelSelector })
          : await core.listSecretForAllNamespaces({ labelSelector }),
      ),
    getTenant: (name) => orUndefined(custom.getClusterCustomObject({ ...tenants, name })),
    getApiKey: (namespace, name) =>
      orUndefined(custom.getNamespacedCustomObject({ ...apikeys, namespace, name })),
    updateTenant: (tenant) =>
      custom.replaceClusterCustomObject({ ...tenants, name: tenant.metadata.name, body: tenant }),
    updateApiKey: (apiKey) =>
      custom.replaceNamespacedCustomObject({
        ...apikeys,
        namespace: apiKey.metadata.namespace ?? "",
        name: apiKey.metadata.name,
        body: apiKey,
      }),
    updateTenantStatus: (tenant) =>
      custom.replaceClusterCustomObjectStatus({
        ...tenants,
        name: tenant.metadata.name,
        body: tenant,
      }),
    updateApiKeyStatus: (apiKey) =>
      custom.replaceNamespacedCustomObjectStatus({
        ...apikeys,
        namespace: apiKey.metadata.namespace ?? "",
        name: apiKey.metadata.name,
        body: apiKey,
      }),
    getSecret: async (namespace, name) =>
      plain(await orUndefined(core.readNamespacedSecret({ namespace, name }))),
    createSecret: async (secret) =>
      plain(
        await core.createNamespacedSecret({
          namespace: secret.metadata.namespace ?? "",
          body: secret as never,
        }),
      ),
    replaceSecret: async (secret) =>
      plain(
        await core.replaceNamespacedSecret({
          namespace: secret.metadata.namespace ?? "",
          name: secret.metadata.name,
          body: secret as never,
        }),
      ),
    async deleteSecret(namespace, name, uid) {
      try {
        await core.deleteNamespacedSecret({ namespace, name, body: { preconditions: { uid } } });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    },
    async createEvent(event) {
      await events.createNamespacedEvent({
        namespace: event.metadata.namespace,
        body: {
          apiVersion: "events.k8s.io/v1",
          kind: "Event",
          ...event,
          eventTime: micro(event.eventTime),
        },
      });
    },
    async patchEventSeries(namespace, name, count, at) {
      await events.patchNamespacedEvent(
        { namespace, name, body: { series: { count, lastObservedTime: micro(at) } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    },
    lease: (namespace, name) => leaseStore(coordination, namespace, name),
  };
}

/** A time the API server accepts as MicroTime (six fractional digits). */
function micro(at: Date): V1MicroTime {
  return new V1MicroTime(at.getTime());
}

function leaseStore(api: CoordinationV1Api, namespace: string, name: string): LeaseStore {
  type Raw = Awaited<ReturnType<CoordinationV1Api["readNamespacedLease"]>>;
  const toStored = (lease: Raw): StoredLease => {
    const spec = lease.spec ?? {};
    // MicroTime fields come back as strings or Dates depending on the client's path.
    const time = (v: unknown) =>
      v ? new Date(v as string).toISOString() : new Date(0).toISOString();
    return {
      resourceVersion: lease.metadata?.resourceVersion ?? "",
      record: {
        holderIdentity: spec.holderIdentity ?? "",
        leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
        acquireTime: time(spec.acquireTime),
        renewTime: time(spec.renewTime),
        leaseTransitions: spec.leaseTransitions ?? 0,
      },
    };
  };
  const body = (record: LeaseRecord, resourceVersion?: string) => ({
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name, namespace, ...(resourceVersion ? { resourceVersion } : {}) },
    spec: {
      holderIdentity: record.holderIdentity,
      leaseDurationSeconds: record.leaseDurationSeconds,
      acquireTime: micro(new Date(record.acquireTime)),
      renewTime: micro(new Date(record.renewTime)),
      leaseTransitions: record.leaseTransitions,
    },
  });
  return {
    get: async () => {
      const lease = await orUndefined(api.readNamespacedLease({ namespace, name }));
      return lease && toStored(lease);
    },
    create: async (record) =>
      toStored(await api.createNamespacedLease({ namespace, body: body(record) })),
    update: async (record, resourceVersion) =>
      toStored(
        await api.replaceNamespacedLease({ namespace, name, body: body(record, resourceVersion) }),
      ),
  };
}
