import {
  type BedrockRuntimeClient,
  ConverseCommand,
  type ConverseCommandInput,
  ConverseStreamCommand,
  type GuardrailConfiguration,
  InvokeModelCommand,
} from "@aws-sdk/client-bedrock-runtime";
import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { invalidRequest, StrataError } from "@strata/errors";
import { type Logger, startSpan, type TraceSpan } from "@strata/platform";
import {
  type ChatRequest,
  type ChatResponse,
  type ChatStreamResponse,
  type InferenceService,
  ListModelsResponseSchema,
  type Principal,
  type UpstreamPolicy,
} from "@strata/proto";
import type { AnswerShaping } from "./answer-shaping.ts";
import {
  bedrockErrorToStrataError,
  bedrockRetryAfterMs,
  isFallbackWorthy,
} from "./bedrock-error.ts";
import type { Catalog, CatalogEntry } from "./catalog.ts";
import { chatRequestToConverse } from "./chat-request-to-converse.ts";
import { chatResponseToEvents } from "./chat-response-to-events.ts";
import {
  converseStreamEventToEvents,
  createStreamTranslation,
} from "./converse-stream-to-events.ts";
import { converseToChatResponse } from "./converse-to-chat-response.ts";
import type { CrossAccountClients, CrossAccountRole } from "./cross-account.ts";
import { appendDelta, availableNow, notYet } from "./delta-coalescing.ts";
import { defaultEmbeddingConcurrency, embed, type InvokeEmbeddingModel } from "./embeddings.ts";
import type { InferenceMetrics, UpstreamOperation } from "./metrics.ts";
import { BrokenCircuitError, type Resilience } from "./resilience.ts";
import { createUpstreamCall, type UpstreamCall } from "./upstream-call.ts";
import {
  converseGuardrailConfig,
  crossAccountRoleOf,
  streamGuardrailConfig,
} from "./upstream-policy.ts";

/** What the inference service needs; server.ts and tests build it. */
export interface InferenceServiceDeps {
  readonly catalog: Catalog;
  /** The client for calls in Strata's own AWS account. */
  readonly client: BedrockRuntimeClient;
  /**
   * Clients for tenants whose UpstreamPolicy names a cross-account role. Without it, such
   * requests fail (`internal`) rather than run in Strata's own account.
   */
  readonly crossAccount?: CrossAccountClients | undefined;
  readonly logger: Logger;
  readonly metrics: InferenceMetrics;
  /** Retries and circuit breakers of Bedrock calls (resilience.ts). */
  readonly resilience: Resilience;
  /** Longest wait for a non-streamed answer or for a stream to start (STRATA_BEDROCK_TIMEOUT_MS). */
  readonly timeoutMs: number;
  /** Longest silence between two stream events (STRATA_STREAM_IDLE_TIMEOUT_MS). */
  readonly streamIdleTimeoutMs: number;
  /** InvokeModel calls in flight per embedding request; default 8. */
  readonly embeddingConcurrency?: number | undefined;
}

/**
 * One client request: the model as named and resolved, the Bedrock client to call (Strata's own,
 * or the tenant's cross-account one), a child logger, the RPC context.
 */
interface Scope {
  readonly model: string;
  readonly entry: CatalogEntry;
  readonly client: BedrockRuntimeClient;
  /** Whose AWS account the calls run in, for circuit breakers: "" (Strata's) or the role ARN. */
  readonly account: string;
  readonly log: Logger;
  readonly ctx: HandlerContext;
}

/** A model that may serve a chat request, with the request translated for it. */
interface Candidate {
  readonly entry: CatalogEntry;
  readonly input: ConverseCommandInput;
  readonly shaping: AnswerShaping;
}

/** Bedrock's response header with an InvokeModel call's input tokens (not in the SDK's model). */
const inputTokenCountHeader = "x-amzn-bedrock-input-token-count";

/**
 * A CLIENT span around one Bedrock call, named and attributed after the OpenTelemetry GenAI
 * conventions (https://opentelemetry.io/docs/specs/semconv/gen-ai/). Only ids and counts: never
 * prompts or completions.
 */
