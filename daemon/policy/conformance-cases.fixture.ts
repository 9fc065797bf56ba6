// Test fixture (imported only by tests): the ClusterNetworkPolicy (v1alpha2) conformance cases of
// kubernetes-sigs/network-policy-api as data, replayed against `evaluate` (cluster-network-policy.test.ts)
// and with real traffic in a lab (test/e2e/lab-cnp-conformance.test.ts). The conformance model: houses
// as namespaces labelled conformance-house, two pods each (…-0 on the first node, …-1 on the second);
// centaurs are host-network pods (their node's addresses).
// A case is steps, as upstream patches its policies in sequence; each step lists every policy in force
// and the connections upstream pokes then.
import type { Cluster, ClusterNetworkPolicy, ClusterNetworkPolicyEgressPeer, ContainerPort, NetworkPolicy, PodInfo, Protocol } from "./types.js";

export const HOUSES = { gryffindor: "harry-potter", slytherin: "draco-malfoy", hufflepuff: "cedric-diggory", ravenclaw: "luna-lovegood" } as const;
type House = keyof typeof HOUSES;
export const nsOf = (house: string): string => `network-policy-conformance-${house}`;
export const HOST_PORTS = [34345, 34346, 34347, 34348, 34349, 34350, 34351];
const NODE_IPS = ["172.18.0.2", "172.18.0.3"];

/** What every house pod serves: the conformance pods' web and dns ports, and the others the cases poke. */
export const HOUSE_POD_PORTS: ContainerPort[] = [
  { containerPort: 80, protocol: "TCP", name: "web" },
  { containerPort: 8080, protocol: "TCP" },
  { containerPort: 53, protocol: "UDP", name: "dns" },
  { containerPort: 5353, protocol: "UDP" },
  { containerPort: 9003, protocol: "SCTP" },
  { containerPort: 9005, protocol: "SCTP" },
];

/** What each centaur (a host-network pod) serves on its node: the ports the node-peer case pokes. */
export const CENTAUR_PORTS: ContainerPort[] = [
  { containerPort: HOST_PORTS[0] as number, protocol: "TCP", name: `web-${HOST_PORTS[0]}` },
  { containerPort: HOST_PORTS[1] as number, protocol: "TCP" },
  { containerPort: HOST_PORTS[2] as number, protocol: "UDP", name: `dns-${HOST_PORTS[2]}` },
  { containerPort: HOST_PORTS[4] as number, protocol: "UDP" },
  { containerPort: HOST_PORTS[6] as number, protocol: "SCTP" },
];

/** "network-policy-conformance-gryffindor/harry-potter-0", … in house order. */
export const HOUSE_PODS: string[] = Object.entries(HOUSES).flatMap(([house, name]) => [0, 1].map((i) => `${nsOf(house)}/${name}-${i}`));

export function conformanceCluster(cnps: ClusterNetworkPolicy[], nps: NetworkPolicy[] = []): Cluster {
  const pods: PodInfo[] = [];
  Object.entries(HOUSES).forEach(([house, name], h) => {
    for (const i of [0, 1]) pods.push({ namespace: nsOf(house), name: `${name}-${i}`, labels: { "conformance-house": house }, ips: [`10.244.${i + 1}.${h + 10}`], node: `node-${i + 1}`, ports: HOUSE_POD_PORTS });
  });
  for (const i of [0, 1])
    pods.push({
      namespace: nsOf("forbidden-forrest"),
      name: `centaur-${i}`,
      labels: { "conformance-house": "forbidden-forrest" },
      ips: [NODE_IPS[i] as string],
      node: `node-${i + 1}`,
      hostNetwork: true,
      ports: CENTAUR_PORTS,
    });
  return {
    namespaces: [...Object.keys(HOUSES), "forbidden-forrest"].map((h) => ({ name: nsOf(h), labels: { "conformance-house": h, "kubernetes.io/metadata.name": nsOf(h) } })),
    pods,
    nodes: NODE_IPS.map((ip, i) => ({ name: `node-${i + 1}`, labels: { "kubernetes.io/os": "linux" }, ips: [ip] })),
    networkPolicies: nps,
    clusterNetworkPolicies: cnps,
  };
}

