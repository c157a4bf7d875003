import { KubeConfig } from "@kubernetes/client-node";
import {
  bearerAuth,
  createLogger,
  createMetricsRegistry,
  createRpcClient,
  createRpcTransport,
  runService,
} from "@strata/platform";
import { AuthAdminService } from "@strata/proto";
import { loadOperatorConfig } from "./config.ts";
import { createKubeApi } from "./kube.ts";
import { createOperator } from "./operator.ts";

const config = loadOperatorConfig(process.env);
const logger = createLogger({ service: "operator", level: config.STRATA_LOG_LEVEL });
const registry = createMetricsRegistry("operator");

// KUBECONFIG (or ~/.kube/config) outside a cluster; the pod's service-account token inside one.
const kc = new KubeConfig();
kc.loadFromDefault();
const admin = createRpcClient(
  AuthAdminService,
  createRpcTransport({
    baseUrl: config.STRATA_ADMIN_URL,
    interceptors: [bearerAuth(config.STRATA_ADMIN_TOKEN)],
  }),
);
const operator = createOperator({ config, kc, kube: createKubeApi(kc), admin, logger, registry });
operator.start();
await runService({
  service: "operator",
  logger,
  registry,
  server: operator,
  config,
  ports: {},
  details: {
    identity: config.identity,
    watchNamespaces: config.STRATA_WATCH_NAMESPACES,
    lease: `${config.STRATA_LEASE_NAMESPACE}/${config.STRATA_LEASE_NAME}`,
    ...(config.STRATA_ROTATION_DAY_SECONDS !== 86_400
      ? { testOnlyRotationDaySeconds: config.STRATA_ROTATION_DAY_SECONDS }
      : {}),
  },
});
