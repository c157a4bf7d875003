import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type Stack, startStack } from "@strata/devstack";
import { parseCatalog } from "@strata/inference/catalog";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { type Endpoint, type NetworkPolicy, networkModel } from "./support/network-policy.ts";

// The strata chart rendered by a real helm (scripts/ensure-k8s-tools.sh) and checked as a user
// or a security reviewer would: every ci/*-values.yaml scenario lints and renders, pods are
// hardened, each service gets its own identity, the NetworkPolicy graph is exactly Strata's
// paths, and bad values are refused with a message naming them. Server-side validation against a
// real kube-apiserver is in kube-apiserver.test.ts.
const run = promisify(execFile);
const chart = "deploy/helm/strata";
const namespace = "strata";
const scenarios = readdirSync(`${chart}/ci`).filter((f) => f.endsWith("-values.yaml"));
let helm: string;

// biome-ignore lint/suspicious/noExplicitAny: rendered Kubernetes objects are checked field by field.
type K8sObject = any;

async function render(...args: string[]): Promise<K8sObject[]> {
  const { stdout } = await run(helm, ["template", "s", chart, "-n", namespace, ...args], {
    maxBuffer: 32 * 1024 * 1024,
  });
  return parseAllDocuments(stdout)
    .map((d) => d.toJSON())
    .filter(Boolean);
}

/** helm's refusal of bad values: the error text. */
async function refusal(...args: string[]): Promise<string> {
  try {
    await render(...args);
  } catch (error) {
    return (error as { stderr: string }).stderr;
  }
  throw new Error(`helm accepted ${args.join(" ")}`);
}

const ofKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
const named = (objects: K8sObject[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
};
const envOf = (deployment: K8sObject) =>
  Object.fromEntries(
    (deployment.spec.template.spec.containers[0].env as K8sObject[]).map((e) => [
      e.name,
      e.value ?? e.valueFrom,
    ]),
  );

beforeAll(async () => {
  const { stdout } = await run("scripts/ensure-k8s-tools.sh", [], { timeout: 900_000 });
  helm = `${stdout.trim()}/helm`;
}, 900_000);

describe("strata chart: scenarios", () => {
  it("has the scenarios a platform team starts from", () => {
    expect(scenarios).toEqual(
      expect.arrayContaining([
        "default-values.yaml",
        "eks-irsa-values.yaml",
        "pod-identity-values.yaml",
        "minimal-values.yaml",
      ]),
    );
  });

  it.each(scenarios)("%s passes helm lint --strict and renders", async (file) => {
    const { stdout } = await run(helm, ["lint", "--strict", chart, "-f", `${chart}/ci/${file}`]);
    expect(stdout).toContain("0 chart(s) failed");
    const objects = await render("-f", `${chart}/ci/${file}`);
    expect(ofKind(objects, "Deployment").length).toBeGreaterThanOrEqual(4);
  });

  it("keeps values.schema.json generated from scripts/helm-values-schema.ts", async () => {
    await expect(run("node", ["scripts/helm-values-schema.ts", "--check"])).resolves.toBeDefined();
  });
});

describe("strata chart: pods", () => {
  it.each(scenarios)("%s: every pod is hardened and probed", async (file) => {
    const objects = await render("-f", `${chart}/ci/${file}`);
    const pods = [
      ...ofKind(objects, "Deployment").map((d) => ({
        name: d.metadata.name,
        spec: d.spec.template.spec,
      })),
      ...ofKind(objects, "Pod").map((p) => ({ name: p.metadata.name, spec: p.spec })),
    ];
    for (const { name, spec } of pods) {
      expect(spec.securityContext, name).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 10001,
        seccompProfile: { type: "RuntimeDefault" },
      });
      expect(spec.hostNetwork ?? false, name).toBe(false);
      expect(spec.automountServiceAccountToken, name).toBe(name.endsWith("-operator"));
      for (const container of spec.containers) {
        expect(container.securityContext, name).toEqual({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          privileged: false,
          capabilities: { drop: ["ALL"] },
        });
        expect(container.resources.requests, name).toHaveProperty("memory");
        expect(container.resources.limits, name).toHaveProperty("memory");
      }
    }
    for (const deployment of ofKind(objects, "Deployment")) {
      const container = deployment.spec.template.spec.containers[0];
      const component = deployment.metadata.labels["app.kubernetes.io/component"];
      expect(container.livenessProbe.httpGet.path, component).toBe("/healthz");
      if (["auth", "inference", "metering"].includes(component)) {
        // gRPC health on the service's own port: NOT_SERVING while draining.
        const grpcPort = container.ports.find((p: K8sObject) => p.name === "grpc").containerPort;
        expect(container.readinessProbe.grpc.port, component).toBe(grpcPort);
        expect(container.startupProbe.grpc.port, component).toBe(grpcPort);
      } else {
        expect(container.readinessProbe.httpGet.path, component).toBe("/readyz");
      }
    }
  });

  it("leaves time to drain and finish streams after SIGTERM, and never rolls below capacity", async () => {
    const objects = await render(
      "--set",
      "common.shutdownDrainSeconds=7",
      "--set",
      "common.shutdownGraceSeconds=40",
    );
    for (const deployment of ofKind(objects, "Deployment")) {
      const spec = deployment.spec.template.spec;
      expect(spec.terminationGracePeriodSeconds).toBe(52);
      expect(envOf(deployment)).toMatchObject({
        STRATA_SHUTDOWN_DRAIN_MS: "7000",
        STRATA_SHUTDOWN_GRACE_MS: "40000",
      });
      expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    }
  });

  it("spreads replicas over zones and nodes, scales the gateway and inference, and budgets disruptions", async () => {
    const objects = await render();
    for (const deployment of ofKind(objects, "Deployment")) {
      const keys = deployment.spec.template.spec.topologySpreadConstraints.map(
        (c: K8sObject) => c.topologyKey,
      );
      expect(keys).toEqual(["topology.kubernetes.io/zone", "kubernetes.io/hostname"]);
    }
    const hpas = ofKind(objects, "HorizontalPodAutoscaler").map((h) => h.spec.scaleTargetRef.name);
    expect(hpas.sort()).toEqual(["s-strata-gateway", "s-strata-inference"]);
    // An autoscaled Deployment leaves replicas to the HPA, or every upgrade would reset them.
    expect(named(objects, "Deployment", "s-strata-gateway").spec).not.toHaveProperty("replicas");
    expect(named(objects, "Deployment", "s-strata-auth").spec.replicas).toBe(2);
    expect(ofKind(objects, "PodDisruptionBudget")).toHaveLength(4);
  });

  it("wires the services to each other and keeps secrets out of plain values", async () => {
    const objects = await render("-f", `${chart}/ci/eks-irsa-values.yaml`);
    const gateway = envOf(named(objects, "Deployment", "s-strata-gateway"));
    expect(gateway).toMatchObject({
      STRATA_AUTH_URL: "http://s-strata-auth.strata.svc:50051",
      STRATA_INFERENCE_URL: "http://s-strata-inference.strata.svc:50053",
      STRATA_METERING_URL: "http://s-strata-metering.strata.svc:50054",
      STRATA_TRUSTED_PROXY_CIDRS: "10.0.0.0/16",
      STRATA_MAX_BODY_BYTES: "20971520",
    });
    // Secrets are files from a mounted Secret, never environment values.
    const auth = named(objects, "Deployment", "s-strata-auth");
    expect(envOf(auth)).toMatchObject({
      STRATA_ADMIN_TOKEN_SHA256_FILE: "/etc/strata/secrets/admin-token-sha256",
      STRATA_KEY_PEPPER_FILE: "/etc/strata/secrets/key-pepper",
      STRATA_CREATE_TABLES: "false",
    });
    expect(auth.spec.template.spec.volumes).toContainEqual({
      name: "secrets",
      secret: { secretName: "strata-auth-bootstrap", defaultMode: 0o440 },
    });
    const metering = named(objects, "Deployment", "s-strata-metering");
    expect(envOf(metering)).toMatchObject({
      STRATA_LIMITS_STORE: "redis",
      STRATA_REDIS_URL_FILE: "/etc/strata/secrets/redis-url",
    });
    expect(metering.spec.template.spec.volumes).toContainEqual({
      name: "secrets",
      secret: {
        secretName: "strata-redis",
        defaultMode: 0o440,
        items: [{ key: "url", path: "redis-url" }],
      },
    });
    for (const deployment of ofKind(objects, "Deployment")) {
      const env = envOf(deployment);
      for (const name of ["STRATA_ADMIN_TOKEN_SHA256", "STRATA_KEY_PEPPER", "STRATA_REDIS_URL"]) {
        expect(env, deployment.metadata.name).not.toHaveProperty(name);
      }
      expect(JSON.stringify(env)).not.toContain("secretKeyRef");
      const mount = deployment.spec.template.spec.containers[0].volumeMounts.find(
        (m: K8sObject) => m.name === "secrets",
      );
      if (mount) expect(mount).toMatchObject({ mountPath: "/etc/strata/secrets", readOnly: true });
    }
    // Images: the registry and tag, and a digest where one is pinned.
    const image = (c: string) =>
      named(objects, "Deployment", `s-strata-${c}`).spec.template.spec.containers[0].image;
    expect(image("gateway")).toBe(
      "123456789012.dkr.ecr.eu-west-1.amazonaws.com/strata-gateway@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    );
    expect(image("auth")).toBe("123456789012.dkr.ecr.eu-west-1.amazonaws.com/strata-auth:0.1.0");
  });

  it("mounts a catalog that the inference service itself accepts, and rolls pods when it changes", async () => {
    const objects = await render("-f", `${chart}/ci/eks-irsa-values.yaml`);
    const configMap = named(objects, "ConfigMap", "s-strata-inference-catalog");
    const catalog = parseCatalog(configMap.data["catalog.json"], { region: "eu-west-1" });
    expect(catalog.resolve("sonnet")?.bedrockModelId).toBe(
      "eu.anthropic.claude-3-7-sonnet-20250219-v1:0",
    );
    const inference = named(objects, "Deployment", "s-strata-inference");
    expect(envOf(inference).STRATA_CATALOG_FILE).toBe("/etc/strata/catalog/catalog.json");
    const checksum = inference.spec.template.metadata.annotations["checksum/catalog"];
    const changed = await render(
      "-f",
      `${chart}/ci/eks-irsa-values.yaml`,
      "--set",
      "inference.catalog[0].maxOutputTokens=4096",
    );
    expect(
      named(changed, "Deployment", "s-strata-inference").spec.template.metadata.annotations[
        "checksum/catalog"
      ],
    ).not.toBe(checksum);
  });
});

