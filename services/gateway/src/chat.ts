import { randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { asStrataError, toOpenAIError } from "@strata/errors";
import {
  type ChatCompletionRequest,
  chatCompletionRequestToChatRequest,
  chatResponseToChatCompletion,
  createChunkTranslator,
  createSseWriter,
  parseChatCompletionRequest,
  remoteImageUrls,
} from "@strata/openai";
import { type ChatRequest, ModelKind, Outcome, type Usage, UsageRecordSchema } from "@strata/proto";
import { admit } from "./admit.ts";
import { type GatewayDeps, type RequestContext, resolveModel } from "./context.ts";
import { sendJson } from "./http.ts";

/** A chat completion id in OpenAI's shape. */
function completionId(): string {
  return `chatcmpl-${randomBytes(12).toString("base64url")}`;
}

/** Prompt size estimate for reservations: about four characters per token. */
function estimatePromptTokens(request: ChatCompletionRequest): number {
  return Math.ceil(JSON.stringify(request.messages).length / 4);
}

async function fetchImages(deps: GatewayDeps, ctx: RequestContext, request: ChatCompletionRequest) {
  const urls = remoteImageUrls(request);
  if (urls.length === 0 || !deps.imageFetcher) return undefined;
  const fetcher = deps.imageFetcher;
  const images = await Promise.all(
    urls.map(async (url: string) => [url, await fetcher.fetch(url, ctx.signal)] as const),
  );
  return new Map(images);
}

/**
 * POST /v1/chat/completions: validate, resolve the model, admit, call inference (unary or
 * streaming), answer in OpenAI's format, settle usage off the response path.
 */
export async function handleChatCompletion(
  deps: GatewayDeps,
  ctx: RequestContext,
  body: unknown,
): Promise<void> {
  const request = parseChatCompletionRequest(body);
  const model = await resolveModel(deps, ctx.caller, request.model, ModelKind.CHAT);
  ctx.model = model.id;
  const remoteImages = await fetchImages(deps, ctx, request);
  const chat = chatCompletionRequestToChatRequest(request, remoteImages ? { remoteImages } : {});
  chat.model = model.id;
  chat.principal = ctx.caller.principal;
  chat.requestId = ctx.requestId;

  const maxOutput = chat.inferenceConfig?.maxTokens ?? model.maxOutputTokens;
  const reservation = await admit(
    deps,
    ctx,
    "chat.completions",
    estimatePromptTokens(request),
    maxOutput,
  );
  const callOptions = {
    signal: ctx.signal,
    timeoutMs: deps.upstreamTimeoutMs,
    headers: { "x-request-id": ctx.requestId },
  };
  const id = completionId();
  const created = Math.floor(ctx.startedAtMs / 1000);
  const settle = (status: number, outcome: Outcome, usage: Usage | undefined, stream: boolean) => {
    deps.usage.report(
      reservation,
      create(UsageRecordSchema, {
        requestId: ctx.requestId,
        principal: ctx.caller.principal,
        model: model.id,
        endpoint: "chat.completions",
        inputTokens: usage?.inputTokens ?? 0,
        outputTokens: usage?.outputTokens ?? 0,
        cacheReadInputTokens: usage?.cacheReadInputTokens ?? 0,
        cacheWriteInputTokens: usage?.cacheWriteInputTokens ?? 0,
        latencyMs: Math.round(performance.now() - ctx.startedAt),
        status,
        outcome,
        startedAtMs: ctx.startedAtMs,
        stream,
      }),
    );
    countTokens(deps, ctx, model.id, usage);
  };

  if (!request.stream) {
    let response: Awaited<ReturnType<typeof deps.inference.chat>>;
    try {
      response = await deps.inference.chat(chat, callOptions);
    } catch (error) {
      const strata = asStrataError(error);
      settle(
        ctx.signal.aborted ? 499 : strata.httpStatus,
        ctx.signal.aborted ? Outcome.CANCELLED : Outcome.ERROR,
        undefined,
        false,
      );
      throw strata;
    }
    sendJson(
      ctx.res,
      200,
      chatResponseToChatCompletion(response, { id, created, model: response.model || model.id }),
    );
    settle(200, Outcome.SUCCESS, response.usage, false);
    return;
  }

  await streamChat(deps, ctx, {
    chat,
    translator: createChunkTranslator({
      id,
      created,
      model: model.id,
      includeUsage: request.stream_options?.include_usage === true,
    }),
    callOptions,
    settle: (status, outcome, usage) => settle(status, outcome, usage, true),
  });
}

interface StreamPlan {
  chat: ChatRequest;
  translator: ReturnType<typeof createChunkTranslator>;
  callOptions: { signal: AbortSignal; timeoutMs: number; headers: Record<string, string> };
  settle: (status: number, outcome: Outcome, usage: Usage | undefined) => void;
}

/**
 * Streams the answer as SSE. The 200 is only sent with the first chunk (or the first keep-alive),
 * so that failures before any output (a throttled or invalid upstream call) keep their real HTTP
 * status; a failure after it is sent as `data: {"error":…}` without `[DONE]`, so the SDKs throw
 * instead of seeing a normal end. A client that goes away cancels the upstream call.
 */
async function streamChat(deps: GatewayDeps, ctx: RequestContext, plan: StreamPlan): Promise<void> {
  const writer = createSseWriter(ctx.res);
  let opened = false;
  let lastWrite = performance.now();
  let firstToken = true;
  let usage: Usage | undefined;
  let streamedChars = 0;
  const open = () => {
    if (!opened) {
      opened = true;
      writer.open({ "x-request-id": ctx.requestId });
    }
  };
  const keepalive = setInterval(
    () => {
      if (performance.now() - lastWrite >= deps.keepaliveMs) {
        open();
        writer.comment("keep-alive");
        lastWrite = performance.now();
      }
    },
    Math.max(50, Math.floor(deps.keepaliveMs / 3)),
  );
  try {
    for await (const event of deps.inference.chatStream({ chat: plan.chat }, plan.callOptions)) {
      if (event.event.case === "metadata") usage = event.event.value.usage;
      if (event.event.case === "blockDelta") {
        const delta = event.event.value.delta;
        streamedChars += typeof delta.value === "string" ? delta.value.length : 0;
        if (firstToken) {
          firstToken = false;
          deps.metrics.timeToFirstToken.observe(
            { tenant: ctx.caller.principal.tenantId, model: ctx.model ?? "" },
            (performance.now() - ctx.startedAt) / 1000,
          );
        }
      }
      const chunks = plan.translator.next(event);
      if (chunks.length === 0) continue;
      open();
      for (const chunk of chunks) await writer.send(chunk);
      lastWrite = performance.now();
    }
    open();
    writer.done();
    plan.settle(200, Outcome.SUCCESS, usage);
  } catch (error) {
    const strata = asStrataError(error);
    // Tokens already streamed are still usage: estimate them when the upstream never said.
    const partial =
      usage ??
      (streamedChars > 0 ? ({ outputTokens: Math.ceil(streamedChars / 4) } as Usage) : undefined);
    if (ctx.signal.aborted) {
      plan.settle(499, Outcome.CANCELLED, partial);
      return;
    }
    plan.settle(opened ? 200 : strata.httpStatus, Outcome.ERROR, partial);
    if (!opened) throw strata;
    ctx.log.warn(
      { err: strata.cause ?? strata, reason: strata.reason },
      "stream failed after the response started",
    );
    writer.fail(toOpenAIError(strata).body);
  } finally {
    clearInterval(keepalive);
  }
}

function countTokens(
  deps: GatewayDeps,
  ctx: RequestContext,
  model: string,
  usage: Usage | undefined,
) {
  if (!usage) return;
  const tenant = ctx.caller.principal.tenantId;
  deps.metrics.tokens.inc(
    { tenant, model, type: "input" },
    usage.inputTokens + usage.cacheReadInputTokens + usage.cacheWriteInputTokens,
  );
  deps.metrics.tokens.inc({ tenant, model, type: "output" }, usage.outputTokens);
  deps.metrics.tokens.inc({ tenant, model, type: "cached" }, usage.cacheReadInputTokens);
}
