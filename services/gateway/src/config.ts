import { commonEnv, type Env, parseEnv, port, positiveInt, serviceUrl } from "@strata/platform";
import { z } from "zod";

const schema = z.object({
  ...commonEnv,
  /** The public OpenAI-compatible HTTP port. */
  STRATA_PORT: port(8080),
  STRATA_AUTH_URL: serviceUrl.default("http://127.0.0.1:50051"),
  STRATA_INFERENCE_URL: serviceUrl.default("http://127.0.0.1:50053"),
  STRATA_METERING_URL: serviceUrl.default("http://127.0.0.1:50054"),
  /** Largest accepted request body; larger bodies get a 413. Images arrive inline, hence 20 MiB. */
  STRATA_MAX_BODY_BYTES: positiveInt(20 * 1024 * 1024),
  /** Longest time a request body may take to arrive once its headers have (408 beyond). */
  STRATA_BODY_TIMEOUT_MS: positiveInt(60_000),
  /** SSE comment sent after this much silence on a stream, so proxies keep the connection. */
  STRATA_SSE_KEEPALIVE_MS: positiveInt(15_000),
  /** Deadline of a whole chat or embeddings call through inference. */
  STRATA_UPSTREAM_TIMEOUT_MS: positiveInt(600_000),
  /** Deadline of each auth and metering call on the request path. */
  STRATA_CONTROL_TIMEOUT_MS: positiveInt(2_000),
  /**
   * When metering cannot be reached: `open` admits requests without limits (logged, counted in
   * strata_gateway_metering_unreachable_total), `closed` refuses them with 503.
   */
  STRATA_METERING_FAIL_MODE: z.enum(["open", "closed"]).default("open"),
  /** A max_tokens above the model's output limit: lowered to the limit, or refused with a 400. */
  STRATA_MAX_TOKENS_MODE: z.enum(["clamp", "reject"]).default("clamp"),
  /** Upper bound on how long a key verification is cached (auth may ask for less). */
  STRATA_AUTH_CACHE_MAX_TTL_MS: positiveInt(10_000),
  /**
   * Cache lifetime of verifications while auth's revocation stream is down (entries cached before
   * it dropped are cut short to it): the longest a revocation can then be missed, and how long a
   * key already verified keeps working once auth is unreachable. Uncached keys then get a 503.
   */
  STRATA_AUTH_UNWATCHED_TTL_MS: positiveInt(1_000),
  /**
   * CIDRs of the proxies in front of the gateway (load balancer, ingress) whose forwarding header
   * is believed for the client's address; comma-separated. Empty: the socket's address is used.
   */
  STRATA_TRUSTED_PROXY_CIDRS: z
    .string()
    .default("")
    .transform((v) =>
      v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  /** The forwarding header trusted proxies set. */
  STRATA_CLIENT_IP_HEADER: z.string().min(1).default("x-forwarded-for"),
  /** How long a refused key is remembered, sparing auth from repeated bad keys. */
  STRATA_AUTH_NEGATIVE_TTL_MS: positiveInt(2_000),
  /** How often the model catalog is refreshed from inference. */
  STRATA_CATALOG_REFRESH_MS: positiveInt(30_000),
  /**
   * Remote image URLs in chat messages: `fetch` downloads them safely (https only, public
   * addresses only, size and time limits); `reject` answers 400 and accepts data URLs only.
   */
  STRATA_REMOTE_IMAGES: z.enum(["fetch", "reject"]).default("fetch"),
  STRATA_REMOTE_IMAGE_MAX_BYTES: positiveInt(10 * 1024 * 1024),
  /** Most distinct remote image URLs per request (Bedrock takes at most 20 images). */
  STRATA_REMOTE_IMAGE_MAX_COUNT: positiveInt(20),
  /** Most bytes of remote images per request, all together. */
  STRATA_REMOTE_IMAGE_MAX_TOTAL_BYTES: positiveInt(40 * 1024 * 1024),
  STRATA_REMOTE_IMAGE_TIMEOUT_MS: positiveInt(5_000),
});

/** The gateway's configuration, parsed once from the environment. */
export type GatewayConfig = Readonly<z.infer<typeof schema>>;

export function loadGatewayConfig(env: Env): GatewayConfig {
  return parseEnv(schema, env);
}
