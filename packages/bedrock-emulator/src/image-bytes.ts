/**
 * Checks base64 image payloads the way Bedrock does: the bytes must decode and their magic number
 * must match the declared `format`. This catches the classic translation bug of forwarding a
 * data-URI's MIME type wrongly (a JPEG declared as png) or forwarding the data URI itself.
 */
import type { ImageFormat } from "./converse-types.ts";

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes strict (padded, standard-alphabet) base64; `undefined` when malformed or empty. */
export function decodeBase64(value: string): Buffer | undefined {
  if (value === "" || !BASE64.test(value)) return undefined;
  return Buffer.from(value, "base64");
}

const startsWith = (bytes: Uint8Array, prefix: readonly number[], offset = 0) =>
  bytes.length >= offset + prefix.length && prefix.every((b, i) => bytes[offset + i] === b);

const ascii = (text: string) => [...text].map((c) => c.charCodeAt(0));

/** Detects the image format from magic bytes; `undefined` for anything else. */
export function detectImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "png";
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "jpeg";
  if (startsWith(bytes, ascii("GIF87a")) || startsWith(bytes, ascii("GIF89a"))) return "gif";
  if (startsWith(bytes, ascii("RIFF")) && startsWith(bytes, ascii("WEBP"), 8)) return "webp";
  return undefined;
}
