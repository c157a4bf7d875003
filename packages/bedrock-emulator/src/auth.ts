/**
 * Request authentication. Bedrock Runtime accepts SigV4 and Bearer API keys
 * (docs/wire-formats.md#authentication-to-bedrock); the emulator accepts both. By default it only
 * checks the SigV4 header's shape (any credentials work, as with other local emulators); with
 * `strictSigV4` it verifies the signature exactly, so a gateway's signing or credential bugs
 * surface in tests. Strict mode also accepts the temporary credentials the STS stand-in issued
 * (with their session token, until they expire), so cross-account setups can be tested with
 * verification on.
 */
import { EmulatorError } from "./emulator-error.ts";
import { parseSigV4Authorization, type SignedRequest, verifySigV4 } from "./sigv4.ts";

/** How a request authenticated, as recorded in the request log. */
export type AuthKind = "sigv4" | "bearer" | "none";

/** Credentials the emulator verifies SigV4 signatures against. */
export interface StrictSigV4Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** Temporary credentials issued by the STS stand-in, as strict verification needs them. */
export interface SessionCredentials {
  readonly secretAccessKey: string;
  /** Must arrive as `x-amz-security-token`. */
  readonly sessionToken: string;
  /** Epoch ms after which the credentials are refused with `ExpiredTokenException`. */
  readonly expiresAt: number;
}

/** The auth configuration of an emulator. */
export interface AuthPolicy {
  /** When set, SigV4 signatures are verified exactly and Bearer tokens must equal `bearerToken`. */
  readonly strictSigV4: StrictSigV4Credentials | undefined;
  /** When set, Bearer tokens must equal it. */
  readonly bearerToken: string | undefined;
  /** Credentials the STS stand-in issued, by access key id (strict mode accepts them too). */
  readonly sessionCredentials?:
    | ((accessKeyId: string) => SessionCredentials | undefined)
    | undefined;
}

/** Bedrock Runtime's SigV4 signing name. */
export const SIGNING_SERVICE = "bedrock";
/** STS's SigV4 signing name. */
export const STS_SIGNING_SERVICE = "sts";

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** Classifies an `Authorization` header without validating it. */
export function authKindOf(authorization: string | undefined): AuthKind {
  if (authorization === undefined) return "none";
  if (authorization.startsWith("AWS4-")) return "sigv4";
  if (/^Bearer(?:\s|$)/i.test(authorization)) return "bearer";
  return "none";
}

const CREDENTIAL_KEY = /Credential=([^/,\s]+)\//;

/**
 * The access key id named by a SigV4 `Authorization` header's `Credential`, without validating
 * anything else; undefined for other schemes. For the request log.
 */
export function accessKeyIdOf(authorization: string | undefined): string | undefined {
  if (authKindOf(authorization) !== "sigv4") return undefined;
  return CREDENTIAL_KEY.exec(authorization ?? "")?.[1];
}

const invalidToken = () =>
  new EmulatorError(
    "UnrecognizedClientException",
    "The security token included in the request is invalid.",
  );

/** The secret a strict-mode signature must verify against, or the front-door error. */
function signingSecret(
  policy: AuthPolicy,
  strict: StrictSigV4Credentials,
  accessKeyId: string,
  request: SignedRequest,
  now: number,
): string {
  if (accessKeyId === strict.accessKeyId) return strict.secretAccessKey;
  const session = policy.sessionCredentials?.(accessKeyId);
  if (session === undefined || request.header("x-amz-security-token") !== session.sessionToken) {
    throw invalidToken();
  }
  if (now >= session.expiresAt) {
    throw new EmulatorError(
      "ExpiredTokenException",
      "The security token included in the request is expired",
    );
  }
  return session.secretAccessKey;
}

/**
 * Authenticates `request` under `policy` for a signing `service` (`bedrock` by default; `sts` for
 * the STS stand-in, which takes SigV4 only); throws the AWS front-door error the service would
 * send (MissingAuthenticationToken, IncompleteSignature, UnrecognizedClient, InvalidSignature,
 * ExpiredToken).
 */
export function authenticate(
  policy: AuthPolicy,
  request: SignedRequest,
  now: number,
  service: string = SIGNING_SERVICE,
): void {
  const authorization = request.header("authorization");
  const kind = authKindOf(authorization);
  switch (kind) {
    case "none":
      if (authorization === undefined || authorization.trim() === "") {
        throw new EmulatorError(
          "MissingAuthenticationTokenException",
          "Missing Authentication Token",
        );
      }
      throw new EmulatorError(
        "IncompleteSignatureException",
        "Authorization header must use AWS4-HMAC-SHA256 (SigV4) or Bearer.",
      );
    case "bearer": {
      if (service !== SIGNING_SERVICE) {
        throw new EmulatorError(
          "IncompleteSignatureException",
          `${service.toUpperCase()} requests must be signed with AWS4-HMAC-SHA256 (SigV4).`,
        );
      }
      const token = BEARER.exec(authorization ?? "")?.[1];
      if (token === undefined) {
        throw new EmulatorError(
          "MissingAuthenticationTokenException",
          "Missing Authentication Token",
        );
      }
      const required = policy.bearerToken;
      if (required !== undefined ? token !== required : policy.strictSigV4 !== undefined) {
        throw invalidToken();
      }
      return;
    }
    case "sigv4": {
      const parsed = parseSigV4Authorization(authorization ?? "");
      if (!request.header("x-amz-date") && !request.header("date")) {
        throw new EmulatorError(
          "IncompleteSignatureException",
          "Authorization requires the X-Amz-Date or Date header.",
        );
      }
      const strict = policy.strictSigV4;
      if (strict === undefined) return;
      verifySigV4({
        request,
        authorization: parsed,
        secretAccessKey: signingSecret(policy, strict, parsed.accessKeyId, request, now),
        service,
        now,
      });
      return;
    }
    default: {
      const exhaustive: never = kind;
      throw new EmulatorError("IncompleteSignatureException", `Unknown auth kind ${exhaustive}.`);
    }
  }
}
