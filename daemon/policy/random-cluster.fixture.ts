// Test fixture (imported only by tests): random clusters and random pod and namespace changes, from a
// seed, for the property that a change applied as set elements (pod-delta.ts) equals a compile. Small
// vocabularies on purpose: selectors then match some pods and not others, addresses collide, named
// ports are shared, so every kind of set moves.
import type {
  Cluster,
  ClusterNetworkPolicy,
  ClusterNetworkPolicyEgressPeer,
  ClusterNetworkPolicyProtocol,
  LabelSelector,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  PodInfo,
  Protocol,
} from "./types.js";

/** mulberry32: a small seeded generator, so a failing case can be replayed from its seed. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Gen {
  constructor(readonly next: () => number) {}
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const KEYS = ["app", "role", "tier"];
const VALUES = ["a", "b", "c"];
const NODES = ["node-1", "node-2"];
const PORT_NAMES = ["http", "dns", "metrics"];
const PROTOCOLS: Protocol[] = ["TCP", "UDP", "SCTP"];

function labels(g: Gen): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of KEYS) if (g.chance(0.6)) out[k] = g.pick(VALUES);
  return out;
}

function selector(g: Gen): LabelSelector {
  const s: LabelSelector = {};
  if (g.chance(0.6)) s.matchLabels = { [g.pick(KEYS)]: g.pick(VALUES) };
  if (g.chance(0.4)) {
    const operator = g.pick(["In", "NotIn", "Exists", "DoesNotExist"] as const);
    s.matchExpressions = [{ key: g.pick(KEYS), operator, ...(operator === "In" || operator === "NotIn" ? { values: [g.pick(VALUES), g.pick(VALUES)] } : {}) }];
  }
  return s;
}

/** Addresses from small pools, so two pods sometimes share one (an ended pod's address reused). */
function ips(g: Gen): string[] {
  const v4 = `10.244.${g.int(2)}.${g.int(12) + 2}`;
  const v6 = `fd00:10:244::${(g.int(12) + 2).toString(16)}`;
  return g.pick([[v4], [v6], [v4, v6], [v4, v6], []]);
}

export function randomPod(g: Gen, namespaces: string[], name: string): PodInfo {
  const ports = Array.from({ length: g.int(3) }, () => ({ containerPort: 80 + g.int(3), name: g.pick(PORT_NAMES), protocol: g.pick(PROTOCOLS) }));
  return { namespace: g.pick(namespaces), name, labels: labels(g), ips: ips(g), node: g.pick(NODES), ports, ...(g.chance(0.1) ? { hostNetwork: true } : {}) };
}

function npPeer(g: Gen): NetworkPolicyPeer {
  const kind = g.int(4);
  if (kind === 0) return { ipBlock: { cidr: "10.244.0.0/16", except: ["10.244.1.0/24"] } };
  if (kind === 1) return { podSelector: selector(g) };
  if (kind === 2) return { namespaceSelector: selector(g) };
  return { namespaceSelector: selector(g), podSelector: selector(g) };
}

function networkPolicy(g: Gen, namespaces: string[], i: number): NetworkPolicy {
  const rule = (): { ports: NetworkPolicyPort[] } => ({ ports: g.chance(0.5) ? [{ port: g.pick(PORT_NAMES), protocol: g.pick(PROTOCOLS) }, { port: 80 }] : [] });
  return {
    metadata: { name: `np-${i}`, namespace: g.pick(namespaces) },
    spec: {
      podSelector: g.chance(0.3) ? {} : selector(g),
      ...(g.chance(0.5) ? { policyTypes: g.pick([["Ingress"], ["Egress"], ["Ingress", "Egress"]] as const).slice() } : {}),
      ingress: Array.from({ length: g.int(3) }, () => ({ ...rule(), from: Array.from({ length: g.int(3) }, () => npPeer(g)) })),
      egress: Array.from({ length: g.int(2) }, () => ({ ...rule(), to: Array.from({ length: g.int(3) }, () => npPeer(g)) })),
    },
  };
}

