import type { ServerResponse } from "node:http";
import { create } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { asStrataError, StrataError } from "@strata/errors";
import {
  ErrorDetailSchema,
  type Model,
  type RateLimitState,
  type TokenPrice,
  TokenPriceSchema,
} from "@strata/proto";
import type { Endpoint, GatewayDeps, RequestContext } from "./context.ts";

/** A duration as OpenAI's rate-limit headers write it (Go style): `12ms`, `1.5s`, `6m0s`. */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(3))}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${Number(((ms - minutes * 60_000) / 1000).toFixed(3))}s`;
}

/** Sets OpenAI's `x-ratelimit-*` headers for the limits that applied (none when unlimited). */
export function setRateLimitHeaders(res: ServerResponse, state: RateLimitState | undefined): void {
  if (!state || res.headersSent) return;
  if (state.limitRequests > 0) {
    res.setHeader("x-ratelimit-limit-requests", String(state.limitRequests));
    res.setHeader("x-ratelimit-remaining-requests", String(state.remainingRequests));
    res.setHeader("x-ratelimit-reset-requests", goDuration(state.resetRequestsMs));
  }
  if (state.limitTokens > 0) {
    res.setHeader("x-ratelimit-limit-tokens", String(state.limitTokens));
    res.setHeader("x-ratelimit-remaining-tokens", String(state.remainingTokens));
    res.setHeader("x-ratelimit-reset-tokens", goDuration(state.resetTokensMs));
  }
}

/**
 * The model's catalog price as metering takes it: on Admit (cost budgets) and on Settle (the
 * ledger's cost when metering has no reservation to read it from). Undefined without a price.
 */
export function tokenPrice(model: Model): TokenPrice | undefined {
  return (
    model.price &&
    create(TokenPriceSchema, {
      inputPerMillionMicros: model.price.inputPerMillionMicros,
      outputPerMillionMicros: model.price.outputPerMillionMicros,
      cacheReadPerMillionMicros: model.price.cacheReadPerMillionMicros,
      cacheWritePerMillionMicros: model.price.cacheWritePerMillionMicros,
    })
  );
}

/** Whether an error is metering being unreachable, not metering answering (a refusal). */
function unreachable(error: unknown): boolean {
  return error instanceof ConnectError && error.findDetails(ErrorDetailSchema).length === 0;
}

/**
 * Asks metering to admit the request against the tenant's and key's rate limits and budgets,
 * sets the `x-ratelimit-*` headers, and returns the reservation to settle. Metering's refusals
 * pass through (429 with `retry-after`). When metering itself cannot be reached, the request is
 * admitted without limits (`STRATA_METERING_FAIL_MODE=open`, logged and counted) or refused with
 * 503 (`closed`).
 */
export async function admit(
  deps: GatewayDeps,
  ctx: RequestContext,
  endpoint: Endpoint,
  model: Model,
  estimatedInputTokens: number,
  maxOutputTokens: number,
): Promise<string> {
  try {
    const res = await deps.metering.admit(
      {
        principal: ctx.caller.principal,
        requestId: ctx.requestId,
        model: model.id,
        modelAliases: model.aliases,
        endpoint,
        estimatedInputTokens,
        maxOutputTokens,
        tenantLimits: ctx.caller.policy.tenant?.limits,
        keyLimits: ctx.caller.policy.key?.limits,
        price: tokenPrice(model),
      },
      { signal: ctx.signal, timeoutMs: deps.controlTimeoutMs },
    );
    setRateLimitHeaders(ctx.res, res.rateLimit);
    return res.reservationId || ctx.requestId;
  } catch (error) {
    if (!unreachable(error) || ctx.signal.aborted) throw asStrataError(error);
    deps.metrics.meteringUnreachable.inc({ mode: deps.meteringFailMode });
    if (deps.meteringFailMode === "closed") {
      throw new StrataError(
        "upstream_unavailable",
        "Usage metering is unavailable; try again shortly.",
        {
          retryAfterMs: 1_000,
          cause: error,
        },
      );
    }
    ctx.log.warn({ err: error }, "metering unreachable: admitting without limits (fail-open)");
    return ctx.requestId;
  }
}
