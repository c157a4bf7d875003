/**
 * The strata chart's values schema, written once in zod and emitted as
 * deploy/helm/strata/values.schema.json (JSON Schema draft-07, which helm checks on every install,
 * upgrade, lint and template). The model catalog's entries use the inference service's own schema,
 * so a catalog that the service would refuse at start is refused by `helm install` already.
 *
 *   node scripts/helm-values-schema.ts          writes the JSON file
 *   node scripts/helm-values-schema.ts --check  fails when the file is out of date
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { catalogEntrySchema } from "@strata/inference/catalog";
import { z } from "zod";

const output = fileURLToPath(new URL("../deploy/helm/strata/values.schema.json", import.meta.url));

const port = z.int().min(1).max(65535);
const positive = z.int().min(1);
const labelMap = z.record(z.string(), z.string());
/** Opaque Kubernetes objects (affinity, tolerations, peers): the API server validates them. */
const k8sObject = z.looseObject({});
const envVar = z.looseObject({ name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/) });
const cidr = z.string().regex(/^[0-9a-fA-F:.]+\/\d{1,3}$/, "a CIDR");
const k8sName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
const secretName = z.union([z.literal(""), k8sName]);
const quantity = z.union([z.string().regex(/^\d+(\.\d+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/), z.number()]);
const resourceList = z.strictObject({
  cpu: quantity.optional(),
  memory: quantity.optional(),
  "ephemeral-storage": quantity.optional(),
});

const image = z.strictObject({
  repository: z.string(),
  digest: z.union([z.literal(""), z.string().regex(/^sha256:[0-9a-f]{64}$/)]),
});
const scheduling = {
  nodeSelector: labelMap,
  tolerations: z.array(k8sObject),
  affinity: k8sObject,
  extraEnv: z.array(envVar),
  podAnnotations: labelMap,
  podLabels: labelMap,
  resources: z.strictObject({ requests: resourceList, limits: resourceList }),
};
const autoscaling = z
  .strictObject({
    enabled: z.boolean(),
    minReplicas: positive,
    maxReplicas: positive,
    targetCPUUtilizationPercentage: z.int().min(1).max(100),
    targetMemoryUtilizationPercentage: z.int().min(0).max(100),
  })
  .refine((a) => a.minReplicas <= a.maxReplicas);
const pdb = z.strictObject({
  enabled: z.boolean(),
  maxUnavailable: z.union([positive, z.string().regex(/^\d+%$/)]),
});
const serviceAccount = z.strictObject({
  annotations: z
    .record(z.string(), z.string())
    .describe("eks.amazonaws.com/role-arn for IRSA; empty with EKS Pod Identity."),
});
const irsaRoleArn = z
  .strictObject({
    "eks.amazonaws.com/role-arn": z
      .string()
      .regex(/^arn:aws(-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@/-]+$/)
      .optional(),
  })
  .catchall(z.string());
const service = {
  replicas: z.int().min(0),
  image,
  autoscaling,
  pdb,
  ...scheduling,
};
const peers = z.array(k8sObject);

export const valuesSchema = z.strictObject({
  nameOverride: z.string().max(30),
  fullnameOverride: z.string().max(50),
  image: z.strictObject({
    registry: z.string(),
    prefix: z.string(),
    tag: z.string().regex(/^$|^[\w][\w.-]{0,127}$/),
    pullPolicy: z.enum(["Always", "IfNotPresent", "Never"]),
  }),
  imagePullSecrets: z.array(k8sName),
  common: z.strictObject({
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
    otlpEndpoint: z.union([z.literal(""), z.string().regex(/^https?:\/\/\S+$/)]),
    metricsPort: port,
    shutdownDrainSeconds: z.int().min(0).max(300),
    shutdownGraceSeconds: positive.max(3600),
    extraEnv: z.array(envVar),
  }),
  dynamodb: z.strictObject({
    region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/),
    tablePrefix: z.string().regex(/^[A-Za-z0-9_.-]*$/),
    createTables: z.boolean(),
    endpoint: z.union([z.literal(""), z.string().regex(/^https?:\/\/\S+$/)]),
  }),
  redis: z.strictObject({
    enabled: z.boolean(),
    existingSecret: secretName,
    existingSecretKey: z.string().min(1),
    url: z.union([z.literal(""), z.string().regex(/^rediss?:\/\/\S+$/)]),
    timeoutMs: positive,
  }),
  gateway: z.strictObject({
    ...service,
    port,
    maxBodyBytes: positive,
    sseKeepAliveSeconds: positive,
    upstreamTimeoutSeconds: positive,
    meteringFailMode: z.enum(["open", "closed"]),
    maxTokensMode: z.enum(["clamp", "reject"]),
    trustedProxyCidrs: z.array(cidr),
    clientIpHeader: z.string().regex(/^[a-z0-9-]+$/),
    remoteImages: z.enum(["fetch", "reject"]),
  }),
  auth: z.strictObject({
    ...service,
    port,
    adminPort: port,
    serviceAccount: serviceAccount.extend({ annotations: irsaRoleArn }),
    existingSecret: secretName,
    keyMaxAgeDays: positive,
    keyRotationOverlapDays: positive,
    keyExpiryWarningDays: positive,
  }),
  inference: z.strictObject({
    ...service,
    port,
    serviceAccount: serviceAccount.extend({ annotations: irsaRoleArn }),
    bedrock: z.strictObject({
      region: z.union([z.literal(""), z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/)]),
      endpoint: z.union([z.literal(""), z.string().regex(/^https?:\/\/\S+$/)]),
      credentials: z.enum(["auto", "chain", "emulator"]),
      maxAttempts: positive.max(10),
      timeoutSeconds: positive,
      streamIdleTimeoutSeconds: positive,
      circuitBreaker: z.strictObject({ failures: positive, openSeconds: positive }),
    }),
    stsEndpoint: z.union([z.literal(""), z.string().regex(/^https?:\/\/\S+$/)]),
    catalog: z.array(catalogEntrySchema),
  }),
  metering: z.strictObject({
    ...service,
    port,
    serviceAccount: serviceAccount.extend({ annotations: irsaRoleArn }),
    limitsFailMode: z.enum(["open", "closed"]),
    ledgerFlushMs: positive,
    ledgerBufferMax: positive,
  }),
  operator: z.strictObject({
    enabled: z.boolean(),
    replicas: positive,
    image,
    watchNamespaces: z.array(k8sName),
    adminTokenSecret: secretName,
    gatewayBaseUrl: z.union([z.literal(""), z.url({ protocol: /^https?$/ })]),
    ...scheduling,
  }),
  topologySpread: z.strictObject({
    enabled: z.boolean(),
    zoneKey: z.string().min(1),
    nodeKey: z.string().min(1),
  }),
  priorityClassName: z.string(),
  podSecurityContext: k8sObject,
  securityContext: k8sObject,
  ingress: z.strictObject({
    enabled: z.boolean(),
    className: z.string(),
    annotations: labelMap,
    hosts: z.array(z.string().regex(/^(\*\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/)),
    tls: z.array(
      z.strictObject({ hosts: z.array(z.string()).optional(), secretName: k8sName.optional() }),
    ),
  }),
  networkPolicy: z.strictObject({
    enabled: z.boolean(),
    defaultDeny: z.boolean(),
    ingressFrom: peers,
    gatewayClientLabel: z.string(),
    adminFrom: peers,
    prometheusFrom: peers,
    dns: peers.min(1),
    aws: z.strictObject({ ports: z.array(port).min(1), to: peers.min(1) }),
    redis: z.strictObject({ port, to: peers.min(1) }),
    kubeApiServer: z.strictObject({ ports: z.array(port).min(1), to: peers.min(1) }),
    otlpEgress: z.strictObject({ port, to: peers }),
  }),
  metrics: z.strictObject({
    serviceMonitor: z.strictObject({
      enabled: z.boolean(),
      interval: z.string().regex(/^\d+(ms|s|m|h)$/),
      labels: labelMap,
    }),
    prometheusRule: z.strictObject({ enabled: z.boolean(), labels: labelMap }),
  }),
  dashboards: z.strictObject({
    enabled: z.boolean(),
    label: z.string().min(1),
    labelValue: z.string(),
    namespace: z.string(),
    folder: z.string(),
  }),
  tests: z.strictObject({ apiKeySecret: secretName, model: z.string() }),
});

/** The JSON Schema helm checks values against. */
export function valuesJsonSchema(): string {
  const schema = z.toJSONSchema(valuesSchema, { io: "input", target: "draft-07" });
  return `${JSON.stringify({ title: "Values of the strata chart", ...schema }, null, 2)}\n`;
}

if (import.meta.main) {
  const schema = valuesJsonSchema();
  if (process.argv.includes("--check")) {
    if (readFileSync(output, "utf8") !== schema) {
      console.error(`${output} is out of date: run node scripts/helm-values-schema.ts`);
      process.exit(1);
    }
  } else {
    writeFileSync(output, schema);
  }
}