describe("strata chart: identities", () => {
  it("gives each service its own ServiceAccount, and IAM roles only to the services that call AWS", async () => {
    const objects = await render("-f", `${chart}/ci/eks-irsa-values.yaml`);
    const accounts = Object.fromEntries(
      ofKind(objects, "ServiceAccount").map((a) => [
        a.metadata.name,
        a.metadata.annotations?.["eks.amazonaws.com/role-arn"],
      ]),
    );
    expect(accounts).toEqual({
      "s-strata-gateway": undefined,
      "s-strata-auth": "arn:aws:iam::123456789012:role/strata-auth-eu-west-1",
      "s-strata-inference": "arn:aws:iam::123456789012:role/strata-inference-eu-west-1",
      "s-strata-metering": "arn:aws:iam::123456789012:role/strata-metering-eu-west-1",
    });
    for (const deployment of ofKind(objects, "Deployment")) {
      expect(deployment.spec.template.spec.serviceAccountName).toBe(deployment.metadata.name);
    }
  });

  it("names the service accounts as the IAM stack's trust policies expect for a release named strata", async () => {
    const { stdout } = await run(helm, ["template", "strata", chart, "-n", "strata"]);
    const names = parseAllDocuments(stdout)
      .map((d) => d.toJSON())
      .filter((o) => o?.kind === "ServiceAccount")
      .map((o) => o.metadata.name);
    const iam = readFileSync("deploy/iam/strata-iam.yaml", "utf8");
    for (const name of ["strata-inference", "strata-auth", "strata-metering"]) {
      expect(names).toContain(name);
      expect(iam).toContain(`Default: ${name}`);
    }
  });

  it("gives the operator exactly the Kubernetes access it uses, Secrets only where it serves", async () => {
    const objects = await render("-f", `${chart}/ci/pod-identity-values.yaml`);
    const clusterRole = named(objects, "ClusterRole", "s-strata-operator");
    const flat = clusterRole.rules.flatMap((r: K8sObject) =>
      r.resources.flatMap((res: string) => r.verbs.map((v: string) => `${res}:${v}`)),
    );
    expect(flat.some((p: string) => p.includes("*"))).toBe(false);
    expect(flat.some((p: string) => p.startsWith("secrets:"))).toBe(false);
    const secretRoles = ofKind(objects, "Role").filter((r) => r.metadata.name.endsWith("-secrets"));
    expect(secretRoles.map((r) => r.metadata.namespace).sort()).toEqual(["team-a", "team-b"]);
    const lease = named(objects, "Role", "s-strata-operator-leader-election");
    expect(lease.rules).toEqual([
      {
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        verbs: ["get", "create", "update"],
      },
    ]);
    // Without a namespace list, Secrets everywhere (a ClusterRole rule) — and nothing more.
    const everywhere = await render(
      "--set",
      "operator.enabled=true",
      "--set",
      "operator.adminTokenSecret=x",
    );
    const rules = named(everywhere, "ClusterRole", "s-strata-operator").rules;
    expect(rules.filter((r: K8sObject) => r.resources.includes("secrets"))).toHaveLength(1);
  });
});

