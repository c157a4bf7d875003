import type { BlockList } from "node:net";
import type { Model, Policy } from "@strata/proto";
import { cidrList, inList } from "./client-ip.ts";

/**
 * Glob match where `*` is any run of characters (including `/` and `:`); everything else is
 * literal. Linear in the value's length for any pattern: the parts between stars are found in
 * order, each at its leftmost place, which is correct for `*`-only globs and never backtracks (a
 * compiled regex like `^.*a.*a.*a.*b$` would: a tenant's rule `*a*a*a*a*a*a*a*a*b` against a
 * 40-character tool name froze the gateway for seconds).
 */
export function globMatch(pattern: string, value: string): boolean {
  const parts = pattern.split("*");
  const first = parts[0] ?? "";
  if (parts.length === 1) return value === first;
  const last = parts[parts.length - 1] ?? "";
  if (value.length < first.length + last.length) return false;
  if (!value.startsWith(first) || !value.endsWith(last)) return false;
  let at = first.length;
  const end = value.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const part = parts[i] ?? "";
    if (part === "") continue;
    const found = value.indexOf(part, at);
    if (found < 0 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}

/** Whether one policy layer allows a model, known by its catalog id and aliases. */
function allowsModel(policy: Policy | undefined, names: readonly string[]): boolean {
  const patterns = policy?.allowedModels ?? [];
  return patterns.length === 0 || patterns.some((p) => names.some((n) => globMatch(p, n)));
}

function allowsEndpoint(policy: Policy | undefined, endpoint: string): boolean {
  const endpoints = policy?.allowedEndpoints ?? [];
  return endpoints.length === 0 || endpoints.some((p) => globMatch(p, endpoint));
}

/** The policies a request must satisfy: its tenant's and its key's (a key narrows, never widens). */
export interface PolicyLayers {
  tenant?: Policy | undefined;
  key?: Policy | undefined;
}

export function modelAllowed(layers: PolicyLayers, names: readonly string[]): boolean {
  return allowsModel(layers.tenant, names) && allowsModel(layers.key, names);
}

export function endpointAllowed(layers: PolicyLayers, endpoint: string): boolean {
  return allowsEndpoint(layers.tenant, endpoint) && allowsEndpoint(layers.key, endpoint);
}

const cidrLists = new Map<string, BlockList>();

function allowsSource(policy: Policy | undefined, address: string): boolean {
  const cidrs = policy?.allowedSourceCidrs ?? [];
  if (cidrs.length === 0) return true;
  const id = cidrs.join(",");
  let list = cidrLists.get(id);
  if (!list) {
    list = cidrList(cidrs);
    if (cidrLists.size > 10_000) cidrLists.clear();
    cidrLists.set(id, list);
  }
  return inList(list, address);
}

/** Whether the client's address is within both layers' allowed CIDRs. */
export function sourceAllowed(layers: PolicyLayers, address: string): boolean {
  return allowsSource(layers.tenant, address) && allowsSource(layers.key, address);
}

/**
 * Data residency: a model is allowed when its geography ("eu", "us", "global", …) is listed, or
 * when every region it is known to be served in is listed (an in-region model in eu-west-1 is
 * allowed by "eu-west-1"). A cross-region profile (`eu.`, `us.`, `global.`) needs its geography:
 * listing one region of it is not enough, since Bedrock may route elsewhere in the geography.
 */
function allowsRegion(
  policy: Policy | undefined,
  model: Pick<Model, "geography" | "regions">,
): boolean {
  const allowed = policy?.allowedRegions ?? [];
  if (allowed.length === 0) return true;
  if (model.geography && allowed.includes(model.geography)) return true;
  return model.regions.length > 0 && model.regions.every((r) => allowed.includes(r));
}

export function regionAllowed(
  layers: PolicyLayers,
  model: Pick<Model, "geography" | "regions">,
): boolean {
  return allowsRegion(layers.tenant, model) && allowsRegion(layers.key, model);
}
