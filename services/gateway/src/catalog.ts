import type { Client } from "@connectrpc/connect";
import type { Logger } from "@strata/platform";
import type { InferenceService, Model } from "@strata/proto";

/** Options of createCatalogCache. */
export interface CatalogCacheOptions {
  inference: Client<typeof InferenceService>;
  refreshMs: number;
  timeoutMs: number;
  logger: Logger;
}

/** The gateway's view of inference's model catalog. */
export interface CatalogCache {
  /** The model for an id or alias; refreshes once on a miss (a model added since). */
  resolve(name: string): Promise<Model | undefined>;
  /** The model for an id or alias in the catalog as last loaded (no refresh). */
  get(name: string): Model | undefined;
  list(): Promise<Model[]>;
  close(): void;
}

/**
 * Keeps inference's catalog in memory, refreshed periodically, so resolving a model costs no RPC
 * on the request path. Until the first load succeeds, lookups load it on demand.
 */
export function createCatalogCache({
  inference,
  refreshMs,
  timeoutMs,
  logger,
}: CatalogCacheOptions): CatalogCache {
  let models: Model[] = [];
  let byName = new Map<string, Model>();
  let loadedAt = 0;
  let loading: Promise<void> | undefined;

  const load = () => {
    loading ??= inference
      .listModels({}, { timeoutMs })
      .then((res) => {
        models = res.models;
        byName = new Map();
        for (const model of models) {
          byName.set(model.id, model);
          for (const alias of model.aliases) byName.set(alias, model);
        }
        loadedAt = Date.now();
      })
      .finally(() => {
        loading = undefined;
      });
    return loading;
  };

  const timer = setInterval(() => {
    load().catch((err: unknown) =>
      logger.warn({ err }, "model catalog refresh failed; keeping the last one"),
    );
  }, refreshMs);
  timer.unref();

  const ensure = async () => {
    if (loadedAt === 0) await load();
  };

  return {
    async resolve(name) {
      await ensure();
      const found = byName.get(name);
      // A miss may be a model added since the last refresh: look once more, at most every second.
      if (!found && Date.now() - loadedAt > 1_000) {
        await load();
        return byName.get(name);
      }
      return found;
    },
    get: (name) => byName.get(name),
    async list() {
      await ensure();
      return models;
    },
    close: () => clearInterval(timer),
  };
}