describe("strata chart: network policies", () => {
  const podIp = (n: number) => `10.244.0.${n}`;
  const namespaceLabels = (ns: string) => ({ "kubernetes.io/metadata.name": ns });
  const outsiders: Endpoint[] = [
    {
      name: "ingress-nginx",
      ip: podIp(100),
      namespace: "ingress-nginx",
      labels: { app: "ingress" },
    },
    { name: "prometheus", ip: podIp(101), namespace: "monitoring", labels: { app: "prometheus" } },
    {
      name: "kube-dns",
      ip: podIp(102),
      namespace: "kube-system",
      labels: { "k8s-app": "kube-dns" },
    },
    { name: "team-pod", ip: podIp(103), namespace: "team-a", labels: { app: "x" } },
    { name: "stranger", ip: podIp(104), namespace, labels: { app: "x" } },
    {
      name: "client",
      ip: podIp(105),
      namespace,
      labels: { "strata.dev/gateway-client": "true" },
    },
    {
      name: "otel-collector",
      ip: podIp(106),
      namespace: "observability",
      labels: { app: "otel" },
    },
    { name: "bedrock", ip: "52.94.133.131" },
    { name: "public-web", ip: "93.184.215.14" },
    { name: "private-host", ip: "10.1.2.3" },
    { name: "metadata", ip: "169.254.169.254" },
    { name: "redis", ip: "10.0.64.5" },
    { name: "alb", ip: "10.0.1.10" },
    { name: "kube-api", ip: "172.20.0.1" },
  ];
  const listening: Record<string, Array<[number, string?]>> = {
    gateway: [[8080], [9464]],
    auth: [[50051], [50052], [9464]],
    inference: [[50053], [9464]],
    metering: [[50054], [9464]],
    operator: [[9464]],
    "kube-dns": [[53, "UDP"], [53]],
    "otel-collector": [[4318]],
    bedrock: [[443]],
    "public-web": [[443], [80]],
    "private-host": [[443]],
    metadata: [[80]],
    redis: [[6379]],
    "kube-api": [[443], [6443]],
  };

  /** Every allowed connection that starts or ends in the release namespace, as "a->b:port". */
  async function graph(...args: string[]): Promise<Set<string>> {
    const objects = await render(...args);
    const pods: Endpoint[] = [
      ...ofKind(objects, "Deployment").map((d, i) => ({
        name: d.metadata.labels["app.kubernetes.io/component"],
        ip: podIp(10 + i),
        namespace,
        labels: d.spec.template.metadata.labels,
      })),
      ...ofKind(objects, "Pod").map((p) => ({
        name: "helm-test",
        ip: podIp(50),
        namespace,
        labels: p.metadata.labels,
      })),
    ];
    const model = networkModel(ofKind(objects, "NetworkPolicy") as NetworkPolicy[], (ns) =>
      namespaceLabels(ns),
    );
    const endpoints = [...pods, ...outsiders];
    const allowed = new Set<string>();
    for (const from of endpoints) {
      for (const to of endpoints) {
        if (from === to || (from.namespace !== namespace && to.namespace !== namespace)) continue;
        if (from.namespace === undefined) continue; // outside addresses as sources: see the ALB test
        for (const [port, protocol = "TCP"] of listening[to.name] ?? []) {
          if (model.allows(from, to, port, protocol)) {
            allowed.add(`${from.name}->${to.name}:${port}${protocol === "UDP" ? "/udp" : ""}`);
          }
        }
      }
    }
    return allowed;
  }
  const dns = (...pods: string[]) =>
    pods.flatMap((p) => [`${p}->kube-dns:53`, `${p}->kube-dns:53/udp`]);
  const scrape = (...pods: string[]) => pods.map((p) => `prometheus->${p}:9464`);
  /** The AWS callers reach 443 on any address (the default `aws.to`); narrowed in production. */
  const aws443 = (...pods: string[]) =>
    pods.flatMap((p) =>
      ["bedrock", "public-web", "private-host", "kube-api"].map((to) => `${p}->${to}:443`),
    );
  const core = [
    "ingress-nginx->gateway:8080",
    "client->gateway:8080",
    "helm-test->gateway:8080",
    "gateway->auth:50051",
    "gateway->inference:50053",
    "gateway->metering:50054",
    "auth->metering:50054",
    ...scrape("gateway", "auth", "inference", "metering"),
    ...dns("gateway", "auth", "inference", "metering", "helm-test", "client"),
    ...aws443("auth", "inference", "metering"),
  ];

  it("opens exactly Strata's paths with the defaults, and nothing else", async () => {
    expect([...(await graph())].sort()).toEqual([...core].sort());
  });

  it("adds only the operator's paths when the operator is on", async () => {
    const allowed = await graph("-f", `${chart}/ci/pod-identity-values.yaml`);
    expect([...allowed].sort()).toEqual(
      [
        ...core,
        "operator->auth:50052",
        "operator->kube-api:443",
        ...scrape("operator"),
        ...dns("operator"),
      ].sort(),
    );
  });

  it("production values: AWS, Redis and the collector only where configured, the ALB's subnets admitted", async () => {
    const allowed = await graph("-f", `${chart}/ci/eks-irsa-values.yaml`);
    expect(allowed).toContain("metering->redis:6379");
    for (const pod of ["gateway", "auth", "inference"]) {
      expect(allowed).not.toContain(`${pod}->redis:6379`);
    }
    for (const pod of ["gateway", "auth", "inference", "metering"]) {
      expect(allowed).toContain(`${pod}->otel-collector:4318`);
    }
    expect(allowed).not.toContain("ingress-nginx->gateway:8080");
    expect(allowed).not.toContain("gateway->bedrock:443");
    const objects = await render("-f", `${chart}/ci/eks-irsa-values.yaml`);
    const model = networkModel(
      ofKind(objects, "NetworkPolicy") as NetworkPolicy[],
      namespaceLabels,
    );
    const gateway = {
      name: "gateway",
      ip: podIp(10),
      namespace,
      labels: named(objects, "Deployment", "s-strata-gateway").spec.template.metadata.labels,
    };
    expect(model.allows({ name: "alb", ip: "10.0.1.10" }, gateway, 8080)).toBe(true);
    expect(model.allows({ name: "internet", ip: "203.0.113.9" }, gateway, 8080)).toBe(false);
    expect(model.allows({ name: "alb", ip: "10.0.1.10" }, gateway, 9464)).toBe(false);
  });

  it("lets the gateway fetch remote images from public addresses only, and only when asked to", async () => {
    const allowed = await graph("-f", `${chart}/ci/minimal-values.yaml`);
    expect(allowed).toContain("gateway->public-web:443");
    expect(allowed).not.toContain("gateway->public-web:80");
    expect(allowed).not.toContain("gateway->private-host:443");
    expect(allowed).not.toContain("gateway->kube-api:443");
    expect(allowed).not.toContain("gateway->metadata:80");
    expect(await graph()).not.toContain("gateway->public-web:443");
  });

  it("drops the namespace-wide default deny only when told to, keeping Strata's pods closed", async () => {
    const shared = await graph("-f", `${chart}/ci/minimal-values.yaml`);
    expect(shared).toContain("stranger->public-web:443"); // not Strata's pod: not its policy
    expect(shared).not.toContain("stranger->auth:50051");
    expect(await graph()).not.toContain("stranger->public-web:443");
  });
});

