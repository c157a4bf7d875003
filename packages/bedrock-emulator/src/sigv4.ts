/**
 * AWS Signature Version 4 parsing and verification for incoming requests, as AWS's signing guide
 * describes it
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html) and
 * validated against `@smithy/signature-v4`. What matters to a verifier
 * (docs/wire-formats.md#sigv4): the canonical URI is the wire path URI-encoded a second time, and
 * over HTTP/2 the SDK signs `:authority` instead of `host`. Pure apart from hashing.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { EmulatorError } from "./emulator-error.ts";

/** The algorithm prefix of a SigV4 `Authorization` header. */
export const SIGV4_ALGORITHM = "AWS4-HMAC-SHA256";
/** Largest accepted clock skew between `x-amz-date` and the emulator's clock. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

/** The parts of `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`. */
export interface SigV4Authorization {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

/** What verification needs from the HTTP request, exactly as received. */
export interface SignedRequest {
  readonly method: string;
  /** Path as on the wire (still percent-encoded), without the query. */
  readonly rawPath: string;
  /** Query string as on the wire, without `?`. */
  readonly rawQuery: string;
  /** Header lookup by lower-case name (HTTP/2 pseudo-headers included). */
  header(name: string): string | undefined;
  readonly body: Uint8Array;
}

const incomplete = (message: string) => new EmulatorError("IncompleteSignatureException", message);

/**
 * Parses a SigV4 `Authorization` header value. Throws `IncompleteSignatureException` when a
 * component is missing or malformed — the shape check the emulator always applies.
 */
export function parseSigV4Authorization(value: string): SigV4Authorization {
  if (!value.startsWith(`${SIGV4_ALGORITHM} `)) {
    throw incomplete(`Authorization header must use the ${SIGV4_ALGORITHM} algorithm.`);
  }
  const params = new Map<string, string>();
  for (const part of value.slice(SIGV4_ALGORITHM.length).split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) params.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = params.get("Credential");
  const signedHeaders = params.get("SignedHeaders");
  const signature = params.get("Signature");
  for (const [name, param] of [
    ["Credential", credential],
    ["SignedHeaders", signedHeaders],
    ["Signature", signature],
  ] as const) {
    if (!param) {
      throw incomplete(`Authorization header requires '${name}' parameter. Authorization=${value}`);
    }
  }
  const scope = (credential ?? "").split("/");
  const [accessKeyId, date, region, service, terminator] = scope;
  if (
    scope.length !== 5 ||
    !accessKeyId ||
    !date ||
    !/^\d{8}$/.test(date) ||
    !region ||
    !service ||
    terminator !== "aws4_request"
  ) {
    throw incomplete(
      "Credential should be of the form <access key id>/<yyyymmdd>/<region>/<service>/aws4_request.",
    );
  }
  if (!/^[0-9a-f]{64}$/.test(signature ?? "")) {
    throw incomplete("Signature must be 64 lower-case hexadecimal characters.");
  }
  return {
    accessKeyId,
    date,
    region,
    service,
    signedHeaders: (signedHeaders ?? "").split(";"),
    signature: signature ?? "",
  };
}

/** RFC 3986 encoding as the SDK's `escapeUri` does it (`!'()*` escaped too). */
function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Canonical URI: the wire path with dot/empty segments normalised, URI-encoded again. */
export function canonicalUri(rawPath: string): string {
  const segments: string[] = [];
  for (const segment of rawPath.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  const trailing = segments.length > 0 && rawPath.endsWith("/") ? "/" : "";
  const normalised = `/${segments.join("/")}${trailing}`;
  return escapeUri(normalised).replace(/%2F/g, "/");
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Canonical query: decoded pairs re-encoded, sorted by key then value. */
export function canonicalQuery(rawQuery: string): string {
  if (rawQuery === "") return "";
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, " "));
    } catch {
      return s;
    }
  };
  return rawQuery
    .split("&")
    .filter((pair) => pair !== "")
    .map((pair) => {
      const eq = pair.indexOf("=");
      const key = eq < 0 ? pair : pair.slice(0, eq);
      const value = eq < 0 ? "" : pair.slice(eq + 1);
      return [escapeUri(decode(key)), escapeUri(decode(value))] as const;
    })
    .filter(([key]) => key.toLowerCase() !== "x-amz-signature")
    .sort(([ak, av], [bk, bv]) => compare(ak, bk) || compare(av, bv))
    .map(([key, value]) => `${key}=${value}`)
    .join("&");
}

