#!/usr/bin/env node
// `npm start`: the whole Strata system on this machine (see src/main.ts), under Node 24.
import { launch } from "@strata/launcher";

await launch(new URL("../src/main.ts", import.meta.url), { name: "strata-dev" });
