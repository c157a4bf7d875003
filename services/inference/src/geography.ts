/**
 * Where a model's calls are served, for data residency (proto `Model.geography` / `regions`;
 * docs/wire-formats.md#inference-profiles-and-geography). The gateway enforces tenants' residency
 * rules from these fields. Pure.
 *
 * - A cross-Region inference profile — an id (or the ARN of one) starting with a geography
 *   prefix — is served anywhere in that geography: `geography` is the prefix, `regions` empty
 *   (AWS decides the Region per call).
 * - An in-Region model — a plain model id, or the ARN of a foundation model, provisioned
 *   throughput, custom or imported model — is served in the service's Bedrock Region:
 *   `regions` is that Region, `geography` the Region's geography ({@link regionGeography}).
 * - Anything else (an application inference profile, a prompt ARN, an id shaped like a profile,
 *   `<prefix>.<provider>.<model>`, whose prefix is not a known geography): unknown, both empty —
 *   residency cannot be proven, so it is never claimed.
 */

/** Geography prefixes of system-defined cross-Region inference profiles. */
export const inferenceProfileGeographies = [
  "us",
  "us-gov",
  "eu",
  "apac",
  "jp",
  "au",
  "ca",
  "global",
] as const;

/** Where a model's calls are served. */
export interface ModelLocation {
  /** `us`, `eu`, `apac`, `global`, …; empty when unknown. */
  readonly geography: string;
  /** The Regions calls may be served in, when known (in-Region models); empty otherwise. */
  readonly regions: string[];
}

/** ARN resource types of models served in the Region of the endpoint called. */
const inRegionResources = new Set([
  "foundation-model",
  "provisioned-model",
  "custom-model",
  "custom-model-deployment",
  "imported-model",
]);

/** Region name prefixes whose geography is not simply the prefix. */
const regionPrefixGeographies: readonly (readonly [prefix: string, geography: string])[] = [
  ["us-gov-", "us-gov"],
  ["ap-", "apac"],
];

const arnPattern = /^arn:[^:]+:bedrock:[^:]*:[^:]*:([^/]+)\/(.+)$/;

/**
 * The geography of an AWS Region, in the vocabulary of inference-profile prefixes:
 * `us-gov-*` → `us-gov`, `ap-*` → `apac`, otherwise the Region's first part (`us-east-1` → `us`,
 * `eu-west-3` → `eu`, `ca-central-1` → `ca`, `sa-east-1` → `sa`, `me-central-1` → `me`,
 * `af-south-1` → `af`, `il-central-1` → `il`, `mx-central-1` → `mx`, `cn-north-1` → `cn`).
 */
export function regionGeography(region: string): string {
  for (const [prefix, geography] of regionPrefixGeographies) {
    if (region.startsWith(prefix)) return geography;
  }
  return region.split("-")[0] ?? "";
}

function profileGeography(profileId: string): string | undefined {
  const prefix = profileId.slice(0, profileId.indexOf("."));
  return (inferenceProfileGeographies as readonly string[]).includes(prefix) ? prefix : undefined;
}

/**
 * Where calls to `bedrockModelId` (a catalog entry's model id, profile id or ARN) are served when
 * the service calls Bedrock in `region`.
 */
export function modelLocation(bedrockModelId: string, region: string): ModelLocation {
  const inRegion = { geography: regionGeography(region), regions: [region] };
  const unknown = { geography: "", regions: [] };
  const arn = arnPattern.exec(bedrockModelId);
  if (arn) {
    const [, resourceType = "", resource = ""] = arn;
    if (inRegionResources.has(resourceType)) return inRegion;
    if (resourceType === "inference-profile") {
      const geography = profileGeography(resource);
      return geography === undefined ? unknown : { geography, regions: [] };
    }
    return unknown;
  }
  if (bedrockModelId.startsWith("arn:")) return unknown;
  const geography = profileGeography(bedrockModelId);
  if (geography !== undefined) return { geography, regions: [] };
  // Model ids are `<provider>.<model>`; one more dotted prefix is a profile of an unknown geography.
  const dots = bedrockModelId.split(":")[0]?.split(".").length ?? 0;
  return dots > 2 ? unknown : inRegion;
}
