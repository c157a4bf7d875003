import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { bearerAuth, createRpcClient, createRpcTransport } from "@strata/platform";
import {
  type ApiKey,
  AuthAdminService,
  CreateAdminTokenResponseSchema,
  CreateKeyResponseSchema,
  GetKeyResponseSchema,
  GetUsageResponseSchema,
  KeyStatus,
  ListAdminTokensResponseSchema,
  ListAuditEventsResponseSchema,
  ListKeysResponseSchema,
  ListTenantsResponseSchema,
  type Policy,
  PolicySchema,
  RevokeAdminTokenResponseSchema,
  RevokeKeyResponseSchema,
  RotateKeyResponseSchema,
  type Tenant,
  TenantSchema,
  TenantStatus,
} from "@strata/proto";
import { resolveAdminEndpoint } from "./admin-endpoint.ts";
import { formatMicros } from "./money.ts";

const usage = `Usage: strata <command> [options]

Tenants (global admin token):
  tenants create <id> [--name NAME] [--allow-model P]... [--policy-file FILE]
  tenants list
  tenants show <id>
  tenants update <id> [--name NAME] [--policy-file FILE]
  tenants suspend <id> | tenants activate <id>
Keys:
  keys create --tenant T [--name N] [--ttl-days D] [--allow-model P]... [--policy-file FILE]
                                       create an API key (shown once)
  keys list [--tenant T]               list keys (never the secrets); "!" marks keys expiring soon
  keys show <key-id>
  keys rotate <key-id> [--overlap-days D]
                                       new key now, with the old one's lifetime; the old one
                                       keeps working D days (default 14; 0: stops now)
  keys revoke <key-id>                 revoke a key now (every gateway within about a second)
Usage:
  usage [--tenant T] [--since DAY] [--until DAY]
                                       requests, tokens and cost per day, key and model
                                       (every tenant's without --tenant, for a global token)
                                       (days: YYYY-MM-DD, UTC; --json: costMicros, 1 USD = 1e6)
Audit:
  audit [--tenant T] [--since ISO-TIME] [--limit N]
Admin tokens (global admin token):
  admin-tokens create --name N [--tenant T] [--ttl-hours H]   shown once; scoped with --tenant
  admin-tokens list
  admin-tokens revoke <token-id>

Options: --json (machine-readable output), --admin-url URL, --admin-token-file FILE,
         --state-dir DIR. By default the admin API of the local stack (npm start) is used.
A policy file is the JSON form of strata.auth.v1.Policy, e.g.
  {"allowedModels":["anthropic.*"],"allowedRegions":["eu"],"secrets":"SECRETS_MODE_BLOCK",
   "toolPolicy":{"enforced":true,"allowed":[{"name":"fs_read"}]}}
`;

