import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ImageFormat } from "@strata/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createImageFetcher, isPublicAddress, sniffImageFormat } from "./image-fetcher.ts";

describe("image fetcher", () => {
  it.each([
    ["8.8.8.8", true],
    ["1.1.1.1", true],
    ["2606:4700:4700::1111", true],
    ["127.0.0.1", false],
    ["10.1.2.3", false],
    ["172.20.0.1", false],
    ["192.168.1.1", false],
    ["169.254.169.254", false],
    ["100.64.0.1", false],
    ["0.0.0.0", false],
    ["224.0.0.1", false],
    ["::1", false],
    ["fe80::1", false],
    ["fd00:ec2::254", false],
    ["::ffff:127.0.0.1", false],
    ["::ffff:8.8.8.8", true],
    ["::ffff:7f00:1", false],
    ["::ffff:a00:1", false],
    ["::ffff:808:808", true],
    ["not-an-ip", false],
  ])("classifies %s as public: %s", (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });

  it.each([
    [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], ImageFormat.PNG],
    [[0xff, 0xd8, 0xff, 0xe0], ImageFormat.JPEG],
    [[...Buffer.from("GIF89a")], ImageFormat.GIF],
    [[...Buffer.from("RIFF\0\0\0\0WEBP")], ImageFormat.WEBP],
    [[...Buffer.from("<html>")], undefined],
  ])("sniffs %j as %s", (bytes, format) => {
    expect(sniffImageFormat(Uint8Array.from(bytes))).toBe(format);
  });

  const fetcher = createImageFetcher({ maxBytes: 1024, timeoutMs: 1000 });
  it.each([
    ["http://example.com/a.png", "only https"],
    ["https://127.0.0.1/a.png", "not public"],
    ["https://[::1]/a.png", "not public"],
    ["https://169.254.169.254/latest/meta-data", "not public"],
    ["https://localhost/a.png", "non-public"],
    ["ftp://example.com/a.png", "only https"],
  ])("refuses %s with a 400 naming the reason", async (url, reason) => {
    const error = await fetcher.fetch(url, new AbortController().signal).catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: "invalid_request", param: "messages" });
    expect((error as Error).message).toContain(reason);
  });
});

describe("image fetcher downloads", () => {
  // A local https server with a throwaway self-signed certificate (openssl, present wherever the
  // tests run: Debian's base image ships it), allowed by `isAddressAllowed` and `ca`.
  let server: Server;
  let base: string;
  let ca: string;
  let served = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const png = (size: number) => {
    const bytes = Buffer.alloc(size);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(bytes);
    return bytes;
  };

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "strata-img-"));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
      ],
      { stdio: "ignore" },
    );
    ca = readFileSync(join(dir, "cert.pem"), "utf8");
    server = createServer({ key: readFileSync(join(dir, "key.pem")), cert: ca }, (req, res) => {
      served++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const size = Number(new URL(req.url ?? "/", "https://x").searchParams.get("size") ?? 100);
      setTimeout(() => {
        inFlight--;
        res.writeHead(200, { "content-type": "image/png" });
        res.end(png(size));
      }, 20);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const local = (options: { maxBytes: number; maxImages?: number; maxTotalBytes?: number }) =>
    createImageFetcher({ ...options, timeoutMs: 2000, ca, isAddressAllowed: () => true });
  const urls = (n: number, size: number) =>
    Array.from({ length: n }, (_, i) => `${base}/img${i}.png?size=${size}`);
  const signal = () => new AbortController().signal;

  it("downloads every image of a request, a few at a time, each once", async () => {
    served = 0;
    maxInFlight = 0;
    const list = urls(10, 500);
    const images = await local({ maxBytes: 1024, maxTotalBytes: 5000 }).fetchAll(
      [...list, list[0] ?? ""],
      signal(),
    );
    expect(images.size).toBe(10);
    expect(images.get(list[3] ?? "")?.format).toBe(ImageFormat.PNG);
    expect(served).toBe(10);
    expect(maxInFlight).toBeLessThanOrEqual(4);
  });

  it("refuses more remote images than allowed, before downloading any", async () => {
    served = 0;
    const error = await local({ maxBytes: 1024, maxImages: 3 })
      .fetchAll(urls(4, 100), signal())
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: "invalid_request", param: "messages" });
    expect((error as Error).message).toContain("At most 3 remote image URLs");
    expect(served).toBe(0);
  });

  it("refuses images that are too large together, even when each one fits", async () => {
    const error = await local({ maxBytes: 1000, maxTotalBytes: 2500 })
      .fetchAll(urls(4, 900), signal())
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: "invalid_request", param: "messages" });
    expect((error as Error).message).toContain("larger than 2500 bytes together");
  });

  it("refuses one image over the per-image limit", async () => {
    const error = await local({ maxBytes: 1000 })
      .fetch(`${base}/big.png?size=5000`, signal())
      .catch((e: unknown) => e);
    expect((error as Error).message).toContain("larger than 1000 bytes");
  });
});