describe("strata chart: observability", () => {
  it("ships the alerts and dashboards that the observability tests check", async () => {
    const objects = await render(
      "--set",
      "metrics.serviceMonitor.enabled=true",
      "--set",
      "metrics.prometheusRule.enabled=true",
      "--set",
      "dashboards.enabled=true",
    );
    const rule = named(objects, "PrometheusRule", "s-strata");
    expect(rule.spec).toEqual(parse(readFileSync(`${chart}/files/alerts.yaml`, "utf8")));
    const dashboards = ofKind(objects, "ConfigMap").filter(
      (c) => c.metadata.labels.grafana_dashboard === "1",
    );
    const files = readdirSync(`${chart}/files/dashboards`);
    expect(dashboards).toHaveLength(files.length);
    for (const file of files) {
      const configMap = dashboards.find((c) => file in c.data);
      expect(JSON.parse(configMap.data[file])).toEqual(
        JSON.parse(readFileSync(`${chart}/files/dashboards/${file}`, "utf8")),
      );
    }
    const monitor = named(objects, "ServiceMonitor", "s-strata");
    expect(monitor.spec.endpoints[0].port).toBe("metrics");
    for (const service of ofKind(objects, "Service")) {
      expect(service.spec.ports.map((p: K8sObject) => p.name)).toContain("metrics");
      expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    }
  });

  it("creates none of the Prometheus Operator objects by default (their CRDs may be absent)", async () => {
    const kinds = (await render()).map((o) => o.kind);
    expect(kinds).not.toContain("ServiceMonitor");
    expect(kinds).not.toContain("PrometheusRule");
  });
});

