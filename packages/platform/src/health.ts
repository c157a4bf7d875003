import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import {
  Health,
  type HealthCheckResponse,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "@strata/proto";

/**
 * The standard gRPC health service (grpc.health.v1), so Kubernetes gRPC probes work. The empty
 * service name is the server as a whole; each Strata service also registers its own name.
 */
export interface HealthService {
  /** Marks every registered service serving or not (not serving while starting or draining). */
  setServing(serving: boolean): void;
  isServing(): boolean;
  register(router: ConnectRouter): void;
}

export function createHealthService(serviceNames: readonly string[]): HealthService {
  const names = ["", ...serviceNames];
  let serving = false;
  const watchers = new Set<() => void>();
  const statusOf = (name: string): ServingStatus => {
    if (!names.includes(name)) return ServingStatus.SERVICE_UNKNOWN;
    return serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
  };
  const response = (status: ServingStatus): HealthCheckResponse =>
    create(HealthCheckResponseSchema, { status });

  return {
    setServing(value) {
      if (serving === value) return;
      serving = value;
      for (const notify of watchers) notify();
    },
    isServing: () => serving,
    register(router) {
      router.service(Health, {
        check(req) {
          const status = statusOf(req.service);
          if (status === ServingStatus.SERVICE_UNKNOWN) {
            throw new ConnectError(`unknown service ${req.service}`, Code.NotFound);
          }
          return response(status);
        },
        list() {
          return { statuses: Object.fromEntries(names.map((n) => [n, response(statusOf(n))])) };
        },
        async *watch(req, ctx) {
          let last: ServingStatus | undefined;
          while (!ctx.signal.aborted) {
            const status = statusOf(req.service);
            if (status !== last) {
              last = status;
              yield response(status);
            }
            await new Promise<void>((resolve) => {
              const done = () => {
                watchers.delete(done);
                ctx.signal.removeEventListener("abort", done);
                resolve();
              };
              watchers.add(done);
              ctx.signal.addEventListener("abort", done);
            });
          }
        },
      });
    },
  };
}
