#!/usr/bin/env node
// `npm start`: the whole Strata system on this machine (see src/main.ts).
import "../src/main.ts";