describe("strata chart: bad values are refused with a message naming them", () => {
  it.each([
    [["--set", "gateway.port=0"], "/gateway/port"],
    [["--set", "gatway.replicas=2"], "additional properties 'gatway' not allowed"],
    [["--set", "common.logLevel=verbose"], "/common/logLevel"],
    [["--set", "gateway.meteringFailMode=maybe"], "/gateway/meteringFailMode"],
    [["--set", "inference.catalog[0].id=x"], "/inference/catalog/0"],
    [
      [
        "--set",
        "auth.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::1:role/x",
      ],
      "/auth/serviceAccount/annotations/eks.amazonaws.com~1role-arn",
    ],
    [["--set", "gateway.image.digest=sha256:abc"], "/gateway/image/digest"],
    [["--set", "gateway.trustedProxyCidrs[0]=everyone"], "/gateway/trustedProxyCidrs/0"],
    [["--set", "redis.url=http://redis:6379"], "/redis/url"],
    [["--set", "networkPolicy.aws.ports={}"], "/networkPolicy/aws/ports"],
    [
      ["--set", "metering.replicas=3"],
      "metering with more than one replica (or autoscaling) needs redis.enabled",
    ],
    [["--set", "redis.enabled=true"], "redis.enabled needs redis.existingSecret"],
    [["--set", "operator.enabled=true"], "operator.enabled needs operator.adminTokenSecret"],
    [
      ["--set", "common.otlpEndpoint=http://otel:4318/v1/traces"],
      "needs networkPolicy.otlpEgress.to",
    ],
    [["--set", "tests.apiKeySecret=k"], "tests.model is needed with tests.apiKeySecret"],
  ])("%j", async (args, message) => {
    expect(await refusal(...args)).toContain(message);
  });
});

