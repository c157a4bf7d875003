// The CI/CD workflows (.github/workflows, and the local action in .github/actions) linted by a
// real actionlint with ShellCheck on every `run:` script, then read the way a security reviewer
// would, for what actionlint does not check: actions pinned to commit SHAs, least privilege,
// OIDC only where AWS is called, timeouts, concurrency, no long-lived AWS keys, no persisted
// checkout credentials, no expressions spliced into scripts. Each rule also runs on a small bad
// workflow to prove it can fail. Then the e2e scenario's scripts and values are checked without
// Docker: ShellCheck, and the chart rendered with ci/kind-values.yaml against the stand-ins.
// scripts/ensure-ci-tools.sh builds actionlint from the Go module proxy and installs ShellCheck.
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { startKube } from "./support/kube.ts";

const run = promisify(execFile);
let bin: string;
const scratch = mkdtempSync(join(tmpdir(), "strata-workflows-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

beforeAll(async () => {
  const { stdout } = await run("scripts/ensure-ci-tools.sh", [], { timeout: 900_000 });
  bin = stdout.trim().split("\n").at(-1) as string;
}, 900_000);

type Permissions = string | Record<string, string> | undefined;
interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  "runs-on"?: unknown;
  uses?: string;
  needs?: string | string[];
  permissions?: Permissions;
  environment?: string | { name: string };
  "timeout-minutes"?: number;
  steps?: Step[];
}
interface Workflow {
  on?: Record<string, unknown> | string | string[];
  permissions?: Permissions;
  concurrency?: string | { group: string };
  jobs?: Record<string, Job>;
  runs?: { using: string; steps?: Step[] };
}
/** A workflow or a local action: its path, text and parsed document. */
interface Source {
  file: string;
  text: string;
  doc: Workflow;
}

function source(file: string, text = readFileSync(file, "utf8")): Source {
  return { file, text, doc: parse(text) as Workflow };
}
const workflows = readdirSync(".github/workflows")
  .filter((f) => /\.ya?ml$/.test(f))
  .map((f) => source(`.github/workflows/${f}`));
const actions = readdirSync(".github/actions").map((d) =>
  source(`.github/actions/${d}/action.yaml`),
);

const jobsOf = (s: Source) => Object.entries(s.doc.jobs ?? {});
const stepsOf = (s: Source): Step[] => [
  ...jobsOf(s).flatMap(([, job]) => job.steps ?? []),
  ...(s.doc.runs?.steps ?? []),
];
const envName = (job: Job) =>
  typeof job.environment === "string" ? job.environment : job.environment?.name;
/** A GitHub Actions expression, as it appears in a workflow: expr("a.b") is the text "${{ a.b }}". */
const expr = (inner: string) => `\${{ ${inner} }}`;
const usesAction = (job: Job, action: string) =>
  (job.steps ?? []).some((s) => s.uses?.split("@")[0] === action);

/**
 * What a reviewer checks in every workflow, one rule per concern. `check` returns the problems
 * found (empty when the rule holds); `bad` is a minimal workflow breaking the rule.
 */
const rules: Array<{ rule: string; check: (s: Source) => string[]; bad: string }> = [
  {
    rule: "every action is pinned to a full commit SHA, its version in a comment",
    check: ({ text }) =>
      [...text.matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/gm)]
        .filter(([, ref]) => !ref?.startsWith("./"))
        .filter(
          ([, ref, rest]) =>
            !/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(ref ?? "") ||
            !/^\s+# v\d+\.\d+\.\d+$/.test(rest ?? ""),
        )
        .map(([line]) => `not pinned: ${line?.trim()}`),
    bad: `
on: push
permissions: {}
concurrency: x
jobs:
  a:
    runs-on: ubuntu-24.04
    timeout-minutes: 5
    permissions: { contents: read }
    steps:
      - uses: actions/checkout@v7
        with: { persist-credentials: false }
`,
  },
  {
    rule: "top-level permissions are present and grant nothing beyond read",
    check: ({ doc }) => {
      if (doc.runs) return [];
      const p = doc.permissions;
      if (p === undefined) return ["no top-level permissions"];
      if (typeof p === "string") return p === "read-all" ? [] : [`top-level permissions: ${p}`];
      return Object.entries(p)
        .filter(([, level]) => level !== "read" && level !== "none")
        .map(([scope, level]) => `top-level ${scope}: ${level}`);
    },
    bad: `
on: push
permissions: write-all
concurrency: x
jobs:
  a:
    runs-on: ubuntu-24.04
    timeout-minutes: 5
    permissions: { contents: read }
    steps: [{ run: "true" }]
`,
  },
  {
    rule: "every job states its own permissions (least privilege per job)",
    check: (s) =>
      jobsOf(s)
        .filter(([, job]) => job.permissions === undefined)
        .map(([id]) => `job ${id} has no permissions`),
    bad: `
on: push
permissions: {}
concurrency: x
jobs:
  a:
    runs-on: ubuntu-24.04
    timeout-minutes: 5
    steps: [{ run: "true" }]
`,
  },
  {
    rule: "id-token: write only in jobs that configure AWS credentials",
    check: (s) => {
      const top = s.doc.permissions;
      const problems =
        typeof top === "object" && top["id-token"] === "write" ? ["id-token at top level"] : [];
      for (const [id, job] of jobsOf(s)) {
        const p = job.permissions;
        const writes = p === "write-all" || (typeof p === "object" && p["id-token"] === "write");
        if (writes && !usesAction(job, "aws-actions/configure-aws-credentials")) {
          problems.push(`job ${id} gets an OIDC token without configuring AWS credentials`);
        }
      }
      return problems;
    },
    bad: `
on: push
permissions: {}
concurrency: x
jobs:
  a:
    runs-on: ubuntu-24.04
    timeout-minutes: 5
    permissions: { contents: read, id-token: write }
    steps: [{ run: "true" }]
`,
  },
  {
    rule: "every job has timeout-minutes (reusable-workflow calls inherit the callee's)",
    check: (s) =>
      jobsOf(s)
        .filter(([, job]) => !job.uses && typeof job["timeout-minutes"] !== "number")
        .map(([id]) => `job ${id} has no timeout-minutes`),
    bad: `
on: push
permissions: {}
concurrency: x
jobs:
  a:
    runs-on: ubuntu-24.04
    permissions: { contents: read }
    steps: [{ run: "true" }]
`,
  },
  {
    rule: "every workflow has a concurrency group",
    check: ({ doc }) => (doc.runs || doc.concurrency ? [] : ["no concurrency"]),
    bad: `
on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-24.04
    timeout-minutes: 5
    permissions: { contents: read }
    steps: [{ run: "true" }]
`,
  },
  {
    rule: "no long-lived AWS access keys, only OIDC roles",
    check: ({ text }) =>
      [
        ...text.matchAll(
          /AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|aws-access-key-id|aws-secret-access-key/g,
        ),
      ].map(([m]) => `mentions ${m}`),
    bad: `
on: push
permissions: {}
concurrency: x
jobs:
  a:
    runs-on: ubuntu-24.04
    timeout-minutes: 5
    permissions: { contents: read }
    steps:
      - uses: aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c # v6.2.3
        with:
          aws-region: eu-west-1
          aws-access-key-id: \${{ secrets.AWS_ACCESS_KEY_ID }}
          aws-secret-access-key: \${{ secrets.AWS_SECRET_ACCESS_KEY }}
`,
  },
  {
    rule: "checkout never leaves the token in .git/config",
    check: (s) =>
      stepsOf(s)
        .filter((step) => step.uses?.startsWith("actions/checkout@"))
        .filter((step) => step.with?.["persist-credentials"] !== false)
        .map(() => "a checkout without persist-credentials: false"),
    bad: `
on: push
permissions: {}
concurrency: x
jobs:
  a:
    runs-on: ubuntu-24.04
    timeout-minutes: 5
    permissions: { contents: read }
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1
`,
  },
  {
    rule: "no pull_request_target (it runs fork code with the base repository's secrets)",
    check: ({ doc }) => {
      const on = doc.on;
      const events = typeof on === "string" ? [on] : Array.isArray(on) ? on : Object.keys(on ?? {});
      return events.includes("pull_request_target") ? ["triggered by pull_request_target"] : [];
    },
    bad: `
on: { pull_request_target: {} }
permissions: {}
concurrency: x
jobs:
  a:
    runs-on: ubuntu-24.04
    timeout-minutes: 5
    permissions: { contents: read }
    steps: [{ run: "true" }]
`,
  },
  {
    rule: "no expression is spliced into a run: script (values arrive as env variables)",
    check: (s) =>
      stepsOf(s)
        .filter((step) => step.run?.includes("${{"))
        .map((step) => `expression in run: ${step.run?.split("\n")[0]}`),
    bad: `
on: pull_request
permissions: {}
concurrency: x
jobs:
  a:
    runs-on: ubuntu-24.04
    timeout-minutes: 5
    permissions: { contents: read }
    steps:
      - run: echo "\${{ github.event.pull_request.title }}"
`,
  },
  {
    rule: "runners are pinned images, never -latest",
    check: (s) =>
      jobsOf(s)
        .filter(([, job]) => /-latest$/.test(String(job["runs-on"] ?? "")))
        .map(([id, job]) => `job ${id} runs on ${job["runs-on"]}`),
    bad: `
on: push
permissions: {}
concurrency: x
jobs:
  a:
    runs-on: ubuntu-latest
    timeout-minutes: 5
    permissions: { contents: read }
    steps: [{ run: "true" }]
`,
  },
  {
    rule: "every job that runs helm upgrade deploys into a GitHub environment",
    check: (s) =>
      jobsOf(s)
        .filter(([, job]) => (job.steps ?? []).some((step) => step.run?.includes("helm upgrade")))
        .filter(([, job]) => !envName(job))
        .map(([id]) => `job ${id} deploys outside any environment`),
    bad: `
on: workflow_dispatch
permissions: {}
concurrency: x
jobs:
  prod:
    runs-on: ubuntu-24.04
    timeout-minutes: 5
    permissions: { contents: read }
    steps: [{ run: "helm upgrade --install strata chart" }]
`,
  },
  {
    rule: "secrets are never handed down wholesale (secrets: inherit)",
    check: ({ text }) => (/^\s*secrets:\s*inherit\s*$/m.test(text) ? ["secrets: inherit"] : []),
    bad: `
on: push
permissions: {}
concurrency: x
jobs:
  a:
    permissions: { contents: read }
    uses: ./.github/workflows/ci.yaml
    secrets: inherit
`,
  },
];

