import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import { request as httpsRequest } from "node:https";
import { BlockList, isIP } from "node:net";
import { invalidRequest, type StrataError } from "@strata/errors";
import { ImageFormat } from "@strata/proto";

/** A downloaded image, ready for Bedrock. */
export interface FetchedImage {
  format: ImageFormat;
  data: Uint8Array;
}

/** Downloads remote images named in chat messages. */
export interface ImageFetcher {
  /** One image, at most the fetcher's per-image limit. */
  fetch(url: string, signal: AbortSignal): Promise<FetchedImage>;
  /**
   * Every image of one request, by URL: at most `maxImages` distinct URLs and `maxTotalBytes`
   * together (400 `invalid_image_url` beyond), downloaded a few at a time, so one request cannot
   * hold hundreds of megabytes or hundreds of connections.
   */
  fetchAll(urls: readonly string[], signal: AbortSignal): Promise<Map<string, FetchedImage>>;
}

/** Options of createImageFetcher. */
export interface ImageFetcherOptions {
  /** Largest image. */
  maxBytes: number;
  /** Most distinct remote images per request; default 20 (Bedrock's own per-request limit). */
  maxImages?: number;
  /** Most bytes of remote images per request, all together; default 4 × maxBytes. */
  maxTotalBytes?: number;
  /** Downloads in flight per request; default 4. */
  concurrency?: number;
  timeoutMs: number;
  /** Which resolved addresses may be contacted; default: public unicast addresses only. */
  isAddressAllowed?: (address: string) => boolean;
  /** Extra CA certificates (tests use a local CA). */
  ca?: string | Buffer;
}

/**
 * Addresses a gateway must never fetch from on a user's behalf (SSRF): loopback, private,
 * link-local (incl. the cloud metadata endpoint 169.254.169.254), carrier-grade NAT, multicast,
 * reserved and documentation ranges, and their IPv6 counterparts.
 */
const blocked = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.88.99.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  blocked.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["64:ff9b::", 96],
  ["100::", 64],
  ["2001:db8::", 32],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  blocked.addSubnet(net, prefix, "ipv6");
}

/** Whether an address is a public unicast address a fetch may go to. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  // IPv4-mapped IPv6 (::ffff:a.b.c.d or ::ffff:xxxx:yyyy) is judged as the IPv4 address it carries.
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (dotted?.[1]) return isPublicAddress(dotted[1]);
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (hex?.[1] && hex[2]) {
    const hi = Number.parseInt(hex[1], 16);
    const lo = Number.parseInt(hex[2], 16);
    return isPublicAddress(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
  }
  return !blocked.check(address, family === 4 ? "ipv4" : "ipv6");
}

/** Recognises the image format from its first bytes; the Content-Type header is not trusted. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 12));
  if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47) return ImageFormat.PNG;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return ImageFormat.JPEG;
  if (b.length >= 6 && b.toString("latin1", 0, 4) === "GIF8") return ImageFormat.GIF;
  if (
    b.length >= 12 &&
    b.toString("latin1", 0, 4) === "RIFF" &&
    b.toString("latin1", 8, 12) === "WEBP"
  ) {
    return ImageFormat.WEBP;
  }
  return undefined;
}

/**
 * Fetches images safely: https only; every address the name resolves to is checked at connect
 * time (so DNS rebinding cannot swap in a private address after validation); no redirects; a
 * size cap enforced while reading; a time limit on the whole download; the bytes must be PNG,
 * JPEG, GIF or WebP. Every refusal is a 400 that names the URL.
 */