function cnpPeer(g: Gen): ClusterNetworkPolicyEgressPeer {
  const kind = g.int(4);
  if (kind === 0) return { namespaces: selector(g) };
  if (kind === 1) return { pods: { namespaceSelector: selector(g), podSelector: selector(g) } };
  if (kind === 2) return { nodes: selector(g) };
  return { networks: ["10.244.0.0/24"] };
}

function clusterPolicy(g: Gen, i: number): ClusterNetworkPolicy {
  const subject = g.chance(0.5) ? { namespaces: selector(g) } : { pods: { namespaceSelector: selector(g), podSelector: selector(g) } };
  const protocols = (): ClusterNetworkPolicyProtocol[] | undefined => (g.chance(0.5) ? [{ destinationNamedPort: g.pick(PORT_NAMES) }, { tcp: { destinationPort: { number: 80 } } }] : undefined);
  const action = (): "Accept" | "Deny" | "Pass" => g.pick(["Accept", "Deny", "Pass"] as const);
  return {
    metadata: { name: `cnp-${i}` },
    spec: {
      tier: g.pick(["Admin", "Baseline"] as const),
      priority: g.int(5),
      subject,
      ingress: Array.from({ length: g.int(2) }, () => ({ action: action(), from: [cnpPeer(g)].filter((p) => !p.nodes && !p.networks), protocols: protocols() })),
      egress: Array.from({ length: g.int(2) }, () => ({ action: action(), to: [cnpPeer(g), cnpPeer(g)], protocols: protocols() })),
    },
  };
}

export function randomCluster(g: Gen): Cluster {
  const names = Array.from({ length: 2 + g.int(3) }, (_, i) => `ns${i}`);
  const namespaces = names.map((name) => ({ name, labels: { "kubernetes.io/metadata.name": name, ...labels(g) } }));
  // ns9 is not listed at first: its pods have only the label the API server sets, until it appears.
  const pods = Array.from({ length: 4 + g.int(14) }, (_, i) => randomPod(g, [...names, "ns9"], `p${i}`));
  const nodes = NODES.map((name, i) => ({ name, labels: { "kubernetes.io/hostname": name, ...labels(g) }, ips: [`192.168.56.${11 + i}`, `fd56::${11 + i}`] }));
  const networkPolicies = Array.from({ length: g.int(6) }, (_, i) => networkPolicy(g, names, i));
  const clusterNetworkPolicies = Array.from({ length: g.int(4) }, (_, i) => clusterPolicy(g, i));
  return { namespaces, pods, nodes, networkPolicies, clusterNetworkPolicies };
}

/** One to three pod or namespace changes: labels, addresses, ports, a pod appearing or going, a namespace appearing, going or relabelled. */
export function changePods(g: Gen, c: Cluster): Cluster {
  const out = structuredClone(c);
  const names = out.namespaces.map((n) => n.name);
  for (let k = 1 + g.int(3); k > 0; k--) {
    const pod = out.pods.length ? g.pick(out.pods) : undefined;
    switch (g.int(8)) {
      case 0:
      case 1:
        if (pod) pod.labels = labels(g);
        break;
      case 2:
        // A pod moving is a pod bound late: its record's node, then its spec.nodeName.
        if (pod && g.chance(0.7)) pod.ips = ips(g);
        else if (pod) pod.node = g.pick([...NODES, ""]);
        break;
      case 3:
        if (pod) pod.ports = randomPod(g, names, pod.name).ports;
        break;
      case 4:
        out.pods.push(randomPod(g, [...names, "ns9"], `new-${g.int(1e6)}`));
        break;
      case 5:
        if (pod) out.pods.splice(out.pods.indexOf(pod), 1);
        break;
      case 6: {
        const ns = out.namespaces.length ? g.pick(out.namespaces) : undefined;
        if (ns) ns.labels = { "kubernetes.io/metadata.name": ns.name, ...labels(g) };
        break;
      }
      default:
        // A namespace going (its pods keep the default label) or coming back.
        if (g.chance(0.5) && out.namespaces.length) out.namespaces.splice(g.int(out.namespaces.length), 1);
        else if (!out.namespaces.some((n) => n.name === "ns9")) out.namespaces.push({ name: "ns9", labels: { "kubernetes.io/metadata.name": "ns9", ...labels(g) } });
    }
  }
  return out;
}
