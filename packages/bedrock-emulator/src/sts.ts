/**
 * The STS stand-in's semantics: `AssumeRole` against a configured set of roles (or any role when
 * none are configured), answering with temporary credentials derived from the role ARN, so users'
 * CI can exercise cross-account setups (docs/wire-formats.md#credentials-and-cross-account-roles)
 * without an AWS account. Validation follows STS's constraints and its
 * `1 validation error detected: …` wording. Pure apart from hashing: the clock is passed in. The
 * wire protocol lives in `sts-handler.ts`.
 */
import { createHash } from "node:crypto";
import type { SessionCredentials } from "./auth.ts";
import { EmulatorError } from "./emulator-error.ts";

/** A role the stand-in lets callers assume. */
export interface StsRole {
  /** `arn:aws:iam::<12-digit account>:role/<name>`, matched exactly. */
  readonly roleArn: string;
  /** When set, AssumeRole must carry exactly this `ExternalId` (the trust policy's condition). */
  readonly externalId?: string | undefined;
}

/** AssumeRole parameters after validation. */
export interface AssumeRoleParams {
  readonly roleArn: string;
  readonly roleSessionName: string;
  readonly externalId: string | undefined;
  readonly durationSeconds: number;
}

/** What AssumeRole answers. */
export interface AssumeRoleResult {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  /** Epoch ms: the call's time + `DurationSeconds`. */
  readonly expiresAt: number;
  /** `AROA…:<session name>`. */
  readonly assumedRoleId: string;
  /** `arn:aws:sts::<account>:assumed-role/<role name>/<session name>`. */
  readonly assumedRoleArn: string;
}

/** The stand-in: AssumeRole, and the credentials it issued for strict SigV4 verification. */
export interface StsStandIn {
  /**
   * Assumes `params.roleArn` for the caller signing with `callerAccessKeyId`. Throws
   * `AccessDenied` for a role that is not configured or a wrong/missing external id.
   */
  assumeRole(
    params: AssumeRoleParams,
    callerAccessKeyId: string | undefined,
    now: number,
  ): AssumeRoleResult;
  /** Credentials issued for `accessKeyId`, if any (valid until the latest expiry issued). */
  sessionCredentials(accessKeyId: string): SessionCredentials | undefined;
}

/** `DurationSeconds` when the request has none (STS's default). */
export const DEFAULT_DURATION_SECONDS = 3600;
/** STS's bounds for `DurationSeconds` (the upper one is the largest `MaxSessionDuration`). */
export const MIN_DURATION_SECONDS = 900;
export const MAX_DURATION_SECONDS = 43_200;

const ROLE_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/((?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64}))$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/** The account the stand-in pretends callers that are not assumed roles belong to. */
const CALLER_ACCOUNT = "000000000000";

/** True when `value` is an IAM role ARN the stand-in can work with. */
export function isRoleArn(value: string): boolean {
  return ROLE_ARN.test(value);
}

/** True when `value` satisfies STS's constraints on `ExternalId`. */
export function isExternalId(value: string): boolean {
  return EXTERNAL_ID.test(value);
}

const digest = (label: string, value: string) =>
  createHash("sha256").update(`strata-bedrock-emulator/${label}\u0000${value}`).digest();

/** `length` upper-case base32 characters derived from `value` (AWS key ids use this alphabet). */
function base32Id(label: string, value: string, length: number): string {
  return [...digest(label, value).subarray(0, length)].map((b) => BASE32[b % 32]).join("");
}

/**
 * The credentials the stand-in issues for a role: the same for every AssumeRole of that role, so
 * tests can predict the access key id (`ASIA` + 16 characters) a tenant's calls must be signed
 * with. Only the expiry depends on the call.
 */
export function roleCredentials(roleArn: string): {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
} {
  return {
    accessKeyId: `ASIA${base32Id("access-key-id", roleArn, 16)}`,
    secretAccessKey: digest("secret-access-key", roleArn).toString("base64").slice(0, 40),
    sessionToken: createHash("sha512")
      .update(`strata-bedrock-emulator/session-token\u0000${roleArn}`)
      .digest("base64"),
  };
}

function constraintError(value: string | undefined, member: string, constraint: string) {
  const shown = value === undefined ? "null" : `'${value}'`;
  return new EmulatorError(
    "ValidationError",
    `1 validation error detected: Value ${shown} at '${member}' failed to satisfy constraint: ${constraint}`,
  );
}

/**
 * Validates AssumeRole's parameters (Query-protocol names) and applies defaults. Parameters
 * AssumeRole takes but the stand-in does not interpret (`Policy`, `PolicyArns.member.N.arn`,
 * `Tags.member.N.*`, `SerialNumber`, `TokenCode`, `SourceIdentity`, …) are ignored.
 */
