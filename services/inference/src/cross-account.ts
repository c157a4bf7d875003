import type { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { AssumeRoleCommand, type STSClient } from "@aws-sdk/client-sts";
import type { Logger } from "@strata/platform";
import { LRUCache } from "lru-cache";
import type { Counter } from "prom-client";
import { type AssumeRole, createAssumeRoleCredentials } from "./assume-role-credentials.ts";
import type { AwsCredentialsProvider } from "./bedrock-client.ts";

/** A tenant's role, from `UpstreamPolicy.cross_account`. */
export interface CrossAccountRole {
  readonly roleArn: string;
  /** Empty: none sent. */
  readonly externalId: string;
}

/** Options of {@link createCrossAccountClients}. */
export interface CrossAccountClientsOptions {
  /** The STS client, signing with the service's own identity (sts-client.ts). */
  readonly sts: STSClient;
  /**
   * Builds a Bedrock client that signs with `credentials`. main.ts gives it the service client's
   * region, endpoint, retries and HTTP/2 handler, so tenants share its connections. The clients
   * are dropped, never destroyed (that would destroy the shared handler).
   */
  readonly createClient: (credentials: AwsCredentialsProvider) => BedrockRuntimeClient;
  readonly logger: Logger;
  /** `strata_inference_assume_role_total`. */
  readonly assumeRoleTotal: Counter<"outcome">;
  /** Roles kept (least recently used dropped first); default 1000. */
  readonly maxRoles?: number | undefined;
  /** `DurationSeconds` of each AssumeRole; default 3600 (the default maximum of a role). */
  readonly durationSeconds?: number | undefined;
  /** Refresh credentials once fewer than this many ms remain; default 5 minutes. */
  readonly refreshWindowMs?: number | undefined;
  /** How long a refused AssumeRole is answered from memory; default 5 s. */
  readonly failureTtlMs?: number | undefined;
  /** Longest an AssumeRole call (with the SDK's retries) may take; default 10 s. */
  readonly stsTimeoutMs?: number | undefined;
  /** Clock for credential expiry; default `Date.now` (tests move it forward). */
  readonly now?: (() => number) | undefined;
}

/** Bedrock clients that act in tenants' own AWS accounts. */
export interface CrossAccountClients {
  /**
   * The Bedrock client for `role`, on behalf of `tenantId`: created on first use, its
   * credentials assumed lazily (on the first call's signing) and refreshed before they expire.
   * AssumeRole failures surface from the client's calls as StrataErrors (sts-error.ts).
   */
  clientFor(role: CrossAccountRole, tenantId: string): BedrockRuntimeClient;
}

const sessionNameChars = /[^\w+=,.@-]/g;

/**
 * STS `RoleSessionName` for a tenant: `strata-<tenantId>` with characters STS does not allow
 * (outside `[\w+=,.@-]`) replaced by `-`, cut to STS's 64 characters. It appears in the tenant's
 * CloudTrail as the session that made the calls.
 */
export function roleSessionName(tenantId: string): string {
  return `strata-${tenantId || "unknown"}`.replace(sessionNameChars, "-").slice(0, 64);
}

/**
 * Tenants' cross-account Bedrock clients (UpstreamPolicy.cross_account): one client per (role ARN,
 * external id, session name) in a bounded LRU cache, each signing with credentials from STS
 * AssumeRole (docs/wire-formats.md#credentials-and-cross-account-roles), shared by all the tenant's
 * concurrent calls. The session name is part of the key so that two tenants sharing a role are
 * still told apart in CloudTrail. The external id is never logged.
 */
export function createCrossAccountClients(
  options: CrossAccountClientsOptions,
): CrossAccountClients {
  const { sts, logger, assumeRoleTotal, stsTimeoutMs = 10_000 } = options;
  const clients = new LRUCache<string, BedrockRuntimeClient>({ max: options.maxRoles ?? 1000 });

  const assumeRole: AssumeRole = async ({ roleArn, externalId, sessionName, durationSeconds }) => {
    const output = await sts.send(
      new AssumeRoleCommand({
        RoleArn: roleArn,
        RoleSessionName: sessionName,
        DurationSeconds: durationSeconds,
        ...(externalId ? { ExternalId: externalId } : {}),
      }),
      { abortSignal: AbortSignal.timeout(stsTimeoutMs) },
    );
    const credentials = output.Credentials;
    if (!credentials?.AccessKeyId || !credentials.SecretAccessKey || !credentials.Expiration) {
      throw new Error("STS AssumeRole answered without credentials");
    }
    return {
      accessKeyId: credentials.AccessKeyId,
      secretAccessKey: credentials.SecretAccessKey,
      sessionToken: credentials.SessionToken,
      expiration: credentials.Expiration,
    };
  };

  return {
    clientFor(role, tenantId) {
      const sessionName = roleSessionName(tenantId);
      const key = JSON.stringify([role.roleArn, role.externalId, sessionName]);
      const cached = clients.get(key);
      if (cached) return cached;
      const log = logger.child({ tenantId: tenantId || undefined, roleArn: role.roleArn });
      const credentials = createAssumeRoleCredentials({
        assumeRole,
        roleArn: role.roleArn,
        externalId: role.externalId || undefined,
        sessionName,
        durationSeconds: options.durationSeconds ?? 3600,
        refreshWindowMs: options.refreshWindowMs,
        failureTtlMs: options.failureTtlMs,
        now: options.now,
        onAssumeRole(outcome) {
          if (outcome.ok) {
            assumeRoleTotal.inc({ outcome: "success" });
            log.debug("assumed the tenant's role");
            return;
          }
          const { error } = outcome;
          assumeRoleTotal.inc({ outcome: error.code ?? error.reason });
          log.warn(
            { reason: error.reason, code: error.code, err: error.cause ?? error },
            "could not assume the tenant's role",
          );
        },
      });
      const client = options.createClient(credentials);
      clients.set(key, client);
      return client;
    },
  };
}
