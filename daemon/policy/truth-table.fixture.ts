// Test fixture (imported only by tests): the upstream NetworkPolicy e2e model (namespaces x, y, z;
// pods a, b, c in each, serving TCP, UDP and SCTP on 80 and 81 under named ports serve-<port>-<proto>)
// and its reachability tables, so the upstream cases can be replayed against `evaluate`.
import { ClusterIndex } from "./cluster-index.js";
import { evaluate } from "./evaluate.js";
import type { Cluster, ClusterNetworkPolicy, NetworkPolicy, PodInfo, Protocol } from "./types.js";

export const NAMESPACES = ["x", "y", "z"] as const;
export const POD_NAMES = ["a", "b", "c"] as const;
export const ALL_PODS = NAMESPACES.flatMap((ns) => POD_NAMES.map((p) => `${ns}/${p}`));
export const NODES = [
  { name: "node-1", labels: { "kubernetes.io/hostname": "node-1", "kubernetes.io/os": "linux" }, ips: ["192.168.56.11", "fd56::11"] },
  { name: "node-2", labels: { "kubernetes.io/hostname": "node-2", "kubernetes.io/os": "linux" }, ips: ["192.168.56.12", "fd56::12"] },
];

/** x/a → 10.244.1.10, y/c → 10.244.2.12; IPv6 alike under fd00:10:244::/48. Pods alternate nodes. */
export function podIps(ns: string, pod: string): [string, string] {
  const i = NAMESPACES.indexOf(ns as (typeof NAMESPACES)[number]) + 1;
  const j = POD_NAMES.indexOf(pod as (typeof POD_NAMES)[number]) + 10;
  return [`10.244.${i}.${j}`, `fd00:10:244:${i}::${j}`];
}

function upstreamPod(ns: string, name: string, index: number): PodInfo {
  const ports = [80, 81].flatMap((port) =>
    (["TCP", "UDP", "SCTP"] as const).map((protocol) => ({ containerPort: port, protocol, name: `serve-${port}-${protocol.toLowerCase()}` })),
  );
  return { namespace: ns, name, labels: { pod: name }, ips: podIps(ns, name), node: index % 2 === 0 ? "node-1" : "node-2", ports };
}

export function upstreamCluster(networkPolicies: NetworkPolicy[] = [], clusterNetworkPolicies: ClusterNetworkPolicy[] = []): Cluster {
  return {
    namespaces: NAMESPACES.map((ns) => ({ name: ns, labels: { ns, "kubernetes.io/metadata.name": ns } })),
    pods: ALL_PODS.map((key, i) => {
      const [ns = "", name = ""] = key.split("/");
      return upstreamPod(ns, name, i);
    }),
    nodes: NODES,
    networkPolicies,
    clusterNetworkPolicies,
  };
}

export interface Peer {
  namespace?: string;
  pod?: string;
}

const peerMatches = (peer: Peer, key: string): boolean => {
  const [ns, pod] = key.split("/");
  return (peer.namespace === undefined || peer.namespace === ns) && (peer.pod === undefined || peer.pod === pod);
};

/** The upstream Reachability: an expected verdict per (from, to) pair, everything `initial` at first. */
export class Reachability {
  private readonly expected = new Map<string, boolean>();
  constructor(
    readonly pods: readonly string[],
    initial: boolean,
  ) {
    for (const f of pods) for (const t of pods) this.expected.set(`${f}>${t}`, initial);
  }
  expect(from: string, to: string, allowed: boolean): this {
    this.expected.set(`${from}>${to}`, allowed);
    return this;
  }
  expectPeer(from: Peer, to: Peer, allowed: boolean): this {
    for (const f of this.pods) for (const t of this.pods) if (peerMatches(from, f) && peerMatches(to, t)) this.expect(f, t, allowed);
    return this;
  }
  expectAllIngress(to: string, allowed: boolean): this {
    for (const f of this.pods) this.expect(f, to, allowed);
    return this;
  }
  expectAllEgress(from: string, allowed: boolean): this {
    for (const t of this.pods) this.expect(from, t, allowed);
    return this;
  }
  expectation(from: string, to: string): boolean {
    return this.expected.get(`${from}>${to}`) ?? false;
  }
}

/**
 * The table `evaluate` gives for every pair except a pod to itself (upstream ignores loopback: CNIs
 * differ on it), and the pairs where it differs from the expectation, drawn as upstream prints it.
 */
export function compareTruthTable(cluster: Cluster, want: Reachability, protocol: Protocol, port: number): { wrong: string[]; table: string } {
  const index = new ClusterIndex(cluster);
  const wrong: string[] = [];
  const rows = [["from\\to", ...want.pods].join("\t")];
  for (const from of want.pods) {
    const cells = [from];
    for (const to of want.pods) {
      if (from === to) {
        cells.push("-");
        continue;
      }
      const got = evaluate(cluster, { from: { pod: from }, to: { pod: to }, protocol, port }, index).allowed;
      const expected = want.expectation(from, to);
      cells.push(got === expected ? (got ? "." : "X") : got ? "!allow" : "!deny");
      if (got !== expected) wrong.push(`${from} -> ${to} ${protocol}/${port}: got ${got ? "allow" : "deny"}, want ${expected ? "allow" : "deny"}`);
    }
    rows.push(cells.join("\t"));
  }
  return { wrong, table: rows.join("\n") };
}
