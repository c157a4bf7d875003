/**
 * What a tenant's `UpstreamPolicy` (set by the gateway from the tenant's policy) asks of its
 * Bedrock calls, as Bedrock inputs. Pure. Empty fields mean nothing to apply.
 */
import type {
  GuardrailConfiguration,
  GuardrailStreamConfiguration,
} from "@aws-sdk/client-bedrock-runtime";
import { StrataError } from "@strata/errors";
import type { UpstreamPolicy } from "@strata/proto";
import type { CrossAccountRole } from "./cross-account.ts";

/**
 * Converse `guardrailConfig` (docs/wire-formats.md#converse-request) for the policy's guardrail, or
 * undefined without one. A guardrail with an identifier but no version is refused (`internal`)
 * rather than skipped: a tenant's guardrail must never be silently dropped.
 */
export function converseGuardrailConfig(
  policy: UpstreamPolicy | undefined,
): GuardrailConfiguration | undefined {
  const guardrail = policy?.guardrail;
  if (!guardrail?.identifier) return undefined;
  if (!guardrail.version) {
    throw new StrataError("internal", undefined, {
      cause: new Error(
        `the upstream policy's guardrail ${guardrail.identifier} has no version: the tenant's policy is invalid`,
      ),
    });
  }
  return { guardrailIdentifier: guardrail.identifier, guardrailVersion: guardrail.version };
}

/**
 * ConverseStream `guardrailConfig`: the same guardrail in `sync` processing mode, so the guardrail
 * checks each chunk before it is released and a client never receives text the guardrail then
 * blocks (`async` streams first and may intervene after the text was sent).
 */
export function streamGuardrailConfig(
  policy: UpstreamPolicy | undefined,
): GuardrailStreamConfiguration | undefined {
  const config = converseGuardrailConfig(policy);
  return config && { ...config, streamProcessingMode: "sync" };
}

/** The tenant's cross-account role, or undefined when calls run in Strata's own account. */
export function crossAccountRoleOf(
  policy: UpstreamPolicy | undefined,
): CrossAccountRole | undefined {
  const role = policy?.crossAccount;
  if (!role?.roleArn) return undefined;
  return { roleArn: role.roleArn, externalId: role.externalId };
}
