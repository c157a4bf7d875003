// The emulator CLI as a program: what bin/strata-bedrock-emulator.js runs.
import { main } from "./cli.ts";

await main(process.argv.slice(2));