function bedrockSpan(operation: "chat" | "embeddings", modelId: string | undefined): TraceSpan {
  return startSpan(`${operation} ${modelId ?? ""}`.trim(), {
    kind: "client",
    attributes: {
      "gen_ai.system": "aws.bedrock",
      "gen_ai.provider.name": "aws.bedrock",
      "gen_ai.operation.name": operation,
      "gen_ai.request.model": modelId,
    },
  });
}

/** Ends a Bedrock span with its token counts when known, or failed with `error`'s reason. */
function endBedrockSpan(
  span: TraceSpan,
  outcome: { inputTokens?: number | undefined; outputTokens?: number | undefined; error?: unknown },
) {
  if (outcome.error !== undefined) span.fail(outcome.error);
  span.setAttributes({
    "gen_ai.usage.input_tokens": outcome.inputTokens,
    "gen_ai.usage.output_tokens": outcome.outputTokens,
  });
  span.end();
}

/**
 * InferenceService: the neutral chat and embedding schema in, Bedrock Converse / ConverseStream /
 * InvokeModel out. Every Bedrock call gets an abort signal that follows `ctx.signal` (so a
 * cancelled RPC cancels Bedrock) and the service's timeouts; every failure leaves as a
 * StrataError, including failures in the middle of a stream.
 */