const options = {
  tenant: { type: "string" },
  name: { type: "string" },
  "ttl-days": { type: "string" },
  "ttl-hours": { type: "string" },
  "overlap-days": { type: "string" },
  "allow-model": { type: "string", multiple: true },
  "policy-file": { type: "string" },
  since: { type: "string" },
  until: { type: "string" },
  limit: { type: "string" },
  json: { type: "boolean" },
  "admin-url": { type: "string" },
  "admin-token-file": { type: "string" },
  "state-dir": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** The command line; a malformed one (e.g. `--overlap-days -1`) is an error message, no trace. */
function parseCommandLine() {
  try {
    return parseArgs({ allowPositionals: true, options });
  } catch (error) {
    throw new Error(`${(error as Error).message}\n\n${usage}`);
  }
}
let values: ReturnType<typeof parseCommandLine>["values"] = {};
let positionals: string[] = [];

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
const date = (ms: number) => (ms > 0 ? new Date(ms).toISOString().slice(0, 10) : "never");
const time = (ms: number) => (ms > 0 ? new Date(ms).toISOString().replace(/\.\d+Z$/, "Z") : "-");
const keyStatus = (k: ApiKey) => (KeyStatus[k.status] ?? "UNKNOWN").toLowerCase();
const tenantStatus = (t: Tenant) => (TenantStatus[t.status] ?? "UNKNOWN").toLowerCase();

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** A number option, or undefined; an error naming the flag when it is not a number ≥ 0. */
function numberOption(name: string): number | undefined {
  const raw = values[name as keyof typeof values];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (typeof raw !== "string" || raw.trim() === "" || !Number.isFinite(value) || value < 0)
    throw new Error(`--${name} must be a number of zero or more, not ${JSON.stringify(raw)}`);
  return value;
}

/** The policy from --policy-file (proto JSON), with any --allow-model patterns added. */
function policyOption(): Policy | undefined {
  const file = values["policy-file"];
  const models = values["allow-model"] ?? [];
  if (!file && models.length === 0) return undefined;
  let policy = fromJson(PolicySchema, {});
  if (file) {
    try {
      policy = fromJson(PolicySchema, JSON.parse(readFileSync(file, "utf8")) as JsonValue);
    } catch (error) {
      throw new Error(`${file} is not a valid policy: ${(error as Error).message}`);
    }
  }
  policy.allowedModels.push(...models);
  return policy;
}

function keyRows(keys: ApiKey[]): string {
  return table([
    ["KEY ID", "TENANT", "NAME", "STATUS", "CREATED", "EXPIRES", "ROTATED TO"],
    ...keys.map((k) => [
      k.keyId,
      k.tenantId,
      k.name,
      keyStatus(k),
      date(k.createdAtMs),
      `${date(k.expiresAtMs)}${k.expiringSoon ? " !" : ""}`,
      k.rotatedToKeyId || "-",
    ]),
  ]);
}

async function main(): Promise<void> {
  ({ values, positionals } = parseCommandLine());
  const [group, command, arg] = positionals;
  if (values.help || !group) {
    out(usage);
    return;
  }
  const endpoint = resolveAdminEndpoint(
    {
      adminUrl: values["admin-url"],
      adminTokenFile: values["admin-token-file"],
      stateDir: values["state-dir"],
    },
    process.env,
    process.cwd(),
  );
  const admin = createRpcClient(
    AuthAdminService,
    createRpcTransport({ baseUrl: endpoint.url, interceptors: [bearerAuth(endpoint.token)] }),
  );
  const need = (what: string) => {
    if (!arg) throw new Error(`${group} ${command} needs ${what}`);
    return arg;
  };
  const json = values.json === true;

  switch (`${group} ${command ?? ""}`.trim()) {
    case "tenants create": {
      const { tenant } = await admin.createTenant({
        tenantId: need("a tenant id"),
        displayName: values.name ?? "",
        policy: policyOption(),
      });
      if (!tenant) throw new Error("no tenant returned");
      return out(
        json ? JSON.stringify(toJson(TenantSchema, tenant)) : `Created tenant ${tenant.tenantId}.`,
      );
    }
    case "tenants list": {
      const res = await admin.listTenants({});
      if (json) return out(JSON.stringify(toJson(ListTenantsResponseSchema, res)));
      return out(
        table([
          ["TENANT", "NAME", "STATUS", "MODELS", "CREATED"],
          ...res.tenants.map((t) => [
            t.tenantId,
            t.displayName,
            tenantStatus(t),
            t.policy?.allowedModels.join(",") || "*",
            date(t.createdAtMs),
          ]),
        ]),
      );
    }
    case "tenants show": {
      const { tenant } = await admin.getTenant({ tenantId: need("a tenant id") });
      if (!tenant) throw new Error("no tenant returned");
      return out(JSON.stringify(toJson(TenantSchema, tenant), null, json ? 0 : 2));
    }
    case "tenants update":
    case "tenants suspend":
    case "tenants activate": {
      const status =
        command === "suspend"
          ? TenantStatus.SUSPENDED
          : command === "activate"
            ? TenantStatus.ACTIVE
            : TenantStatus.UNSPECIFIED;
      const { tenant } = await admin.updateTenant({
        tenantId: need("a tenant id"),
        displayName: values.name,
        status,
        policy: policyOption(),
      });
      if (!tenant) throw new Error("no tenant returned");
      return out(
        json
          ? JSON.stringify(toJson(TenantSchema, tenant))
          : `Tenant ${tenant.tenantId} is ${tenantStatus(tenant)}.`,
      );
    }
    case "keys create": {
      if (!values.tenant) throw new Error("keys create needs --tenant");
      const res = await admin.createKey({
        tenantId: values.tenant,
        name: values.name ?? "",
        ttlSeconds: Math.round((numberOption("ttl-days") ?? 0) * 86_400),
        policy: policyOption(),
      });
      if (json) return out(JSON.stringify(toJson(CreateKeyResponseSchema, res)));
      out(
        `Created key ${res.key?.keyId} for tenant ${res.key?.tenantId} (expires ${date(res.key?.expiresAtMs ?? 0)}).`,
      );
      out(res.secret);
      return out("Store it now: it is shown only once.");
    }
    case "keys list": {
      const res = await admin.listKeys({ tenantId: values.tenant ?? "" });
      if (json) return out(JSON.stringify(toJson(ListKeysResponseSchema, res)));
      out(keyRows(res.keys));
      const soon = res.keys.filter((k) => k.expiringSoon).length;
      if (soon > 0)
        out(`\n! ${soon} key(s) expire soon: rotate them with \`strata keys rotate <key-id>\`.`);
      return;
    }
    case "keys show": {
      const res = await admin.getKey({ keyId: need("a key id") });
      return out(JSON.stringify(toJson(GetKeyResponseSchema, res), null, json ? 0 : 2));
    }
    case "keys rotate": {
      const overlapDays = numberOption("overlap-days");
      const res = await admin.rotateKey({
        keyId: need("a key id"),
        // 0 days: the old key stops working now. Not given: the server's default overlap.
        overlapSeconds: Math.round((overlapDays ?? 0) * 86_400),
        noOverlap: overlapDays === 0,
      });
      if (json) return out(JSON.stringify(toJson(RotateKeyResponseSchema, res)));
      const oldUntil = res.previous?.expiresAtMs ?? 0;
      const old =
        oldUntil > Date.now()
          ? `The old key works until ${time(oldUntil)}.`
          : "The old key no longer works.";
      out(
        `Rotated ${res.previous?.keyId} → ${res.key?.keyId} (expires ${date(res.key?.expiresAtMs ?? 0)}). ${old}`,
      );
      out(res.secret);
      return out("Store it now: it is shown only once.");
    }
    case "keys revoke": {
      const res = await admin.revokeKey({ keyId: need("a key id") });
      return out(
        json
          ? JSON.stringify(toJson(RevokeKeyResponseSchema, res))
          : `Revoked key ${res.key?.keyId}.`,
      );
    }
    case "usage": {
      const res = await admin.getUsage({
        tenantId: values.tenant ?? "",
        sinceDay: values.since ?? "",
        untilDay: values.until ?? "",
      });
      // Every counter of every row, zeros included: costMicros is always an integer to sum.
      if (json)
        return out(
          JSON.stringify(toJson(GetUsageResponseSchema, res, { alwaysEmitImplicit: true })),
        );
      const rows = res.summaries.map((s) => [
        s.day,
        s.tenantId,
        s.keyId,
        s.model,
        String(s.requests),
        String(s.failedRequests),
        String(s.inputTokens),
        String(s.outputTokens),
        String(s.cacheReadInputTokens),
        formatMicros(s.costMicros),
      ]);
      return out(
        table([
          [
            "DAY",
            "TENANT",
            "KEY ID",
            "MODEL",
            "REQUESTS",
            "FAILED",
            "INPUT",
            "OUTPUT",
            "CACHED",
            "COST",
          ],
          ...rows,
        ]),
      );
    }
    case "audit": {
      const since = values.since ? Date.parse(values.since) : 0;
      if (Number.isNaN(since)) throw new Error("--since must be an ISO 8601 time");
      const res = await admin.listAuditEvents({
        tenantId: values.tenant ?? "",
        sinceMs: since,
        limit: numberOption("limit") ?? 100,
      });
      if (json) return out(JSON.stringify(toJson(ListAuditEventsResponseSchema, res)));
      return out(
        table([
          ["TIME", "TENANT", "ACTOR", "ACTION", "TARGET", "RESULT", "SOURCE", "DETAIL"],
          ...res.events.map((e) => [
            time(e.atMs),
            e.tenantId,
            e.actor,
            e.action,
            e.target,
            e.result,
            e.source,
            e.detail,
          ]),
        ]),
      );
    }
    case "admin-tokens create": {
      if (!values.name) throw new Error("admin-tokens create needs --name");
      const res = await admin.createAdminToken({
        name: values.name,
        tenantId: values.tenant ?? "",
        ttlSeconds: Math.round((numberOption("ttl-hours") ?? 0) * 3600),
      });
      if (json) return out(JSON.stringify(toJson(CreateAdminTokenResponseSchema, res)));
      const scope = res.token?.tenantId ? `tenant ${res.token.tenantId}` : "all tenants";
      out(
        `Created admin token ${res.token?.tokenId} for ${scope} (expires ${time(res.token?.expiresAtMs ?? 0)}).`,
      );
      out(res.secret);
      return out("Store it now: it is shown only once.");
    }
    case "admin-tokens list": {
      const res = await admin.listAdminTokens({});
      if (json) return out(JSON.stringify(toJson(ListAdminTokensResponseSchema, res)));
      return out(
        table([
          ["TOKEN ID", "NAME", "SCOPE", "CREATED", "EXPIRES", "REVOKED"],
          ...res.tokens.map((t) => [
            t.tokenId,
            t.name,
            t.tenantId || "*",
            time(t.createdAtMs),
            time(t.expiresAtMs),
            time(t.revokedAtMs),
          ]),
        ]),
      );
    }
    case "admin-tokens revoke": {
      const res = await admin.revokeAdminToken({ tokenId: need("a token id") });
      return out(
        json
          ? JSON.stringify(toJson(RevokeAdminTokenResponseSchema, res))
          : `Revoked admin token ${res.token?.tokenId}.`,
      );
    }
    default:
      throw new Error(`unknown command: ${positionals.join(" ")}\n\n${usage}`);
  }
}

main().catch((error: unknown) => {
  const message = error instanceof ConnectError ? error.rawMessage : (error as Error).message;
  process.stderr.write(`strata: ${message}\n`);
  process.exit(1);
});
