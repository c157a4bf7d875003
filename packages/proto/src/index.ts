// Generated contracts of Strata's services (buf + protoc-gen-es). Never edit src/gen by hand:
// change proto/ and run `npm run generate`.
export * from "./gen/grpc/health/v1/health_pb.js";
export * from "./gen/strata/auth/v1/admin_pb.js";
export * from "./gen/strata/auth/v1/auth_pb.js";
export * from "./gen/strata/common/v1/error_pb.js";
export * from "./gen/strata/common/v1/limits_pb.js";
export * from "./gen/strata/common/v1/principal_pb.js";
export * from "./gen/strata/common/v1/upstream_pb.js";
export * from "./gen/strata/inference/v1/catalog_pb.js";
export * from "./gen/strata/inference/v1/chat_pb.js";
export * from "./gen/strata/inference/v1/embedding_pb.js";
export * from "./gen/strata/inference/v1/inference_service_pb.js";
export * from "./gen/strata/metering/v1/metering_pb.js";
