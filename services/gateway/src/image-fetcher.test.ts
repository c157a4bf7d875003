import { ImageFormat } from "@strata/proto";
import { describe, expect, it } from "vitest";
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
