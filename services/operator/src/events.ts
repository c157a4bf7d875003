import { randomBytes } from "node:crypto";
import type { Logger } from "@strata/platform";
import { safeError } from "./errors.ts";
import type { EventObject, KubeApi } from "./kube.ts";
import { apiVersion, controllerName, type ObjectMeta } from "./resources.ts";

/** The object an event is about. */
export interface EventSubject {
  kind: "Tenant" | "ApiKey";
  metadata: ObjectMeta;
}

/** Records Kubernetes Events (events.k8s.io/v1) about Tenants and ApiKeys. */
export interface EventRecorder {
  /**
   * Records an event. `note` is shown to anyone who can read events: it must never hold key
   * material (key ids are public). Never throws; failures are logged.
   */
  record(
    subject: EventSubject,
    type: "Normal" | "Warning",
    reason: string,
    action: string,
    note: string,
  ): Promise<void>;
}

/** Options of createEventRecorder. */
export interface EventRecorderOptions {
  kube: Pick<KubeApi, "createEvent" | "patchEventSeries">;
  /** This replica's identity (reportingInstance). */
  instance: string;
  logger: Logger;
  /** The same event again within this window bumps the first one's series instead. */
  seriesWindowMs?: number;
  now?: () => number;
}

/**
 * Writes events as client-go's recorder does: the same event (object, reason, note) repeated
 * within the window becomes a series on the first one (`series.count`), so a failure retried with
 * backoff does not flood the namespace. Cluster-scoped objects (Tenants) get their events in the
 * `default` namespace, as Kubernetes expects.
 */
export function createEventRecorder({
  kube,
  instance,
  logger,
  seriesWindowMs = 10 * 60_000,
  now = Date.now,
}: EventRecorderOptions): EventRecorder {
  const recent = new Map<string, { namespace: string; name: string; count: number; at: number }>();

  const prune = (t: number) => {
    for (const [key, entry] of recent) if (t - entry.at > seriesWindowMs) recent.delete(key);
  };

  return {
    async record(subject, type, reason, action, note) {
      const t = now();
      prune(t);
      const namespace = subject.metadata.namespace || "default";
      const key = `${subject.kind}|${namespace}|${subject.metadata.name}|${subject.metadata.uid}|${type}|${reason}|${note}`;
      const seen = recent.get(key);
      try {
        if (seen) {
          seen.count += 1;
          await kube.patchEventSeries(seen.namespace, seen.name, seen.count, new Date(t));
          return;
        }
        const name = `${subject.metadata.name}.${t.toString(16)}${randomBytes(3).toString("hex")}`;
        const event: EventObject = {
          metadata: { name, namespace },
          eventTime: new Date(t),
          reportingController: controllerName,
          reportingInstance: instance.slice(0, 128),
          action,
          reason,
          note: note.slice(0, 1024),
          type,
          regarding: {
            apiVersion,
            kind: subject.kind,
            name: subject.metadata.name,
            ...(subject.metadata.namespace ? { namespace: subject.metadata.namespace } : {}),
            ...(subject.metadata.uid ? { uid: subject.metadata.uid } : {}),
          },
        };
        await kube.createEvent(event);
        recent.set(key, { namespace, name, count: 1, at: t });
      } catch (error) {
        // The series' first event may have expired (events live an hour): start a new one next time.
        recent.delete(key);
        logger.warn(
          { err: safeError(error), kind: subject.kind, name: subject.metadata.name, reason },
          "could not record an event",
        );
      }
    },
  };
}
