import { commonEnv, type Env, parseEnv, port, positiveInt } from "@strata/platform";
import { z } from "zod";

/** A variable that is set and not empty (an empty `AWS_PROFILE=` means "unset" to the SDK too). */
const present = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v));

const schema = z
  .object({
    ...commonEnv,
    /** gRPC port of InferenceService. */
    STRATA_PORT: port(50053),
    /** Region of the Bedrock Runtime endpoint; defaults to AWS_REGION, then us-east-1. */
    STRATA_BEDROCK_REGION: present,
    /** A Bedrock Runtime endpoint replacing the regional one: the emulator or a VPC endpoint. */
    STRATA_BEDROCK_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
    /**
     * Calls per model for one request, including the first, on transient errors (throttling,
     * 5xx, network), with jittered exponential backoff. Only before any byte of the answer
     * arrived, so a retry never duplicates streamed output.
     */
    STRATA_BEDROCK_MAX_ATTEMPTS: positiveInt(3),
    /** First retry delay; later ones grow exponentially, with jitter, up to STRATA_BEDROCK_RETRY_MAX_DELAY_MS. */
    STRATA_BEDROCK_RETRY_BASE_DELAY_MS: positiveInt(100),
    STRATA_BEDROCK_RETRY_MAX_DELAY_MS: positiveInt(1_000),
    /**
     * Consecutive requests failed by one Bedrock model id (after their retries; 5xx, network,
     * not ready, timeouts; throttling does not count) that open its circuit breaker.
     */
    STRATA_BREAKER_FAILURES: positiveInt(5),
    /** How long an open circuit refuses calls (they go to fallbacks, or 503) before one probe. */
    STRATA_BREAKER_OPEN_MS: positiveInt(10_000),
    /**
     * Where Bedrock credentials come from. `auto`: the default AWS chain, except that with
     * STRATA_BEDROCK_ENDPOINT set and no credential variable in the environment, dummy static
     * credentials (the emulator accepts any SigV4). `chain`: always the default chain (a VPC
     * endpoint on a node whose credentials come from instance metadata). `emulator`: always dummy.
     */
    STRATA_BEDROCK_CREDENTIALS: z.enum(["auto", "chain", "emulator"]).default("auto"),
    /**
     * The STS endpoint for assuming tenants' cross-account roles: the emulator's STS stand-in, or
     * a VPC endpoint. Unset: the SDK's own resolution (AWS_ENDPOINT_URL_STS, else the regional
     * endpoint of STRATA_BEDROCK_REGION), except that with the emulator's dummy credentials and no
     * AWS_ENDPOINT_URL_STS it is STRATA_BEDROCK_ENDPOINT (the emulator serves STS on that port).
     */
    STRATA_STS_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
    /** A JSON model catalog replacing the built-in one (catalog.ts describes the format). */
    STRATA_CATALOG_FILE: present,
    /**
     * How long Bedrock may take to answer a call (non-streaming) or to start answering (streaming:
     * the response headers). Beyond it the call is cancelled and fails with upstream_timeout.
     */
    STRATA_BEDROCK_TIMEOUT_MS: positiveInt(60_000),
    /** Longest silence allowed between two events of a streamed answer (upstream_timeout). */
    STRATA_STREAM_IDLE_TIMEOUT_MS: positiveInt(60_000),
    // Read only to decide defaults; the AWS SDK reads its own variables itself.
    AWS_REGION: present,
    AWS_ACCESS_KEY_ID: present,
    AWS_PROFILE: present,
    AWS_WEB_IDENTITY_TOKEN_FILE: present,
    AWS_CONTAINER_CREDENTIALS_FULL_URI: present,
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: present,
    AWS_BEARER_TOKEN_BEDROCK: present,
    AWS_ENDPOINT_URL_STS: present,
  })
  .transform(
    ({
      AWS_REGION,
      AWS_ACCESS_KEY_ID,
      AWS_PROFILE,
      AWS_WEB_IDENTITY_TOKEN_FILE,
      AWS_CONTAINER_CREDENTIALS_FULL_URI,
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
      AWS_BEARER_TOKEN_BEDROCK,
      AWS_ENDPOINT_URL_STS,
      STRATA_BEDROCK_CREDENTIALS,
      STRATA_BEDROCK_REGION,
      STRATA_STS_ENDPOINT,
      ...rest
    }) => {
      const awsCredentialsInEnv = [
        AWS_ACCESS_KEY_ID,
        AWS_PROFILE,
        AWS_WEB_IDENTITY_TOKEN_FILE,
        AWS_CONTAINER_CREDENTIALS_FULL_URI,
        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
        AWS_BEARER_TOKEN_BEDROCK,
      ].some((v) => v !== undefined);
      const dummy =
        STRATA_BEDROCK_CREDENTIALS === "emulator" ||
        (STRATA_BEDROCK_CREDENTIALS === "auto" &&
          rest.STRATA_BEDROCK_ENDPOINT !== undefined &&
          !awsCredentialsInEnv);
      return {
        ...rest,
        STRATA_BEDROCK_REGION: STRATA_BEDROCK_REGION ?? AWS_REGION ?? "us-east-1",
        STRATA_STS_ENDPOINT:
          STRATA_STS_ENDPOINT ??
          (dummy && AWS_ENDPOINT_URL_STS === undefined ? rest.STRATA_BEDROCK_ENDPOINT : undefined),
        /** The decision of STRATA_BEDROCK_CREDENTIALS, for createBedrockClient. */
        bedrockCredentials: dummy ? ("emulator" as const) : ("default-chain" as const),
      };
    },
  );

/** The inference service's configuration, parsed once from the environment. */
export type InferenceConfig = Readonly<z.infer<typeof schema>>;

/**
 * Reads the inference service's settings (and the few AWS variables that decide defaults) from the
 * environment. The only module of the service that reads `process.env`
 * (docs/code-style.md#configuration).
 */
export function loadInferenceConfig(env: Env): InferenceConfig {
  return parseEnv(schema, env);
}
