import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/** Where the admin API is and how to authenticate to it. */
export interface AdminEndpoint {
  url: string;
  token: string;
}

/** Options that locate the admin API; each falls back to the environment, then a local stack. */
export interface EndpointFlags {
  adminUrl?: string | undefined;
  adminTokenFile?: string | undefined;
  stateDir?: string | undefined;
}

/** The nearest `.strata` directory with a running stack's descriptor, from `start` upwards. */
function findStateDir(start: string): string | undefined {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (existsSync(join(dir, ".strata", "stack.json"))) return join(dir, ".strata");
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Finds the admin API: explicit flags, then STRATA_ADMIN_URL / STRATA_ADMIN_TOKEN(_FILE), then the
 * local dev stack (`.strata/stack.json` and `.strata/admin-token`, searched from the current
 * directory upwards, or STRATA_STATE_DIR).
 */
export function resolveAdminEndpoint(
  flags: EndpointFlags,
  env: NodeJS.ProcessEnv,
  cwd: string,
): AdminEndpoint {
  const stateDir = flags.stateDir ?? env.STRATA_STATE_DIR ?? findStateDir(cwd);
  let url = flags.adminUrl ?? env.STRATA_ADMIN_URL;
  if (!url && stateDir && existsSync(join(stateDir, "stack.json"))) {
    url = (JSON.parse(readFileSync(join(stateDir, "stack.json"), "utf8")) as { adminUrl: string })
      .adminUrl;
  }
  const tokenFile =
    flags.adminTokenFile ??
    env.STRATA_ADMIN_TOKEN_FILE ??
    (stateDir ? join(stateDir, "admin-token") : undefined);
  const token =
    env.STRATA_ADMIN_TOKEN ??
    (tokenFile && existsSync(tokenFile) ? readFileSync(tokenFile, "utf8").trim() : undefined);
  if (!url) {
    throw new Error(
      "no admin API found: start Strata with `npm start`, or set STRATA_ADMIN_URL (or --admin-url)",
    );
  }
  if (!token)
    throw new Error(
      "no admin token found: set STRATA_ADMIN_TOKEN or STRATA_ADMIN_TOKEN_FILE (or --admin-token-file)",
    );
  return { url, token };
}
