/**
 * The STS stand-in on the wire. `@aws-sdk/client-sts` 3.x speaks the AWS Query protocol (checked
 * against 3.1164: `AwsQueryProtocol` in its runtime config, and a capture of what
 * `AssumeRoleCommand` sends): `POST /` with `content-type: application/x-www-form-urlencoded` and
 * a body `Action=AssumeRole&Version=2011-06-15&RoleArn=…&RoleSessionName=…[&DurationSeconds=…]
 * [&ExternalId=…]`, SigV4-signed for the service `sts`. Answers are the XML documents its awsQuery
 * parser reads: `<AssumeRoleResponse>` on success, `<ErrorResponse>` with the STS error code
 * otherwise.
 */
import { EmulatorError, type EmulatorErrorName } from "./emulator-error.ts";
import type { HttpExchange } from "./http-exchange.ts";
import type { RequestEnd, RequestRecord } from "./request-log.ts";
import { parseAssumeRoleParams, type StsStandIn } from "./sts.ts";

/** The STS API version the Query protocol names in `Version`. */
export const STS_VERSION = "2011-06-15";
/** The XML namespace of STS documents. */
export const STS_XMLNS = `https://sts.amazonaws.com/doc/${STS_VERSION}/`;

/** Inputs of {@link handleSts}. */
export interface StsContext {
  readonly exchange: HttpExchange;
  /** The log record; the handler sets `operation`, `roleArn` and `body`. */
  readonly record: RequestRecord;
  readonly body: Buffer;
  readonly sts: StsStandIn;
  /** Authenticates the request for the signing service `sts` (throws the front-door error). */
  authenticate(): void;
  now(): number;
}

const escapeXml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c] ?? c,
  );

/** ISO 8601 without milliseconds, as STS writes timestamps. */
const isoSeconds = (epochMs: number) => new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, "Z");

/**
 * Serves one STS request. Throws `EmulatorError`s (rendered by {@link sendStsError}): front-door
 * auth errors, `InvalidAction` for anything but AssumeRole, `ValidationError`, `AccessDenied`.
 */
export function handleSts(context: StsContext): RequestEnd {
  const { exchange, record } = context;
  const contentType = exchange.header("content-type") ?? "";
  if (!/^application\/x-www-form-urlencoded\b/i.test(contentType)) {
    throw new EmulatorError(
      "InvalidAction",
      "The STS stand-in speaks the AWS Query protocol: POST / with an application/x-www-form-urlencoded body.",
    );
  }
  const form = new URLSearchParams(context.body.toString("utf8"));
  record.body = Object.fromEntries(form);
  const action = form.get("Action") ?? "";
  const version = form.get("Version") ?? "";
  if (action === "AssumeRole") {
    record.operation = "AssumeRole";
    const roleArn = form.get("RoleArn");
    if (roleArn !== null) record.roleArn = roleArn;
  }
  context.authenticate();
  if (action !== "AssumeRole" || version !== STS_VERSION) {
    throw new EmulatorError(
      "InvalidAction",
      `Could not find operation ${action} for version ${version}. The STS stand-in serves AssumeRole (version ${STS_VERSION}).`,
    );
  }
  const params = parseAssumeRoleParams(form);
  const result = context.sts.assumeRole(params, record.accessKeyId, context.now());
  const xml =
    `<AssumeRoleResponse xmlns="${STS_XMLNS}"><AssumeRoleResult>` +
    "<Credentials>" +
    `<AccessKeyId>${result.accessKeyId}</AccessKeyId>` +
    `<SecretAccessKey>${escapeXml(result.secretAccessKey)}</SecretAccessKey>` +
    `<SessionToken>${escapeXml(result.sessionToken)}</SessionToken>` +
    `<Expiration>${isoSeconds(result.expiresAt)}</Expiration>` +
    "</Credentials>" +
    "<AssumedRoleUser>" +
    `<AssumedRoleId>${escapeXml(result.assumedRoleId)}</AssumedRoleId>` +
    `<Arn>${escapeXml(result.assumedRoleArn)}</Arn>` +
    "</AssumedRoleUser>" +
    `</AssumeRoleResult><ResponseMetadata><RequestId>${record.id}</RequestId></ResponseMetadata></AssumeRoleResponse>`;
  exchange.respond(200, { "content-type": "text/xml", "x-amzn-RequestId": record.id }, xml);
  return { outcome: "completed", status: 200 };
}

/**
 * The STS error code and status for each emulator error. AWS front-door errors have their own
 * names on Query-protocol services (`InvalidClientTokenId`, `SignatureDoesNotMatch`, …); the
 * Bedrock-only names cannot reach STS and are internal failures there.
 */
const STS_ERRORS = {
  AccessDenied: { code: "AccessDenied", status: 403 },
  ValidationError: { code: "ValidationError", status: 400 },
  InvalidAction: { code: "InvalidAction", status: 400 },
  ValidationException: { code: "ValidationError", status: 400 },
  SerializationException: { code: "MalformedInput", status: 400 },
  UnknownOperationException: { code: "InvalidAction", status: 400 },
  MissingAuthenticationTokenException: { code: "MissingAuthenticationToken", status: 403 },
  IncompleteSignatureException: { code: "IncompleteSignature", status: 400 },
  InvalidSignatureException: { code: "SignatureDoesNotMatch", status: 403 },
  UnrecognizedClientException: { code: "InvalidClientTokenId", status: 403 },
  ExpiredTokenException: { code: "ExpiredToken", status: 400 },
  AccessDeniedException: { code: "AccessDenied", status: 403 },
  ThrottlingException: { code: "Throttling", status: 400 },
  ServiceUnavailableException: { code: "ServiceUnavailable", status: 503 },
  ResourceNotFoundException: { code: "InternalFailure", status: 500 },
  ModelTimeoutException: { code: "InternalFailure", status: 500 },
  ModelErrorException: { code: "InternalFailure", status: 500 },
  ModelNotReadyException: { code: "InternalFailure", status: 500 },
  InternalServerException: { code: "InternalFailure", status: 500 },
} as const satisfies Record<EmulatorErrorName, { code: string; status: number }>;

/** The STS error code an error is rendered with (also the request log's `errorType`). */
export function stsErrorOf(error: EmulatorError): { code: string; status: number } {
  return STS_ERRORS[error.errorName];
}

/**
 * Renders an error as STS does: `<ErrorResponse><Error><Type>Sender|Receiver</Type><Code>…`
 * `</Code><Message>…</Message></Error><RequestId>…</RequestId></ErrorResponse>`, which the SDK
 * turns into an exception named by `Code`.
 */
export function sendStsError(
  exchange: HttpExchange,
  error: EmulatorError,
  requestId: string,
): void {
  const { code, status } = stsErrorOf(error);
  const type = status >= 500 ? "Receiver" : "Sender";
  exchange.respond(
    status,
    { "content-type": "text/xml", "x-amzn-RequestId": requestId },
    `<ErrorResponse xmlns="${STS_XMLNS}"><Error><Type>${type}</Type><Code>${code}</Code>` +
      `<Message>${escapeXml(error.message)}</Message></Error>` +
      `<RequestId>${requestId}</RequestId></ErrorResponse>`,
  );
}
