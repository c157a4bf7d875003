// A real control plane for the system tier: etcd (Debian's, scripts/ensure-system-tools.sh) and a
// kube-apiserver plus kubectl built from the Go module proxy (scripts/ensure-kube-apiserver.sh), on
// loopback and ephemeral ports, in a temporary directory. There is no controller manager, scheduler
// or kubelet (docs/kubernetes-testing.md#what-a-bare-api-server-does-not-do): API-level behaviour
// only (validation, CRD schemas and CEL rules, server-side apply, RBAC, admission), no garbage
// collection or namespace deletion.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { request } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { stringify } from "yaml";

const run = promisify(execFile);

/** A running etcd + kube-apiserver, and the means to talk to it as cluster admin. */
export interface Kube {
  /** The temporary directory holding data, certificates, logs and the kubeconfig. */
  dir: string;
  /** A kubeconfig for the admin user (a bearer token in group system:masters). */
  kubeconfig: string;
  /** The apiserver's URL, `https://127.0.0.1:<port>`. */
  server: string;
  /** The admin's bearer token. */
  token: string;
  /** The PEM file that verifies the apiserver's self-signed serving certificate. */
  caFile: string;
  /** The directory of the kube-apiserver and kubectl binaries. */
  bin: string;
  /** Milliseconds from spawning etcd to etcd healthy, and to the apiserver's /readyz ok. */
  startup: { etcdMs: number; apiserverMs: number };
  /** Runs the built kubectl with this kubeconfig; resolves with its exit code, never rejects on one. */
  kubectl(args: string[], input?: string): Promise<KubectlResult>;
  /** Stops both servers (by their own PIDs) and removes the directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** What a kubectl run printed and how it exited. */
export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface StartKubeOptions {
  /** The bin directory of kube-apiserver and kubectl. Default: runs scripts/ensure-kube-apiserver.sh. */
  bin?: string;
  /** The etcd binary. Default: `etcd` on PATH. */
  etcd?: string;
  /** Milliseconds to wait for /readyz. Default 60 s. */
  readyTimeoutMs?: number;
}

/**
 * Builds (once, cached by version) and locates kube-apiserver and kubectl. A cold build takes
 * minutes: give the caller's hook a timeout of 30 minutes.
 */
export async function ensureKubeBinaries(): Promise<string> {
  const { stdout } = await run("scripts/ensure-kube-apiserver.sh", [], {
    timeout: 1_800_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout.trim();
}

/**
 * Starts etcd and kube-apiserver and resolves once /readyz answers ok. Both servers die with the
 * calling process (a watchdog per server polls its PID), so a crashed test run leaves nothing
 * behind; call stop() when done. A failed start rejects with the tail of the server's log.
 */
export async function startKube(options: StartKubeOptions = {}): Promise<Kube> {
  const bin = options.bin ?? (await ensureKubeBinaries());
  const etcd = options.etcd ?? "etcd";
  await run(etcd, ["--version"]).catch(() => {
    throw new Error(`${etcd} cannot be run: scripts/ensure-system-tools.sh etcd installs it`);
  });
  // Ports come from bind-to-0-and-close, so another process may grab one in between: retry then.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(bin, options);
    } catch (error) {
      if (attempt >= 3 || !/address already in use/i.test(String(error))) throw error;
    }
  }
}

/**
 * Server-side applies YAML documents (`kubectl apply --server-side`, field manager strata-test,
 * conflicts forced), optionally as a server dry run: the apiserver validates every object against
 * its real schema, CRDs and admission included, and persists nothing. `namespace` (which must
 * exist) receives the namespaced objects that name none; objects naming theirs keep it, as with
 * `helm install --namespace`. Resolves with kubectl's output; rejects with an error whose message
 * is kubectl's stderr (the server's reasons).
 */
export async function applyServerSide(
  kube: Kube,
  yaml: string,
  { dryRun = false, namespace }: { dryRun?: boolean; namespace?: string } = {},
): Promise<string> {
  const args = ["apply", "--server-side", "--field-manager=strata-test", "--force-conflicts"];
  if (dryRun) args.push("--dry-run=server");
  args.push("-f", "-");
  // `kubectl --namespace` would refuse objects of other namespaces; a context namespace does not.
  let result: KubectlResult;
  if (namespace) {
    const kubeconfig = join(kube.dir, `kubeconfig-${namespace}`);
    if (!existsSync(kubeconfig)) {
      await writeFile(kubeconfig, kubeconfigYaml(kube.server, kube.caFile, kube.token, namespace));
    }
    result = await exec(
      join(kube.bin, "kubectl"),
      [...kubectlFlags(kube.dir, kubeconfig), ...args],
      yaml,
    );
  } else {
    result = await kube.kubectl(args, yaml);
  }
  if (result.code !== 0) throw new Error(result.stderr.trim() || `kubectl exited ${result.code}`);
  return result.stdout;
}

/** Renders a chart with `helm template` (the helm of scripts/ensure-k8s-tools.sh) into YAML. */
export async function helmTemplate(
  helm: string,
  chart: string,
  {
    release = "t",
    namespace,
    args = [],
  }: { release?: string; namespace?: string; args?: string[] },
): Promise<string> {
  const ns = namespace ? ["--namespace", namespace] : [];
  const { stdout } = await run(helm, ["template", release, chart, ...ns, ...args], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

async function startOnce(bin: string, options: StartKubeOptions): Promise<Kube> {
  const dir = mkdtempSync(join(tmpdir(), "strata-kube-"));
  const servers: Server[] = [];
  const stop = async () => {
    for (const server of servers.reverse()) await server.stop();
    servers.length = 0;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const started = Date.now();
    const [clientPort, peerPort, apiPort] = await freePorts(3);
    const etcdUrl = `http://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    // etcd stops last; its watchdog also removes the directory if the test process dies.
    const etcd = launch(
      options.etcd ?? "etcd",
      join(dir, "etcd.log"),
      [
        "--name=strata",
        `--data-dir=${join(dir, "etcd")}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=strata=${peerUrl}`,
        "--logger=zap",
      ],
      dir,
    );
    servers.push(etcd);
    await waitUntil(etcd, 15_000, async () => {
      const res = await fetch(`${etcdUrl}/health`);
      return res.ok && ((await res.json()) as { health?: string }).health === "true";
    });
    const etcdMs = Date.now() - started;

    const token = randomBytes(24).toString("hex");
    await writeFile(join(dir, "tokens.csv"), `${token},admin,admin,"system:masters"\n`);
    // The service-account token signer; its private key also verifies (keyutil reads both halves).
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    await writeFile(join(dir, "sa.key"), privateKey.export({ type: "sec1", format: "pem" }));
    const server = `https://127.0.0.1:${apiPort}`;
    const certDir = join(dir, "pki");
    const apiserver = launch(join(bin, "kube-apiserver"), join(dir, "kube-apiserver.log"), [
      `--etcd-servers=${etcdUrl}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${apiPort}`,
      // No --tls-cert-file: the apiserver writes a self-signed CA and serving cert here.
      `--cert-dir=${certDir}`,
      `--token-auth-file=${join(dir, "tokens.csv")}`,
      "--authorization-mode=RBAC",
      `--service-account-issuer=${server}`,
      `--service-account-key-file=${join(dir, "sa.key")}`,
      `--service-account-signing-key-file=${join(dir, "sa.key")}`,
      "--service-cluster-ip-range=10.0.0.0/24",
      "--allow-privileged=true",
      // No controller manager creates the default ServiceAccounts that this plugin waits for.
      "--disable-admission-plugins=ServiceAccount",
      // The kubernetes Service's Endpoints may not hold a loopback address: don't reconcile them
      // (at startup the apiserver then logs a harmless "Found stale data" error).
      "--endpoint-reconciler-type=none",
    ]);
    servers.push(apiserver);
    const caFile = join(certDir, "apiserver.crt");
    await waitUntil(apiserver, options.readyTimeoutMs ?? 60_000, async () => {
      if (!existsSync(caFile)) return false;
      const { status, body } = await get(`${server}/readyz`, token, caFile);
      return status === 200 && body.trim() === "ok";
    });
    const apiserverMs = Date.now() - started;

    const kubeconfig = join(dir, "kubeconfig");
    await writeFile(kubeconfig, kubeconfigYaml(server, caFile, token));
    const kubectlBin = join(bin, "kubectl");
    const flags = kubectlFlags(dir, kubeconfig);
    return {
      dir,
      kubeconfig,
      server,
      token,
      caFile,
      bin,
      startup: { etcdMs, apiserverMs },
      kubectl: (args, input) => exec(kubectlBin, [...flags, ...args], input),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A kubeconfig for the admin token, trusting the apiserver's self-signed CA. */
function kubeconfigYaml(server: string, caFile: string, token: string, namespace?: string): string {
  const context = { cluster: "strata-test", user: "admin", ...(namespace ? { namespace } : {}) };
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "strata-test", cluster: { server, "certificate-authority": caFile } }],
    users: [{ name: "admin", user: { token } }],
    contexts: [{ name: "strata-test", context }],
    "current-context": "strata-test",
  });
}

/** kubectl's flags for a kubeconfig; its discovery cache (default ~/.kube/cache) stays in `dir`. */
function kubectlFlags(dir: string, kubeconfig: string): string[] {
  return [`--kubeconfig=${kubeconfig}`, `--cache-dir=${join(dir, "kubectl-cache")}`];
}

/** A spawned server: its log file, whether it exited, and how to stop it. */
interface Server {
  name: string;
  child: ChildProcess;
  log: string;
  exited: Promise<void>;
  exitCode(): number | string | null | undefined;
  stop(): Promise<void>;
}

// Polls the test process and the server every second. When the test process is gone, stops the
// server (TERM, then KILL if it still runs after 10 s) and removes the directory given, if any.
// Exits by itself once the server has exited.
const watchdogScript = `
parent=$1 child=$2 cleanup=$3
while kill -0 "$child" 2>/dev/null; do
  if ! kill -0 "$parent" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null
    i=0
    while kill -0 "$child" 2>/dev/null && [ $i -lt 20 ]; do sleep 0.5; i=$((i + 1)); done
    kill -0 "$child" 2>/dev/null && kill -KILL "$child"
    [ -z "$cleanup" ] || rm -rf "$cleanup"
    exit 0
  fi
  sleep 1
done`;

/** Spawns a server logging into `log`, watched by a watchdog that also removes `cleanup`. */
function launch(command: string, log: string, args: string[], cleanup = ""): Server {
  const fd = openSync(log, "a");
  const child = spawn(command, args, { stdio: ["ignore", fd, fd] });
  closeSync(fd);
  let exit: number | string | null | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, killedBy) => {
      exit = code ?? killedBy;
      resolve();
    });
    child.once("error", (error) => {
      exit = error.message;
      resolve();
    });
  });
  const pid = child.pid;
  let watchdog: ChildProcess | undefined;
  if (pid !== undefined) {
    watchdog = spawn(
      "sh",
      ["-c", watchdogScript, "watchdog", String(process.pid), String(pid), cleanup],
      { stdio: "ignore", detached: true },
    );
    watchdog.unref();
  }
  const name = command.split("/").pop() ?? command;
  return {
    name,
    child,
    log,
    exited,
    exitCode: () => exit,
    async stop() {
      if (exit === undefined && pid !== undefined) {
        signal(pid, "SIGTERM");
        const timer = setTimeout(() => exit === undefined && signal(pid, "SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      if (watchdog?.pid !== undefined && watchdog.exitCode === null) {
        signal(watchdog.pid, "SIGKILL");
      }
    },
  };
}

/** Sends a signal to one process, ignoring one that is already gone. */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already exited
  }
}

/** Polls `ready` every 100 ms; rejects with the log's tail if the server exits or time runs out. */
async function waitUntil(
  server: Server,
  timeoutMs: number,
  ready: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    if (server.exitCode() !== undefined) {
      throw new Error(`${server.name} exited (${server.exitCode()}):\n${tail(server.log)}`);
    }
    try {
      if (await ready()) return;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `${server.name} not ready after ${timeoutMs} ms${last ? ` (${last})` : ""}:\n${tail(server.log)}`,
  );
}

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

function get(
  url: string,
  token: string,
  caFile: string,
): Promise<{ status: number | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { headers: { authorization: `Bearer ${token}` }, ca: readFileSync(caFile), timeout: 5_000 },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

function exec(command: string, args: string[], input?: string): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.end(input ?? "");
  });
}

/** Distinct free loopback ports (bound together, then released). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve) => {
          const server = createServer().listen(0, "127.0.0.1", () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}
