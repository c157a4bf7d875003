import { parseArgs } from "node:util";
import { toJson } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { bearerAuth, createRpcClient, createRpcTransport } from "@strata/platform";
import {
  type ApiKey,
  AuthAdminService,
  CreateKeyResponseSchema,
  KeyStatus,
  ListKeysResponseSchema,
  ListTenantsResponseSchema,
  RevokeKeyResponseSchema,
  type Tenant,
  TenantSchema,
  TenantStatus,
} from "@strata/proto";
import { resolveAdminEndpoint } from "./admin-endpoint.ts";

const usage = `Usage: strata <command> [options]

  tenants create <id> [--name NAME] [--allow-model PATTERN]...   create a tenant
  tenants list                                                    list tenants
  keys create --tenant T [--name N] [--ttl-days D] [--allow-model PATTERN]...
                                                                  create an API key (shown once)
  keys list [--tenant T]                                          list keys (never the secrets)
  keys revoke <key-id>                                            revoke a key now

Options: --json (machine-readable output), --admin-url URL, --admin-token-file FILE,
         --state-dir DIR. By default the admin API of the local stack (npm start) is used.
`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    tenant: { type: "string" },
    name: { type: "string" },
    "ttl-days": { type: "string" },
    "allow-model": { type: "string", multiple: true },
    json: { type: "boolean" },
    "admin-url": { type: "string" },
    "admin-token-file": { type: "string" },
    "state-dir": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
const date = (ms: number) => (ms > 0 ? new Date(ms).toISOString().slice(0, 10) : "never");
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

async function main(): Promise<void> {
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
    createRpcTransport({
      baseUrl: endpoint.url,
      interceptors: [bearerAuth(endpoint.token)],
    }),
  );
  const policy = { allowedModels: values["allow-model"] ?? [] };

  switch (`${group} ${command}`) {
    case "tenants create": {
      if (!arg) throw new Error("tenants create needs a tenant id");
      const { tenant } = await admin.createTenant({
        tenantId: arg,
        displayName: values.name ?? "",
        policy,
      });
      if (!tenant) throw new Error("no tenant returned");
      out(
        values.json
          ? JSON.stringify(toJson(TenantSchema, tenant))
          : `Created tenant ${tenant.tenantId}.`,
      );
      return;
    }
    case "tenants list": {
      const res = await admin.listTenants({});
      if (values.json) return out(JSON.stringify(toJson(ListTenantsResponseSchema, res)));
      out(
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
      return;
    }
    case "keys create": {
      if (!values.tenant) throw new Error("keys create needs --tenant");
      const ttlDays = values["ttl-days"] ? Number(values["ttl-days"]) : 0;
      if (!Number.isFinite(ttlDays) || ttlDays < 0)
        throw new Error("--ttl-days must be a positive number");
      const res = await admin.createKey({
        tenantId: values.tenant,
        name: values.name ?? "",
        ttlSeconds: Math.round(ttlDays * 86_400),
        policy,
      });
      if (values.json) return out(JSON.stringify(toJson(CreateKeyResponseSchema, res)));
      out(
        `Created key ${res.key?.keyId} for tenant ${res.key?.tenantId} (expires ${date(res.key?.expiresAtMs ?? 0)}).`,
      );
      out(res.secret);
      out("Store it now: it is shown only once.");
      return;
    }
    case "keys list": {
      const res = await admin.listKeys({ tenantId: values.tenant ?? "" });
      if (values.json) return out(JSON.stringify(toJson(ListKeysResponseSchema, res)));
      out(
        table([
          ["KEY ID", "TENANT", "NAME", "STATUS", "CREATED", "EXPIRES"],
          ...res.keys.map((k) => [
            k.keyId,
            k.tenantId,
            k.name,
            keyStatus(k),
            date(k.createdAtMs),
            date(k.expiresAtMs),
          ]),
        ]),
      );
      return;
    }
    case "keys revoke": {
      if (!arg) throw new Error("keys revoke needs a key id");
      const res = await admin.revokeKey({ keyId: arg });
      out(
        values.json ? JSON.stringify(toJson(RevokeKeyResponseSchema, res)) : `Revoked key ${arg}.`,
      );
      return;
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
