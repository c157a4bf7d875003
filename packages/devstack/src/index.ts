export { type ServiceProcess, type StartServiceOptions, startService } from "./child.ts";
export { type LocalDynamo, startDynalite } from "./dynalite.ts";
export { type Stack, type StackDescriptor, type StackOptions, startStack } from "./stack.ts";