describe("GitHub Actions workflows", () => {
  it("are all there, and the local action too", () => {
    expect(workflows.map((w) => w.file.split("/").at(-1)).sort()).toEqual([
      "ci.yaml",
      "deploy.yaml",
      "e2e.yaml",
      "release.yaml",
      "rotate-keys.yaml",
      "security.yaml",
    ]);
    expect(actions.map((a) => a.file)).toEqual([".github/actions/setup/action.yaml"]);
  });

  it("pass actionlint, with ShellCheck on every run: script", async () => {
    const { stdout } = await run(
      `${bin}/actionlint`,
      ["-shellcheck", `${bin}/shellcheck`, "-format", "{{json .}}"],
      { timeout: 120_000 },
    ).catch((error: { stdout: string }) => error);
    expect(JSON.parse(stdout || "[]")).toEqual([]);
  });

  it("fail actionlint when a run: script has a ShellCheck finding (ShellCheck is wired in)", async () => {
    const bad = join(scratch, "bad.yaml");
    writeFileSync(
      bad,
      "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo $FOO\n",
    );
    const { stdout } = await run(
      `${bin}/actionlint`,
      ["-shellcheck", `${bin}/shellcheck`, "-format", "{{json .}}", bad],
      { timeout: 60_000 },
    ).catch((error: { stdout: string }) => error);
    expect(JSON.parse(stdout)).toEqual([
      expect.objectContaining({ kind: "shellcheck", message: expect.stringContaining("SC2086") }),
    ]);
  });

  it("have no ShellCheck finding in the local action's run: scripts (actionlint skips them)", async () => {
    for (const [i, step] of stepsOf(actions[0] as Source).entries()) {
      if (!step.run) continue;
      const script = join(scratch, `action-step-${i}.sh`);
      writeFileSync(script, `#!/usr/bin/env bash\n${step.run}`);
      await run(`${bin}/shellcheck`, [script]);
    }
  });

  describe.each(rules)("rule: $rule", ({ check, bad }) => {
    it.each([...workflows, ...actions].map((s) => [s.file, s] as const))("holds in %s", (_, s) => {
      expect(check(s)).toEqual([]);
    });
    it("finds the problem in a bad workflow", () => {
      expect(check(source("bad.yaml", bad)).length).toBeGreaterThan(0);
    });
  });
});

