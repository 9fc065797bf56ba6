// One ClusterNetworkPolicy tier (Admin or Baseline) for one direction: policies by priority (then
// name), rules in written order; the first rule matching decides Accept or Deny, or Passes the flow
// on to the next tier. No rule matching leaves the flow to the next tier too.
import type { ClusterIndex, Endpoint } from "./cluster-index.js";
import type { L4 } from "./ports.js";
import { clusterPolicyProtocolsMatch } from "./ports.js";
import { clusterEgressPeerMatches, clusterIngressPeerMatches, clusterPolicySubjectSelects, peerIsUnknown } from "./selection.js";
import type { ClusterNetworkPolicy, ClusterNetworkPolicyEgressRule, ClusterNetworkPolicyIngressRule, Decision, Direction, PodInfo, Tier } from "./types.js";

export interface TierResult {
  /** Accept or Deny: final for this direction. */
  decision?: Decision;
  /** A Pass rule matched: the flow goes on to the next tier. */
  passedBy?: { policy: string; rule: string };
}

/** Lower priority first; equal priorities by name, so the order (and the nft rules) are stable. */
export function clusterPoliciesOfTier(policies: ClusterNetworkPolicy[], tier: Tier): ClusterNetworkPolicy[] {
  return policies
    .filter((p) => p.spec.tier === tier)
    .sort((a, b) => a.spec.priority - b.spec.priority || a.metadata.name.localeCompare(b.metadata.name));
}

export const clusterRuleName = (rule: { name?: string }, direction: Direction, i: number): string => rule.name || `${direction}[${i}]`;

type AnyRule = ClusterNetworkPolicyIngressRule | ClusterNetworkPolicyEgressRule;

function peersOf(rule: AnyRule): (ClusterNetworkPolicyIngressRule["from"][number] | ClusterNetworkPolicyEgressRule["to"][number])[] {
  return "from" in rule ? rule.from : rule.to;
}

/**
 * Whether a rule's peers match. A peer with no field we know fails closed, as the API asks: an
 * Accept rule then matches nothing, a Deny or Pass rule everything.
 */
function rulePeersMatch(rule: AnyRule, direction: Direction, peer: Endpoint, index: ClusterIndex): boolean {
  return peersOf(rule).some((p) => {
    if (peerIsUnknown(p)) return rule.action !== "Accept";
    return direction === "ingress" ? clusterIngressPeerMatches(p, peer, index) : clusterEgressPeerMatches(p, peer, index);
  });
}

/** Policies of a tier whose subject is this pod, in evaluation order. */
export function clusterPoliciesSelecting(policies: ClusterNetworkPolicy[], tier: Tier, pod: PodInfo, index: ClusterIndex): ClusterNetworkPolicy[] {
  return clusterPoliciesOfTier(policies, tier).filter((p) => clusterPolicySubjectSelects(p.spec.subject, pod, index));
}

/**
 * `subject` is the pod the policy would apply to (the source for egress, the destination for
 * ingress); `peer` the other end; `destinationPod` resolves named ports.
 */
export function evaluateClusterTier(
  policies: ClusterNetworkPolicy[],
  tier: Tier,
  direction: Direction,
  subject: PodInfo,
  peer: Endpoint,
  l4: L4,
  destinationPod: PodInfo | undefined,
  index: ClusterIndex,
): TierResult {
  for (const policy of clusterPoliciesSelecting(policies, tier, subject, index)) {
    const rules: AnyRule[] = (direction === "ingress" ? policy.spec.ingress : policy.spec.egress) ?? [];
    for (const [i, rule] of rules.entries()) {
      if (!rulePeersMatch(rule, direction, peer, index)) continue;
      if (!clusterPolicyProtocolsMatch(rule.protocols, l4, destinationPod)) continue;
      const name = clusterRuleName(rule, direction, i);
      if (rule.action === "Pass") return { passedBy: { policy: policy.metadata.name, rule: name } };
      return {
        decision: {
          allowed: rule.action === "Accept",
          tier,
          policy: policy.metadata.name,
          rule: name,
          action: rule.action,
          reason: `${tier} ClusterNetworkPolicy ${policy.metadata.name} (priority ${policy.spec.priority}) rule ${name}: ${rule.action}`,
        },
      };
    }
  }
  return {};
}
