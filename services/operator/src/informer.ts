import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
} from "@kubernetes/client-node";
import type { Logger } from "@strata/platform";
import { safeError } from "./errors.ts";

/** Options of createInformer. */
export interface InformerOptions<T extends KubernetesObject> {
  kc: KubeConfig;
  /** Name for logs and metrics, e.g. "apikeys/team-a". */
  name: string;
  /** The watch path, e.g. `/apis/strata.dev/v1alpha1/tenants`. */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  /** Called for every add, update and delete (after the cache has changed). */
  onChange: (obj: T, type: "add" | "update" | "delete") => void;
  logger: Logger;
  /** Counts restarts after errors. */
  onRestart?: () => void;
  /** First and longest delay before restarting after an error. */
  minRestartMs?: number;
  maxRestartMs?: number;
}

/** A watched, cached collection of one resource. */
export interface Informer<T> {
  /** Lists and watches; resolves once the first list has succeeded (retrying until it does). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Whether the first list has succeeded (and the cache is usable). */
  synced(): boolean;
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): T[];
}

/**
 * client-node's informer (a list, then a watch from its resourceVersion; re-lists on 410 Gone;
 * resumes after a quiet watch times out) made to survive errors: client-node stops an informer
 * on any other error (a dropped connection, a 5xx, an expired token), so this one restarts it
 * with exponential backoff, resuming from the last resourceVersion, until stop().
 */
export function createInformer<T extends KubernetesObject>(
  options: InformerOptions<T>,
): Informer<T> {
  const { logger, minRestartMs = 500, maxRestartMs = 30_000 } = options;
  const informer = makeInformer(options.kc, options.path, options.list, options.labelSelector);
  let stopped = false;
  let isSynced = false;
  let failedSinceStart = false;
  let delay = minRestartMs;
  let timer: NodeJS.Timeout | undefined;
  let firstSync: (() => void) | undefined;

  informer.on("add", (obj) => options.onChange(obj, "add"));
  informer.on("update", (obj) => options.onChange(obj, "update"));
  informer.on("delete", (obj) => options.onChange(obj, "delete"));
  informer.on("connect", () => {
    // A watch (re)connected: the backoff starts over after a healthy period.
    if (isSynced) delay = minRestartMs;
  });
  informer.on("error", (err) => {
    failedSinceStart = true;
    if (stopped) return;
    logger.warn(
      { err: safeError(err), informer: options.name, retryInMs: delay },
      "watch failed: restarting",
    );
    options.onRestart?.();
    scheduleRestart();
  });

  const scheduleRestart = () => {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void attempt();
    }, delay);
    delay = Math.min(delay * 2, maxRestartMs);
  };

  const attempt = async () => {
    if (stopped) return;
    failedSinceStart = false;
    try {
      await informer.start();
    } catch (err) {
      failedSinceStart = true;
      logger.warn({ err: safeError(err), informer: options.name }, "informer start failed");
      scheduleRestart();
      return;
    }
    // start() resolves after the list and the watch request; a failed list emits "error" instead.
    if (!failedSinceStart && !isSynced) {
      isSynced = true;
      logger.debug({ informer: options.name }, "informer synced");
      firstSync?.();
    }
  };

  return {
    start() {
      stopped = false;
      return new Promise<void>((resolve) => {
        firstSync = resolve;
        void attempt();
      });
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      firstSync?.();
      await informer.stop();
    },
    synced: () => isSynced,
    get: (name, namespace) => informer.get(name, namespace) as T | undefined,
    list: (namespace) => informer.list(namespace) as T[],
  };
}
