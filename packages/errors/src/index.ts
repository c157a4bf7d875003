export { StrataError, invalidRequest, type StrataErrorOptions } from "./strata-error.ts";
export { toOpenAIError, type OpenAIErrorBody, type OpenAIErrorResponse } from "./openai.ts";
export { toConnectError, fromConnectError, asStrataError } from "./connect.ts";
// Below: for other Strata packages.
export {
  reasonMappings,
  grpcCodeToReason,
  isReason,
  type Reason,
  type ReasonMapping,
} from "./reasons.ts";