describe("strata chart: security scan", () => {
  it("passes checkov on every scenario and the CRDs, skipping only checks with a written reason", async () => {
    const { stdout: bin } = await run("scripts/ensure-python-tools.sh", [], { timeout: 600_000 });
    const dir = await mkdtemp(join(tmpdir(), "strata-checkov-"));
    try {
      for (const file of scenarios) {
        const { stdout } = await run(
          helm,
          ["template", "strata", chart, "-n", namespace, "-f", `${chart}/ci/${file}`],
          { maxBuffer: 32 * 1024 * 1024 },
        );
        await writeFile(join(dir, file), stdout);
      }
      const crds = await run(helm, ["template", "strata-crds", "deploy/helm/strata-crds"]);
      await writeFile(join(dir, "crds.yaml"), crds.stdout);
      const { stdout } = await run(
        `${bin.trim()}/checkov`,
        ["--config-file", "deploy/helm/.checkov.yaml", "-d", dir, "--skip-download"],
        { timeout: 300_000, maxBuffer: 32 * 1024 * 1024 },
      );
      expect(stdout).toMatch(/Failed checks: 0\b/);
      expect(stdout).toMatch(/Passed checks: [1-9]\d{2,}/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    // Every global skip is preceded by its reason; every resource skip carries one.
    const config = readFileSync("deploy/helm/.checkov.yaml", "utf8").split("\n");
    config.forEach((line, i) => {
      if (/^\s*- CKV/.test(line)) expect(config[i - 1], line).toMatch(/^\s*#\s*\S.{20,}/);
    });
    const annotations = execSkipAnnotations(`${chart}/templates`);
    expect(annotations.length).toBeGreaterThan(0);
    for (const annotation of annotations) expect(annotation).toMatch(/CKV2?_K8S_\d+=\S.{20,}/);
  }, 600_000);
});

/** checkov.io/skip annotations written in the templates. */
function execSkipAnnotations(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".yaml"))
    .flatMap((f) => readFileSync(join(dir, f), "utf8").match(/checkov\.io\/skip\d+: .*/g) ?? []);
}

describe("strata chart: helm test", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ logLevel: "warn" });
  }, 120_000);
  afterAll(() => stack?.stop());

  async function runTestPod(apiKey: string | undefined): Promise<string> {
    const args = apiKey ? ["--set", "tests.apiKeySecret=k", "--set", `tests.model=${model}`] : [];
    const pod = ofKind(await render(...args), "Pod")[0];
    const container = pod.spec.containers[0];
    expect(container.command).toEqual(["node", "-e"]);
    const dir = await mkdtemp(join(tmpdir(), "strata-helm-test-"));
    try {
      await writeFile(join(dir, "api-key"), `${apiKey ?? ""}\n`);
      const env: Record<string, string> = { PATH: process.env.PATH ?? "" };
      for (const { name, value } of container.env) env[name] = value;
      env.GATEWAY_URL = stack.gatewayUrl;
      if (env.API_KEY_FILE) env.API_KEY_FILE = join(dir, "api-key");
      const { stdout } = await run("node", ["-e", container.args[0]], { env, timeout: 30_000 });
      return stdout;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const model = "claude-3-haiku";

  it("passes against a running Strata, through a chat completion when given a key", async () => {
    expect(await runTestPod(undefined)).toContain("ok: a request without a key gets 401");
    const out = await runTestPod(stack.apiKey);
    expect(out).toContain(`ok: chat completion with ${model}`);
  }, 60_000);

  it("fails when the key does not work", async () => {
    await expect(runTestPod("sk-strata-not-a-key")).rejects.toMatchObject({
      stderr: expect.stringContaining("FAIL: chat completion"),
    });
  }, 60_000);
});
