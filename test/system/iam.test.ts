// The IAM/DynamoDB CloudFormation template (deploy/iam/strata-iam.yaml) linted by cfn-lint, scanned
// by checkov, and read the way a reviewer would: no wildcard actions, Bedrock only for inference,
// each service limited to its own tables, trust pinned to the exact service account, a read-only
// usage reader. Needs python3; scripts/ensure-python-tools.sh installs the pinned tools (cached).
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const template = resolve("deploy/iam/strata-iam.yaml");
const big = { maxBuffer: 64 * 1024 * 1024 };

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };
interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource?: Json;
  Principal?: Json;
  Condition?: Obj;
}

let bin: string;
let doc: Obj;

beforeAll(async () => {
  const { stdout } = await run("scripts/ensure-python-tools.sh", [], { timeout: 900_000, ...big });
  bin = stdout.trim().split("\n").at(-1) as string;
  // cfn-lint's own loader understands the short-form tags (!Sub, !If, ...) and yields the long form.
  const { stdout: json } = await run(
    `${bin}/python`,
    [
      "-c",
      "import json, sys; from cfnlint.decode import cfn_yaml; print(json.dumps(cfn_yaml.load(sys.argv[1])))",
      template,
    ],
    { timeout: 60_000, ...big },
  );
  doc = JSON.parse(json) as Obj;
}, 900_000);

const resources = (): Obj => doc.Resources as Obj;
const resource = (id: string): Obj => resources()[id] as Obj;
const props = (id: string): Obj => resource(id).Properties as Obj;
const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** Every alternative a value can take: both branches of each Fn::If, AWS::NoValue dropped. */
function branches(value: Json): Json[] {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    if ("Fn::If" in value) {
      const [, yes, no] = value["Fn::If"] as Json[];
      return [...branches(yes as Json), ...branches(no as Json)];
    }
    if ("Ref" in value && value.Ref === "AWS::NoValue") return [];
  }
  return [value];
}

/** A policy document: an object, or an Fn::Sub'd JSON string (IRSA, whose keys hold the issuer). */
function policyDocs(value: Json): Obj[] {
  return branches(value).map((b) => {
    const sub = (b as Obj)["Fn::Sub"];
    if (typeof sub === "string") return JSON.parse(sub) as Obj;
    return b as Obj;
  });
}

function statementsOf(policy: Obj): Statement[] {
  return asList(policy.Statement as Json).flatMap((s) => branches(s)) as unknown as Statement[];
}

function permissionStatements(roleId: string): Statement[] {
  return asList(props(roleId).Policies as Json[]).flatMap((p) =>
    policyDocs((p as Obj).PolicyDocument as Json).flatMap(statementsOf),
  );
}

function trustStatements(roleId: string): Statement[] {
  return policyDocs(props(roleId).AssumeRolePolicyDocument as Json).flatMap(statementsOf);
}

const actions = (statements: Statement[]): string[] => statements.flatMap((s) => asList(s.Action));

/** Logical ids referenced (Ref, Fn::GetAtt, ${Id} / ${Id.Attr} in Fn::Sub) anywhere in a value. */
function referenced(value: Json, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) referenced(v, out);
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k === "Ref" && typeof v === "string") out.add(v);
      else if (k === "Fn::GetAtt")
        out.add(Array.isArray(v) ? String(v[0]) : (String(v).split(".")[0] ?? ""));
      else if (k === "Fn::Sub") {
        const text = Array.isArray(v) ? String(v[0]) : String(v);
        for (const m of text.matchAll(/\$\{([A-Za-z0-9]+)(\.[A-Za-z]+)?\}/g))
          out.add(m[1] as string);
        referenced(v, out);
      } else referenced(v, out);
    }
  }
  return out;
}

const tableIds = (): string[] =>
  Object.entries(resources())
    .filter(([, r]) => (r as Obj).Type === "AWS::DynamoDB::Table")
    .map(([id]) => id);
const roleIds = (): string[] =>
  Object.entries(resources())
    .filter(([, r]) => (r as Obj).Type === "AWS::IAM::Role")
    .map(([id]) => id);
const tablesReferenced = (statements: Statement[]): string[] =>
  [...referenced(statements.map((s) => s.Resource ?? null))].filter((id) =>
    tableIds().includes(id),
  );

