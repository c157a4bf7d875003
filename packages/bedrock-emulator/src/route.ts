/**
 * Maps a request line to a Bedrock Runtime operation (reference/protocols.md §2.1). Routing works
 * on the raw path: the SDK percent-encodes the model id label fully (`:` → `%3A`, and `/` → `%2F`
 * inside ARNs), so the path is split on `/` first and only the model segment is decoded.
 */
import type { Operation } from "./request-log.ts";

/** The result of routing: an operation on a model, or no match. */
export type Route =
  | {
      readonly kind: "operation";
      readonly operation: Exclude<Operation, "Unknown">;
      readonly modelId: string;
    }
  | { readonly kind: "unknown"; readonly modelId: string };

const OPERATIONS = {
  converse: "Converse",
  "converse-stream": "ConverseStream",
  invoke: "InvokeModel",
  "invoke-with-response-stream": "InvokeModelWithResponseStream",
} as const satisfies Record<string, Exclude<Operation, "Unknown">>;

const MODEL_PATH = /^\/model\/([^/]+)\/([a-z-]+)$/;

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * Routes `POST /model/{modelId}/{action}`. A malformed percent-encoding in the model segment
 * routes to the operation with an empty model id (which then fails model resolution).
 */
export function routeRequest(method: string, rawPath: string): Route {
  const match = MODEL_PATH.exec(rawPath);
  if (!match) return { kind: "unknown", modelId: "" };
  const [, segment = "", action = ""] = match;
  const modelId = decodeSegment(segment) ?? "";
  if (method !== "POST" || !Object.hasOwn(OPERATIONS, action)) {
    return { kind: "unknown", modelId };
  }
  return { kind: "operation", operation: OPERATIONS[action as keyof typeof OPERATIONS], modelId };
}
