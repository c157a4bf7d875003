/**
 * The one error type the emulator throws internally. Every failure a client can see — validation,
 * auth, injected faults, routing — is an `EmulatorError` carrying the exact Bedrock error name, so
 * the HTTP layer renders it the way Bedrock does (status + `x-amzn-ErrorType` + `{"message"}`,
 * docs/wire-formats.md#bedrock-errors) and the real SDK surfaces the modeled exception class.
 * Errors of the STS stand-in carry STS error codes and are rendered as STS's XML by
 * `sts-handler.ts`.
 */

/**
 * Error names the emulator can answer with. The first block are modeled Bedrock Runtime
 * exceptions (the SDK maps them to classes); the second are AWS front-door errors (auth, routing,
 * serialization) that the SDK surfaces as `BedrockRuntimeServiceException` with that `name`.
 */
export type BedrockErrorName =
  | "ValidationException"
  | "AccessDeniedException"
  | "ResourceNotFoundException"
  | "ModelTimeoutException"
  | "ModelErrorException"
  | "ThrottlingException"
  | "ModelNotReadyException"
  | "InternalServerException"
  | "ServiceUnavailableException"
  | "SerializationException"
  | "UnknownOperationException"
  | "MissingAuthenticationTokenException"
  | "IncompleteSignatureException"
  | "InvalidSignatureException"
  | "UnrecognizedClientException"
  | "ExpiredTokenException";

/** Error codes only the STS stand-in answers with (STS's own names, Query-protocol style). */
export type StsErrorName = "AccessDenied" | "ValidationError" | "InvalidAction";

/** Every error name an {@link EmulatorError} can carry. */
export type EmulatorErrorName = BedrockErrorName | StsErrorName;

/**
 * HTTP status per error name, from the `@httpError` traits of the Bedrock Runtime Smithy model
 * (and, for the STS codes, the `awsQueryError` traits of the STS model).
 */
export const ERROR_STATUS = {
  ValidationException: 400,
  AccessDeniedException: 403,
  ResourceNotFoundException: 404,
  ModelTimeoutException: 408,
  ModelErrorException: 424,
  ThrottlingException: 429,
  ModelNotReadyException: 429,
  InternalServerException: 500,
  ServiceUnavailableException: 503,
  SerializationException: 400,
  UnknownOperationException: 404,
  MissingAuthenticationTokenException: 403,
  IncompleteSignatureException: 400,
  InvalidSignatureException: 403,
  UnrecognizedClientException: 403,
  ExpiredTokenException: 403,
  AccessDenied: 403,
  ValidationError: 400,
  InvalidAction: 400,
} as const satisfies Record<EmulatorErrorName, number>;

/**
 * `:exception-type` values the emulator can send inside a ConverseStream (the lowerCamel union
 * member names of `ConverseStreamOutput`, docs/wire-formats.md#conversestream-events). The SDK
 * turns each into the matching modeled exception while iterating the stream.
 */
export type StreamExceptionType =
  | "internalServerException"
  | "throttlingException"
  | "modelStreamErrorException"
  | "validationException"
  | "serviceUnavailableException";

/** Messages Bedrock-like services send for stream exceptions, one per member. */
export const STREAM_EXCEPTION_MESSAGES = {
  internalServerException: "The server encountered an internal error while streaming the response.",
  throttlingException: "Too many requests, please wait before trying again.",
  modelStreamErrorException: "The model encountered an error while streaming the response.",
  validationException: "The request was rejected while streaming the response.",
  serviceUnavailableException: "The service is unavailable. Try your request again later.",
} as const satisfies Record<StreamExceptionType, string>;

/** Narrows an arbitrary string to a {@link StreamExceptionType} (used by directive parsing). */
export function isStreamExceptionType(value: string): value is StreamExceptionType {
  return Object.hasOwn(STREAM_EXCEPTION_MESSAGES, value);
}

/**
 * A Bedrock-shaped failure. `details` are extra JSON members of the error body (e.g.
 * `originalStatusCode` on `ModelErrorException`); the message is always client-safe.
 */
export class EmulatorError extends Error {
  readonly errorName: EmulatorErrorName;
  readonly status: number;
  readonly details: Readonly<Record<string, string | number>>;

  constructor(
    errorName: EmulatorErrorName,
    message: string,
    details: Readonly<Record<string, string | number>> = {},
  ) {
    super(message);
    this.name = errorName;
    this.errorName = errorName;
    this.status = ERROR_STATUS[errorName];
    this.details = details;
  }

  /** The JSON error body exactly as Bedrock sends it: `{"message": ..., ...details}`. */
  toBody(): Record<string, string | number> {
    return { message: this.message, ...this.details };
  }
}

/** Shorthand for the most common error: a 400 `ValidationException` with a clear message. */
export function validationError(message: string): EmulatorError {
  return new EmulatorError("ValidationException", message);
}
