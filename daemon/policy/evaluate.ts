// The verdict for one flow, as weftd's kernel rules give it: the source's egress and the
// destination's ingress are each judged by Admin tier → NetworkPolicy → Baseline tier → allow, and
// both must allow. The same function answers explain and the truth-table tests.
import { ClusterIndex, endpointText, podKey, type Endpoint } from "./cluster-index.js";
import { evaluateClusterTier } from "./cluster-policy-tier.js";
import { evaluateNetworkPolicyTier } from "./network-policy-tier.js";
import type { L4 } from "./ports.js";
import type { Cluster, Decision, Direction, Flow, PodInfo, Verdict } from "./types.js";

export interface ResolvedFlow {
  source: Endpoint;
  destination: Endpoint;
  l4: L4;
}

export function resolveFlow(index: ClusterIndex, flow: Flow): ResolvedFlow {
  const family = index.familyOf(flow);
  return { source: index.resolve(flow.from, family), destination: index.resolve(flow.to, family), l4: { protocol: flow.protocol, port: flow.port } };
}

const destinationPodOf = (f: ResolvedFlow): PodInfo | undefined => (f.destination.kind === "pod" ? f.destination.pod : undefined);

/** The three tiers and the default for one direction of a flow whose subject is a pod. */
function judge(cluster: Cluster, index: ClusterIndex, direction: Direction, subject: PodInfo, peer: Endpoint, f: ResolvedFlow): Decision {
  const destinationPod = destinationPodOf(f);
  const admin = evaluateClusterTier(cluster.clusterNetworkPolicies, "Admin", direction, subject, peer, f.l4, destinationPod, index);
  if (admin.decision) return admin.decision;
  const withPass = (d: Decision): Decision => (admin.passedBy ? { ...d, passedBy: admin.passedBy } : d);
  const np = evaluateNetworkPolicyTier(cluster.networkPolicies, direction, subject, peer, f.l4, destinationPod, index);
  if (np) return withPass(np);
  const baseline = evaluateClusterTier(cluster.clusterNetworkPolicies, "Baseline", direction, subject, peer, f.l4, destinationPod, index);
  if (baseline.decision) return withPass(baseline.decision);
  const passed = baseline.passedBy ? ` (Baseline ClusterNetworkPolicy ${baseline.passedBy.policy} rule ${baseline.passedBy.rule} passed it)` : "";
  return withPass({ allowed: true, tier: "Default", reason: `no policy decides ${direction} of pod ${podKey(subject)}: allowed${passed}` });
}

function egressDecision(cluster: Cluster, index: ClusterIndex, f: ResolvedFlow): Decision {
  if (f.source.kind !== "pod") return { allowed: true, tier: "NotApplicable", reason: `source is ${endpointText(f.source)}, not a pod: no egress policy applies` };
  return judge(cluster, index, "egress", f.source.pod, f.destination, f);
}

/** Traffic from the destination's own node (kubelet probes) is always allowed. */
function ingressDecision(cluster: Cluster, index: ClusterIndex, f: ResolvedFlow): Decision {
  const dst = f.destination;
  if (dst.kind !== "pod") return { allowed: true, tier: "NotApplicable", reason: `destination is ${endpointText(dst)}, not a pod: no ingress policy applies` };
  if (f.source.kind === "node" && f.source.node?.name === dst.pod.node) return { allowed: true, tier: "OwnNode", reason: `source is the destination pod's own node ${dst.pod.node}: always allowed` };
  return judge(cluster, index, "ingress", dst.pod, f.source, f);
}

export function evaluateResolved(cluster: Cluster, index: ClusterIndex, f: ResolvedFlow): Verdict {
  const egress = egressDecision(cluster, index, f);
  const ingress = ingressDecision(cluster, index, f);
  const deniedBy = !egress.allowed ? "egress" : !ingress.allowed ? "ingress" : undefined;
  return { allowed: deniedBy === undefined, egress, ingress, ...(deniedBy ? { deniedBy } : {}) };
}

/** Pass an index when asking about many flows of one cluster (truth tables), to build it once. */
export function evaluate(cluster: Cluster, flow: Flow, index: ClusterIndex = new ClusterIndex(cluster)): Verdict {
  return evaluateResolved(cluster, index, resolveFlow(index, flow));
}
