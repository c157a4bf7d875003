import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";

/** Options of createRpcTransport. */
export interface RpcTransportOptions {
  /** `http://host:port` of the peer. */
  baseUrl: string;
  interceptors?: Interceptor[];
}

/**
 * A gRPC transport over h2c to another Strata service. One HTTP/2 connection is shared by all
 * calls (multiplexed), kept alive with pings so a dead peer is noticed between requests.
 */
export function createRpcTransport({ baseUrl, interceptors = [] }: RpcTransportOptions): Transport {
  return createGrpcTransport({
    baseUrl,
    interceptors,
    pingIntervalMs: 10_000,
    pingTimeoutMs: 5_000,
    idleConnectionTimeoutMs: 5 * 60_000,
  });
}

/** A typed client of one service over a transport. */
export function createRpcClient<S extends DescService>(
  service: S,
  transport: Transport,
): Client<S> {
  return createClient(service, transport);
}

/** Sends `authorization: Bearer <token>` on every call (admin plane). */
export function bearerAuth(token: string): Interceptor {
  return (next) => (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
}
