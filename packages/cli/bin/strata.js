#!/usr/bin/env node
// The `strata` admin CLI (see src/main.ts).
import "../src/main.ts";
