#!/usr/bin/env node
// Launcher for the emulator CLI. Node 24 runs the TypeScript sources directly (type stripping).
import { main } from "../src/cli.ts";

await main(process.argv.slice(2));
