/**
 * Kubernetes NetworkPolicy semantics (networking.k8s.io/v1), evaluated over a model of pods and
 * outside addresses, so a chart's rendered policies can be checked as a graph: which endpoint may
 * open a connection to which other endpoint on which port. A connection is allowed when the
 * source's egress and the destination's ingress both allow it; a pod selected by no policy of a
 * direction is open in that direction. Implements podSelector, namespaceSelector (matchLabels and
 * matchExpressions), ipBlock with except, numeric ports and protocols — what the charts use.
 */
import { BlockList, isIPv6 } from "node:net";

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}
interface Peer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}
interface PortRule {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: PortRule[];
}
export interface NetworkPolicy {
  kind: "NetworkPolicy";
  metadata: { name: string; namespace?: string };
  spec: {
    podSelector: LabelSelector;
    policyTypes?: Array<"Ingress" | "Egress">;
    ingress?: Rule[];
    egress?: Rule[];
  };
}

/** A pod (namespace and labels) or an address outside the cluster's pods (ip only). */
export interface Endpoint {
  name: string;
  ip: string;
  namespace?: string;
  labels?: Record<string, string>;
}

export function selectorMatches(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = key in labels;
    const ok =
      operator === "In"
        ? has && values.includes(labels[key] as string)
        : operator === "NotIn"
          ? !has || !values.includes(labels[key] as string)
          : operator === "Exists"
            ? has
            : operator === "DoesNotExist"
              ? !has
              : (() => {
                  throw new Error(`unknown selector operator ${operator}`);
                })();
    if (!ok) return false;
  }
  return true;
}

function inCidr(ip: string, cidr: string): boolean {
  const [network = "", bits = ""] = cidr.split("/");
  const family = isIPv6(network) ? "ipv6" : "ipv4";
  if (family !== (isIPv6(ip) ? "ipv6" : "ipv4")) return false;
  const list = new BlockList();
  list.addSubnet(network, Number(bits), family);
  return list.check(ip, family);
}

function peerMatches(
  peer: Peer,
  policyNamespace: string,
  other: Endpoint,
  namespaceLabels: (ns: string) => Record<string, string>,
): boolean {
  if (peer.ipBlock) {
    const { cidr, except = [] } = peer.ipBlock;
    return inCidr(other.ip, cidr) && !except.some((e) => inCidr(other.ip, e));
  }
  if (other.namespace === undefined) return false; // selectors match only pods
  const namespaceOk = peer.namespaceSelector
    ? selectorMatches(peer.namespaceSelector, namespaceLabels(other.namespace))
    : other.namespace === policyNamespace;
  const podOk = peer.podSelector ? selectorMatches(peer.podSelector, other.labels ?? {}) : true;
  return namespaceOk && podOk;
}

function portMatches(rule: Rule, port: number, protocol: string): boolean {
  if (!rule.ports || rule.ports.length === 0) return true;
  return rule.ports.some((p) => {
    if ((p.protocol ?? "TCP") !== protocol) return false;
    if (p.port === undefined) return true;
    if (typeof p.port === "string") throw new Error(`named port ${p.port}: not modelled`);
    return p.endPort ? port >= p.port && port <= p.endPort : port === p.port;
  });
}

/** Decides connections under a set of policies. */
export function networkModel(
  policies: NetworkPolicy[],
  namespaceLabels: (ns: string) => Record<string, string>,
) {
  const applying = (pod: Endpoint, type: "Ingress" | "Egress") =>
    pod.namespace === undefined
      ? []
      : policies.filter(
          (p) =>
            (p.metadata.namespace ?? "default") === pod.namespace &&
            selectorMatches(p.spec.podSelector, pod.labels ?? {}) &&
            (p.spec.policyTypes ?? (p.spec.egress ? ["Ingress", "Egress"] : ["Ingress"])).includes(
              type,
            ),
        );
  const direction = (
    pod: Endpoint,
    other: Endpoint,
    type: "Ingress" | "Egress",
    port: number,
    protocol: string,
  ) => {
    const selected = applying(pod, type);
    if (pod.namespace === undefined || selected.length === 0) return true;
    return selected.some((policy) =>
      (type === "Ingress" ? (policy.spec.ingress ?? []) : (policy.spec.egress ?? [])).some(
        (rule) => {
          const peers = type === "Ingress" ? rule.from : rule.to;
          const peerOk =
            !peers ||
            peers.length === 0 ||
            peers.some((peer) =>
              peerMatches(peer, policy.metadata.namespace ?? "default", other, namespaceLabels),
            );
          return peerOk && portMatches(rule, port, protocol);
        },
      ),
    );
  };
  return {
    /** Whether `from` may open a connection to `to` on port/protocol. */
    allows(from: Endpoint, to: Endpoint, port: number, protocol = "TCP"): boolean {
      return (
        direction(from, to, "Egress", port, protocol) &&
        direction(to, from, "Ingress", port, protocol)
      );
    },
  };
}
