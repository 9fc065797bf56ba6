// The cluster as the evaluator asks about it: a flow's endpoints resolved to a pod, a node (a node's
// address, or a host-network pod, which counts as its node) or an outside address, and the labels
// of a pod's namespace.
import { familyOf, type Family } from "./cidr.js";
import type { Cluster, Flow, FlowEndpoint, NodeInfo, PodInfo } from "./types.js";

export type Endpoint =
  | { kind: "pod"; pod: PodInfo; ip: string | undefined }
  | { kind: "node"; node: NodeInfo | undefined; ip: string | undefined; hostNetworkPod?: PodInfo }
  | { kind: "external"; ip: string };

export class UnknownPodError extends Error {
  readonly code = "ENOPOD";
  constructor(readonly pod: string) {
    super(`pod ${pod} is not in the cluster model (expected "namespace/name" of a known pod)`);
  }
}

export const podKey = (p: { namespace: string; name: string }): string => `${p.namespace}/${p.name}`;

/** The address of one family, when the pod has one. */
export function addressOf(ips: string[], family: Family): string | undefined {
  return ips.find((ip) => familyOf(ip) === family);
}

export class ClusterIndex {
  private readonly podsByKey = new Map<string, PodInfo>();
  private readonly podsByIp = new Map<string, PodInfo>();
  private readonly nodesByName = new Map<string, NodeInfo>();
  private readonly nodesByIp = new Map<string, NodeInfo>();
  private readonly nsLabels = new Map<string, Record<string, string>>();

  constructor(readonly cluster: Cluster) {
    for (const n of cluster.namespaces) this.nsLabels.set(n.name, n.labels);
    for (const n of cluster.nodes) {
      this.nodesByName.set(n.name, n);
      for (const ip of n.ips) this.nodesByIp.set(ip, n);
    }
    for (const p of cluster.pods) {
      this.podsByKey.set(podKey(p), p);
      if (!p.hostNetwork) for (const ip of p.ips) this.podsByIp.set(ip, p);
    }
  }

  /** A namespace the model lacks still has the label the API server always sets. */
  namespaceLabels(namespace: string): Record<string, string> {
    return this.nsLabels.get(namespace) ?? { "kubernetes.io/metadata.name": namespace };
  }

  pod(key: string): PodInfo {
    const p = this.podsByKey.get(key);
    if (!p) throw new UnknownPodError(key);
    return p;
  }

  node(name: string): NodeInfo | undefined {
    return this.nodesByName.get(name);
  }

  /** The family a flow uses: as asked, else an address endpoint's, else IPv4 when the pods have it. */
  familyOf(flow: Flow): Family {
    if (flow.family) return flow.family;
    for (const ep of [flow.from, flow.to]) if ("ip" in ep) return familyOf(ep.ip);
    const pods = [flow.from, flow.to].map((ep) => this.pod((ep as { pod: string }).pod));
    return pods.every((p) => p.ips.length === 0 || addressOf(p.ips, 4) !== undefined) ? 4 : 6;
  }

  resolve(ep: FlowEndpoint, family: Family): Endpoint {
    if ("pod" in ep) {
      const pod = this.pod(ep.pod);
      const ip = addressOf(pod.ips, family);
      if (pod.hostNetwork) return { kind: "node", node: this.node(pod.node), ip, hostNetworkPod: pod };
      return { kind: "pod", pod, ip };
    }
    const pod = this.podsByIp.get(ep.ip);
    if (pod) return { kind: "pod", pod, ip: ep.ip };
    const node = this.nodesByIp.get(ep.ip);
    if (node) return { kind: "node", node, ip: ep.ip };
    return { kind: "external", ip: ep.ip };
  }
}

/** "x/a", "node n1 (10.0.0.1)", "203.0.113.9": an endpoint in words. */
export function endpointText(ep: Endpoint): string {
  if (ep.kind === "pod") return `pod ${podKey(ep.pod)}${ep.ip ? ` (${ep.ip})` : ""}`;
  if (ep.kind === "node") {
    const who = ep.hostNetworkPod ? `host-network pod ${podKey(ep.hostNetworkPod)} on node ${ep.hostNetworkPod.node}` : `node ${ep.node?.name ?? "?"}`;
    return `${who}${ep.ip ? ` (${ep.ip})` : ""}`;
  }
  return `address ${ep.ip}`;
}