export function parseAssumeRoleParams(form: URLSearchParams): AssumeRoleParams {
  const roleArn = form.get("RoleArn") ?? undefined;
  if (roleArn === undefined) {
    throw constraintError(undefined, "roleArn", "Member must not be null");
  }
  if (!isRoleArn(roleArn)) {
    throw new EmulatorError(
      "ValidationError",
      `${roleArn} is invalid: RoleArn must be an IAM role ARN (arn:aws:iam::<12-digit account id>:role/<name>).`,
    );
  }
  const roleSessionName = form.get("RoleSessionName") ?? undefined;
  if (roleSessionName === undefined) {
    throw constraintError(undefined, "roleSessionName", "Member must not be null");
  }
  if (!SESSION_NAME.test(roleSessionName)) {
    throw constraintError(
      roleSessionName,
      "roleSessionName",
      "Member must have length between 2 and 64 and satisfy regular expression pattern: [\\w+=,.@-]*",
    );
  }
  const externalId = form.get("ExternalId") ?? undefined;
  if (externalId !== undefined && !isExternalId(externalId)) {
    throw constraintError(
      externalId,
      "externalId",
      "Member must have length between 2 and 1224 and satisfy regular expression pattern: [\\w+=,.@:/-]*",
    );
  }
  const rawDuration = form.get("DurationSeconds") ?? undefined;
  const durationSeconds =
    rawDuration === undefined ? DEFAULT_DURATION_SECONDS : Number(rawDuration);
  if (rawDuration !== undefined && !/^\d+$/.test(rawDuration)) {
    throw constraintError(rawDuration, "durationSeconds", "Member must be an integer");
  }
  if (durationSeconds < MIN_DURATION_SECONDS) {
    throw constraintError(
      rawDuration,
      "durationSeconds",
      `Member must have value greater than or equal to ${MIN_DURATION_SECONDS}`,
    );
  }
  if (durationSeconds > MAX_DURATION_SECONDS) {
    throw constraintError(
      rawDuration,
      "durationSeconds",
      `Member must have value less than or equal to ${MAX_DURATION_SECONDS}`,
    );
  }
  return { roleArn, roleSessionName, externalId, durationSeconds };
}

interface Issued extends SessionCredentials {
  readonly assumedRoleArn: string;
}

/**
 * Creates the stand-in. With `roles`, only those roles can be assumed, each with its external id
 * when it has one; without, any role ARN is accepted and external ids are not checked. Throws an
 * Error for a role that is not a role ARN or is listed twice.
 */
export function createStsStandIn(roles: readonly StsRole[] | undefined): StsStandIn {
  const allowed = new Map<string, StsRole>();
  for (const role of roles ?? []) {
    if (!isRoleArn(role.roleArn)) {
      throw new Error(
        `STS role "${role.roleArn}" is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)`,
      );
    }
    if (allowed.has(role.roleArn)) throw new Error(`STS role "${role.roleArn}" is listed twice`);
    allowed.set(role.roleArn, role);
  }
  const issued = new Map<string, Issued>();

  const callerArn = (accessKeyId: string | undefined) =>
    (accessKeyId !== undefined ? issued.get(accessKeyId)?.assumedRoleArn : undefined) ??
    `arn:aws:iam::${CALLER_ACCOUNT}:user/${accessKeyId ?? "anonymous"}`;

  return {
    assumeRole(params, callerAccessKeyId, now) {
      if (roles !== undefined) {
        const role = allowed.get(params.roleArn);
        // STS does not say whether the role or the external id was wrong; neither does this.
        if (
          role === undefined ||
          (role.externalId !== undefined && role.externalId !== params.externalId)
        ) {
          throw new EmulatorError(
            "AccessDenied",
            `User: ${callerArn(callerAccessKeyId)} is not authorized to perform: sts:AssumeRole on resource: ${params.roleArn}`,
          );
        }
      }
      const [, partition, account, , roleName] = ROLE_ARN.exec(params.roleArn) ?? [];
      const credentials = roleCredentials(params.roleArn);
      const expiresAt = now + params.durationSeconds * 1000;
      const assumedRoleArn = `arn:${partition}:sts::${account}:assumed-role/${roleName}/${params.roleSessionName}`;
      const previous = issued.get(credentials.accessKeyId);
      issued.set(credentials.accessKeyId, {
        secretAccessKey: credentials.secretAccessKey,
        sessionToken: credentials.sessionToken,
        // The keys are the same for every AssumeRole of a role: valid until the latest expiry.
        expiresAt: Math.max(expiresAt, previous?.expiresAt ?? 0),
        assumedRoleArn,
      });
      return {
        ...credentials,
        expiresAt,
        assumedRoleId: `AROA${base32Id("role-id", params.roleArn, 17)}:${params.roleSessionName}`,
        assumedRoleArn,
      };
    },
    sessionCredentials(accessKeyId) {
      const found = issued.get(accessKeyId);
      return (
        found && {
          secretAccessKey: found.secretAccessKey,
          sessionToken: found.sessionToken,
          expiresAt: found.expiresAt,
        }
      );
    },
  };
}
