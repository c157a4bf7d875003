// What Strata's RPC client and server share on top of @grpc/grpc-js: Connect's method
// descriptors as grpc-js method definitions (messages encoded by protobuf-es), and gRPC metadata
// as the web Headers that Connect's interceptors and handlers read and write.
import { type DescMethod, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";

/** A Connect method as grpc-js calls and serves it: its path and protobuf-es (de)serialisers. */
export function grpcMethodDefinition(
  method: DescMethod,
): grpc.MethodDefinition<unknown, unknown> & { path: string } {
  return {
    path: `/${method.parent.typeName}/${method.name}`,
    requestStream:
      method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
    responseStream:
      method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
    requestSerialize: (m) => Buffer.from(toBinary(method.input, m as never)),
    requestDeserialize: (b) => fromBinary(method.input, b),
    responseSerialize: (m) => Buffer.from(toBinary(method.output, m as never)),
    responseDeserialize: (b) => fromBinary(method.output, b),
  };
}

/** Adds gRPC metadata to Headers; binary (`-bin`) values base64-encoded, as on the wire. */
export function headersOf(metadata: grpc.Metadata, into = new Headers()): Headers {
  for (const [key, value] of Object.entries(metadata.getMap())) {
    into.set(key, typeof value === "string" ? value : value.toString("base64"));
  }
  return into;
}

/** Headers as gRPC metadata; `grpc-status` and `grpc-message` are grpc-js's to send. */
export function metadataOf(headers: Headers): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [key, value] of headers) {
    if (key === "grpc-status" || key === "grpc-message") continue;
    if (key.endsWith("-bin")) metadata.set(key, Buffer.from(value, "base64"));
    else metadata.set(key, value);
  }
  return metadata;
}

/** The `reduceRight` that puts the first interceptor outermost, as Connect does. */
export function intercepted<R, S>(
  interceptors: readonly ((next: never) => unknown)[],
  last: (req: R) => Promise<S>,
): (req: R) => Promise<S> {
  return interceptors.reduceRight<(req: R) => Promise<S>>(
    (next, interceptor) => interceptor(next as never) as (req: R) => Promise<S>,
    last,
  );
}
