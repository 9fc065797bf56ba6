// Test fixture (imported only by tests): what the upstream NetworkPolicy e2e cases are made of — a case
// is a list of steps; each step is the state upstream reaches by creating, updating or deleting
// policies and labelling namespaces or pods, and the reachability it expects then, over all nine pods
// of the model — and the builders network_policy.go uses to write them.
import type { Reachability } from "./truth-table.fixture.js";
import type { LabelSelector, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer, Protocol } from "./types.js";

export const NS_LABEL = "kubernetes.io/metadata.name";
export const labels = (l: Record<string, string>): LabelSelector => ({ matchLabels: l });
export const all: LabelSelector = {};
export const nsIs = (ns: string): LabelSelector => labels({ [NS_LABEL]: ns });
export const nsNot = (ns: string): LabelSelector => ({ matchExpressions: [{ key: NS_LABEL, operator: "NotIn", values: [ns] }] });

/** GenNetworkPolicyWithNameAndPodSelector + SetSpecIngressRules/SetSpecEgressRules: each set adds its policy type. */
export function policy(name: string, podSelector: LabelSelector, rules: { ingress?: NetworkPolicyIngressRule[]; egress?: NetworkPolicyEgressRule[] }, namespace = "x"): NetworkPolicy {
  const policyTypes: ("Ingress" | "Egress")[] = [];
  if (rules.ingress) policyTypes.push("Ingress");
  if (rules.egress) policyTypes.push("Egress");
  return { metadata: { name, namespace }, spec: { podSelector, policyTypes, ...rules } };
}

export interface CaseProbe {
  protocol: Protocol;
  port: number;
  want: (r: Reachability) => Reachability;
}

export interface CaseStep {
  /** Every policy in force at this step (those of the step before that are not here were deleted). */
  policies: NetworkPolicy[];
  /** Labels added at this step and kept after it: namespace → labels. */
  namespaceLabels?: Record<string, Record<string, string>>;
  /** Labels added at this step and kept after it: "ns/pod" → labels. */
  podLabels?: Record<string, Record<string, string>>;
  probes: CaseProbe[];
}

export interface CaseContext {
  /** Every address of a model pod ("x/b"), one per family the cluster has. */
  ips(pod: string): string[];
}

export interface UpstreamCase {
  name: string;
  steps(ctx: CaseContext): CaseStep[];
}

export const tcp = (port: number, want: CaseProbe["want"]): CaseProbe => ({ protocol: "TCP", port, want });
export const same = (r: Reachability): Reachability => r;
export const one = (policies: NetworkPolicy[], ...probes: CaseProbe[]): CaseStep[] => [{ policies, probes }];

/** makeLargeCIDRForIP: the /4 around an IPv4 address; for IPv6 the /48 around it (every pod of the cluster, as the /4 holds every IPv4 pod). */
export const largeCidr = (ip: string): string =>
  ip.includes(":") ? `${ip.split(":").slice(0, 3).join(":")}::/48` : `${(Number(ip.split(".")[0]) & 0xf0).toString()}.0.0.0/4`;
export const hostCidr = (ip: string): string => `${ip}/${ip.includes(":") ? 128 : 32}`;
/** One ipBlock peer per family of the pod: a dual-stack cluster's policy names both of its addresses. */
export const blocksOf = (ips: string[], block: (ip: string) => NetworkPolicyPeer["ipBlock"]): NetworkPolicyPeer[] => ips.map((ip) => ({ ipBlock: block(ip) }));

export const allowYOn = (name: string, port: number | string, protocol: Protocol = "TCP"): NetworkPolicy =>
  policy(name, labels({ pod: "a" }), { ingress: [{ from: [{ namespaceSelector: nsIs("y") }], ports: [{ port, protocol }] }] });
export const onlyYToXa = (r: Reachability): Reachability =>
  r.expectPeer({ namespace: "x" }, { namespace: "x", pod: "a" }, false).expectPeer({ namespace: "z" }, { namespace: "x", pod: "a" }, false);
export const yaFromNsAndPod = (): NetworkPolicy =>
  policy("allow-ns-y-pod-a-via-namespace-pod-selector", labels({ pod: "a" }), { ingress: [{ from: [{ namespaceSelector: nsIs("y"), podSelector: labels({ pod: "a" }) }] }] });
