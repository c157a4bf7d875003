import { StrataError } from "@strata/errors";
import { handleChatCompletion } from "./chat.ts";
import type { Endpoint, GatewayDeps, RequestContext } from "./context.ts";
import { handleEmbeddings } from "./embeddings.ts";
import { handleListModels, handleRetrieveModel } from "./models.ts";

/** One route of the public API. `{model}` in a template matches the rest of the path. */
export type Route =
  | {
      endpoint: Endpoint;
      /** The route as a template (no ids): for spans, logs and the 404's list. */
      template: string;
      method: "POST";
      handle: (deps: GatewayDeps, ctx: RequestContext, body: unknown) => Promise<void>;
    }
  | {
      endpoint: Endpoint;
      template: string;
      method: "GET";
      handle: (
        deps: GatewayDeps,
        ctx: RequestContext,
        body: undefined,
        id: string,
      ) => Promise<void>;
    };

/** Every route the gateway serves, in the order the 404 lists them. */
export const routes: readonly Route[] = [
  {
    endpoint: "chat.completions",
    template: "/v1/chat/completions",
    method: "POST",
    handle: handleChatCompletion,
  },
  { endpoint: "embeddings", template: "/v1/embeddings", method: "POST", handle: handleEmbeddings },
  { endpoint: "models", template: "/v1/models", method: "GET", handle: handleListModels },
  {
    endpoint: "models",
    template: "/v1/models/{model}",
    method: "GET",
    handle: (deps, ctx, _body, id) => handleRetrieveModel(deps, ctx, id),
  },
];

/** The route serving a path, and the id its template's `{model}` matched; undefined for none. */
export function matchRoute(path: string): { route: Route; id: string } | undefined {
  for (const route of routes) {
    const open = route.template.indexOf("{");
    if (open < 0) {
      if (path === route.template) return { route, id: "" };
    } else if (path.startsWith(route.template.slice(0, open)) && path.length > open) {
      return { route, id: path.slice(open) };
    }
  }
  return undefined;
}

/** "POST /v1/chat/completions, …": what a 404 tells a client that tried something else. */
export const supportedRoutes = routes.map((r) => `${r.method} ${r.template}`).join(", ");

/** The 404 for a request no route serves, naming the routes there are. */
export function unknownUrl(method: string | undefined, path: string): StrataError {
  return new StrataError(
    "not_found",
    `Unknown request URL: ${method} ${loggablePath(path)}. Strata serves ${supportedRoutes}.`,
    { code: "unknown_url" },
  );
}

/** Segments that look like credentials: provider key prefixes, AWS key ids, JWTs, long tokens. */
const secretLike =
  /^(?:sk-|sk_|pk-|rk-|ak-|AKIA|ASIA|eyJ|ghp_|gho_|xox)|^(?=.*\d)(?=.*[A-Za-z])[\w.~+=-]{24,}$/;

/**
 * A request path as it may be logged: without its query string (the caller strips it), at most
 * 200 characters, with every segment that looks like a key or token replaced by `[redacted]` (a
 * client that puts its API key in the URL must not get it into the logs).
 */
export function loggablePath(path: string): string {
  const masked = path
    .split("/")
    .map((segment) => {
      let decoded = segment;
      try {
        decoded = decodeURIComponent(segment);
      } catch {
        // Not percent-encoded text: checked as it is.
      }
      return secretLike.test(decoded) ? "[redacted]" : segment;
    })
    .join("/");
  return masked.length > 200 ? `${masked.slice(0, 200)}…` : masked;
}

/** API families clients ask for that Strata does not serve (OpenAI's, Anthropic's, Bedrock's). */
const knownFamilies = new Set([
  "assistants",
  "audio",
  "batches",
  "complete",
  "completions",
  "conversations",
  "engines",
  "files",
  "fine_tuning",
  "images",
  "messages",
  "moderations",
  "organizations",
  "realtime",
  "responses",
  "threads",
  "uploads",
  "vector_stores",
]);
const knownRoots = new Set(["", "api", "health", "healthz", "livez", "metrics", "model"]);
const methods = new Set(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]);

/**
 * Bounded labels for a request no route serves, for strata_gateway_unmatched_requests_total: the
 * method (or "other") and the API family the client tried (`/v1/responses`, `/v1/messages`,
 * `/model` for Bedrock's runtime API, …), or "other" — never the path itself, which is unbounded.
 */
export function unmatchedLabels(
  method: string | undefined,
  path: string,
): { method: string; route: string } {
  const [, root = "", family = ""] = path.split("/");
  let route = "other";
  if (root === "v1" && knownFamilies.has(family)) route = `/v1/${family}`;
  else if (root === "v1" && family === "") route = "/v1";
  else if (knownRoots.has(root)) route = `/${root}`;
  return { method: method && methods.has(method) ? method : "other", route };
}
