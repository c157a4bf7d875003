import { type ChildProcess, execFile, spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

// Without a Docker engine here, this test runs the Dockerfile's dependency step as written —
// a production-only install of one service's workspace from the lockfile — in a clean copy of
// the build context, and starts the service from it: what the image would run.
const run = promisify(execFile);
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const dockerfile = readFileSync("Dockerfile", "utf8");
const installCommand = /npm ci --omit=dev[^\n\\]*--workspace "services\/\$\{SERVICE\}"/.exec(
  dockerfile,
)?.[0];
/** The Dockerfile's install arguments for one service, as its RUN line has them. */
const installArgs = (service: string): string[] =>
  (installCommand ?? "")
    .replace(/"services\/\$\{SERVICE\}"/, `services/${service}`)
    .split(" ")
    .slice(1);

/** A kubeconfig naming an API server that is not there. */
function kubeconfig(dir: string): string {
  const file = join(dir, "kubeconfig");
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "none", cluster: { server: "https://127.0.0.1:9" } }],
      users: [{ name: "none", user: { token: "none" } }],
      contexts: [{ name: "none", context: { cluster: "none", user: "none" } }],
      "current-context": "none",
    }),
  );
  return file;
}

describe("service images", () => {
  it("install only production dependencies, as the Dockerfile says", () => {
    expect(installCommand).toBeDefined();
    expect(dockerfile).toMatch(/^USER 10001:10001$/m);
    expect(dockerfile).toMatch(/^STOPSIGNAL SIGTERM$/m);
  });

  it.each(["gateway", "auth", "metering", "inference", "operator"])(
    "%s starts from a production-only install of its workspace",
    async (service) => {
      const dir = mkdtempSync(join(tmpdir(), `strata-image-${service}-`));
      dirs.push(dir);
      for (const entry of ["package.json", "package-lock.json", "packages", "services"]) {
        cpSync(entry, join(dir, entry), {
          recursive: true,
          filter: (src) => !src.includes("node_modules"),
        });
      }
      await run("npm", installArgs(service), { cwd: dir, timeout: 120_000 });
      // No dev tool in the image.
      await expect(
        run("node", ["-e", "require.resolve('vitest')"], { cwd: dir }),
      ).rejects.toThrow();
      const child: ChildProcess = spawn(process.execPath, [`services/${service}/src/main.ts`], {
        cwd: dir,
        env: {
          ...process.env,
          STRATA_HOST: "127.0.0.1",
          STRATA_PORT: "0",
          STRATA_ADMIN_PORT: "0",
          STRATA_DYNAMODB_ENDPOINT: "http://127.0.0.1:9",
          STRATA_BEDROCK_ENDPOINT: "http://127.0.0.1:9",
          // The operator: an unreachable API server and auth (it starts, then keeps retrying).
          STRATA_ADMIN_URL: "http://127.0.0.1:9",
          STRATA_ADMIN_TOKEN: "image-test-token-not-a-secret",
          KUBECONFIG: kubeconfig(dir),
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const ready = await new Promise<boolean>((resolve) => {
        let out = "";
        const timer = setTimeout(() => resolve(false), 20_000);
        child.stdout?.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes(`"msg":"${service} ready"`)) {
            clearTimeout(timer);
            resolve(true);
          }
        });
        child.once("exit", () => resolve(false));
      });
      child.kill("SIGTERM");
      expect(ready).toBe(true);
    },
    180_000,
  );
});
