import { dynamoEnv } from "@strata/dynamodb";
import { commonEnv, type Env, parseEnv, port, positiveInt } from "@strata/platform";
import { z } from "zod";

const schema = z.object({
  ...commonEnv,
  STRATA_PORT: port(50054),
  ...dynamoEnv,

  /** How often buffered usage records are written to the ledger. */
  STRATA_LEDGER_FLUSH_MS: positiveInt(1_000),
  /** Most records held while DynamoDB is unreachable; beyond, records are dropped and counted. */
  STRATA_LEDGER_BUFFER_MAX: positiveInt(100_000),
});

/** The metering service's configuration, parsed once from the environment. */
export type MeteringConfig = Readonly<z.infer<typeof schema>>;

export function loadMeteringConfig(env: Env): MeteringConfig {
  return parseEnv(schema, env);
}
