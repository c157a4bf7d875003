export { type LocalDynamo, startDynalite } from "./dynalite.ts";
