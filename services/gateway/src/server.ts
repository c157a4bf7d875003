import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { asStrataError, StrataError } from "@strata/errors";
import { type Logger, newRequestId, startSpan, type TraceSpan } from "@strata/platform";
import { UpstreamPolicySchema } from "@strata/proto";
import type { Registry } from "prom-client";
import type { Authenticator } from "./authenticator.ts";
import { clientErrorResponse } from "./client-error.ts";
import type { GatewayDeps, RequestContext } from "./context.ts";
import { readJsonBody, sendError } from "./http.ts";
import { createGatewayMetrics } from "./metrics.ts";
import { endpointAllowed, sourceAllowed } from "./policy.ts";
import { loggablePath, matchRoute, unknownUrl, unmatchedLabels } from "./routes.ts";

/** What the gateway needs; main.ts builds it from the configuration. */
export interface GatewayServerDeps extends Omit<GatewayDeps, "metrics"> {
  authenticator: Authenticator;
  /** The client's address for a request (socket, or a trusted proxy's header). */
  clientIp: (req: IncomingMessage) => string;
  logger: Logger;
  registry: Registry;
  host: string;
  port: number;
}

/** The running gateway. */
export interface GatewayServer {
  readonly port: number;
  setServing(serving: boolean): void;
  isServing(): boolean;
  /** Stops accepting; in-flight requests (streams included) may finish until graceMs. */
  close(graceMs: number): Promise<void>;
}

/**
 * The public OpenAI-compatible HTTP server. Every response carries `x-request-id`; every error is
 * OpenAI's envelope with the right status; the order of checks follows OpenAI's (route, key, body,
 * model), so clients see the same error classes they would from OpenAI.
 */