export function createImageFetcher({
  maxBytes: maxImageBytes,
  maxImages = 20,
  maxTotalBytes = 4 * maxImageBytes,
  concurrency = 4,
  timeoutMs,
  isAddressAllowed = isPublicAddress,
  ca,
}: ImageFetcherOptions): ImageFetcher {
  const refuse = (url: string, why: string): StrataError =>
    invalidRequest(
      "messages",
      `Could not use the image at ${url.slice(0, 200)}: ${why}`,
      "invalid_image_url",
    );

  const safeLookup = (
    hostname: string,
    options: LookupOptions,
    callback: (
      err: NodeJS.ErrnoException | null,
      address: string | LookupAddress[],
      family?: number,
    ) => void,
  ) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, "");
      const allowed = addresses.filter((a) => isAddressAllowed(a.address));
      if (allowed.length === 0) {
        const denied = Object.assign(new Error(`${hostname} resolves to a non-public address`), {
          code: "EADDRNOTALLOWED",
        });
        return callback(denied, "");
      }
      if (options.all) return callback(null, allowed);
      const first = allowed[0] as LookupAddress;
      callback(null, first.address, first.family);
    });
  };

  /**
   * One download; with `shared`, the bytes it receives are also taken from that request-wide
   * allowance, and it is refused as soon as the allowance runs out.
   */
  const fetchOne = (url: string, signal: AbortSignal, shared?: { remaining: number }) => {
    const maxBytes = maxImageBytes;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return Promise.reject(refuse(url, "it is not a valid URL."));
    }
    if (parsed.protocol !== "https:")
      return Promise.reject(refuse(url, "only https URLs are fetched."));
    const host = parsed.hostname.replace(/^\[|\]$/g, "");
    if (isIP(host) && !isAddressAllowed(host)) {
      return Promise.reject(refuse(url, "the address is not public."));
    }
    return new Promise<FetchedImage>((resolve, reject) => {
      const timeout = AbortSignal.timeout(timeoutMs);
      const req = httpsRequest(parsed, {
        method: "GET",
        lookup: safeLookup as never,
        signal: AbortSignal.any([signal, timeout]),
        headers: {
          accept: "image/png,image/jpeg,image/gif,image/webp",
          "user-agent": "strata-gateway",
        },
        ...(ca ? { ca } : {}),
      });
      req.on("error", (err: NodeJS.ErrnoException) => {
        if (timeout.aborted) reject(refuse(url, `the download took longer than ${timeoutMs} ms.`));
        else if (signal.aborted) reject(err);
        else if (err.code === "EADDRNOTALLOWED")
          reject(refuse(url, "the host resolves to a non-public address."));
        else reject(refuse(url, "the download failed."));
      });
      req.on("response", (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(
            refuse(url, `the server answered HTTP ${res.statusCode} (redirects are not followed).`),
          );
          return;
        }
        const tooLarge = `the image is larger than ${maxBytes} bytes.`;
        const tooMuch = `the remote images of this request are larger than ${maxTotalBytes} bytes together.`;
        const declared = Number(res.headers["content-length"] ?? 0);
        if (declared > maxBytes || (shared && declared > shared.remaining)) {
          req.destroy();
          reject(refuse(url, declared > maxBytes ? tooLarge : tooMuch));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (shared) shared.remaining -= chunk.length;
          if (size > maxBytes || (shared && shared.remaining < 0)) {
            req.destroy();
            reject(refuse(url, size > maxBytes ? tooLarge : tooMuch));
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () => {
          const data = Buffer.concat(chunks, size);
          const format = sniffImageFormat(data);
          if (format === undefined)
            reject(refuse(url, "it is not a PNG, JPEG, GIF or WebP image."));
          else
            resolve({
              format,
              data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
            });
        });
        res.on("error", () => reject(refuse(url, "the download failed.")));
      });
      req.end();
    });
  };

  return {
    fetch: (url, signal) => fetchOne(url, signal),
    async fetchAll(urls, signal) {
      const unique = [...new Set(urls)];
      if (unique.length > maxImages) {
        throw invalidRequest(
          "messages",
          `At most ${maxImages} remote image URLs are fetched per request; send the others as data URLs.`,
          "invalid_image_url",
        );
      }
      const images = new Map<string, FetchedImage>();
      const shared = { remaining: maxTotalBytes };
      const failed = new AbortController();
      const both = AbortSignal.any([signal, failed.signal]);
      let next = 0;
      const worker = async () => {
        while (next < unique.length) {
          const url = unique[next++] as string;
          images.set(url, await fetchOne(url, both, shared));
        }
      };
      const workers = Array.from({ length: Math.min(concurrency, unique.length) }, worker);
      try {
        await Promise.all(workers);
      } catch (error) {
        failed.abort();
        await Promise.allSettled(workers);
        throw error;
      }
      return images;
    },
  };
}
