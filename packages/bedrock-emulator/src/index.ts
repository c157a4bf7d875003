/**
 * @strata/bedrock-emulator — a local Amazon Bedrock Runtime that the real AWS SDK talks to
 * unchanged. Public API first; see README.md for behaviour, directives and limits.
 */
// biome-ignore-all assist/source/organizeImports: the public API comes first (docs/code-style.md)

export {
  type BedrockEmulator,
  type BedrockEmulatorOptions,
  createBedrockEmulator,
} from "./emulator.ts";
export type { BedrockOperation, Operation, Outcome, RequestRecord } from "./request-log.ts";
export type { StsRole } from "./sts.ts";
export type { EmulatedModel, ModelFamily } from "./models.ts";
export type { AuthKind, StrictSigV4Credentials } from "./auth.ts";

// Below: helpers for other Strata packages and for users extending the catalogue.
/** The built-in catalogue, model-id resolution (profiles, ARNs) and the geo prefixes it knows. */
export { BUILT_IN_MODELS, baseModelId, INFERENCE_PROFILE_PREFIXES } from "./models.ts";
/** Directive names and the statuses `[[emulator:status=NNN]]` accepts, for generated docs/tests. */
export { DIRECTIVE_NAMES, STATUS_DIRECTIVE_ERRORS } from "./directives.ts";
/** The access key id the STS stand-in issues for a role, for tests that assert who signed a call. */
export { roleCredentials } from "./sts.ts";
/** The word that makes a configured guardrail intervene. */
export { GUARDRAIL_BLOCKED_WORD, GUARDRAIL_TEXT } from "./generate.ts";
/** Decodes one event-stream frame, for tests that read a raw ConverseStream body. */
export { decodeFrame } from "./event-stream.ts";
