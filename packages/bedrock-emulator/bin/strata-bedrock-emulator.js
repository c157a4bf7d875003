#!/usr/bin/env node
// The emulator CLI (see src/cli.ts), under Node 24 whatever node runs this file.
import { launch } from "@strata/launcher";

await launch(new URL("../src/cli-main.ts", import.meta.url), { name: "strata-bedrock-emulator" });
