#!/usr/bin/env node
// The `strata` admin CLI (see src/main.ts), under Node 24 whatever node runs this file.
import { launch } from "@strata/launcher";

await launch(new URL("../src/main.ts", import.meta.url), { name: "strata" });
