// Who a policy selects and which peers match an endpoint, for both APIs. Host-network pods are
// never selected as pods: they are their node (only ipBlock/networks and nodes peers see them).
import { cidrContains, parseCidr } from "./cidr.js";
import type { ClusterIndex, Endpoint } from "./cluster-index.js";
import { selectorMatches } from "./labels.js";
import type {
  ClusterNetworkPolicyEgressPeer,
  ClusterNetworkPolicyIngressPeer,
  ClusterNetworkPolicySubject,
  IPBlock,
  NamespacedPod,
  NetworkPolicy,
  NetworkPolicyPeer,
  PodInfo,
  PolicyType,
} from "./types.js";

/** The API server's defaulting: Ingress always, Egress when the policy has egress rules. */
export function policyTypesOf(np: NetworkPolicy): PolicyType[] {
  if (np.spec.policyTypes && np.spec.policyTypes.length > 0) return np.spec.policyTypes;
  return (np.spec.egress ?? []).length > 0 ? ["Ingress", "Egress"] : ["Ingress"];
}

export function networkPolicySelects(np: NetworkPolicy, pod: PodInfo): boolean {
  return !pod.hostNetwork && pod.namespace === np.metadata.namespace && selectorMatches(np.spec.podSelector, pod.labels);
}

export function ipBlockContains(block: IPBlock, ip: string | undefined): boolean {
  if (ip === undefined) return false;
  if (!cidrContains(parseCidr(block.cidr), ip)) return false;
  return !(block.except ?? []).some((e) => cidrContains(parseCidr(e), ip));
}

/** A selector peer sees pods only; without a namespaceSelector it means the policy's own namespace. */
export function networkPolicyPeerMatches(peer: NetworkPolicyPeer, ep: Endpoint, policyNamespace: string, index: ClusterIndex): boolean {
  if (peer.ipBlock) return ipBlockContains(peer.ipBlock, ep.ip);
  if (ep.kind !== "pod") return false;
  const pod = ep.pod;
  if (peer.namespaceSelector) {
    if (!selectorMatches(peer.namespaceSelector, index.namespaceLabels(pod.namespace))) return false;
  } else if (pod.namespace !== policyNamespace) return false;
  return peer.podSelector ? selectorMatches(peer.podSelector, pod.labels) : true;
}

function namespacedPodMatches(sel: NamespacedPod, pod: PodInfo, index: ClusterIndex): boolean {
  return selectorMatches(sel.namespaceSelector, index.namespaceLabels(pod.namespace)) && selectorMatches(sel.podSelector, pod.labels);
}

export function clusterPolicySubjectSelects(subject: ClusterNetworkPolicySubject, pod: PodInfo, index: ClusterIndex): boolean {
  if (pod.hostNetwork) return false;
  if (subject.namespaces) return selectorMatches(subject.namespaces, index.namespaceLabels(pod.namespace));
  if (subject.pods) return namespacedPodMatches(subject.pods, pod, index);
  return false;
}

/** A peer with no field the model knows: written by a newer API; the caller fails closed. */
export function peerIsUnknown(peer: ClusterNetworkPolicyEgressPeer): boolean {
  return !peer.namespaces && !peer.pods && !peer.nodes && !peer.networks && !peer.domainNames;
}

export function clusterIngressPeerMatches(peer: ClusterNetworkPolicyIngressPeer, ep: Endpoint, index: ClusterIndex): boolean {
  if (ep.kind !== "pod") return false;
  if (peer.namespaces) return selectorMatches(peer.namespaces, index.namespaceLabels(ep.pod.namespace));
  if (peer.pods) return namespacedPodMatches(peer.pods, ep.pod, index);
  return false;
}

export function clusterEgressPeerMatches(peer: ClusterNetworkPolicyEgressPeer, ep: Endpoint, index: ClusterIndex): boolean {
  if (peer.networks) return ep.ip !== undefined && peer.networks.some((n) => cidrContains(parseCidr(n), ep.ip as string));
  if (peer.nodes) return ep.kind === "node" && ep.node !== undefined && selectorMatches(peer.nodes, ep.node.labels);
  if (peer.domainNames) return false;
  return clusterIngressPeerMatches(peer, ep, index);
}
