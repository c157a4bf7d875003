import { StrataError } from "@strata/errors";
import { bedrockRetryAfterMs } from "./bedrock-error.ts";

/** The client-safe message when a tenant's role refuses to be assumed. */
export const crossAccountDeniedMessage =
  "Strata could not assume the tenant's IAM role: access denied. Check the role's trust policy and external id.";

/** The client-safe message when STS rejects the role ARN or the external id as malformed. */
export const crossAccountInvalidMessage =
  "Strata could not assume the tenant's IAM role: STS rejected the request as invalid. Check the role ARN and external id.";

/** STS error codes meaning the tenant's role (trust policy, external id) refused us. */
const deniedCodes = new Set(["AccessDenied", "AccessDeniedException"]);

/** STS error codes meaning the role ARN, session name or external id is malformed. */
const invalidCodes = new Set([
  "ValidationError",
  "ValidationException",
  "MalformedPolicyDocument",
  "MalformedPolicyDocumentException",
  "PackedPolicyTooLarge",
  "PackedPolicyTooLargeException",
]);

/** Errors meaning Strata's own AWS identity is wrong or missing: never the client's fault. */
const ownCredentialErrors = new Set([
  "CredentialsProviderError",
  "InvalidClientTokenId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "ExpiredTokenException",
  "MissingAuthenticationToken",
  "IncompleteSignature",
  "UnrecognizedClientException",
  "RequestExpired",
]);

/**
 * Converts a failed STS AssumeRole of a tenant's cross-account role into the StrataError to send.
 * Decided by the error's `name` (the SDK sets it from the Query protocol's `<Code>`).
 *
 * - The role refused (`AccessDenied`: trust policy, wrong or missing external id):
 *   `permission_denied`, code `cross_account_denied`. The message names neither the role nor the
 *   external id; STS's own message (with Strata's principal) stays in `cause`.
 * - STS rejected the parameters (`ValidationError`, …): `permission_denied`, code
 *   `cross_account_invalid` — retrying cannot help.
 * - Strata's own credentials failed (`InvalidClientTokenId`, no provider, …): `internal`, as for
 *   Bedrock (bedrock-error.ts).
 * - Anything else (throttling, 5xx, network, the call's timeout): `upstream_unavailable`, retry
 *   after 1 s.
 */
export function stsErrorToStrataError(error: unknown): StrataError {
  if (error instanceof StrataError) return error;
  const name = errorName(error);
  if (deniedCodes.has(name)) {
    return new StrataError("permission_denied", crossAccountDeniedMessage, {
      code: "cross_account_denied",
      cause: error,
    });
  }
  if (invalidCodes.has(name)) {
    return new StrataError("permission_denied", crossAccountInvalidMessage, {
      code: "cross_account_invalid",
      cause: error,
    });
  }
  if (ownCredentialErrors.has(name)) {
    return new StrataError("internal", undefined, {
      cause: new Error(
        `STS rejected or could not obtain this service's AWS credentials (${name}) while assuming a tenant's role: check the IRSA / Pod Identity role or the AWS_* environment`,
        { cause: error },
      ),
    });
  }
  return new StrataError("upstream_unavailable", undefined, {
    retryAfterMs: bedrockRetryAfterMs,
    cause: error,
  });
}

function errorName(error: unknown): string {
  if (typeof error === "object" && error !== null && "name" in error) {
    const name = (error as { name: unknown }).name;
    if (typeof name === "string") return name;
  }
  return "";
}