describe("deploy/iam/strata-iam.yaml", () => {
  it("passes cfn-lint with no findings", async () => {
    const { stdout } = await run(`${bin}/cfn-lint`, [template], { timeout: 300_000, ...big });
    expect(stdout.trim()).toBe("");
  }, 300_000);

  it("passes checkov's CloudFormation checks", async () => {
    const { stdout } = await run(
      `${bin}/checkov`,
      ["-f", template, "--framework", "cloudformation", "--quiet", "--compact", "--skip-download"],
      { timeout: 300_000, ...big },
    );
    expect(stdout).toMatch(/Failed checks: 0\b/);
    expect(stdout).toMatch(/Passed checks: [1-9]/);
  }, 300_000);

  it("creates one role per AWS-using service, the usage reader, and nothing for gateway/operator", () => {
    expect(roleIds().sort()).toEqual([
      "AuthRole",
      "InferenceRole",
      "MeteringRole",
      "UsageReaderRole",
    ]);
    for (const id of roleIds()) expect(props(id).MaxSessionDuration).toBe(3600);
  });

  it("never grants a wildcard action in any role", () => {
    const all = roleIds().flatMap(permissionStatements);
    expect(all.length).toBeGreaterThan(0);
    for (const action of actions(all)) {
      expect(action).not.toBe("*");
      expect(action).not.toMatch(/^[a-z0-9-]+:\*$/);
    }
    for (const s of all) expect(s.Effect).toBe("Allow");
    // A literal "*" Action appears nowhere in the template (the KMS key policy's kms:* for the
    // account root is the AWS default statement, not a role grant).
    const walk = (v: Json): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === "object")
        for (const [k, x] of Object.entries(v)) {
          if (k === "Action") expect(asList(x)).not.toContain("*");
          walk(x);
        }
    };
    walk(doc);
  });

  it("gives Bedrock actions to the inference role only, on the configured ARNs", () => {
    for (const id of roleIds()) {
      const bedrock = actions(permissionStatements(id)).filter((a) => a.startsWith("bedrock:"));
      if (id === "InferenceRole")
        expect([...new Set(bedrock)].sort()).toEqual([
          "bedrock:InvokeModel",
          "bedrock:InvokeModelWithResponseStream",
        ]);
      else expect(bedrock).toEqual([]);
    }
    const invoke = permissionStatements("InferenceRole").filter((s) =>
      asList(s.Action).includes("bedrock:InvokeModel"),
    );
    expect(invoke.map((s) => s.Resource)).toEqual([
      { Ref: "FoundationModelArns" },
      { Ref: "InferenceProfileArns" },
    ]);
    // Inference touches no table.
    expect(tablesReferenced(permissionStatements("InferenceRole"))).toEqual([]);
  });

  it("lets inference assume tenant roles only with an ExternalId", () => {
    const sts = permissionStatements("InferenceRole").filter((s) =>
      actions([s]).some((a) => a.startsWith("sts:")),
    );
    expect(sts).toHaveLength(1);
    expect(asList(sts[0]?.Action as string)).toEqual(["sts:AssumeRole"]);
    expect(sts[0]?.Resource).toEqual({ Ref: "TenantRoleArns" });
    expect(sts[0]?.Condition).toEqual({ Null: { "sts:ExternalId": "false" } });
  });

  it("limits auth and metering to their own tables", () => {
    const auth = permissionStatements("AuthRole");
    expect(tablesReferenced(auth).sort()).toEqual(
      ["AdminTokensTable", "AuditTable", "ChangesTable", "KeysTable", "TenantsTable"].sort(),
    );
    expect(tablesReferenced(permissionStatements("MeteringRole"))).toEqual(["UsageTable"]);
    for (const a of actions(auth)) expect(a).toMatch(/^(dynamodb|kms):/);
    expect(actions(auth)).not.toContain("dynamodb:CreateTable");
    expect(actions(auth)).not.toContain("dynamodb:DeleteTable");
    // The byTenant index is the only index granted, and only for Query.
    const index = auth.filter((s) => JSON.stringify(s.Resource).includes("/index/"));
    expect(index.map((s) => [s.Action, s.Resource])).toEqual([
      ["dynamodb:Query", { "Fn::Sub": `\${KeysTable.Arn}/index/byTenant` }],
    ]);
    expect(
      [
        ...new Set(
          actions(permissionStatements("MeteringRole")).filter((a) => a.startsWith("dynamodb:")),
        ),
      ].sort(),
    ).toEqual(["dynamodb:BatchWriteItem", "dynamodb:Query"]);
  });

  it("binds every service role to its exact service account (IRSA sub+aud, or Pod Identity)", () => {
    const accounts: Record<string, string> = {
      InferenceRole: "InferenceServiceAccount",
      AuthRole: "AuthServiceAccount",
      MeteringRole: "MeteringServiceAccount",
    };
    for (const [role, sa] of Object.entries(accounts)) {
      const trust = trustStatements(role);
      const irsa = trust.filter((s) => asList(s.Action).includes("sts:AssumeRoleWithWebIdentity"));
      expect(irsa).toHaveLength(1);
      expect(irsa[0]?.Principal).toEqual({ Federated: `\${OidcProviderArn}` });
      expect(irsa[0]?.Condition).toEqual({
        StringEquals: {
          "${OidcProviderUrl}:sub": `system:serviceaccount:\${Namespace}:\${${sa}}`,
          "${OidcProviderUrl}:aud": "sts.amazonaws.com",
        },
      });
      const pods = trust.filter((s) =>
        JSON.stringify(s.Principal).includes("pods.eks.amazonaws.com"),
      );
      expect(pods).toHaveLength(1);
      expect(asList(pods[0]?.Action as string).sort()).toEqual([
        "sts:AssumeRole",
        "sts:TagSession",
      ]);
      const equals = pods[0]?.Condition?.StringEquals as Obj;
      expect(equals["aws:SourceAccount"]).toEqual({ Ref: "AWS::AccountId" });
      expect(equals["aws:RequestTag/kubernetes-service-account"]).toEqual({ Ref: sa });
      expect(equals["aws:RequestTag/kubernetes-namespace"]).toEqual({ Ref: "Namespace" });
      expect(trust).toHaveLength(2);
    }
    const associations = Object.values(resources()).filter(
      (r) => (r as Obj).Type === "AWS::EKS::PodIdentityAssociation",
    ) as Obj[];
    expect(associations).toHaveLength(3);
    for (const a of associations) expect(a.Condition).toBe("CreatePodIdentityAssociations");
  });

  it("makes the usage reader read-only on the usage table", () => {
    const statements = permissionStatements("UsageReaderRole");
    const readOnly = new Set([
      "dynamodb:GetItem",
      "dynamodb:Query",
      "dynamodb:Scan",
      "dynamodb:DescribeTable",
      "kms:Decrypt",
      "kms:DescribeKey",
      "cloudwatch:GetMetricData",
    ]);
    for (const a of actions(statements)) expect(readOnly).toContain(a);
    expect(tablesReferenced(statements)).toEqual(["UsageTable"]);
    const trust = trustStatements("UsageReaderRole");
    expect(trust.map((s) => [s.Action, s.Principal])).toEqual([
      ["sts:AssumeRole", { AWS: { Ref: "UsageReaderPrincipalArn" } }],
    ]);
  });

  it("creates the services' tables as the code expects, on demand, with PITR and SSE", () => {
    const names = Object.fromEntries(
      tableIds().map((id) => [(props(id).TableName as Obj)["Fn::Sub"], id]),
    );
    expect(Object.keys(names).sort()).toEqual(
      ["tenants", "keys", "audit", "admin-tokens", "changes", "usage"]
        .map((t) => `\${TablePrefix}${t}`)
        .sort(),
    );
    for (const id of tableIds()) {
      const p = props(id);
      expect(p.BillingMode).toBe("PAY_PER_REQUEST");
      expect(p.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(p.DeletionProtectionEnabled).toEqual({ Ref: "DeletionProtection" });
      expect(p.SSESpecification).toBeDefined();
      expect(resource(id).DeletionPolicy).toBe("Retain");
      for (const d of p.AttributeDefinitions as Obj[]) expect(d.AttributeType).toBe("S");
    }
    expect(props("KeysTable").GlobalSecondaryIndexes).toEqual([
      {
        IndexName: "byTenant",
        KeySchema: [
          { AttributeName: "tenantId", KeyType: "HASH" },
          { AttributeName: "createdAt", KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: "ALL" },
      },
    ]);
    expect(props("UsageTable").KeySchema).toEqual([
      { AttributeName: "tenantId", KeyType: "HASH" },
      { AttributeName: "usageKey", KeyType: "RANGE" },
    ]);
    expect((doc.Parameters as Obj).TablePrefix).toMatchObject({ Default: "strata-" });
  });

  it("outputs the role ARNs the Helm chart needs and the tables", () => {
    const outputs = Object.keys(doc.Outputs as Obj);
    for (const o of ["InferenceRoleArn", "AuthRoleArn", "MeteringRoleArn", "UsageReaderRoleArn"])
      expect(outputs).toContain(o);
    for (const t of ["Tenants", "Keys", "Audit", "AdminTokens", "Changes", "Usage"]) {
      expect(outputs).toContain(`${t}TableName`);
      expect(outputs).toContain(`${t}TableArn`);
    }
  });
});
