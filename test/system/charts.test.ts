import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";

// The charts, rendered and linted by a real helm (built from the Go module proxy by
// scripts/ensure-k8s-tools.sh). Server-side validation against a kube-apiserver comes next.
const run = promisify(execFile);
let helm: string;

type Schema = {
  properties?: Record<string, Schema>;
  items?: Schema;
  "x-kubernetes-validations"?: Array<{ rule: string }>;
};
type Crd = {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: {
    scope: string;
    versions: Array<{
      name: string;
      schema: { openAPIV3Schema: Schema };
      subresources?: { status?: object };
    }>;
  };
};

async function render(chart: string, ...args: string[]): Promise<unknown[]> {
  const { stdout } = await run(helm, ["template", "t", chart, ...args], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return parseAllDocuments(stdout)
    .map((d) => d.toJSON())
    .filter(Boolean);
}

beforeAll(async () => {
  const { stdout } = await run("scripts/ensure-k8s-tools.sh", [], { timeout: 900_000 });
  helm = `${stdout.trim()}/helm`;
}, 900_000);

describe("strata-crds chart", () => {
  it("passes helm lint --strict", async () => {
    const { stdout } = await run(helm, ["lint", "--strict", "deploy/helm/strata-crds"]);
    expect(stdout).toContain("0 chart(s) failed");
  });

  it("renders the Tenant (cluster-scoped) and ApiKey (namespaced) CRDs, kept on uninstall", async () => {
    const crds = (await render("deploy/helm/strata-crds")) as Crd[];
    const byName = Object.fromEntries(crds.map((c) => [c.metadata.name, c]));
    expect(Object.keys(byName).sort()).toEqual(["apikeys.strata.dev", "tenants.strata.dev"]);
    expect(byName["tenants.strata.dev"]?.spec.scope).toBe("Cluster");
    expect(byName["apikeys.strata.dev"]?.spec.scope).toBe("Namespaced");
    for (const crd of crds) {
      expect(crd.metadata.annotations?.["helm.sh/resource-policy"]).toBe("keep");
      expect(crd.spec.versions[0]?.subresources?.status).toEqual({});
    }
    const dropped = (await render("deploy/helm/strata-crds", "--set", "keep=false")) as Crd[];
    expect(dropped.every((c) => !c.metadata.annotations?.["helm.sh/resource-policy"])).toBe(true);
  });

  it("lets keys narrow a tenant's policy but never carry tenant-only fields", async () => {
    const crds = (await render("deploy/helm/strata-crds")) as Crd[];
    const policyOf = (name: string) =>
      crds.find((c) => c.metadata.name === name)?.spec.versions[0]?.schema.openAPIV3Schema
        .properties?.spec?.properties?.policy?.properties ?? {};
    const tenant = policyOf("tenants.strata.dev");
    const key = policyOf("apikeys.strata.dev");
    for (const field of ["guardrail", "crossAccount", "contentLogging"]) {
      expect(tenant).toHaveProperty(field);
      expect(key).not.toHaveProperty(field);
    }
    for (const field of [
      "allowedModels",
      "allowedSourceCidrs",
      "allowedRegions",
      "toolPolicy",
      "secrets",
      "limits",
    ]) {
      expect(key).toHaveProperty(field);
    }
    expect(JSON.stringify(tenant.limits)).toContain("a budget needs a period");
    expect(JSON.stringify(tenant.allowedSourceCidrs)).toContain("isCIDR(self)");
  });
});
