import { asStrataError } from "@strata/errors";
import type { Endpoint, GatewayDeps, RequestContext } from "./context.ts";

/**
 * Asks metering to admit the request and returns the reservation to settle. Metering's refusals
 * (limits, budgets) pass through as their errors; if metering cannot be reached the request is
 * admitted (fail-open) and logged — configurable fail-closed arrives with rate limiting.
 */
export async function admit(
  deps: GatewayDeps,
  ctx: RequestContext,
  endpoint: Endpoint,
  estimatedInputTokens: number,
  maxOutputTokens: number,
): Promise<string> {
  try {
    const res = await deps.metering.admit(
      {
        principal: ctx.caller.principal,
        requestId: ctx.requestId,
        model: ctx.model ?? "",
        endpoint,
        estimatedInputTokens,
        maxOutputTokens,
      },
      { signal: ctx.signal, timeoutMs: deps.controlTimeoutMs },
    );
    return res.reservationId || ctx.requestId;
  } catch (error) {
    const strata = asStrataError(error);
    if (strata.reason === "upstream_unavailable" || strata.reason === "upstream_timeout") {
      ctx.log.warn(
        { err: strata.cause ?? strata },
        "metering unreachable: admitting without limits (fail-open)",
      );
      return ctx.requestId;
    }
    throw strata;
  }
}
