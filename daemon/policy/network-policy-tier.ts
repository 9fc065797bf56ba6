// The NetworkPolicy tier for one direction. A pod is isolated for a direction only when some policy
// of that type selects it; then the union of those policies' rules is all that is allowed, and
// nothing else is (the tier is final for isolated pods). A pod nobody isolates is left to the
// Baseline tier.
import type { ClusterIndex, Endpoint } from "./cluster-index.js";
import { podKey } from "./cluster-index.js";
import { networkPolicyPortsMatch, type L4 } from "./ports.js";
import { networkPolicyPeerMatches, networkPolicySelects, policyTypesOf } from "./selection.js";
import type { Decision, Direction, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer, PodInfo } from "./types.js";

const policyKey = (np: NetworkPolicy): string => `${np.metadata.namespace}/${np.metadata.name}`;

/** The policies that isolate a pod for a direction, by namespace/name. */
export function networkPoliciesIsolating(policies: NetworkPolicy[], direction: Direction, pod: PodInfo): NetworkPolicy[] {
  const type = direction === "ingress" ? "Ingress" : "Egress";
  return policies
    .filter((np) => policyTypesOf(np).includes(type) && networkPolicySelects(np, pod))
    .sort((a, b) => policyKey(a).localeCompare(policyKey(b)));
}

/**
 * Whether some policy isolates a pod for a direction (networkPoliciesIsolating is not empty), with the
 * policies grouped by namespace once: the compile asks it for every local pod, pod-delta for each
 * changed one, and a scan of every policy each time was most of both.
 */
export function isolatesFor(policies: NetworkPolicy[], direction: Direction): (pod: PodInfo) => boolean {
  const type = direction === "ingress" ? "Ingress" : "Egress";
  const byNamespace = new Map<string, NetworkPolicy[]>();
  for (const np of policies) if (policyTypesOf(np).includes(type)) byNamespace.set(np.metadata.namespace, [...(byNamespace.get(np.metadata.namespace) ?? []), np]);
  return (pod) => (byNamespace.get(pod.namespace) ?? []).some((np) => networkPolicySelects(np, pod));
}

/** Peers absent or empty: every source (or destination), including addresses outside the cluster. */
function peersMatch(peers: NetworkPolicyPeer[] | undefined, peer: Endpoint, namespace: string, index: ClusterIndex): boolean {
  return !peers || peers.length === 0 || peers.some((p) => networkPolicyPeerMatches(p, peer, namespace, index));
}

/** undefined: no policy isolates the subject for this direction. */
export function evaluateNetworkPolicyTier(
  policies: NetworkPolicy[],
  direction: Direction,
  subject: PodInfo,
  peer: Endpoint,
  l4: L4,
  destinationPod: PodInfo | undefined,
  index: ClusterIndex,
): Decision | undefined {
  const isolating = networkPoliciesIsolating(policies, direction, subject);
  if (isolating.length === 0) return undefined;
  for (const np of isolating) {
    const rules = (direction === "ingress" ? np.spec.ingress : np.spec.egress) ?? [];
    for (const [i, rule] of rules.entries()) {
      const peers = direction === "ingress" ? (rule as NetworkPolicyIngressRule).from : (rule as NetworkPolicyEgressRule).to;
      if (!peersMatch(peers, peer, np.metadata.namespace, index)) continue;
      if (!networkPolicyPortsMatch(rule.ports, l4, destinationPod)) continue;
      return {
        allowed: true,
        tier: "NetworkPolicy",
        policy: policyKey(np),
        rule: `${direction}[${i}]`,
        action: "Accept",
        reason: `NetworkPolicy ${policyKey(np)} ${direction}[${i}] allows it`,
      };
    }
  }
  return {
    allowed: false,
    tier: "NetworkPolicy",
    policy: isolating.map(policyKey).join(", "),
    reason: `pod ${podKey(subject)} is isolated for ${direction} by ${isolating.map(policyKey).join(", ")} and no rule of theirs allows it`,
  };
}