const canonicalHeaderValue = (value: string) =>
  value
    .replace(/[\r\n]/g, " ")
    .replace(/[ \t]+/g, " ")
    .replace(/^ | $/g, "");

const sha256Hex = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) =>
  createHmac("sha256", key).update(data).digest();

/** Parses `yyyymmddThhmmssZ` to epoch milliseconds; NaN when malformed. */
function amzDateToMs(amzDate: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m) return Number.NaN;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  return Date.UTC(y ?? 0, (mo ?? 1) - 1, d, h, mi, s);
}

/** Inputs of {@link verifySigV4}. */
export interface VerifySigV4Options {
  readonly request: SignedRequest;
  readonly authorization: SigV4Authorization;
  readonly secretAccessKey: string;
  /** Signing name the scope must name; Bedrock Runtime signs as `bedrock`. */
  readonly service: string;
  /** Current time in epoch ms (injectable for tests). */
  readonly now: number;
}

/**
 * Recomputes the signature and compares it in constant time. Throws `InvalidSignatureException`
 * (wrong secret, tampered request, wrong service, expired date) or `IncompleteSignatureException`
 * (missing `x-amz-date`, unsigned signed header).
 */
export function verifySigV4(options: VerifySigV4Options): void {
  const { request, authorization, secretAccessKey, service, now } = options;
  if (authorization.service !== service) {
    throw new EmulatorError(
      "InvalidSignatureException",
      `Credential should be scoped to correct service: '${service}'.`,
    );
  }
  const amzDate = request.header("x-amz-date");
  if (!amzDate) throw incomplete("Authorization requires the X-Amz-Date header.");
  const signedAt = amzDateToMs(amzDate);
  if (Number.isNaN(signedAt) || amzDate.slice(0, 8) !== authorization.date) {
    throw new EmulatorError(
      "InvalidSignatureException",
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${authorization.date}' != '${amzDate.slice(0, 8)}'.`,
    );
  }
  if (Math.abs(now - signedAt) > MAX_CLOCK_SKEW_MS) {
    throw new EmulatorError(
      "InvalidSignatureException",
      `Signature expired: ${amzDate} is now earlier or later than the allowed 15 minute window.`,
    );
  }
  const bodyHash = sha256Hex(request.body);
  const declaredHash = request.header("x-amz-content-sha256");
  if (declaredHash !== undefined && declaredHash !== bodyHash) {
    throw new EmulatorError(
      "InvalidSignatureException",
      "The provided x-amz-content-sha256 header does not match what was computed.",
    );
  }
  const headerLines = authorization.signedHeaders.map((name) => {
    const value = request.header(name);
    if (value === undefined) throw incomplete(`Signed header ${name} is missing from the request.`);
    return `${name}:${canonicalHeaderValue(value)}`;
  });
  const canonicalRequest = [
    request.method,
    canonicalUri(request.rawPath),
    canonicalQuery(request.rawQuery),
    ...headerLines,
    "",
    authorization.signedHeaders.join(";"),
    declaredHash ?? bodyHash,
  ].join("\n");
  const scope = `${authorization.date}/${authorization.region}/${authorization.service}/aws4_request`;
  const stringToSign = [SIGV4_ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join("\n");
  let key = hmac(`AWS4${secretAccessKey}`, authorization.date);
  for (const part of [authorization.region, authorization.service, "aws4_request"]) {
    key = hmac(key, part);
  }
  const expected = createHmac("sha256", key).update(stringToSign).digest();
  const provided = Buffer.from(authorization.signature, "hex");
  if (provided.length !== expected.length || !timingSafeEqual(provided, expected)) {
    throw new EmulatorError(
      "InvalidSignatureException",
      "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
    );
  }
}
