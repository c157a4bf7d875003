import { invalidRequest } from "@strata/errors";
import { ImageFormat } from "@strata/proto";

/**
 * Where the image of an `image_url` part comes from. Bedrock Converse takes image bytes only (no
 * URLs), so a data URL is decoded here and an http(s) URL must be fetched by the gateway.
 */
export type ImageSource =
  | { kind: "data"; format: ImageFormat; base64: string }
  | { kind: "remote"; url: string };

/** The image media types Bedrock accepts, as they appear in data URLs. */
const mediaTypes: ReadonlyMap<string, ImageFormat> = new Map([
  ["image/png", ImageFormat.PNG],
  ["image/jpeg", ImageFormat.JPEG],
  ["image/jpg", ImageFormat.JPEG],
  ["image/gif", ImageFormat.GIF],
  ["image/webp", ImageFormat.WEBP],
]);

/** Standard or URL-safe base64, optionally padded. */
const base64Pattern = /^[A-Za-z0-9+/_-]*={0,2}$/;
const whitespace = /[\t\n\f\r ]+/g;

/**
 * Classifies and checks an `image_url.url` without fetching or decoding anything: a base64 data
 * URL of a supported image type, or an http(s) URL. Anything else is a 400 on `param`.
 */
export function parseImageUrl(url: string, param: string): ImageSource {
  if (/^data:/i.test(url)) return parseDataUrl(url, param);
  if (/^https?:\/\//i.test(url) && URL.canParse(url)) return { kind: "remote", url };
  throw invalidRequest(
    param,
    `Invalid '${param}': expected an http(s) URL or a base64-encoded data URL with an image media type (e.g. 'data:image/png;base64,iVBORw0KGgo...').`,
    "invalid_image_url",
  );
}

function parseDataUrl(url: string, param: string): ImageSource {
  const comma = url.indexOf(",");
  const header = comma < 0 ? "" : url.slice("data:".length, comma);
  const [mediaType = "", ...attributes] = header.split(";");
  if (comma < 0 || !attributes.some((a) => a.trim().toLowerCase() === "base64")) {
    throw invalidRequest(
      param,
      `Invalid '${param}': image data URLs must be base64-encoded (e.g. 'data:image/png;base64,iVBORw0KGgo...').`,
      "invalid_image_url",
    );
  }
  const format = mediaTypes.get(mediaType.trim().toLowerCase());
  if (format === undefined) {
    throw invalidRequest(
      param,
      `Invalid '${param}': unsupported image media type '${mediaType.slice(0, 64)}'. Supported media types are 'image/png', 'image/jpeg', 'image/gif', and 'image/webp'.`,
      "invalid_image_format",
    );
  }
  let base64 = url.slice(comma + 1);
  if (!base64Pattern.test(base64)) base64 = base64.replace(whitespace, "");
  if (base64.length === 0 || base64.length % 4 === 1 || !base64Pattern.test(base64)) {
    throw invalidRequest(
      param,
      `Invalid '${param}': the image data is not valid base64.`,
      "invalid_image_url",
    );
  }
  return { kind: "data", format, base64 };
}

/**
 * Decodes a data-URL image. The format comes from the bytes (clients often label a PNG
 * `image/jpeg`, which Bedrock rejects); bytes that are not a PNG, JPEG, GIF or WebP image are a
 * 400 on `param`, as for a fetched image, rather than a Bedrock error that names no field.
 */
export function decodeDataImage(
  source: { base64: string },
  param: string,
): { format: ImageFormat; data: Uint8Array } {
  const buffer = Buffer.from(source.base64, "base64");
  const data = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const format = sniffImageFormat(data);
  if (format === undefined) {
    throw invalidRequest(
      param,
      `Invalid '${param}': the image data is not a PNG, JPEG, GIF or WebP image.`,
      "invalid_image_format",
    );
  }
  return { format, data };
}

/** The image format from the file's magic bytes, or undefined when not one Bedrock accepts. */
export function sniffImageFormat(data: Uint8Array): ImageFormat | undefined {
  if (startsWith(data, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return ImageFormat.PNG;
  if (startsWith(data, [0xff, 0xd8, 0xff])) return ImageFormat.JPEG;
  if (startsWith(data, [0x47, 0x49, 0x46, 0x38])) return ImageFormat.GIF;
  if (
    startsWith(data, [0x52, 0x49, 0x46, 0x46]) &&
    data[8] === 0x57 &&
    data[9] === 0x45 &&
    data[10] === 0x42 &&
    data[11] === 0x50
  ) {
    return ImageFormat.WEBP;
  }
  return undefined;
}

function startsWith(data: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((byte, i) => data[i] === byte);
}
