/**
 * Maps a request line to a Bedrock Runtime operation (docs/wire-formats.md#operations-and-paths),
 * or to the STS stand-in (`POST /`, where the AWS Query protocol sends every STS action; Bedrock
 * Runtime has no operation on `/`). Routing works on the raw path: the SDK percent-encodes the
 * model id label fully (`:` → `%3A`, and `/` → `%2F` inside ARNs), so the path is split on `/`
 * first and only the model segment is decoded.
 */
import type { BedrockOperation } from "./request-log.ts";

/** The result of routing: an operation on a model, an STS request, or no match. */
export type Route =
  | {
      readonly kind: "operation";
      readonly operation: BedrockOperation;
      readonly modelId: string;
    }
  | { readonly kind: "sts"; readonly modelId: "" }
  | { readonly kind: "unknown"; readonly modelId: string };

const OPERATIONS = {
  converse: "Converse",
  "converse-stream": "ConverseStream",
  invoke: "InvokeModel",
  "invoke-with-response-stream": "InvokeModelWithResponseStream",
} as const satisfies Record<string, BedrockOperation>;

const MODEL_PATH = /^\/model\/([^/]+)\/([a-z-]+)$/;

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * Routes `POST /model/{modelId}/{action}` and `POST /` (STS). A malformed percent-encoding in the
 * model segment routes to the operation with an empty model id (which then fails model
 * resolution).
 */
export function routeRequest(method: string, rawPath: string): Route {
  if (method === "POST" && rawPath === "/") return { kind: "sts", modelId: "" };
  const match = MODEL_PATH.exec(rawPath);
  if (!match) return { kind: "unknown", modelId: "" };
  const [, segment = "", action = ""] = match;
  const modelId = decodeSegment(segment) ?? "";
  if (method !== "POST" || !Object.hasOwn(OPERATIONS, action)) {
    return { kind: "unknown", modelId };
  }
  return { kind: "operation", operation: OPERATIONS[action as keyof typeof OPERATIONS], modelId };
}
