// One gRPC server for bench/rpc.ts, in its own process: `node bench/rpc-server.ts <kind>` serves
// grpc.health.v1.Health/Check on 127.0.0.1 (an ephemeral port, printed on stdout) and exits when
// its parent closes stdin. Kinds:
//   http2    node:http2 alone: frames the answer and sends `grpc-status: 0`, nothing else (the floor)
//   strata   Strata's own RPC server (@strata/platform: connect-node and Strata's interceptors)
//   grpc-js  @grpc/grpc-js, the other Node gRPC library, with protobuf-es for the messages
import { createServer, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { createHealthService, createLogger, createRpcServer } from "@strata/platform";
import {
  type HealthCheckRequest,
  HealthCheckRequestSchema,
  type HealthCheckResponse,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "@strata/proto";

export const checkPath = "/grpc.health.v1.Health/Check";

/** The Check method for @grpc/grpc-js, (de)serialised by protobuf-es like Strata's messages. */
export const grpcJsCheck = {
  path: checkPath,
  requestStream: false,
  responseStream: false,
  requestSerialize: (m: HealthCheckRequest) => Buffer.from(toBinary(HealthCheckRequestSchema, m)),
  requestDeserialize: (b: Buffer) => fromBinary(HealthCheckRequestSchema, b),
  responseSerialize: (m: HealthCheckResponse) =>
    Buffer.from(toBinary(HealthCheckResponseSchema, m)),
  responseDeserialize: (b: Buffer) => fromBinary(HealthCheckResponseSchema, b),
} as const;

const serving = () => create(HealthCheckResponseSchema, { status: ServingStatus.SERVING });

/** A gRPC message on the wire: 1 byte "not compressed", 4 bytes length, the message. */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

async function serveHttp2(): Promise<number> {
  const server: Http2Server = createServer();
  server.on("stream", (stream) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => {
      fromBinary(HealthCheckRequestSchema, Buffer.concat(chunks).subarray(5));
      stream.respond(
        { ":status": 200, "content-type": "application/grpc+proto" },
        { waitForTrailers: true },
      );
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(grpcFrame(toBinary(HealthCheckResponseSchema, serving())));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

async function serveStrata(): Promise<number> {
  const health = createHealthService([]);
  health.setServing(true);
  const server = await createRpcServer({
    host: "127.0.0.1",
    port: 0,
    logger: createLogger({ service: "bench-rpc", level: "warn" }),
    routes: (router) => health.register(router),
  });
  return server.port;
}

async function serveGrpcJs(): Promise<number> {
  const server = new grpc.Server();
  server.addService(
    { check: grpcJsCheck },
    {
      check: (
        _call: grpc.ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
        done: grpc.sendUnaryData<HealthCheckResponse>,
      ) => done(null, serving()),
    },
  );
  return new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
}

const servers: Record<string, () => Promise<number>> = {
  http2: serveHttp2,
  strata: serveStrata,
  "grpc-js": serveGrpcJs,
};

if (import.meta.main) {
  const kind = process.argv[2] ?? "";
  const serve = servers[kind];
  if (!serve) throw new Error(`unknown server kind "${kind}": ${Object.keys(servers).join(", ")}`);
  process.stdout.write(`${await serve()}\n`);
  // Stops by itself when the benchmark ends, however it ends.
  process.stdin.on("end", () => process.exit(0));
  process.stdin.resume();
}