export const pod = (house: House | "forbidden-forrest", name: string): string => `${nsOf(house)}/${name}`;
export const byName = (house: string) => ({ namespaces: { matchLabels: { "kubernetes.io/metadata.name": nsOf(house) } } });
export const byHouse = (house: string) => ({ namespaces: { matchLabels: { "conformance-house": house } } });
export const housePods = (house: string) => ({ pods: { namespaceSelector: { matchLabels: { "conformance-house": house } }, podSelector: { matchLabels: { "conformance-house": house } } } });

export interface Poke {
  /** The upstream subtest this poke belongs to. */
  test: string;
  from: string;
  to: string;
  protocol: Protocol;
  port: number;
  allowed: boolean;
}

export interface ConformanceStep {
  cnps: ClusterNetworkPolicy[];
  nps: NetworkPolicy[];
  pokes: Poke[];
}

export interface ConformanceCase {
  /** The upstream test (and the manifest it applies). */
  name: string;
  steps(ctx: { ips(pod: string): string[] }): ConformanceStep[];
}

const poker =
  (test: string) =>
  (from: string, to: string, protocol: Protocol, port: number, allowed: boolean): Poke => ({ test, from, to, protocol, port, allowed });
const [harry0, harry1, draco0, draco1] = [pod("gryffindor", "harry-potter-0"), pod("gryffindor", "harry-potter-1"), pod("slytherin", "draco-malfoy-0"), pod("slytherin", "draco-malfoy-1")];
const [luna0, luna1, cedric0, cedric1] = [pod("ravenclaw", "luna-lovegood-0"), pod("ravenclaw", "luna-lovegood-1"), pod("hufflepuff", "cedric-diggory-0"), pod("hufflepuff", "cedric-diggory-1")];
const tcp = (n: number) => [{ tcp: { destinationPort: { number: n } } }];
const clone = <T>(x: T): T => structuredClone(x);

/** standard-ingress-tcp-rules.yaml, its rules reordered between subtests as upstream patches them. */
function ingressTcp(order: number[]): ClusterNetworkPolicy {
  const rules = [
    { name: "allow-from-ravenclaw-everything", action: "Accept" as const, from: [byName("ravenclaw")] },
    { name: "deny-from-ravenclaw-everything", action: "Deny" as const, from: [byName("ravenclaw")] },
    { name: "pass-from-ravenclaw-everything", action: "Pass" as const, from: [byName("ravenclaw")] },
    { name: "deny-from-slytherin-at-port-80", action: "Deny" as const, from: [byName("slytherin")], protocols: tcp(80) },
    { name: "pass-from-slytherin-at-port-80", action: "Pass" as const, from: [byName("slytherin")], protocols: tcp(80) },
    { name: "allow-from-hufflepuff-at-port-80", action: "Accept" as const, from: [byName("hufflepuff")], protocols: tcp(80) },
    { name: "deny-from-hufflepuff-everything-else", action: "Deny" as const, from: [byName("hufflepuff")] },
  ];
  return { metadata: { name: "ingress-tcp" }, spec: { tier: "Admin", priority: 3, subject: byName("gryffindor"), ingress: order.map((i) => rules[i]!) } };
}

const swapped = (order: number[], i: number, j: number): number[] => {
  const o = [...order];
  [o[i], o[j]] = [o[j]!, o[i]!];
  return o;
};

