import { createHash } from "node:crypto";
import { type ApiKey, apiVersion, type Secret } from "./resources.ts";

/** Data keys of an ApiKey's Secret. Only `api-key` is secret; the others help clients. */
export const secretData = {
  /** The API key in clear: the one place it is ever written. */
  apiKey: "api-key",
  /** Its public key id (also visible in the ApiKey's status). */
  keyId: "key-id",
  /** The OpenAI base URL to use it with, when the operator is told it (STRATA_GATEWAY_BASE_URL). */
  baseUrl: "base-url",
} as const;

/** Labels that mark a Secret as the operator's and name its ApiKey. */
export const managedByLabel = "app.kubernetes.io/managed-by";
export const managedBy = "strata-operator";
export const apiKeyLabel = "strata.dev/apikey";

/**
 * SHA-256 of the key, on the Secret itself (the same object as the plaintext, so it exposes
 * nothing more): a Secret whose `api-key` no longer hashes to it was edited by hand. The hash of a
 * 256-bit random secret reveals nothing about it.
 */
export const sha256Annotation = "strata.dev/api-key-sha256";
/** The key id the operator wrote (a Secret can be checked without asking auth). */
export const keyIdAnnotation = "strata.dev/key-id";

const keyPattern = /^sk-strata-([0-9A-Za-z]{12})_[0-9A-Za-z]+$/;

/** The public key id inside a Strata API key (`sk-strata-<keyId>_…`), if it is shaped like one. */
export function keyIdOf(plaintext: string): string | undefined {
  return keyPattern.exec(plaintext)?.[1];
}

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex");
}

const b64 = (value: string) => Buffer.from(value, "utf8").toString("base64");
const unb64 = (value: string | undefined) =>
  value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8");

/** What an ApiKey's target Secret holds, as far as reconciling is concerned. */
export type SecretState =
  /** No Secret of that name. */
  | { state: "missing" }
  /** A Secret of that name that this ApiKey does not control: never touched. */
  | { state: "foreign" }
  /** Ours, but the key in it was removed or edited (or is not a key at all). */
  | { state: "tampered"; annotatedKeyId: string | undefined }
  /** Ours and intact: it holds the key `keyId`; `stale` when its other fields need rewriting. */
  | { state: "intact"; keyId: string; stale: boolean };

/**
 * Whether this ApiKey controls the Secret: its controller ownerReference names it, or the Secret
 * carries our labels for this ApiKey's name and has no other controller (an owner reference
 * removed by hand, or left by a deleted ApiKey of the same name that garbage collection has not
 * removed yet).
 */
export function controlledBy(secret: Secret, apiKey: ApiKey): boolean {
  const controller = (secret.metadata.ownerReferences ?? []).find((r) => r.controller);
  if (controller?.uid === apiKey.metadata.uid) return true;
  const labelled =
    secret.metadata.labels?.[managedByLabel] === managedBy &&
    secret.metadata.labels?.[apiKeyLabel] === apiKey.metadata.name;
  if (!controller) return labelled;
  return (
    labelled &&
    controller.apiVersion === apiVersion &&
    controller.kind === "ApiKey" &&
    controller.name === apiKey.metadata.name
  );
}

/**
 * Inspects an ApiKey's Secret. The key is intact when it still hashes to the annotation and its
 * embedded key id is the annotated one; anything else means it was edited and a new key must be
 * issued (the old plaintext cannot be recovered: auth keeps only a salted hash).
 */
export function inspectSecret(
  secret: Secret | undefined,
  apiKey: ApiKey,
  baseUrl: string,
): SecretState {
  if (!secret) return { state: "missing" };
  if (!controlledBy(secret, apiKey)) return { state: "foreign" };
  const annotations = secret.metadata.annotations ?? {};
  const annotatedKeyId = annotations[keyIdAnnotation];
  const plaintext = unb64(secret.data?.[secretData.apiKey]);
  if (
    plaintext === undefined ||
    !annotatedKeyId ||
    annotations[sha256Annotation] !== sha256Hex(plaintext) ||
    keyIdOf(plaintext) !== annotatedKeyId
  ) {
    return { state: "tampered", annotatedKeyId };
  }
  const desired = desiredMetadata(apiKey, annotatedKeyId, baseUrl);
  const data = secret.data ?? {};
  const stale =
    Object.keys(data).length !== Object.keys(desired.data).length + 1 ||
    Object.entries(desired.data).some(([k, v]) => data[k] !== v) ||
    Object.entries(desired.labels).some(([k, v]) => secret.metadata.labels?.[k] !== v) ||
    !(secret.metadata.ownerReferences ?? []).some(
      (r) => r.uid === apiKey.metadata.uid && r.controller,
    );
  return { state: "intact", keyId: annotatedKeyId, stale };
}

function desiredMetadata(apiKey: ApiKey, keyId: string, baseUrl: string) {
  return {
    labels: { [managedByLabel]: managedBy, [apiKeyLabel]: apiKey.metadata.name },
    data: {
      [secretData.keyId]: b64(keyId),
      ...(baseUrl ? { [secretData.baseUrl]: b64(baseUrl) } : {}),
    },
  };
}

/**
 * The Secret that delivers a key: the plaintext under `api-key`, its key id and the gateway's
 * base URL beside it, our labels, the hash annotations, and an ownerReference to the ApiKey
 * (controller), so that deleting the ApiKey deletes the Secret too. Labels and annotations that
 * others added to an existing Secret (e.g. a reloader's) are kept.
 */
export function keySecret(
  apiKey: ApiKey,
  key: { keyId: string; plaintext: string },
  baseUrl: string,
  existing?: Secret,
): Secret {
  const desired = desiredMetadata(apiKey, key.keyId, baseUrl);
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: apiKey.spec.secretName,
      namespace: apiKey.metadata.namespace ?? "",
      ...(existing?.metadata.resourceVersion
        ? { resourceVersion: existing.metadata.resourceVersion }
        : {}),
      labels: { ...existing?.metadata.labels, ...desired.labels },
      annotations: {
        ...existing?.metadata.annotations,
        [sha256Annotation]: sha256Hex(key.plaintext),
        [keyIdAnnotation]: key.keyId,
      },
      ownerReferences: [ownerReference(apiKey)],
    },
    type: "Opaque",
    data: { [secretData.apiKey]: b64(key.plaintext), ...desired.data },
  };
}

/**
 * An intact Secret with its non-secret fields brought up to date (base URL, key id, labels,
 * owner), the key itself unchanged.
 */
export function refreshedSecret(apiKey: ApiKey, secret: Secret, baseUrl: string): Secret {
  const keyId = secret.metadata.annotations?.[keyIdAnnotation] ?? "";
  const desired = desiredMetadata(apiKey, keyId, baseUrl);
  return {
    ...secret,
    metadata: {
      ...secret.metadata,
      labels: { ...secret.metadata.labels, ...desired.labels },
      ownerReferences: [ownerReference(apiKey)],
    },
    data: { [secretData.apiKey]: secret.data?.[secretData.apiKey] ?? "", ...desired.data },
  };
}

function ownerReference(apiKey: ApiKey) {
  return {
    apiVersion,
    kind: "ApiKey",
    name: apiKey.metadata.name,
    uid: apiKey.metadata.uid ?? "",
    controller: true,
    blockOwnerDeletion: true,
  };
}
