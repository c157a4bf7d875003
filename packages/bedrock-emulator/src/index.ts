/**
 * @strata/bedrock-emulator — a local Amazon Bedrock Runtime that the real AWS SDK talks to
 * unchanged. Public API first; see README.md for behaviour, directives and limits.
 */
// biome-ignore-all assist/source/organizeImports: the public API comes first (STYLE.md rule 1)

export {
  type BedrockEmulator,
  type BedrockEmulatorOptions,
  createBedrockEmulator,
} from "./emulator.ts";
export type { Operation, Outcome, RequestRecord } from "./request-log.ts";
export type { EmulatedModel, ModelFamily } from "./models.ts";
export type { AuthKind, StrictSigV4Credentials } from "./auth.ts";

// Below: helpers for other Strata packages and for users extending the catalogue.
/** The built-in catalogue, model-id resolution (profiles, ARNs) and the geo prefixes it knows. */
export { BUILT_IN_MODELS, baseModelId, INFERENCE_PROFILE_PREFIXES } from "./models.ts";
/** Directive names and the statuses `[[emulator:status=NNN]]` accepts, for generated docs/tests. */
export { DIRECTIVE_NAMES, STATUS_DIRECTIVE_ERRORS } from "./directives.ts";
/** Decodes one event-stream frame, for tests that read a raw ConverseStream body. */
export { decodeFrame } from "./event-stream.ts";