describe("deploy.yaml", () => {
  const deploy = workflows.find((w) => w.file.endsWith("deploy.yaml")) as Source;
  const jobs = deploy.doc.jobs ?? {};

  it("goes dev, then staging, then prod, each job in its own environment", () => {
    expect(envName(jobs.dev as Job)).toBe("dev");
    expect(envName(jobs.staging as Job)).toBe("staging");
    expect(envName(jobs.prod as Job)).toBe("prod");
    expect(jobs.staging?.needs).toContain("dev");
    expect(jobs.prod?.needs).toContain("staging");
  });

  it("installs atomically, by digest, and smoke-tests with the environment's own key", () => {
    const script = readFileSync("scripts/deploy-release.sh", "utf8");
    expect(script).toMatch(/helm upgrade --install strata "oci:[^\n]*\n(.*\\\n)*.*--atomic/);
    expect(script).toContain('"$component.image.digest=$digest"');
    for (const id of ["dev", "staging", "prod"]) {
      const steps = jobs[id]?.steps ?? [];
      expect(steps.some((s) => s.run === "scripts/deploy-release.sh")).toBe(true);
      const smoke = steps.find((s) => s.run?.includes("test/e2e/smoke.ts")) as Step & {
        env?: Record<string, string>;
      };
      expect(smoke.env?.STRATA_API_KEY).toBe(expr("secrets.STRATA_SMOKE_API_KEY"));
    }
  });
});

describe("rotate-keys.yaml", () => {
  const rotate = workflows.find((w) => w.file.endsWith("rotate-keys.yaml")) as Source;
  const job = rotate.doc.jobs?.rotate as Job;
  const script = job.steps?.find((s) => s.run?.includes("keys rotate"))?.run ?? "";

  it("runs weekly and by hand, per environment", () => {
    expect(Object.keys(rotate.doc.on as object).sort()).toEqual(["schedule", "workflow_dispatch"]);
    expect(job.environment).toBe(expr("matrix.environment"));
  });

  it("writes the secret with a GitHub App token, never GITHUB_TOKEN", () => {
    expect(usesAction(job, "actions/create-github-app-token")).toBe(true);
    const step = job.steps?.find((s) => s.run?.includes("gh secret set")) as Step & {
      env?: Record<string, string>;
    };
    expect(step.env?.GH_TOKEN).toBe(expr("steps.app.outputs.token"));
    expect(rotate.text).not.toMatch(/github\.token|secrets\.GITHUB_TOKEN/);
  });

  it("masks the new key first, verifies it, then stores it from stdin", () => {
    const at = (needle: string) => script.indexOf(needle);
    expect(at("::add-mask::$new_key")).toBeGreaterThan(at("keys rotate"));
    expect(at('STRATA_API_KEY="$new_key" node test/e2e/smoke.ts')).toBeGreaterThan(
      at("::add-mask::"),
    );
    expect(at("gh secret set")).toBeGreaterThan(at("test/e2e/smoke.ts"));
    // The key reaches gh on stdin, not on a command line (visible to every process).
    expect(script).toMatch(/printf '%s' "\$new_key" \| gh secret set STRATA_SMOKE_API_KEY/);
    expect(script).not.toMatch(/--body/);
    // It goes nowhere else: masked, verified, stored.
    const uses = script.split("\n").filter((line) => line.includes("$new_key"));
    expect(uses.map((line) => line.trim().split(" ")[0])).toEqual(["echo", "if", "printf"]);
  });
});

describe("the kind e2e scenario", () => {
  it("has scripts without ShellCheck findings (and so do the project's scripts)", async () => {
    const e2e = readdirSync("test/e2e")
      .filter((f) => f.endsWith(".sh"))
      .map((f) => `test/e2e/${f}`);
    const scripts = readdirSync("scripts")
      .filter((f) => f.endsWith(".sh") || f === "npm")
      .map((f) => `scripts/${f}`);
    expect(e2e.length).toBeGreaterThanOrEqual(3);
    await run(`${bin}/shellcheck`, ["-x", ...e2e, ...scripts]);
  });

  it("pins kind and the Kubernetes 1.33 node image by digest", () => {
    expect(readFileSync("scripts/ensure-ci-tools.sh", "utf8")).toMatch(
      /^KIND_VERSION="v0\.32\.0"$/m,
    );
    expect(readFileSync("test/e2e/run.sh", "utf8")).toMatch(
      /^NODE_IMAGE="kindest\/node:v1\.33\.\d+@sha256:[0-9a-f]{64}"$/m,
    );
  });

  it("has manifests a real kube-apiserver accepts (the AWS stand-ins, the probe pods)", async () => {
    const kube = await startKube();
    try {
      expect((await kube.kubectl(["create", "namespace", "strata"])).code).toBe(0);
      for (const file of ["deps.yaml", "probes.yaml"]) {
        const applied = await kube.kubectl(["apply", "-f", `test/e2e/manifests/${file}`]);
        expect(applied.stderr).toBe("");
        expect(applied.code).toBe(0);
      }
      // The probes share one spec through a YAML anchor: every pod got it.
      const pods = await kube.kubectl([
        "get",
        "pods",
        "-A",
        "-o",
        'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}={.spec.containers[0].command}{"\\n"}{end}',
      ]);
      expect(pods.stdout.trim().split("\n").sort()).toEqual([
        'monitoring/prober=["sleep","infinity"]',
        'strata-e2e-ingress/prober=["sleep","infinity"]',
        'strata-e2e-outside/prober=["sleep","infinity"]',
        'strata/gateway-client=["sleep","infinity"]',
        'strata/stranger=["sleep","infinity"]',
      ]);
    } finally {
      await kube.stop();
    }
  }, 1_800_000);

  it("renders the chart with ci/kind-values.yaml, opening exactly the stand-ins' ports", async () => {
    const { stdout: k8sBin } = await run("scripts/ensure-k8s-tools.sh", [], { timeout: 900_000 });
    const { stdout } = await run(
      `${k8sBin.trim()}/helm`,
      [
        "template",
        "strata",
        "deploy/helm/strata",
        "-n",
        "strata",
        "-f",
        "deploy/helm/strata/ci/kind-values.yaml",
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    type Doc = { kind: string; metadata: { name: string }; spec: Record<string, unknown> };
    const docs = parseAllDocuments(stdout)
      .map((d) => d.toJSON() as Doc)
      .filter(Boolean);
    const deps = parseAllDocuments(readFileSync("test/e2e/manifests/deps.yaml", "utf8")).map(
      (d) => d.toJSON() as Doc,
    );
    const service = deps.find((d) => d.kind === "Service") as Doc;
    const standinPorts = (service.spec.ports as Array<{ port: number }>).map((p) => p.port).sort();

    const rendered = JSON.stringify(docs);
    expect(rendered).toContain("http://aws-standins.strata-e2e-deps.svc.cluster.local:4567");
    expect(rendered).toContain("http://aws-standins.strata-e2e-deps.svc.cluster.local:4010");
    for (const component of ["auth", "metering", "inference"]) {
      const policy = docs.find(
        (d) => d.kind === "NetworkPolicy" && d.metadata.name === `strata-${component}`,
      ) as Doc;
      const egress = policy.spec.egress as Array<{ to: unknown[]; ports: Array<{ port: number }> }>;
      const toStandins = egress.filter((rule) =>
        JSON.stringify(rule.to).includes('"kubernetes.io/metadata.name":"strata-e2e-deps"'),
      );
      expect(toStandins.flatMap((r) => r.ports.map((p) => p.port)).sort()).toEqual(standinPorts);
    }
    const deployments = docs.filter((d) => d.kind === "Deployment");
    expect(deployments).toHaveLength(5); // the four services and the operator
    expect(rendered).not.toMatch(/"image":"(?![^"]*:e2e")/);
  });
});
