/**
 * Converse and ConverseStream: validate like Bedrock, apply directives, generate the
 * deterministic reply, and send it as JSON or as an incrementally written event stream.
 */
import { converseStreamEvents } from "./converse-stream-events.ts";
import { validateConverseRequest } from "./converse-validation.ts";
import { directiveApplies, directiveFault, parseDirectives } from "./directives.ts";
import {
  EmulatorError,
  STREAM_EXCEPTION_MESSAGES,
  type StreamExceptionType,
  validationError,
} from "./emulator-error.ts";
import { EVENT_STREAM_CONTENT_TYPE, encodeEvent, encodeException } from "./event-stream.ts";
import { converseResponseBody, generateConverseReply } from "./generate.ts";
import { parseJsonBody } from "./json-body.ts";
import { baseHeaders, faultTarget, type OperationContext, pause } from "./operation-context.ts";
import type { RequestEnd } from "./request-log.ts";

function streamExceptionBody(type: StreamExceptionType): Record<string, string | number> {
  const message = STREAM_EXCEPTION_MESSAGES[type];
  return type === "modelStreamErrorException"
    ? { message, originalStatusCode: 500, originalMessage: "Emulated model stream failure." }
    : { message };
}

/** Handles `/converse` (`streaming` false) and `/converse-stream` (`streaming` true). */
export async function handleConverse(
  context: OperationContext,
  streaming: boolean,
): Promise<RequestEnd> {
  const { exchange, model, record } = context;
  const parsed = parseJsonBody(context.body);
  if (!parsed.ok) {
    throw new EmulatorError("SerializationException", "The request body is not valid JSON.");
  }
  record.body = parsed.value;
  if (model.kind !== "chat") {
    throw validationError(
      `This action doesn't support the model that you provided (${model.id} is an embedding model). Try again with a supported text or chat model.`,
    );
  }
  const request = validateConverseRequest(parsed.value, model, { streaming });
  if (request.guardrail) {
    record.guardrail = {
      identifier: request.guardrail.identifier,
      version: request.guardrail.version,
    };
  }
  const lastUser = request.messages.findLast((m) => m.role === "user");
  const { directives, texts } = parseDirectives(
    (lastUser?.content ?? []).flatMap((b) => (b.type === "text" ? [b.text] : [])),
  );
  const reply = generateConverseReply({
    request,
    directives,
    lastUserTexts: texts,
    seed: context.body.toString("utf8"),
  });
  if (directiveApplies(directives, faultTarget(context))) {
    await pause(directives.delayMs, exchange.signal);
    const fault = directiveFault(directives);
    if (fault) throw fault;
  }

  if (!streaming) {
    const body = converseResponseBody(reply, context.latencyMs());
    exchange.respond(200, baseHeaders(context, "application/json"), JSON.stringify(body));
    return { outcome: "completed", status: 200 };
  }

  exchange.startStream(200, baseHeaders(context, EVENT_STREAM_CONTENT_TYPE));
  const errorAfter = directives.streamErrorAfter;
  const errorType = directives.streamError ?? "internalServerException";
  let eventsSent = 0;
  let deltasSent = 0;
  for (const event of converseStreamEvents(reply, context.latencyMs)) {
    if (eventsSent > 0) await pause(directives.chunkDelayMs, exchange.signal);
    const errorDue =
      errorAfter !== undefined &&
      event.type !== "messageStart" &&
      (deltasSent >= errorAfter || event.type === "messageStop");
    if (errorDue) {
      await exchange.write(encodeException(errorType, streamExceptionBody(errorType)));
      record.eventsSent = ++eventsSent;
      exchange.end();
      return { outcome: "error", status: 200, errorType, eventsSent };
    }
    await exchange.write(encodeEvent(event.type, event.payload));
    record.eventsSent = ++eventsSent;
    if (event.type === "contentBlockDelta") deltasSent++;
  }
  exchange.end();
  return { outcome: "completed", status: 200, eventsSent };
}
