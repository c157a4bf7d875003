import type { StrataError } from "@strata/errors";
import type { AwsCredentials, AwsCredentialsProvider } from "./bedrock-client.ts";
import { stsErrorToStrataError } from "./sts-error.ts";

/** What one STS AssumeRole call is asked for. */
export interface AssumeRoleInput {
  readonly roleArn: string;
  /** Omitted from the call when undefined. */
  readonly externalId: string | undefined;
  readonly sessionName: string;
  readonly durationSeconds: number;
}

/** Calls STS AssumeRole; resolves with the temporary credentials (with their expiration). */
export type AssumeRole = (input: AssumeRoleInput) => Promise<AwsCredentials>;

/** How one AssumeRole call ended, for metrics and logs. */
export type AssumeRoleOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly error: StrataError };

/** Options of {@link createAssumeRoleCredentials}. */
export interface AssumeRoleCredentialsOptions extends AssumeRoleInput {
  readonly assumeRole: AssumeRole;
  /** Refresh once fewer than this many ms remain; default 5 minutes (the SDK's own margin). */
  readonly refreshWindowMs?: number | undefined;
  /**
   * How long after a failed AssumeRole STS is left alone; default 5 s. A refused or invalid role
   * is answered from memory meanwhile; after a transient failure the current credentials are used
   * while they are still valid. Keeps a misconfigured tenant's traffic (or an STS outage) from
   * turning into one STS call per request: STS quotas are per caller account, Strata's, shared by
   * every tenant.
   */
  readonly failureTtlMs?: number | undefined;
  /** Clock for expiry decisions; default `Date.now`. */
  readonly now?: (() => number) | undefined;
  /** Called once per STS call with its outcome. */
  readonly onAssumeRole?: ((outcome: AssumeRoleOutcome) => void) | undefined;
}

const defaultRefreshWindowMs = 5 * 60_000;
const defaultFailureTtlMs = 5000;

/**
 * A credentials provider for one cross-account role, for a Bedrock client's `credentials`. It
 * caches the role's temporary credentials and refreshes them when fewer than `refreshWindowMs`
 * remain, on its own (injectable) clock; concurrent callers share one AssumeRole in flight. It is
 * marked `memoized` so the SDK calls it before every request instead of caching its answer.
 *
 * Failures are StrataErrors (sts-error.ts). A refresh that fails for a transient reason
 * (`upstream_unavailable`) keeps serving the current credentials while they are still valid; a
 * refusal is not masked. Either is remembered for `failureTtlMs`.
 */
export function createAssumeRoleCredentials(
  options: AssumeRoleCredentialsOptions,
): AwsCredentialsProvider {
  const {
    assumeRole,
    refreshWindowMs = defaultRefreshWindowMs,
    failureTtlMs = defaultFailureTtlMs,
    now = Date.now,
    onAssumeRole,
  } = options;
  const input: AssumeRoleInput = {
    roleArn: options.roleArn,
    externalId: options.externalId,
    sessionName: options.sessionName,
    durationSeconds: options.durationSeconds,
  };
  let current: AwsCredentials | undefined;
  let inFlight: Promise<AwsCredentials> | undefined;
  /** The last failure, answered from memory until `until` (see the options). */
  let backoff: { error: StrataError; until: number } | undefined;

  const remainingMs = (credentials: AwsCredentials) =>
    (credentials.expiration?.getTime() ?? Number.POSITIVE_INFINITY) - now();
  /** The current credentials, if they are still valid at all (a refresh may be due). */
  const stillValid = () =>
    current !== undefined && remainingMs(current) > 0 ? current : undefined;

  const call = async (): Promise<AwsCredentials> => {
    try {
      const credentials = await assumeRole(input);
      current = credentials;
      backoff = undefined;
      onAssumeRole?.({ ok: true });
      return credentials;
    } catch (cause) {
      const error = stsErrorToStrataError(cause);
      backoff = { error, until: now() + failureTtlMs };
      onAssumeRole?.({ ok: false, error });
      throw error;
    }
  };

  const provider: AwsCredentialsProvider = async () => {
    if (current !== undefined && remainingMs(current) > refreshWindowMs) return current;
    if (backoff !== undefined && now() < backoff.until) {
      // A refusal is answered from memory; a transient failure keeps the current credentials
      // while they last (and is retried at once when there are none).
      if (backoff.error.reason === "permission_denied") throw backoff.error;
      const valid = stillValid();
      if (valid !== undefined) return valid;
    }
    inFlight ??= call().finally(() => {
      inFlight = undefined;
    });
    try {
      return await inFlight;
    } catch (error) {
      const valid = stillValid();
      if ((error as StrataError).reason === "upstream_unavailable" && valid !== undefined) {
        return valid;
      }
      throw error;
    }
  };
  provider.memoized = true;
  return provider;
}
