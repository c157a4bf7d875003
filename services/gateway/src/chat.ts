import { randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { asStrataError, toOpenAIError } from "@strata/errors";
import {
  type ChatCompletionChunk,
  type ChatCompletionRequest,
  chatCompletionRequestToChatRequest,
  chatResponseToChatCompletion,
  createChunkTranslator,
  createSseWriter,
  parseChatCompletionRequest,
  remoteImageUrls,
} from "@strata/openai";
import {
  type ChatRequest,
  type ChatStreamResponse,
  ModelKind,
  Outcome,
  type Usage,
  UsageRecordSchema,
  UsageSchema,
} from "@strata/proto";
import { admit, tokenPrice } from "./admit.ts";
import {
  allowedFallbacks,
  type GatewayDeps,
  type RequestContext,
  resolveModel,
} from "./context.ts";
import { sendJson } from "./http.ts";
import {
  applyOutputLimit,
  maxTokensClampedHeader,
  rejectsExcessMaxTokens,
} from "./output-limit.ts";
import { scanChatRequest, secretsActionOf, sensitiveDataError } from "./secrets.ts";
import { createToolCallGuard } from "./tool-call-guard.ts";
import {
  type BlockedToolCall,
  type EnforcedToolPolicy,
  enforcedToolPolicy,
  filterCompletionToolCalls,
  findRefusedTool,
  toolNotAllowedError,
} from "./tool-policy.ts";

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
  return deps.imageFetcher.fetchAll(urls, ctx.signal);
}

/** Response header of a non-streamed answer from which tool calls were removed: how many. */
const toolCallsBlockedHeader = "x-strata-tool-calls-blocked";

/**
 * The caller's request-side policies, before anything costs money: declared tools (and
 * `tool_choice`) outside an enforced tool policy → 400 `tool_not_allowed`; credentials in the
 * prompt → 400 `sensitive_data_detected` (block) or replaced by placeholders (redact). Returns the
 * request to send on (a redacted copy, or the same object). See docs/tool-call-validation.md.
 */
function screenRequest(
  deps: GatewayDeps,
  ctx: RequestContext,
  request: ChatCompletionRequest,
  toolPolicy: EnforcedToolPolicy | undefined,
): ChatCompletionRequest {
  const principal = ctx.caller.principal;
  if (toolPolicy) {
    const refused = findRefusedTool(request, toolPolicy);
    if (refused) {
      deps.securityEvents.report({
        principal,
        action: "tool.refused",
        target: refused.name.slice(0, 64),
        requestId: ctx.requestId,
        detail: "name not allowed",
      });
      throw toolNotAllowedError(refused);
    }
  }
  const action = secretsActionOf(ctx.caller.policy);
  if (action === "off") return request;
  const scanned = scanChatRequest(request, { redact: action === "redact" });
  const [first] = scanned.findings;
  if (!first) return request;
  const verb = action === "block" ? "blocked" : "redacted";
  for (const finding of scanned.findings) {
    deps.metrics.secretsDetected.inc(
      { tenant: principal.tenantId, type: finding.type, action: verb },
      finding.count,
    );
    deps.securityEvents.report({
      principal,
      action: `secret.${verb}`,
      target: finding.type,
      requestId: ctx.requestId,
      detail: finding.param,
    });
  }
  if (action === "block") throw sensitiveDataError(first);
  return scanned.request;
}

/** Counts and audits a tool call removed from an answer (its name and reason, never arguments). */
function reportBlockedToolCall(deps: GatewayDeps, ctx: RequestContext, call: BlockedToolCall) {
  const principal = ctx.caller.principal;
  deps.metrics.toolCallsBlocked.inc({ tenant: principal.tenantId, reason: call.reason });
  deps.securityEvents.report({
    principal,
    action: "tool_call.blocked",
    target: call.name.slice(0, 64),
    requestId: ctx.requestId,
    detail: call.detail,
  });
}

/**
 * POST /v1/chat/completions: validate, screen (tool policy, credentials), resolve the model,
 * admit, call inference (unary or streaming), filter the model's tool calls, answer in OpenAI's
 * format, settle usage off the response path.
 */
