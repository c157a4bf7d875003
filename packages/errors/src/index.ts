export { asStrataError, fromConnectError, networkErrorCodes, toConnectError } from "./connect.ts";
export { type OpenAIErrorBody, type OpenAIErrorResponse, toOpenAIError } from "./openai.ts";
// Below: for other Strata packages.
export {
  grpcCodeToReason,
  isReason,
  type Reason,
  type ReasonMapping,
  reasonMappings,
} from "./reasons.ts";
export { invalidRequest, StrataError, type StrataErrorOptions } from "./strata-error.ts";
