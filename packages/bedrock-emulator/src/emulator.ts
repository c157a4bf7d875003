/**
 * The emulator itself: one port serving Bedrock Runtime over HTTP/1.1 and h2c (and the STS
 * stand-in on `POST /`), authenticating, routing to the operation handlers, rendering
 * Bedrock-shaped (or STS-shaped) errors, and logging every request.
 */
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import {
  type AuthPolicy,
  accessKeyIdOf,
  authenticate,
  authKindOf,
  STS_SIGNING_SERVICE,
  type StrictSigV4Credentials,
} from "./auth.ts";
import { handleConverse } from "./converse-handler.ts";
import { createFaultCounter } from "./directives.ts";
import { createDualProtocolServer } from "./dual-protocol-server.ts";
import { EmulatorError } from "./emulator-error.ts";
import { createHttpExchange, type HttpExchange } from "./http-exchange.ts";
import { handleInspection, INSPECTION_PREFIX } from "./inspection.ts";
import { handleInvoke } from "./invoke-handler.ts";
import { createModelCatalogue, type EmulatedModel } from "./models.ts";
import type { OperationContext } from "./operation-context.ts";
import {
  type BedrockOperation,
  createRequestLog,
  type RequestEnd,
  type RequestRecord,
} from "./request-log.ts";
import { routeRequest } from "./route.ts";
import { createStsStandIn, type StsRole } from "./sts.ts";
import { handleSts, sendStsError, stsErrorOf } from "./sts-handler.ts";

/** Options of {@link createBedrockEmulator}; every field is optional. */
export interface BedrockEmulatorOptions {
  /** Models to serve. Default: the built-in catalogue (`BUILT_IN_MODELS`). */
  models?: EmulatedModel[];
  /**
   * Verify SigV4 signatures exactly against these credentials: a wrong secret gets 403
   * `InvalidSignatureException`, another access key 403 `UnrecognizedClientException`, and Bearer
   * tokens are rejected unless `bearerToken` is set and matches. Default: shape check only.
   */
  strictSigV4?: StrictSigV4Credentials;
  /** When set, `Authorization: Bearer` must carry exactly this token. Default: any token. */
  bearerToken?: string;
  /** Size of the request-log ring buffer. Default 1000. */
  maxRecordedRequests?: number;
  /**
   * Roles the STS stand-in (`POST /`, AssumeRole) lets callers assume, each with the external id
   * its trust policy requires, if any. Another role, or a wrong or missing external id, gets 403
   * `AccessDenied`. Default: any role ARN is accepted and external ids are not checked.
   */
  stsRoles?: StsRole[];
}

/** A running (or ready-to-run) emulator. */
export interface BedrockEmulator {
  /** Starts listening; defaults `port` 0 (ephemeral) and `host` "127.0.0.1". */
  listen(port?: number, host?: string): Promise<{ url: string; port: number }>;
  /** Stops listening, destroys open sockets and HTTP/2 sessions, and waits for handlers to end. */
  close(): Promise<void>;
  /** Recent requests, oldest first (copies). */
  requests(): RequestRecord[];
  clearRequests(): void;
  /**
   * Resolves with the first *finished* request (completed, aborted or error) matching
   * `predicate`, already logged or future; rejects after `timeoutMs` (default 5000).
   */
  waitForRequest(
    predicate: (record: RequestRecord) => boolean,
    timeoutMs?: number,
  ): Promise<RequestRecord>;
}

/** Largest request body accepted (Bedrock's own limits are lower for most models). */
const MAX_BODY_BYTES = 32 * 1024 * 1024;
const DEFAULT_WAIT_TIMEOUT_MS = 5000;

function runOperation(operation: BedrockOperation, context: OperationContext): Promise<RequestEnd> {
  switch (operation) {
    case "Converse":
      return handleConverse(context, false);
    case "ConverseStream":
      return handleConverse(context, true);
    case "InvokeModel":
      return handleInvoke(context, false);
    case "InvokeModelWithResponseStream":
      return handleInvoke(context, true);
    default: {
      const exhaustive: never = operation;
      throw new Error(`unhandled operation ${String(exhaustive)}`);
    }
  }
}

/** Renders an error as Bedrock does: status, `x-amzn-ErrorType`, JSON `{"message"}`. */
function sendError(exchange: HttpExchange, error: EmulatorError, requestId: string): void {
  exchange.respond(
    error.status,
    {
      "content-type": "application/json",
      "x-amzn-RequestId": requestId,
      "x-amzn-ErrorType": error.errorName,
    },
    JSON.stringify(error.toBody()),
  );
}

