import { create } from "@bufbuild/protobuf";
import { asStrataError } from "@strata/errors";
import { embedResponseToOpenAI, parseEmbeddingRequest } from "@strata/openai";
import { ModelKind, Outcome, UsageRecordSchema } from "@strata/proto";
import { admit, tokenPrice } from "./admit.ts";
import { type GatewayDeps, type RequestContext, resolveModel } from "./context.ts";
import { sendJson } from "./http.ts";

/** POST /v1/embeddings: one or many inputs, float or base64 vectors, usage. */
export async function handleEmbeddings(
  deps: GatewayDeps,
  ctx: RequestContext,
  body: unknown,
): Promise<void> {
  const request = parseEmbeddingRequest(body);
  const model = await resolveModel(deps, ctx.caller, request.model, ModelKind.EMBEDDING);
  ctx.model = model.id;
  const inputs = typeof request.input === "string" ? [request.input] : request.input;
  const estimate = Math.ceil(inputs.reduce((n, s) => n + s.length, 0) / 4);
  const reservation = await admit(deps, ctx, "embeddings", model, estimate, 0);

  const record = (status: number, outcome: Outcome, inputTokens: number) =>
    deps.usage.report(
      reservation,
      create(UsageRecordSchema, {
        requestId: ctx.requestId,
        principal: ctx.caller.principal,
        model: model.id,
        endpoint: "embeddings",
        inputTokens,
        latencyMs: Math.round(performance.now() - ctx.startedAt),
        status,
        outcome,
        startedAtMs: ctx.startedAtMs,
      }),
      tokenPrice(model),
    );
  let response: Awaited<ReturnType<typeof deps.inference.embed>>;
  try {
    response = await deps.inference.embed(
      {
        model: model.id,
        inputs,
        dimensions: request.dimensions ?? 0,
        principal: ctx.caller.principal,
        requestId: ctx.requestId,
        upstream: ctx.upstream,
      },
      {
        signal: ctx.signal,
        timeoutMs: deps.upstreamTimeoutMs,
        headers: { "x-request-id": ctx.requestId },
      },
    );
  } catch (error) {
    const strata = asStrataError(error);
    record(
      ctx.signal.aborted ? 499 : strata.httpStatus,
      ctx.signal.aborted ? Outcome.CANCELLED : Outcome.ERROR,
      0,
    );
    throw strata;
  }
  sendJson(
    ctx.res,
    200,
    embedResponseToOpenAI(response, {
      model: request.model,
      encodingFormat: request.encoding_format ?? "float",
    }),
  );
  record(200, Outcome.SUCCESS, response.inputTokens);
  deps.metrics.tokens.inc(
    { tenant: ctx.caller.principal.tenantId, model: model.id, type: "input" },
    response.inputTokens,
  );
}
