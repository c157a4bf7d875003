/**
 * AWS event-stream frames (`application/vnd.amazon.eventstream`,
 * docs/wire-formats.md#aws-event-stream-framing), encoded with the SDK's own codec so the client's
 * decoder accepts every byte we send.
 */
import { EventStreamCodec, type MessageHeaders } from "@smithy/eventstream-codec";
import { fromUtf8, toUtf8 } from "@smithy/util-utf8";
import type { StreamExceptionType } from "./emulator-error.ts";

const codec = new EventStreamCodec(toUtf8, fromUtf8);

/** Content type of an event-stream HTTP response. */
export const EVENT_STREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream";

const header = (value: string) => ({ type: "string", value }) as const;

function encode(headers: MessageHeaders, payload: unknown): Uint8Array {
  return codec.encode({ headers, body: fromUtf8(JSON.stringify(payload)) });
}

/** An `event` frame: `:event-type` is the union member name, the payload its JSON structure. */
export function encodeEvent(eventType: string, payload: unknown): Uint8Array {
  return encode(
    {
      ":event-type": header(eventType),
      ":content-type": header("application/json"),
      ":message-type": header("event"),
    },
    payload,
  );
}

/**
 * An `exception` frame. The SDK throws the modeled exception named by the lowerCamel
 * `:exception-type` and reads `message` (and extra members) from the payload.
 */
export function encodeException(
  exceptionType: StreamExceptionType,
  payload: Record<string, string | number>,
): Uint8Array {
  return encode(
    {
      ":exception-type": header(exceptionType),
      ":content-type": header("application/json"),
      ":message-type": header("exception"),
    },
    payload,
  );
}

/** Decodes one complete frame (used by tests and by anyone reading a captured stream). */
export function decodeFrame(frame: Uint8Array): {
  headers: Record<string, string>;
  payload: unknown;
} {
  const message = codec.decode(frame);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    headers[name] = String(value.value);
  }
  return { headers, payload: JSON.parse(toUtf8(message.body)) };
}