const formatUrl = (host: string, port: number) =>
  `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

/**
 * Creates a Bedrock Runtime emulator that the real `@aws-sdk/client-bedrock-runtime` talks to
 * unchanged (HTTP/2 default handler or `NodeHttpHandler`). See the package README.
 */
export function createBedrockEmulator(options: BedrockEmulatorOptions = {}): BedrockEmulator {
  const catalogue = createModelCatalogue(options.models);
  const log = createRequestLog({ capacity: options.maxRecordedRequests ?? 1000 });
  const sts = createStsStandIn(options.stsRoles);
  const policy: AuthPolicy = {
    strictSigV4: options.strictSigV4,
    bearerToken: options.bearerToken,
    sessionCredentials: (accessKeyId) => sts.sessionCredentials(accessKeyId),
  };
  const inFlight = new Set<Promise<void>>();
  const faults = createFaultCounter();
  let state: "new" | "listening" | "closed" = "new";

  async function handle(exchange: HttpExchange): Promise<void> {
    const requestId = randomUUID();
    const arrivedAt = performance.now();
    if (exchange.rawPath.startsWith(INSPECTION_PREFIX)) {
      handleInspection(exchange, log, requestId);
      return;
    }
    const route = routeRequest(exchange.method, exchange.rawPath);
    const authorization = exchange.header("authorization");
    const record = log.start({
      id: requestId,
      operation: route.kind === "operation" ? route.operation : "Unknown",
      modelId: route.modelId,
      httpVersion: exchange.httpVersion,
      auth: authKindOf(authorization),
      startedAt: Date.now(),
    });
    const accessKeyId = accessKeyIdOf(authorization);
    if (accessKeyId !== undefined) record.accessKeyId = accessKeyId;
    try {
      if (route.kind === "unknown") {
        throw new EmulatorError(
          "UnknownOperationException",
          `No operation matches ${exchange.method} ${exchange.rawPath}.`,
        );
      }
      const body = await exchange.readBody(MAX_BODY_BYTES);
      const signed = {
        method: exchange.method,
        rawPath: exchange.rawPath,
        rawQuery: exchange.rawQuery,
        header: (name: string) => exchange.header(name),
        body,
      };
      if (route.kind === "sts") {
        const end = handleSts({
          exchange,
          record,
          body,
          sts,
          authenticate: () => authenticate(policy, signed, Date.now(), STS_SIGNING_SERVICE),
          now: Date.now,
        });
        log.finish(record, end);
        return;
      }
      authenticate(policy, signed, Date.now());
      const model = catalogue.resolve(route.modelId);
      const end = await runOperation(route.operation, {
        exchange,
        record,
        model,
        body,
        faults,
        latencyMs: () => Math.round(performance.now() - arrivedAt),
      });
      log.finish(record, exchange.signal.aborted ? { outcome: "aborted" } : end);
    } catch (error) {
      if (exchange.signal.aborted) {
        log.finish(record, { outcome: "aborted" });
        return;
      }
      const failure =
        error instanceof EmulatorError
          ? error
          : new EmulatorError(
              "InternalServerException",
              `The emulator failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`,
            );
      if (exchange.headersSent) {
        exchange.destroy();
        log.finish(record, { outcome: "error", status: 200, errorType: failure.errorName });
        return;
      }
      if (route.kind === "sts") {
        sendStsError(exchange, failure, requestId);
        const { code, status } = stsErrorOf(failure);
        log.finish(record, { outcome: "error", status, errorType: code });
        return;
      }
      sendError(exchange, failure, requestId);
      log.finish(record, {
        outcome: "error",
        status: failure.status,
        errorType: failure.errorName,
      });
    }
  }

  const server = createDualProtocolServer({
    onRequest(req, res) {
      const exchange = createHttpExchange(req, res);
      const task = handle(exchange).catch(() => exchange.destroy());
      inFlight.add(task);
      void task.finally(() => inFlight.delete(task));
    },
  });

  return {
    async listen(port = 0, host = "127.0.0.1") {
      if (state !== "new") throw new Error(`The emulator cannot listen: it is ${state}.`);
      state = "listening";
      try {
        const address = await server.listen(port, host);
        return { url: formatUrl(host, address.port), port: address.port };
      } catch (error) {
        state = "new";
        throw error;
      }
    },
    async close() {
      if (state === "closed") return;
      state = "closed";
      log.close();
      await server.close();
      await Promise.allSettled([...inFlight]);
    },
    requests: () => log.list(),
    clearRequests: () => log.clear(),
    waitForRequest: (predicate, timeoutMs = DEFAULT_WAIT_TIMEOUT_MS) =>
      log.waitFor(predicate, timeoutMs),
  };
}
