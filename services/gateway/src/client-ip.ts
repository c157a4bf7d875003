import type { IncomingMessage } from "node:http";
import { BlockList, isIP } from "node:net";

/** Options of createClientIpResolver. */
export interface ClientIpOptions {
  /** CIDRs of proxies (load balancers, ingress) whose forwarding header is believed. */
  trustedProxies: readonly string[];
  /** The forwarding header, e.g. `x-forwarded-for`. */
  header: string;
}

/** Normalises `::ffff:1.2.3.4` to `1.2.3.4` so IPv4 rules match IPv4-mapped sockets. */
export function normaliseAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}

/** A BlockList of CIDRs (or single addresses), IPv4 and IPv6. */
export function cidrList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address = "", prefix] = cidr.split("/");
    const family = isIP(address) === 6 ? "ipv6" : "ipv4";
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return list;
}

export function inList(list: BlockList, address: string): boolean {
  const normalised = normaliseAddress(address);
  const family = isIP(normalised);
  return family !== 0 && list.check(normalised, family === 6 ? "ipv6" : "ipv4");
}

/**
 * The client's address: the socket's, unless the socket belongs to a trusted proxy, in which case
 * the forwarding header is read from the right, skipping trusted proxies, and the first address
 * that is not one is the client. A header from an untrusted peer is ignored, so a client cannot
 * claim another address to pass a CIDR policy.
 */
export function createClientIpResolver({
  trustedProxies,
  header,
}: ClientIpOptions): (req: IncomingMessage) => string {
  const trusted = cidrList(trustedProxies);
  const name = header.toLowerCase();
  return (req) => {
    const socket = normaliseAddress(req.socket.remoteAddress ?? "");
    if (trustedProxies.length === 0 || !inList(trusted, socket)) return socket;
    const value = req.headers[name];
    const hops = (Array.isArray(value) ? value.join(",") : (value ?? ""))
      .split(",")
      .map((s) => normaliseAddress(s.trim()))
      .filter((s) => isIP(s) !== 0);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i] as string;
      if (!inList(trusted, hop)) return hop;
    }
    return hops[0] ?? socket;
  };
}
