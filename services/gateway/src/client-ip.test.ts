import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { createClientIpResolver } from "./client-ip.ts";

const request = (remoteAddress: string, xff?: string) =>
  ({
    socket: { remoteAddress },
    headers: xff ? { "x-forwarded-for": xff } : {},
  }) as unknown as IncomingMessage;

describe("client address", () => {
  const resolve = createClientIpResolver({
    trustedProxies: ["10.0.0.0/8", "fd00::/8"],
    header: "X-Forwarded-For",
  });

  it.each([
    [
      "the socket when no proxy is trusted",
      createClientIpResolver({ trustedProxies: [], header: "x-forwarded-for" }),
      request("203.0.113.9", "1.2.3.4"),
      "203.0.113.9",
    ],
    [
      "the socket when the peer is not a trusted proxy",
      resolve,
      request("203.0.113.9", "1.2.3.4"),
      "203.0.113.9",
    ],
    [
      "the header's client behind a trusted proxy",
      resolve,
      request("10.1.2.3", "198.51.100.7"),
      "198.51.100.7",
    ],
    [
      "the rightmost untrusted hop, not a client-supplied one",
      resolve,
      request("10.1.2.3", "6.6.6.6, 198.51.100.7, 10.9.9.9"),
      "198.51.100.7",
    ],
    ["an IPv4-mapped socket as IPv4", resolve, request("::ffff:203.0.113.9"), "203.0.113.9"],
    ["the socket when a trusted proxy sends no header", resolve, request("10.1.2.3"), "10.1.2.3"],
    ["IPv6 behind an IPv6 proxy", resolve, request("fd12::1", "2001:db8::5"), "2001:db8::5"],
  ])("uses %s", (_, resolver, req, expected) => {
    expect(resolver(req)).toBe(expected);
  });
});
