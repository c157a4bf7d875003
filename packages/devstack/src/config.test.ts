import { describe, expect, it } from "vitest";
import { loadDevConfig, npmTakenFlags } from "./config.ts";

const underNpm = { npm_lifecycle_event: "start" };

describe("npmTakenFlags", () => {
  it.each([
    ["npm start -- --port 8081", ["--port", "8081"], {}, ["--port", "8081"]],
    ["npm start --port 8081", ["8081"], { npm_config_port: "true" }, ["--port", "8081"]],
    ["npm start --port=8081", [], { npm_config_port: "8081" }, ["--port", "8081"]],
    [
      "npm start --state-dir=/d -- --port 1",
      ["--port", "1"],
      { npm_config_state_dir: "/d" },
      ["--state-dir", "/d", "--port", "1"],
    ],
    [
      "npm start --bedrock emulator -- --port 1",
      ["emulator", "--port", "1"],
      { npm_config_bedrock: "true" },
      ["--bedrock", "emulator", "--port", "1"],
    ],
  ])("reads `%s` as Strata's flags", (_, argv, env, expected) => {
    expect(npmTakenFlags(argv, { ...underNpm, ...env })).toEqual(expected);
  });

  it("says to use `--` when npm took two flags' values apart", () => {
    expect(() =>
      npmTakenFlags(["8081", "/d"], {
        ...underNpm,
        npm_config_port: "true",
        npm_config_state_dir: "true",
      }),
    ).toThrow(
      "npm took --port and --state-dir for itself: put `--` before Strata's flags, as in `npm start -- --port 8081`",
    );
  });

  it("leaves the arguments alone when not run by npm", () => {
    expect(npmTakenFlags(["8081"], { npm_config_port: "true" })).toEqual(["8081"]);
  });
});

describe("loadDevConfig", () => {
  it("takes the port from `npm start --port N`", () => {
    const config = loadDevConfig(["9091"], { ...underNpm, npm_config_port: "true" });
    expect(config).toMatchObject({ gatewayPort: 9091 });
  });
});
