/**
 * Request authentication. Bedrock Runtime accepts SigV4 and Bearer API keys
 * (reference/protocols.md §4.2–4.3); the emulator accepts both. By default it only checks the
 * SigV4 header's shape (any credentials work, as with other local emulators); with `strictSigV4`
 * it verifies the signature exactly, so a gateway's signing or credential bugs surface in tests.
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

/** The auth configuration of an emulator. */
export interface AuthPolicy {
  /** When set, SigV4 signatures are verified exactly and Bearer tokens must equal `bearerToken`. */
  readonly strictSigV4: StrictSigV4Credentials | undefined;
  /** When set, Bearer tokens must equal it. */
  readonly bearerToken: string | undefined;
}

/** Bedrock Runtime's SigV4 signing name. */
export const SIGNING_SERVICE = "bedrock";

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** Classifies an `Authorization` header without validating it. */
export function authKindOf(authorization: string | undefined): AuthKind {
  if (authorization === undefined) return "none";
  if (authorization.startsWith("AWS4-")) return "sigv4";
  if (/^Bearer(?:\s|$)/i.test(authorization)) return "bearer";
  return "none";
}

const invalidToken = () =>
  new EmulatorError(
    "UnrecognizedClientException",
    "The security token included in the request is invalid.",
  );

/**
 * Authenticates `request` under `policy`; throws the AWS front-door error Bedrock would send
 * (MissingAuthenticationToken, IncompleteSignature, UnrecognizedClient, InvalidSignature).
 */
export function authenticate(policy: AuthPolicy, request: SignedRequest, now: number): void {
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
      if (parsed.accessKeyId !== strict.accessKeyId) throw invalidToken();
      verifySigV4({
        request,
        authorization: parsed,
        secretAccessKey: strict.secretAccessKey,
        service: SIGNING_SERVICE,
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
