import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { applyServerSide, helmTemplate, type Kube, startKube } from "./support/kube.ts";

// Both charts against a real kube-apiserver over etcd, the way a platform team installs them:
// `helm install` of the CRD chart and of the strata chart, and every ci/*-values.yaml scenario
// applied server-side, so the API server's own schemas and admission validate every object.
// The Prometheus Operator's CRDs come from its Go module (pinned below), for the ServiceMonitor
// and PrometheusRule of the production scenario.
const run = promisify(execFile);
const PROMETHEUS_OPERATOR = "github.com/prometheus-operator/prometheus-operator@v0.85.0";
const chart = "deploy/helm/strata";
let kube: Kube;
let helm: string;

/** The ServiceMonitor and PrometheusRule CRDs, from the pinned module in the Go module cache. */
async function prometheusOperatorCrds(): Promise<string> {
  const cache = process.env.STRATA_CACHE_DIR ?? join(process.env.HOME ?? "/root", ".cache/strata");
  const { stdout } = await run("go", ["mod", "download", "-json", PROMETHEUS_OPERATOR], {
    env: { ...process.env, GOPATH: join(cache, "go"), GOFLAGS: "-modcacherw" },
    timeout: 300_000,
    maxBuffer: 4 * 1024 * 1024,
  });
  const dir = join((JSON.parse(stdout) as { Dir: string }).Dir, "example/prometheus-operator-crd");
  return ["servicemonitors", "prometheusrules"]
    .map((kind) => readFileSync(join(dir, `monitoring.coreos.com_${kind}.yaml`), "utf8"))
    .join("\n---\n");
}

const namespaceYaml = (...names: string[]) =>
  names
    .map((name) => JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name } }))
    .join("\n---\n");

async function kubectlJson<T>(...args: string[]): Promise<T> {
  const result = await kube.kubectl([...args, "-o", "json"]);
  if (result.code !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout) as T;
}

beforeAll(async () => {
  const [tools, started] = await Promise.all([
    run("scripts/ensure-k8s-tools.sh", [], { timeout: 900_000 }),
    startKube(),
  ]);
  helm = `${tools.stdout.trim()}/helm`;
  kube = started;
  await applyServerSide(kube, namespaceYaml("strata", "team-a", "team-b", "monitoring"));
  await applyServerSide(kube, await prometheusOperatorCrds());
  const established = await kube.kubectl([
    "wait",
    "--for=condition=Established",
    "--timeout=60s",
    "crd/servicemonitors.monitoring.coreos.com",
    "crd/prometheusrules.monitoring.coreos.com",
  ]);
  if (established.code !== 0) throw new Error(established.stderr);
}, 1_800_000);

afterAll(() => kube?.stop());

describe("helm install into a real API server", () => {
  it("installs the CRD chart, then the strata chart, and runs nothing it cannot see", async () => {
    const env = { ...process.env, KUBECONFIG: kube.kubeconfig };
    await run(helm, ["install", "strata-crds", "deploy/helm/strata-crds", "--wait"], {
      env,
      timeout: 120_000,
    });
    const { stdout } = await run(
      helm,
      ["install", "strata", chart, "-n", "strata", "--set", "auth.existingSecret=bootstrap"],
      { env, timeout: 120_000 },
    );
    // NOTES.txt, rendered against the real cluster.
    expect(stdout).toContain("STATUS: deployed");
    expect(stdout).toContain("kubectl port-forward -n strata svc/strata-auth 50052:50052");
    const deployments = await kubectlJson<{ items: Array<{ metadata: { name: string } }> }>(
      "get",
      "deployments",
      "-n",
      "strata",
    );
    expect(deployments.items.map((d) => d.metadata.name).sort()).toEqual([
      "strata-auth",
      "strata-gateway",
      "strata-inference",
      "strata-metering",
    ]);
    const policies = await kubectlJson<{ items: unknown[] }>(
      "get",
      "networkpolicies",
      "-n",
      "strata",
    );
    expect(policies.items).toHaveLength(7);
    // An upgrade with a changed value goes through the same validation.
    await run(
      helm,
      [
        "upgrade",
        "strata",
        chart,
        "-n",
        "strata",
        "--reuse-values",
        "--set",
        "gateway.meteringFailMode=closed",
      ],
      { env, timeout: 120_000 },
    );
    const gateway = await kubectlJson<{
      spec: {
        template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } };
      };
    }>("get", "deployment", "strata-gateway", "-n", "strata");
    expect(gateway.spec.template.spec.containers[0]?.env).toContainEqual({
      name: "STRATA_METERING_FAIL_MODE",
      value: "closed",
    });
  }, 300_000);
});

describe("every scenario is accepted by the API server", () => {
  const scenarios = ["default", "eks-irsa", "pod-identity", "minimal", "kind"];
  it.each(scenarios)(
    "%s-values.yaml",
    async (scenario) => {
      const namespace = `s-${scenario}`;
      await applyServerSide(kube, namespaceYaml(namespace));
      const yaml = await helmTemplate(helm, chart, {
        release: scenario,
        namespace,
        args: ["-f", `${chart}/ci/${scenario}-values.yaml`],
      });
      const objects = parseAllDocuments(yaml)
        .map((d) => d.toJSON())
        .filter(Boolean);
      // Apply for real (the test pod is a hook, applied too: nothing runs it without a kubelet).
      const out = await applyServerSide(kube, yaml, { namespace });
      expect(out.trim().split("\n")).toHaveLength(objects.length);
      // Applying again changes nothing: the rendered objects are stable under the server's defaults
      // (a field the server rewrites would bump the generation and roll pods on every upgrade).
      type List = { items: Array<{ metadata: { name: string; generation: number } }> };
      const generations = async () =>
        (await kubectlJson<List>("get", "deployments,networkpolicies", "-n", namespace)).items.map(
          (o) => `${o.metadata.name}@${o.metadata.generation}`,
        );
      const before = await generations();
      expect(before.length).toBeGreaterThanOrEqual(8);
      await applyServerSide(kube, yaml, { namespace });
      expect(await generations()).toEqual(before);
    },
    120_000,
  );

  it("refuses what the chart must never produce, with the server's reason", async () => {
    const yaml = await helmTemplate(helm, chart, { release: "bad", namespace: "strata" });
    // A policy port out of range proves the server (not helm) validates what reaches it.
    const broken = yaml.replace("port: 8080", "port: 80800");
    await expect(
      applyServerSide(kube, broken, { namespace: "strata", dryRun: true }),
    ).rejects.toThrow(/must be between 1 and 65535/);
  }, 60_000);
});
