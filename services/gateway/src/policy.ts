import type { Policy } from "@strata/proto";

const compiled = new Map<string, RegExp>();

/** Glob match where `*` is any run of characters (including `/` and `:`); everything else is literal. */
export function globMatch(pattern: string, value: string): boolean {
  let re = compiled.get(pattern);
  if (!re) {
    const body = pattern
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, "\\$&"))
      .join(".*");
    re = new RegExp(`^${body}$`);
    if (compiled.size > 10_000) compiled.clear();
    compiled.set(pattern, re);
  }
  return re.test(value);
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