export const CONFORMANCE_CASES: ConformanceCase[] = [
  {
    name: "CNPAdminTierIngressTCP (standard-ingress-tcp-rules.yaml, patched in sequence)",
    steps: () => {
      const o1 = [0, 1, 2, 3, 4, 5, 6];
      const o2 = swapped(o1, 0, 1);
      const o3 = swapped(o2, 0, 2);
      const o4 = swapped(o3, 3, 4);
      const p1 = poker("Should support an 'allow-ingress' policy for TCP protocol; ensure rule ordering is respected");
      const p2 = poker("Should support an 'allow-ingress' policy for TCP protocol at the specified port");
      const p3 = poker("Should support an 'deny-ingress' policy for TCP protocol; ensure rule ordering is respected");
      const p4 = poker("Should support a 'deny-ingress' policy for TCP protocol at the specified port");
      const p5 = poker("Should support an 'pass-ingress' policy for TCP protocol; ensure rule ordering is respected");
      const p6 = poker("Should support a 'pass-ingress' policy for TCP protocol at the specified port");
      return [
        { cnps: [ingressTcp(o1)], nps: [], pokes: [p1(luna0, harry0, "TCP", 80, true), p1(luna1, harry0, "TCP", 8080, true), p2(cedric0, harry0, "TCP", 80, true), p2(cedric1, harry0, "TCP", 8080, false)] },
        { cnps: [ingressTcp(o2)], nps: [], pokes: [p3(luna0, harry0, "TCP", 80, false), p3(luna1, harry0, "TCP", 8080, false), p4(draco0, harry0, "TCP", 80, false), p4(draco1, harry0, "TCP", 8080, true)] },
        { cnps: [ingressTcp(o3)], nps: [], pokes: [p5(luna0, harry0, "TCP", 80, true), p5(luna1, harry0, "TCP", 8080, true)] },
        { cnps: [ingressTcp(o4)], nps: [], pokes: [p6(draco0, harry0, "TCP", 80, true), p6(draco1, harry0, "TCP", 8080, true)] },
      ];
    },
  },
  {
    name: "CNPAdminTierIngressNamedPort (standard-ingress-udp-rules.yaml, rule 5 as destinationNamedPort dns)",
    steps: () => {
      const cnp: ClusterNetworkPolicy = {
        metadata: { name: "ingress-udp" },
        spec: {
          tier: "Admin",
          priority: 4,
          subject: byName("hufflepuff"),
          ingress: [
            { name: "allow-from-gryffindor-at-port-53", action: "Accept", from: [byName("gryffindor")], protocols: [{ destinationNamedPort: "dns" }] },
            { name: "deny-from-gryffindor-everything-else", action: "Deny", from: [byName("gryffindor")] },
          ],
        },
      };
      const p = poker("Should support an 'allow-ingress' policy for named port");
      // "dns" is a UDP port: TCP to 53 is not it, so the deny after it applies.
      return [{ cnps: [cnp], nps: [], pokes: [p(harry0, cedric1, "UDP", 53, true), p(harry1, cedric1, "UDP", 5353, false), p(harry1, cedric1, "TCP", 80, false)] }];
    },
  },
  {
    name: "CNPAdminTierIntegration (standard-anp-np-banp.yaml: Admin pass → NetworkPolicy → Baseline)",
    steps: () => {
      const gress = (action: "Deny" | "Pass") => ({
        ingress: [{ name: "deny-all-ingress-from-slytherin", action, from: [byHouse("slytherin")] }],
        egress: [{ name: "deny-all-egress-to-slytherin", action, to: [byHouse("slytherin")] }],
      });
      const admin = (ingress: "Deny" | "Pass", egress: "Deny" | "Pass"): ClusterNetworkPolicy => ({
        metadata: { name: "pass-example" },
        spec: { tier: "Admin", priority: 10, subject: byHouse("gryffindor"), ingress: gress(ingress).ingress, egress: gress(egress).egress },
      });
      const baseline: ClusterNetworkPolicy = { metadata: { name: "default" }, spec: { tier: "Baseline", priority: 10, subject: byHouse("gryffindor"), ...gress("Deny") } };
      const np: NetworkPolicy = {
        metadata: { name: "allow-gress-from-to-slytherin-to-gryffindor", namespace: nsOf("gryffindor") },
        spec: {
          podSelector: {},
          policyTypes: ["Ingress", "Egress"],
          ingress: [{ from: [{ namespaceSelector: { matchLabels: { "conformance-house": "slytherin" } } }] }],
          egress: [{ to: [{ namespaceSelector: { matchLabels: { "conformance-house": "slytherin" } } }] }],
        },
      };
      const a = poker("Should Deny traffic from slytherin to gryffindor respecting admin CNP");
      const b = poker("Should Deny traffic to slytherin from gryffindor respecting admin CNP");
      const c = poker("Should support a 'pass-ingress' policy for admin CNP and respect the match for network policy");
      const d = poker("Should support a 'pass-egress' policy for admin CNP and respect the match for network policy");
      const e = poker("Should support a 'pass-ingress' policy for admin CNP and respect the match for baseline cluster network policy");
      const f = poker("Should support a 'pass-egress' policy for admin CNP and respect the match for baseline cluster network policy");
      const g = poker("baseline deny applies only where no NetworkPolicy isolates the pod (hufflepuff is not its subject)");
      return [
        { cnps: [admin("Deny", "Deny"), baseline], nps: [np], pokes: [a(draco0, harry0, "TCP", 80, false), a(draco1, harry0, "TCP", 8080, false), b(harry0, draco0, "TCP", 80, false), b(harry1, draco0, "TCP", 8080, false)] },
        { cnps: [admin("Pass", "Deny"), baseline], nps: [np], pokes: [c(draco0, harry0, "TCP", 80, true), c(draco1, harry0, "TCP", 8080, true)] },
        { cnps: [admin("Pass", "Pass"), baseline], nps: [np], pokes: [d(harry0, draco0, "TCP", 80, true), d(harry1, draco0, "TCP", 8080, true)] },
        {
          cnps: [admin("Pass", "Pass"), baseline],
          nps: [],
          pokes: [e(draco0, harry0, "TCP", 80, false), e(draco1, harry0, "TCP", 8080, false), f(harry0, draco0, "TCP", 80, false), f(harry1, draco0, "TCP", 8080, false), g(draco0, cedric0, "TCP", 80, true)],
        },
      ];
    },
  },
  {
    name: "CNPAdminTierPriorityField (standard-priority-field.yaml)",
    steps: () => {
      const rule = (name: string, action: "Accept" | "Deny" | "Pass") => ({
        ingress: [{ name: `${name}-ingress`, action, from: [housePods("slytherin")] }],
        egress: [{ name: `${name}-egress`, action, to: [housePods("slytherin") as ClusterNetworkPolicyEgressPeer] }],
      });
      const deny50: ClusterNetworkPolicy = { metadata: { name: "priority-50-example" }, spec: { tier: "Admin", priority: 50, subject: housePods("gryffindor"), ...rule("deny-all", "Deny") } };
      const pass = (priority: number): ClusterNetworkPolicy => ({ metadata: { name: "old-priority-60-new-priority-40-example" }, spec: { tier: "Admin", priority, subject: housePods("gryffindor"), ...rule("pass-all", "Pass") } });
      const allowBaseline: ClusterNetworkPolicy = { metadata: { name: "default" }, spec: { tier: "Baseline", priority: 10, subject: housePods("gryffindor"), ...rule("allow-all", "Accept") } };
      const a = poker("Should Deny traffic from slytherin to gryffindor respecting admin CNP");
      const b = poker("Should Deny traffic to slytherin from gryffindor respecting admin CNP");
      const c = poker("Should respect admin CNP priority field; thus passing both ingress and egress traffic over to baseline CNP");
      return [
        { cnps: [pass(60), allowBaseline, deny50], nps: [], pokes: [a(draco0, harry0, "TCP", 80, false), a(draco1, harry0, "TCP", 8080, false), b(harry0, draco0, "TCP", 80, false), b(harry1, draco0, "TCP", 8080, false)] },
        { cnps: [pass(40), allowBaseline, deny50], nps: [], pokes: [c(draco0, harry0, "TCP", 80, true), c(draco1, harry0, "TCP", 8080, true), c(harry0, draco0, "TCP", 80, true), c(harry1, draco0, "TCP", 8080, true)] },
      ];
    },
  },
  {
    name: "CNPAdminTierEgressNodePeers (experimental-egress-selector-rules.yaml)",
    steps: () => {
      const linux = { matchLabels: { "kubernetes.io/os": "linux" } };
      const cnp: ClusterNetworkPolicy = {
        metadata: { name: "node-and-cidr-as-peers-example" },
        spec: {
          tier: "Admin",
          priority: 75,
          subject: housePods("gryffindor"),
          egress: [
            { name: "allow-egress-to-nodes", action: "Accept", to: [{ nodes: linux }], protocols: [{ tcp: { destinationPort: { number: HOST_PORTS[0] as number } } }] },
            { name: "pass-egress-to-nodes", action: "Pass", to: [{ nodes: linux }], protocols: [{ udp: { destinationPort: { number: HOST_PORTS[2] as number } } }] },
            { name: "deny-egress-to-slytherin-and-nodes-and-internet", action: "Deny", to: [housePods("slytherin"), { nodes: linux }, { networks: ["0.0.0.0/0", "::/0"] }] },
          ],
        },
      };
      const centaur1 = pod("forbidden-forrest", "centaur-1");
      const deny = poker("Should support a 'deny-egress' rule policy for egress-node-peer");
      return [
        {
          cnps: [cnp],
          nps: [],
          pokes: [
            poker("Should support an 'allow-egress' rule policy for egress-node-peer")(harry1, centaur1, "TCP", HOST_PORTS[0] as number, true),
            poker("Should support a 'pass-egress' rule policy for egress-node-peer")(harry1, centaur1, "UDP", HOST_PORTS[2] as number, true),
            deny(harry1, centaur1, "TCP", HOST_PORTS[1] as number, false),
            deny(harry1, centaur1, "UDP", HOST_PORTS[4] as number, false),
            deny(harry1, centaur1, "SCTP", HOST_PORTS[6] as number, false),
          ],
        },
      ];
    },
  },
  {
    name: "CNPAdminTierEgressInlineCIDRPeers (standard-egress-inline-cidr-rules.yaml)",
    steps: (ctx) => {
      const cnp: ClusterNetworkPolicy = {
        metadata: { name: "inline-cidr-as-peers-example" },
        spec: {
          tier: "Admin",
          priority: 85,
          subject: housePods("gryffindor"),
          egress: [
            { name: "allow-egress-to-slytherin", action: "Accept", to: [housePods("slytherin")] },
            { name: "deny-egress-to-internet", action: "Deny", to: [{ networks: ["0.0.0.0/0", "::/0"] }] },
          ],
        },
      };
      const withPodIps = clone(cnp);
      const hosts = [...ctx.ips(luna0), ...ctx.ips(cedric0)].map((ip) => `${ip}/${ip.includes(":") ? 128 : 32}`);
      withPodIps.spec.egress!.unshift({ name: "allow-egress-to-specific-podIPs", action: "Accept", to: [{ networks: hosts }] });
      const probes: [Protocol, number][] = [["TCP", 80], ["UDP", 53], ["SCTP", 9003]];
      const deny = poker("Should support a 'deny-egress' rule policy for egress-cidr-peer");
      const allow = poker("Should support an 'allow-egress' rule policy for egress-cidr-peer");
      return [
        { cnps: [cnp], nps: [], pokes: probes.flatMap(([proto, port]) => [deny(harry1, luna0, proto, port, false), deny(harry1, cedric0, proto, port, false), deny(harry1, draco0, proto, port, true)]) },
        { cnps: [withPodIps], nps: [], pokes: probes.flatMap(([proto, port]) => [allow(harry1, luna0, proto, port, true), allow(harry1, cedric0, proto, port, true), allow(harry1, luna1, proto, port, false)]) },
      ];
    },
  },
];
