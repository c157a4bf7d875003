import type { IncomingMessage, ServerResponse } from "node:http";
import type { Client } from "@connectrpc/connect";
import { StrataError } from "@strata/errors";
import type { Logger } from "@strata/platform";
import type {
  InferenceService,
  MeteringService,
  Model,
  ModelKind,
  UpstreamPolicy,
} from "@strata/proto";
import { ModelKind as Kind } from "@strata/proto";
import type { Caller } from "./authenticator.ts";
import type { CatalogCache } from "./catalog.ts";
import type { ImageFetcher } from "./image-fetcher.ts";
import type { GatewayMetrics } from "./metrics.ts";
import { modelAllowed, regionAllowed } from "./policy.ts";
import type { SecurityEventReporter } from "./security-events.ts";
import type { UsageReporter } from "./usage-reporter.ts";

/** Everything the endpoint handlers share. */
export interface GatewayDeps {
  inference: Client<typeof InferenceService>;
  metering: Client<typeof MeteringService>;
  catalog: CatalogCache;
  usage: UsageReporter;
  /** Audits blocked tool calls, credentials found in prompts, refused sources. */
  securityEvents: SecurityEventReporter;
  metrics: GatewayMetrics;
  imageFetcher: ImageFetcher | undefined;
  /** What to do when metering cannot be reached: admit without limits, or refuse with 503. */
  meteringFailMode: "open" | "closed";
  /** A max_tokens above the model's output limit: lowered to it (default), or refused. */
  maxTokensMode?: "clamp" | "reject";
  maxBodyBytes: number;
  /** Longest time a request body may take to arrive (408 beyond); default 60 s. */
  bodyTimeoutMs?: number | undefined;

  keepaliveMs: number;
  upstreamTimeoutMs: number;
  controlTimeoutMs: number;
}

/** One request in flight. */
export interface RequestContext {
  requestId: string;
  /** Unix ms when the request arrived. */
  startedAtMs: number;
  /** performance.now() when the request arrived, for durations. */
  startedAt: number;
  req: IncomingMessage;
  res: ServerResponse;
  log: Logger;
  /** Aborted when the client goes away before the response is complete. */
  signal: AbortSignal;
  caller: Caller;
  /** The client's address (the socket's, or a trusted proxy's forwarding header). */
  sourceIp: string;
  /** What inference applies to this tenant's calls (guardrail, account), from the tenant policy. */
  upstream: UpstreamPolicy | undefined;
  /** Set once known, for metrics and the access log. */
  model?: string;
}

/** The OpenAI endpoint names used in policies and metrics. */
export type Endpoint = "chat.completions" | "embeddings" | "models";

/**
 * Resolves the requested model through the catalog and checks the caller may use it: unknown →
 * 404 model_not_found, not allowed by the tenant's or key's policy → 403 model_not_allowed,
 * wrong kind (an embedding model for chat, or the reverse) → 400.
 */
export async function resolveModel(
  deps: GatewayDeps,
  caller: Caller,
  name: string,
  kind: ModelKind,
): Promise<Model> {
  const model = await deps.catalog.resolve(name);
  if (!model) {
    throw new StrataError(
      "model_not_found",
      `The model \`${name}\` does not exist or you do not have access to it.`,
      {
        param: "model",
      },
    );
  }
  if (!modelAllowed(caller.policy, [model.id, ...model.aliases])) {
    throw new StrataError(
      "permission_denied",
      `Your API key is not allowed to use the model \`${name}\`.`,
      {
        param: "model",
        code: "model_not_allowed",
      },
    );
  }
  if (!regionAllowed(caller.policy, model)) {
    throw new StrataError(
      "permission_denied",
      `The model \`${name}\` is served from ${model.geography || model.regions.join(", ")}, outside the regions your tenant allows.`,
      { param: "model", code: "region_not_allowed" },
    );
  }
  if (model.kind !== kind) {
    const use = kind === Kind.CHAT ? "/v1/embeddings" : "/v1/chat/completions";
    throw new StrataError(
      "invalid_request",
      `The model \`${name}\` is not a ${kind === Kind.CHAT ? "chat" : "embedding"} model; use it with ${use}.`,
      { param: "model", code: "model_not_supported" },
    );
  }
  return model;
}

/**
 * Those of `model`'s catalog fallbacks the caller may use (its models and regions policy), in
 * catalog order: what inference may serve the request with when the model is unavailable.
 * Fallbacks outside the caller's policy are never used, so a fallback cannot leave the tenant's
 * allowed models or data-residency regions.
 */
export function allowedFallbacks(deps: GatewayDeps, caller: Caller, model: Model): string[] {
  return model.fallbacks.filter((id) => {
    const fallback = deps.catalog.get(id);
    return (
      fallback !== undefined &&
      fallback.kind === model.kind &&
      modelAllowed(caller.policy, [fallback.id, ...fallback.aliases]) &&
      regionAllowed(caller.policy, fallback)
    );
  });
}
