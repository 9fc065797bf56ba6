// Port matching for both APIs. A named port is resolved on the destination pod (the pod the packet
// reaches after DNAT), so one rule can mean port 80 on one pod and 8080 on another; a destination
// that is not a pod has no named ports.
import type { ClusterNetworkPolicyProtocol, NetworkPolicyPort, PodInfo, Protocol } from "./types.js";

export interface L4 {
  protocol: Protocol;
  port: number;
}

/** The container port numbers a name stands for on a pod, for one protocol. */
export function namedPortNumbers(pod: PodInfo | undefined, name: string, protocol: Protocol): number[] {
  if (!pod) return [];
  return pod.ports.filter((p) => p.name === name && (p.protocol ?? "TCP") === protocol).map((p) => p.containerPort);
}

/** NetworkPolicyPort: protocol defaults to TCP; no port means every port of the protocol. */
export function networkPolicyPortMatches(p: NetworkPolicyPort, l4: L4, destinationPod: PodInfo | undefined): boolean {
  const protocol = p.protocol ?? "TCP";
  if (protocol !== l4.protocol) return false;
  if (p.port === undefined) return true;
  if (typeof p.port === "string") return namedPortNumbers(destinationPod, p.port, protocol).includes(l4.port);
  if (p.endPort !== undefined) return l4.port >= p.port && l4.port <= p.endPort;
  return l4.port === p.port;
}

/** ports absent or empty: every protocol and port. */
export function networkPolicyPortsMatch(ports: NetworkPolicyPort[] | undefined, l4: L4, destinationPod: PodInfo | undefined): boolean {
  return !ports || ports.length === 0 || ports.some((p) => networkPolicyPortMatches(p, l4, destinationPod));
}

export const protocolFieldOf = (p: ClusterNetworkPolicyProtocol): Protocol | undefined => (p.tcp ? "TCP" : p.udp ? "UDP" : p.sctp ? "SCTP" : undefined);

export function clusterPolicyProtocolMatches(p: ClusterNetworkPolicyProtocol, l4: L4, destinationPod: PodInfo | undefined): boolean {
  if (p.destinationNamedPort !== undefined) return namedPortNumbers(destinationPod, p.destinationNamedPort, l4.protocol).includes(l4.port);
  const protocol = protocolFieldOf(p);
  if (protocol !== l4.protocol) return false;
  const dp = (p.tcp ?? p.udp ?? p.sctp)?.destinationPort;
  if (!dp) return true;
  if (dp.range) return l4.port >= dp.range.start && l4.port <= dp.range.end;
  return l4.port === dp.number;
}

/** protocols absent or empty: protocol-specific attributes are not used to match. */
export function clusterPolicyProtocolsMatch(protocols: ClusterNetworkPolicyProtocol[] | undefined, l4: L4, destinationPod: PodInfo | undefined): boolean {
  return !protocols || protocols.length === 0 || protocols.some((p) => clusterPolicyProtocolMatches(p, l4, destinationPod));
}
