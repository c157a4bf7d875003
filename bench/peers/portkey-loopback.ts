// Preloaded into the Portkey gateway (node --import) by the benchmark. Portkey's start-server
// calls @hono/node-server's serve({ port }) with no hostname, which listens on every interface;
// the benchmark sends traffic to loopback only, so a listen on a port without a host is bound to
// 127.0.0.1 here. Nothing else of Portkey is touched.
import { Server } from "node:net";

const listen = Server.prototype.listen;
Server.prototype.listen = function listenOnLoopback(this: Server, ...args: unknown[]) {
  const [first, second] = args;
  if (typeof first === "number" || (typeof first === "string" && /^\d+$/.test(first))) {
    // listen(port, host?, backlog?, callback?): put the host in, or replace an undefined one.
    if (second === undefined && args.length >= 2) args[1] = "127.0.0.1";
    else if (typeof second !== "string") args.splice(1, 0, "127.0.0.1");
  } else if (typeof first === "object" && first !== null && !("path" in first)) {
    args[0] = { ...first, host: "127.0.0.1" };
  }
  return Reflect.apply(listen, this, args) as Server;
} as typeof Server.prototype.listen;