export async function createGatewayServer(deps: GatewayServerDeps): Promise<GatewayServer> {
  const metrics = createGatewayMetrics(deps.registry);
  const shared: GatewayDeps = { ...deps, metrics };
  let ready = false;

  const handle = async (req: IncomingMessage, res: ServerResponse, span: TraceSpan) => {
    const requestId = newRequestId();
    const startedAt = performance.now();
    const startedAtMs = Date.now();
    res.setHeader("x-request-id", requestId);
    const abort = new AbortController();
    res.once("close", () => {
      if (!res.writableFinished)
        abort.abort(new StrataError("cancelled", "The client closed the connection."));
    });
    const path = (req.url ?? "/").split("?", 1)[0] ?? "/";
    const found = matchRoute(path);
    const matched = found?.route;
    const template = matched?.template ?? "(unmatched)";
    span.updateName(`${req.method} ${template}`);
    span.setAttributes({ "url.path": template });
    let failure: StrataError | undefined;
    let log = deps.logger.child({ requestId });
    let ctx: RequestContext | undefined;
    try {
      if (!matched || req.method !== matched.method) {
        req.resume();
        metrics.unmatched.inc(unmatchedLabels(req.method, path));
        if (matched) res.setHeader("allow", matched.method);
        throw unknownUrl(req.method, path);
      }
      const sourceIp = deps.clientIp(req);
      const caller = await deps.authenticator.authenticate(req.headers.authorization, sourceIp);
      log = log.child({ tenantId: caller.principal.tenantId, keyId: caller.principal.keyId });
      const tenantPolicy = caller.policy.tenant;
      const upstream =
        tenantPolicy?.guardrail || tenantPolicy?.crossAccount
          ? create(UpstreamPolicySchema, {
              guardrail: tenantPolicy.guardrail,
              crossAccount: tenantPolicy.crossAccount,
            })
          : undefined;
      ctx = {
        requestId,
        startedAt,
        startedAtMs,
        req,
        res,
        log,
        signal: abort.signal,
        caller,
        sourceIp,
        upstream,
      };
      if (!sourceAllowed(caller.policy, sourceIp)) {
        shared.securityEvents.report({
          principal: caller.principal,
          action: "source.denied",
          target: sourceIp,
          requestId,
          source: sourceIp,
        });
        // OpenAI answers an address outside a project's allowlist with 401 "IP not authorized".
        throw new StrataError(
          "unauthenticated",
          `IP not authorized: ${sourceIp} is outside the addresses allowed for this key.`,
          {
            code: "ip_not_authorized",
          },
        );
      }
      if (!endpointAllowed(caller.policy, matched.endpoint)) {
        throw new StrataError(
          "permission_denied",
          `Your API key is not allowed to use ${matched.endpoint}.`,
          {
            code: "endpoint_not_allowed",
          },
        );
      }
      if (matched.method === "POST") {
        const body = await readJsonBody(req, deps.maxBodyBytes, deps.bodyTimeoutMs);
        await matched.handle(shared, ctx, body);
      } else {
        req.resume();
        await matched.handle(shared, ctx, undefined, found.id);
      }
    } catch (error) {
      const strata = asStrataError(error);
      failure = strata;
      span.setAttributes({ "strata.error.reason": strata.reason });
      if (strata.reason === "internal")
        log.error({ err: strata.cause ?? strata }, "request failed");
      // The rest of a body that did not arrive in time is not worth waiting for.
      if (strata.reason === "request_timeout") res.setHeader("connection", "close");
      if (!abort.signal.aborted) sendError(res, strata);
    } finally {
      const durationMs = performance.now() - startedAt;
      const code = abort.signal.aborted && !res.writableFinished ? 499 : res.statusCode;
      const tenant = ctx?.caller.principal.tenantId ?? "";
      const model = ctx?.model ?? "";
      const endpoint = matched?.endpoint ?? "unknown";
      span.setAttributes({
        "http.response.status_code": code,
        "strata.tenant_id": tenant || undefined,
        "gen_ai.request.model": model || undefined,
      });
      if (failure && code >= 500) span.fail(failure);
      span.end();
      metrics.requests.inc({ tenant, model, endpoint, code: String(code) });
      metrics.duration.observe({ tenant, model, endpoint, code: String(code) }, durationMs / 1000);
      log.info(
        {
          method: req.method,
          // Unmatched paths too (clients trying routes Strata lacks), bounded and masked.
          path: loggablePath(path),
          ...(matched ? {} : { route: "(unmatched)" }),
          status: code,
          model,
          durationMs: Math.round(durationMs),
        },
        "request",
      );
    }
  };

  const server: Server = createServer(
    { keepAliveTimeout: 65_000, requestTimeout: 0 },
    (req, res) => {
      // Load balancers' health check on the traffic port (no key, no span, no log line): 200 while
      // serving, 503 while starting or draining after SIGTERM.
      // Draining after SIGTERM: each response closes its connection, so keep-alive clients move
      // to another replica before the server closes what is left idle.
      if (!ready) res.setHeader("connection", "close");
      if (req.url === "/readyz" && (req.method === "GET" || req.method === "HEAD")) {
        req.resume();
        res.writeHead(ready ? 200 : 503, { "content-type": "application/json" });
        res.end(ready ? '{"status":"ready"}' : '{"status":"not ready"}');
        return;
      }
      // One SERVER span per request, continuing the client's trace when it sent `traceparent`.
      const span = startSpan(`${req.method ?? "HTTP"}`, {
        kind: "server",
        carrier: req.headers,
        attributes: { "http.request.method": req.method },
      });
      void span.run(() => handle(req, res, span));
    },
  );
  // Requests Node's parser refuses (oversized headers, malformed HTTP) get OpenAI's envelope too.
  server.on("clientError", (error: NodeJS.ErrnoException, socket) => {
    const answer = socket.writable ? clientErrorResponse(error, newRequestId()) : undefined;
    if (answer) socket.end(answer);
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(deps.port, deps.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    setServing: (value) => {
      ready = value;
    },
    isServing: () => ready,
    close: (graceMs) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          deps.catalog.close();
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