export function createInferenceService(
  deps: InferenceServiceDeps,
): ServiceImpl<typeof InferenceService> {
  const { catalog, metrics } = deps;

  const resolve = (model: string): CatalogEntry => {
    const entry = catalog.resolve(model);
    if (!entry) {
      throw new StrataError(
        "model_not_found",
        `The model \`${model}\` does not exist or you do not have access to it.`,
        { param: "model" },
      );
    }
    return entry;
  };

  /** The Bedrock client for the tenant's cross-account role, or Strata's own without one. */
  const clientFor = (role: CrossAccountRole | undefined, tenantId: string) => {
    if (role === undefined) return deps.client;
    if (deps.crossAccount === undefined) {
      throw new StrataError("internal", undefined, {
        cause: new Error("a cross-account role is set, but the service has no STS client"),
      });
    }
    return deps.crossAccount.clientFor(role, tenantId);
  };

  const scopeOf = (
    request: {
      model: string;
      requestId: string;
      principal?: Principal | undefined;
      upstream?: UpstreamPolicy | undefined;
    },
    ctx: HandlerContext,
  ): Scope => {
    const entry = resolve(request.model);
    const tenantId = request.principal?.tenantId ?? "";
    const role = crossAccountRoleOf(request.upstream);
    const log = deps.logger.child({
      requestId: request.requestId || undefined,
      tenantId: tenantId || undefined,
      keyId: request.principal?.keyId || undefined,
      model: entry.id,
      roleArn: role?.roleArn,
    });
    return {
      model: request.model,
      entry,
      client: clientFor(role, tenantId),
      account: role?.roleArn ?? "",
      log,
      ctx,
    };
  };

  /**
   * Converts the failure of a Bedrock call: its own timer firing is upstream_timeout, the RPC
   * ending is cancelled, anything else is mapped from the SDK error. Logged with the request's
   * fields (internal causes are logged again, without them, by the RPC server).
   */
  const failure = (
    scope: Scope,
    operation: UpstreamOperation,
    call: UpstreamCall,
    error: unknown,
  ): StrataError => {
    let strata: StrataError;
    if (call.timedOut) {
      strata = new StrataError("upstream_timeout", undefined, { cause: call.signal.reason });
    } else if (scope.ctx.signal.aborted) {
      strata = new StrataError("cancelled", undefined, { cause: error });
    } else {
      strata = bedrockErrorToStrataError(error, { model: scope.model });
    }
    const level = strata.reason === "cancelled" ? "debug" : "info";
    scope.log[level]({ operation, reason: strata.reason, err: error }, "bedrock call failed");
    return strata;
  };

  const record = (
    entry: CatalogEntry,
    operation: UpstreamOperation,
    outcome: string,
    startedAt: number,
  ) => {
    const model = entry.id;
    metrics.upstreamRequests.inc({ model, operation, outcome });
    metrics.upstreamDuration.observe({ model, operation }, (performance.now() - startedAt) / 1000);
  };

  /**
   * The models that may serve a chat request, in order: the one asked for, then those of its
   * catalog fallbacks that the gateway allowed for this caller (`request.fallbacks`) and that can
   * take the request (a fallback without, say, vision is skipped for a request with images).
   * The first one's translation errors are the client's; a fallback's only exclude it.
   */
  const candidatesOf = (scope: Scope, request: ChatRequest): Candidate[] => {
    const candidates: Candidate[] = [
      { entry: scope.entry, ...chatRequestToConverse(request, scope.entry) },
    ];
    if (request.fallbacks.length === 0) return candidates;
    const allowed = new Set(request.fallbacks);
    for (const id of scope.entry.fallbacks) {
      const entry = allowed.has(id) ? catalog.resolve(id) : undefined;
      if (entry?.kind !== "chat") continue;
      try {
        candidates.push({ entry, ...chatRequestToConverse(request, entry) });
      } catch (error) {
        scope.log.debug({ fallback: id, err: error }, "fallback cannot take this request");
      }
    }
    return candidates;
  };

  /**
   * Runs `run` against each candidate in turn until one answers. Each candidate is tried behind
   * its upstream's circuit breaker, its calls retried with jittered backoff on transient errors; the next candidate is tried after a failure another model may not have (transient,
   * access, unknown id) or when the circuit is open. Stops at once when the call is aborted (its
   * deadline, the client gone). When every candidate failed: 429 if the last was throttled, 503
   * otherwise, each with `retry-after` (an open circuit's remaining time when that is the cause).
   */
  const serve = async <T>(
    scope: Scope,
    call: UpstreamCall,
    operation: UpstreamOperation,
    candidates: readonly Candidate[],
    run: (candidate: Candidate) => Promise<T>,
  ): Promise<{ candidate: Candidate; value: T }> => {
    let last: unknown;
    let reopensAt = Number.POSITIVE_INFINITY;
    for (const [i, candidate] of candidates.entries()) {
      if (i > 0) {
        metrics.fallbacks.inc({ model: scope.entry.id, fallback: candidate.entry.id });
        scope.log.info(
          { fallback: candidate.entry.id, err: last },
          "model unavailable: trying its fallback",
        );
      }
      const upstream = deps.resilience.upstream(scope.account, candidate.input.modelId ?? "");
      try {
        // The breaker judges whole attempts at a model (a request's retries included), so one
        // unlucky request cannot open it alone.
        const value = await call.race(
          upstream.execute(
            () =>
              deps.resilience.retry.execute(({ attempt }) => {
                if (attempt > 0) metrics.retries.inc({ model: candidate.entry.id, operation });
                return run(candidate);
              }, call.signal),
            call.signal,
          ),
        );
        return { candidate, value };
      } catch (error) {
        if (call.signal.aborted) throw error;
        if (error instanceof BrokenCircuitError) {
          metrics.circuitRejections.inc({ model: candidate.entry.id });
          reopensAt = Math.min(reopensAt, upstream.reopensAt || Date.now());
        } else if (!isFallbackWorthy(error)) {
          throw error;
        }
        last = error;
      }
    }
    throw exhausted(scope, last, reopensAt);
  };

  /** The error for a request no candidate could serve (see {@link serve}). */
  const exhausted = (scope: Scope, last: unknown, reopensAt: number): StrataError => {
    if (last instanceof BrokenCircuitError) {
      const retryAfterMs = Math.max(bedrockRetryAfterMs, reopensAt - Date.now());
      return new StrataError(
        "upstream_unavailable",
        `The model \`${scope.model}\` is temporarily unavailable: Bedrock has been failing for it. Try again in ${Math.ceil(retryAfterMs / 1000)} s.`,
        { retryAfterMs, cause: last },
      );
    }
    const strata = bedrockErrorToStrataError(last, { model: scope.model });
    if (strata.reason === "rate_limited" || strata.reason === "upstream_unavailable") return strata;
    if (strata.reason !== "internal") return strata;
    // Bedrock's 5xx after every retry and fallback: the upstream's fault, not Strata's (503).
    return new StrataError("upstream_unavailable", undefined, {
      retryAfterMs: bedrockRetryAfterMs,
      cause: last,
    });
  };

  const converse = async (
    scope: Scope,
    candidates: readonly Candidate[],
    guardrailConfig: GuardrailConfiguration | undefined,
  ): Promise<ChatResponse> => {
    const call = createUpstreamCall(scope.ctx.signal);
    const startedAt = performance.now();
    const span = bedrockSpan("chat", candidates[0]?.input.modelId);
    let served = scope.entry;
    call.arm(deps.timeoutMs);
    try {
      const { candidate, value: output } = await serve(
        scope,
        call,
        "converse",
        candidates,
        ({ input }) =>
          scope.client.send(new ConverseCommand({ ...input, guardrailConfig }), {
            abortSignal: call.signal,
          }),
      );
      served = candidate.entry;
      record(served, "converse", "success", startedAt);
      span.setAttributes({ "gen_ai.response.model": candidate.input.modelId });
      endBedrockSpan(span, {
        inputTokens: output.usage?.inputTokens,
        outputTokens: output.usage?.outputTokens,
      });
      return converseToChatResponse(output, { model: served.id, shaping: candidate.shaping });
    } catch (error) {
      const strata = failure(scope, "converse", call, error);
      record(served, "converse", strata.reason, startedAt);
      endBedrockSpan(span, { error: strata });
      throw strata;
    } finally {
      call.dispose();
    }
  };

  const invokeEmbeddingModel =
    (scope: Scope): InvokeEmbeddingModel =>
    async ({ modelId, body }, signal) => {
      const call = createUpstreamCall(signal);
      const startedAt = performance.now();
      let inputTokenCount: number | undefined;
      const command = new InvokeModelCommand({
        modelId,
        body,
        contentType: "application/json",
        accept: "application/json",
      });
      command.middlewareStack.add(
        (next) => async (args) => {
          const result = await next(args);
          const headers = (result.response as { headers?: Record<string, string> }).headers ?? {};
          const raw = Object.entries(headers).find(
            ([k]) => k.toLowerCase() === inputTokenCountHeader,
          )?.[1];
          const parsed = raw === undefined ? Number.NaN : Number.parseInt(raw, 10);
          if (Number.isSafeInteger(parsed) && parsed >= 0) inputTokenCount = parsed;
          return result;
        },
        { step: "build", name: "strataInputTokenCount" },
      );
      const span = bedrockSpan("embeddings", modelId);
      call.arm(deps.timeoutMs);
      try {
        const output = await call.race(scope.client.send(command, { abortSignal: call.signal }));
        record(scope.entry, "invoke_model", "success", startedAt);
        endBedrockSpan(span, { inputTokens: inputTokenCount });
        return { body: output.body, inputTokenCount };
      } catch (error) {
        const strata = failure(scope, "invoke_model", call, error);
        record(scope.entry, "invoke_model", strata.reason, startedAt);
        endBedrockSpan(span, { error: strata });
        throw strata;
      } finally {
        call.dispose();
      }
    };

  return {
    async chat(request, ctx) {
      const scope = scopeOf(request, ctx);
      return converse(
        scope,
        candidatesOf(scope, request),
        converseGuardrailConfig(request.upstream),
      );
    },

    async *chatStream(streamRequest, ctx): AsyncGenerator<ChatStreamResponse> {
      const request = streamRequest.chat;
      if (!request) throw invalidRequest(undefined, "The stream request has no chat.");
      const scope = scopeOf(request, ctx);
      const candidates = candidatesOf(scope, request);
      if (!scope.entry.capabilities.streaming) {
        // Served whole and replayed as events; its fallbacks too.
        const guardrailConfig = converseGuardrailConfig(request.upstream);
        yield* chatResponseToEvents(await converse(scope, candidates, guardrailConfig));
        return;
      }
      const guardrailConfig = streamGuardrailConfig(request.upstream);
      const call = createUpstreamCall(ctx.signal);
      const startedAt = performance.now();
      let served = scope.entry;
      let outcome = "cancelled";
      let firstToken = false;
      let stopped = false;
      let iterator: AsyncIterator<unknown> | undefined;
      let usage: { inputTokens: number; outputTokens: number } | undefined;
      let spanError: unknown;
      const span = bedrockSpan("chat", candidates[0]?.input.modelId);
      call.arm(deps.timeoutMs);
      try {
        // Retries and fallbacks end once Bedrock has answered: a started stream is never replayed.
        const { candidate, value: output } = await serve(
          scope,
          call,
          "converse_stream",
          candidates.filter((c) => c.entry.capabilities.streaming),
          ({ input }) =>
            scope.client.send(new ConverseStreamCommand({ ...input, guardrailConfig }), {
              abortSignal: call.signal,
            }),
        );
        served = candidate.entry;
        span.setAttributes({ "gen_ai.response.model": candidate.input.modelId });
        if (!output.stream) throw new Error("ConverseStream answered without a stream");
        const state = createStreamTranslation({ model: served.id, shaping: candidate.shaping });
        const events = output.stream[Symbol.asyncIterator]();
        iterator = events;
        // A delta waits for the next event only while that event is already here: when this
        // process falls behind, Bedrock's events arrive several per read, and their deltas go
        // out as one message (less work here, in the gateway and in the client). Events that
        // arrive one at a time go out one at a time, as soon as they arrive.
        let pending: ChatStreamResponse | undefined;
        for (let upcoming = events.next(); ; upcoming = events.next()) {
          let next: Awaited<typeof upcoming> | typeof notYet = notYet;
          if (pending) {
            try {
              next = await availableNow(upcoming);
            } catch (error) {
              // What was streamed before the failure still reaches the client (and its usage).
              yield pending;
              throw error;
            }
          }
          if (next === notYet) {
            if (pending) yield pending;
            pending = undefined;
            call.arm(deps.streamIdleTimeoutMs);
            next = await call.race(upcoming);
            call.disarm();
          }
          if (next.done) break;
          for (const event of converseStreamEventToEvents(next.value, state)) {
            if (!firstToken && event.event.case === "blockDelta") {
              firstToken = true;
              metrics.timeToFirstToken.observe(
                { model: served.id },
                (performance.now() - startedAt) / 1000,
              );
            }
            if (event.event.case === "stop") stopped = true;
            if (event.event.case === "metadata") usage = event.event.value.usage;
            if (pending && appendDelta(pending, event)) continue;
            if (pending) yield pending;
            pending = event.event.case === "blockDelta" ? event : undefined;
            if (!pending) yield event;
          }
        }
        if (pending) yield pending;
        if (!stopped) throw new Error("the ConverseStream answer ended before messageStop");
        outcome = "success";
      } catch (error) {
        const strata = failure(scope, "converse_stream", call, error);
        outcome = strata.reason;
        spanError = strata;
        throw strata;
      } finally {
        call.disarm();
        if (outcome !== "success") {
          // Ended early (error, client gone, consumer stopped): stop Bedrock generating.
          call.cancel();
          iterator?.return?.().catch(() => {});
        }
        call.dispose();
        record(served, "converse_stream", outcome, startedAt);
        endBedrockSpan(span, {
          inputTokens: usage?.inputTokens,
          outputTokens: usage?.outputTokens,
          error: spanError,
        });
      }
    },

    async embed(request, ctx) {
      const scope = scopeOf(request, ctx);
      return embed({
        request,
        entry: scope.entry,
        invoke: invokeEmbeddingModel(scope),
        signal: ctx.signal,
        concurrency: deps.embeddingConcurrency ?? defaultEmbeddingConcurrency,
      });
    },

    listModels() {
      return create(ListModelsResponseSchema, { models: catalog.list().map(catalog.toProto) });
    },
  };
}