export async function handleChatCompletion(
  deps: GatewayDeps,
  ctx: RequestContext,
  body: unknown,
): Promise<void> {
  const toolPolicy = enforcedToolPolicy(ctx.caller.policy);
  const request = screenRequest(deps, ctx, parseChatCompletionRequest(body), toolPolicy);
  const model = await resolveModel(deps, ctx.caller, request.model, ModelKind.CHAT);
  ctx.model = model.id;
  const remoteImages = await fetchImages(deps, ctx, request);
  const chat = chatCompletionRequestToChatRequest(request, remoteImages ? { remoteImages } : {});
  chat.model = model.id;
  chat.principal = ctx.caller.principal;
  chat.requestId = ctx.requestId;
  chat.upstream = ctx.upstream;
  chat.fallbacks = allowedFallbacks(deps, ctx.caller, model);
  // Prompts and completions are never logged unless the tenant opted in (content_logging).
  const logContent = ctx.caller.policy.tenant?.contentLogging === true;
  if (logContent) ctx.log.info({ model: model.id, messages: request.messages }, "prompt");

  const clamped = applyOutputLimit(
    chat,
    model,
    rejectsExcessMaxTokens(deps.maxTokensMode, ctx.caller.policy),
  );
  if (clamped) ctx.res.setHeader(maxTokensClampedHeader, clamped);
  const maxOutput = chat.inferenceConfig?.maxTokens ?? model.maxOutputTokens;
  const promptTokens = estimatePromptTokens(request);
  const reservation = await admit(deps, ctx, "chat.completions", model, promptTokens, maxOutput);
  const callOptions = {
    signal: ctx.signal,
    timeoutMs: deps.upstreamTimeoutMs,
    headers: { "x-request-id": ctx.requestId },
  };
  const id = completionId();
  const created = Math.floor(ctx.startedAtMs / 1000);
  /** Reports the request's usage, for the model that served it (a fallback, if one did). */
  const settle = (
    status: number,
    outcome: Outcome,
    usage: Usage | undefined,
    stream: boolean,
    servedBy = model.id,
  ) => {
    const served = servedBy === model.id ? model : (deps.catalog.get(servedBy) ?? model);
    deps.usage.report(
      reservation,
      create(UsageRecordSchema, {
        requestId: ctx.requestId,
        principal: ctx.caller.principal,
        model: served.id,
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
      tokenPrice(served),
    );
    countTokens(deps, ctx, served.id, usage);
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
    let completion = chatResponseToChatCompletion(response, {
      id,
      created,
      model: response.model || model.id,
    });
    const headers: Record<string, string> = {};
    if (toolPolicy) {
      const filtered = filterCompletionToolCalls(completion, toolPolicy);
      completion = filtered.completion;
      for (const call of filtered.blocked) reportBlockedToolCall(deps, ctx, call);
      if (filtered.blocked.length > 0)
        headers[toolCallsBlockedHeader] = String(filtered.blocked.length);
    }
    sendJson(ctx.res, 200, completion, headers);
    settle(200, Outcome.SUCCESS, response.usage, false, completion.model);
    if (logContent)
      ctx.log.info({ model: model.id, message: completion.choices[0]?.message }, "completion");
    return;
  }

  const translator = createChunkTranslator({
    id,
    created,
    model: model.id,
    includeUsage: request.stream_options?.include_usage === true,
  });
  // Without an enforced tool policy the translator's chunks go straight to the writer.
  const guard =
    toolPolicy &&
    createToolCallGuard({
      policy: toolPolicy,
      onBlocked: (call) => reportBlockedToolCall(deps, ctx, call),
    });
  await streamChat(deps, ctx, {
    chat,
    translator: guard
      ? {
          next: (event) => translator.next(event).flatMap((chunk) => guard.next(chunk)),
          end: () => guard.end(),
        }
      : translator,
    callOptions,
    settle: (status, outcome, usage, servedBy) => settle(status, outcome, usage, true, servedBy),
    promptTokens,
    logContent,
  });
}

interface StreamPlan {
  chat: ChatRequest;
  /** The chunks for each event; `end` gives those still held when the stream ends normally. */
  translator: {
    next(event: ChatStreamResponse): ChatCompletionChunk[];
    end?(): ChatCompletionChunk[];
  };
  callOptions: { signal: AbortSignal; timeoutMs: number; headers: Record<string, string> };
  settle: (status: number, outcome: Outcome, usage: Usage | undefined, servedBy?: string) => void;
  /** The prompt's estimated tokens: its usage when a stream ends before Bedrock reported any. */
  promptTokens: number;
  /** Log the streamed text at the end (the tenant's content_logging). */
  logContent: boolean;
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
  /** The catalog id that serves the stream (a fallback, if one does), from its start event. */
  let servedBy: string | undefined;
  let streamedChars = 0;
  const streamedText: string[] = [];
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
      if (event.event.case === "start") servedBy = event.event.value.model || undefined;
      if (event.event.case === "metadata") usage = event.event.value.usage;
      if (event.event.case === "blockDelta") {
        const delta = event.event.value.delta;
        streamedChars += typeof delta.value === "string" ? delta.value.length : 0;
        if (plan.logContent && delta.case === "text") streamedText.push(delta.value);
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
    for (const chunk of plan.translator.end?.() ?? []) {
      open();
      await writer.send(chunk);
    }
    open();
    writer.done();
    plan.settle(200, Outcome.SUCCESS, usage, servedBy);
    if (plan.logContent)
      ctx.log.info({ model: ctx.model, text: streamedText.join("") }, "completion");
  } catch (error) {
    const strata = asStrataError(error);
    // A stream Bedrock started has used its prompt and what it streamed: estimate both when
    // Bedrock never reported usage (it does so only at the end).
    const partial =
      usage ??
      (servedBy !== undefined
        ? create(UsageSchema, {
            inputTokens: plan.promptTokens,
            outputTokens: Math.ceil(streamedChars / 4),
          })
        : undefined);
    if (ctx.signal.aborted) {
      plan.settle(499, Outcome.CANCELLED, partial, servedBy);
      return;
    }
    plan.settle(opened ? 200 : strata.httpStatus, Outcome.ERROR, partial, servedBy);
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
