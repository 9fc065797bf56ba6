// ClusterNetworkPolicy (v1alpha2) conformance cases of kubernetes-sigs/network-policy-api, replayed
// against `evaluate` on the conformance model: houses as namespaces, two pods each, centaurs as
// host-network pods (their node). Subtests that patch a policy patch it in sequence, as upstream.
import { describe, expect, it } from "vitest";
import { evaluate } from "./evaluate.js";
import type { Cluster, ClusterNetworkPolicy, ClusterNetworkPolicyEgressPeer, NetworkPolicy, PodInfo, Protocol } from "./types.js";

const HOUSES = { gryffindor: "harry-potter", slytherin: "draco-malfoy", hufflepuff: "cedric-diggory", ravenclaw: "luna-lovegood" } as const;
type House = keyof typeof HOUSES;
const nsOf = (house: string): string => `network-policy-conformance-${house}`;
const HOST_PORTS = [34345, 34346, 34347, 34348, 34349, 34350, 34351];
const NODE_IPS = ["172.18.0.2", "172.18.0.3"];

function conformanceCluster(cnps: ClusterNetworkPolicy[], nps: NetworkPolicy[] = []): Cluster {
  const pods: PodInfo[] = [];
  Object.entries(HOUSES).forEach(([house, name], h) => {
    for (const i of [0, 1])
      pods.push({
        namespace: nsOf(house),
        name: `${name}-${i}`,
        labels: { "conformance-house": house },
        ips: [`10.244.${i + 1}.${h + 10}`],
        node: `node-${i + 1}`,
        ports: [
          { containerPort: 80, protocol: "TCP", name: "web" },
          { containerPort: 53, protocol: "UDP", name: "dns" },
        ],
      });
  });
  for (const i of [0, 1])
    pods.push({
      namespace: nsOf("forbidden-forrest"),
      name: `centaur-${i}`,
      labels: { "conformance-house": "forbidden-forrest" },
      ips: [NODE_IPS[i] as string],
      node: `node-${i + 1}`,
      hostNetwork: true,
      ports: [
        { containerPort: HOST_PORTS[0] as number, protocol: "TCP", name: `web-${HOST_PORTS[0]}` },
        { containerPort: HOST_PORTS[2] as number, protocol: "UDP", name: `dns-${HOST_PORTS[2]}` },
      ],
    });
  return {
    namespaces: [...Object.keys(HOUSES), "forbidden-forrest"].map((h) => ({ name: nsOf(h), labels: { "conformance-house": h, "kubernetes.io/metadata.name": nsOf(h) } })),
    pods,
    nodes: NODE_IPS.map((ip, i) => ({ name: `node-${i + 1}`, labels: { "kubernetes.io/os": "linux" }, ips: [ip] })),
    networkPolicies: nps,
    clusterNetworkPolicies: cnps,
  };
}

const pod = (house: House | "forbidden-forrest", name: string): string => `${nsOf(house)}/${name}`;
function poke(cluster: Cluster, from: string, to: string, protocol: Protocol, port: number, want: boolean): void {
  const v = evaluate(cluster, { from: { pod: from }, to: { pod: to }, protocol, port });
  expect(v.allowed, `${from} -> ${to} ${protocol}/${port}: ${JSON.stringify(v)}`).toBe(want);
}
const byName = (house: string) => ({ namespaces: { matchLabels: { "kubernetes.io/metadata.name": nsOf(house) } } });
const byHouse = (house: string) => ({ namespaces: { matchLabels: { "conformance-house": house } } });
const housePods = (house: string) => ({ pods: { namespaceSelector: { matchLabels: { "conformance-house": house } }, podSelector: { matchLabels: { "conformance-house": house } } } });

describe("CNPAdminTierIngressTCP (standard-ingress-tcp-rules.yaml, patched in sequence)", () => {
  const tcp = (n: number) => [{ tcp: { destinationPort: { number: n } } }];
  const cnp: ClusterNetworkPolicy = {
    metadata: { name: "ingress-tcp" },
    spec: {
      tier: "Admin",
      priority: 3,
      subject: byName("gryffindor"),
      ingress: [
        { name: "allow-from-ravenclaw-everything", action: "Accept", from: [byName("ravenclaw")] },
        { name: "deny-from-ravenclaw-everything", action: "Deny", from: [byName("ravenclaw")] },
        { name: "pass-from-ravenclaw-everything", action: "Pass", from: [byName("ravenclaw")] },
        { name: "deny-from-slytherin-at-port-80", action: "Deny", from: [byName("slytherin")], protocols: tcp(80) },
        { name: "pass-from-slytherin-at-port-80", action: "Pass", from: [byName("slytherin")], protocols: tcp(80) },
        { name: "allow-from-hufflepuff-at-port-80", action: "Accept", from: [byName("hufflepuff")], protocols: tcp(80) },
        { name: "deny-from-hufflepuff-everything-else", action: "Deny", from: [byName("hufflepuff")] },
      ],
    },
  };
  const cluster = conformanceCluster([cnp]);
  const rules = cnp.spec.ingress!;
  const swap = (i: number, j: number): void => void ([rules[i], rules[j]] = [rules[j]!, rules[i]!]);
  const server = pod("gryffindor", "harry-potter-0");

  it("Should support an 'allow-ingress' policy for TCP protocol; ensure rule ordering is respected", () => {
    poke(cluster, pod("ravenclaw", "luna-lovegood-0"), server, "TCP", 80, true);
    poke(cluster, pod("ravenclaw", "luna-lovegood-1"), server, "TCP", 8080, true);
  });
  it("Should support an 'allow-ingress' policy for TCP protocol at the specified port", () => {
    poke(cluster, pod("hufflepuff", "cedric-diggory-0"), server, "TCP", 80, true);
    poke(cluster, pod("hufflepuff", "cedric-diggory-1"), server, "TCP", 8080, false);
  });
  it("Should support an 'deny-ingress' policy for TCP protocol; ensure rule ordering is respected", () => {
    swap(0, 1);
    poke(cluster, pod("ravenclaw", "luna-lovegood-0"), server, "TCP", 80, false);
    poke(cluster, pod("ravenclaw", "luna-lovegood-1"), server, "TCP", 8080, false);
  });
  it("Should support a 'deny-ingress' policy for TCP protocol at the specified port", () => {
    poke(cluster, pod("slytherin", "draco-malfoy-0"), server, "TCP", 80, false);
    poke(cluster, pod("slytherin", "draco-malfoy-1"), server, "TCP", 8080, true);
  });
  it("Should support an 'pass-ingress' policy for TCP protocol; ensure rule ordering is respected", () => {
    swap(0, 2);
    poke(cluster, pod("ravenclaw", "luna-lovegood-0"), server, "TCP", 80, true);
    poke(cluster, pod("ravenclaw", "luna-lovegood-1"), server, "TCP", 8080, true);
  });
  it("Should support a 'pass-ingress' policy for TCP protocol at the specified port", () => {
    swap(3, 4);
    poke(cluster, pod("slytherin", "draco-malfoy-0"), server, "TCP", 80, true);
    poke(cluster, pod("slytherin", "draco-malfoy-1"), server, "TCP", 8080, true);
  });
});

describe("CNPAdminTierIngressNamedPort (standard-ingress-udp-rules.yaml, rule 5 as destinationNamedPort dns)", () => {
  it("Should support an 'allow-ingress' policy for named port", () => {
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
    const cluster = conformanceCluster([cnp]);
    const server = pod("hufflepuff", "cedric-diggory-1");
    poke(cluster, pod("gryffindor", "harry-potter-0"), server, "UDP", 53, true);
    poke(cluster, pod("gryffindor", "harry-potter-1"), server, "UDP", 5353, false);
    // "dns" is a UDP port: TCP to 53 is not it, so the deny after it applies.
    poke(cluster, pod("gryffindor", "harry-potter-1"), server, "TCP", 53, false);
  });
});

describe("CNPAdminTierIntegration (standard-anp-np-banp.yaml: Admin pass → NetworkPolicy → Baseline)", () => {
  const admin: ClusterNetworkPolicy = {
    metadata: { name: "pass-example" },
    spec: {
      tier: "Admin",
      priority: 10,
      subject: byHouse("gryffindor"),
      ingress: [{ name: "deny-all-ingress-from-slytherin", action: "Deny", from: [byHouse("slytherin")] }],
      egress: [{ name: "deny-all-egress-to-slytherin", action: "Deny", to: [byHouse("slytherin")] }],
    },
  };
  const baseline: ClusterNetworkPolicy = {
    metadata: { name: "default" },
    spec: {
      tier: "Baseline",
      priority: 10,
      subject: byHouse("gryffindor"),
      ingress: [{ name: "deny-all-ingress-from-slytherin", action: "Deny", from: [byHouse("slytherin")] }],
      egress: [{ name: "deny-all-egress-to-slytherin", action: "Deny", to: [byHouse("slytherin")] }],
    },
  };
  const np: NetworkPolicy = {
    metadata: { name: "allow-gress-from-to-slytherin-to-gryffindor", namespace: nsOf("gryffindor") },
    spec: {
      podSelector: {},
      policyTypes: ["Ingress", "Egress"],
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { "conformance-house": "slytherin" } } }] }],
      egress: [{ to: [{ namespaceSelector: { matchLabels: { "conformance-house": "slytherin" } } }] }],
    },
  };
  const cluster = conformanceCluster([admin, baseline], [np]);
  const [harry0, harry1, draco0, draco1] = [pod("gryffindor", "harry-potter-0"), pod("gryffindor", "harry-potter-1"), pod("slytherin", "draco-malfoy-0"), pod("slytherin", "draco-malfoy-1")];

  it("Should Deny traffic from slytherin to gryffindor respecting admin CNP", () => {
    poke(cluster, draco0, harry0, "TCP", 80, false);
    poke(cluster, draco1, harry0, "TCP", 8080, false);
  });
  it("Should Deny traffic to slytherin from gryffindor respecting admin CNP", () => {
    poke(cluster, harry0, draco0, "TCP", 80, false);
    poke(cluster, harry1, draco0, "TCP", 8080, false);
  });
  it("Should support a 'pass-ingress' policy for admin CNP and respect the match for network policy", () => {
    admin.spec.ingress![0]!.action = "Pass";
    poke(cluster, draco0, harry0, "TCP", 80, true);
    poke(cluster, draco1, harry0, "TCP", 8080, true);
    const v = evaluate(cluster, { from: { pod: draco0 }, to: { pod: harry0 }, protocol: "TCP", port: 80 });
    expect(v.ingress).toMatchObject({ tier: "NetworkPolicy", policy: `${nsOf("gryffindor")}/${np.metadata.name}`, passedBy: { policy: "pass-example" } });
  });
  it("Should support a 'pass-egress' policy for admin CNP and respect the match for network policy", () => {
    admin.spec.egress![0]!.action = "Pass";
    poke(cluster, harry0, draco0, "TCP", 80, true);
    poke(cluster, harry1, draco0, "TCP", 8080, true);
  });
  it("Should support a 'pass-ingress' policy for admin CNP and respect the match for baseline cluster network policy", () => {
    cluster.networkPolicies = [];
    poke(cluster, draco0, harry0, "TCP", 80, false);
    poke(cluster, draco1, harry0, "TCP", 8080, false);
    expect(evaluate(cluster, { from: { pod: draco0 }, to: { pod: harry0 }, protocol: "TCP", port: 80 }).ingress).toMatchObject({ tier: "Baseline", policy: "default" });
  });
  it("Should support a 'pass-egress' policy for admin CNP and respect the match for baseline cluster network policy", () => {
    poke(cluster, harry0, draco0, "TCP", 80, false);
    poke(cluster, harry1, draco0, "TCP", 8080, false);
  });
  it("baseline deny applies only where no NetworkPolicy isolates the pod (hufflepuff is not its subject)", () => {
    poke(cluster, draco0, pod("hufflepuff", "cedric-diggory-0"), "TCP", 80, true);
  });
});

describe("CNPAdminTierPriorityField (standard-priority-field.yaml)", () => {
  const rule = (name: string, action: "Accept" | "Deny" | "Pass") => ({
    ingress: [{ name: `${name}-ingress`, action, from: [housePods("slytherin")] }],
    egress: [{ name: `${name}-egress`, action, to: [housePods("slytherin") as ClusterNetworkPolicyEgressPeer] }],
  });
  const deny50: ClusterNetworkPolicy = { metadata: { name: "priority-50-example" }, spec: { tier: "Admin", priority: 50, subject: housePods("gryffindor"), ...rule("deny-all", "Deny") } };
  const pass60: ClusterNetworkPolicy = { metadata: { name: "old-priority-60-new-priority-40-example" }, spec: { tier: "Admin", priority: 60, subject: housePods("gryffindor"), ...rule("pass-all", "Pass") } };
  const allowBaseline: ClusterNetworkPolicy = { metadata: { name: "default" }, spec: { tier: "Baseline", priority: 10, subject: housePods("gryffindor"), ...rule("allow-all", "Accept") } };
  const cluster = conformanceCluster([pass60, allowBaseline, deny50]);
  const [harry0, harry1, draco0, draco1] = [pod("gryffindor", "harry-potter-0"), pod("gryffindor", "harry-potter-1"), pod("slytherin", "draco-malfoy-0"), pod("slytherin", "draco-malfoy-1")];

  it("Should Deny traffic from slytherin to gryffindor respecting admin CNP", () => {
    poke(cluster, draco0, harry0, "TCP", 80, false);
    poke(cluster, draco1, harry0, "TCP", 8080, false);
  });
  it("Should Deny traffic to slytherin from gryffindor respecting admin CNP", () => {
    poke(cluster, harry0, draco0, "TCP", 80, false);
    poke(cluster, harry1, draco0, "TCP", 8080, false);
  });
  it("Should respect admin CNP priority field; thus passing both ingress and egress traffic over to baseline CNP", () => {
    pass60.spec.priority = 40;
    poke(cluster, draco0, harry0, "TCP", 80, true);
    poke(cluster, draco1, harry0, "TCP", 8080, true);
    poke(cluster, harry0, draco0, "TCP", 80, true);
    poke(cluster, harry1, draco0, "TCP", 8080, true);
  });
});

describe("CNPAdminTierEgressNodePeers (experimental-egress-selector-rules.yaml)", () => {
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
  const cluster = conformanceCluster([cnp]);
  const [harry1, centaur1] = [pod("gryffindor", "harry-potter-1"), pod("forbidden-forrest", "centaur-1")];

  it("Should support an 'allow-egress' rule policy for egress-node-peer", () => poke(cluster, harry1, centaur1, "TCP", HOST_PORTS[0] as number, true));
  it("Should support a 'pass-egress' rule policy for egress-node-peer", () => poke(cluster, harry1, centaur1, "UDP", HOST_PORTS[2] as number, true));
  it("Should support a 'deny-egress' rule policy for egress-node-peer", () => {
    poke(cluster, harry1, centaur1, "TCP", HOST_PORTS[1] as number, false);
    poke(cluster, harry1, centaur1, "UDP", HOST_PORTS[4] as number, false);
    poke(cluster, harry1, centaur1, "SCTP", HOST_PORTS[6] as number, false);
    // A node's address is the same peer as its host-network pod.
    const v = evaluate(cluster, { from: { pod: harry1 }, to: { ip: NODE_IPS[1] as string }, protocol: "TCP", port: HOST_PORTS[1] as number });
    expect(v).toMatchObject({ allowed: false, egress: { rule: "deny-egress-to-slytherin-and-nodes-and-internet" } });
  });
});

describe("CNPAdminTierEgressInlineCIDRPeers (standard-egress-inline-cidr-rules.yaml)", () => {
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
  const cluster = conformanceCluster([cnp]);
  const harry1 = pod("gryffindor", "harry-potter-1");
  const probes: [Protocol, number][] = [["TCP", 80], ["UDP", 53], ["SCTP", 9003]];

  it("Should support a 'deny-egress' rule policy for egress-cidr-peer", () => {
    for (const [proto, port] of probes) {
      poke(cluster, harry1, pod("ravenclaw", "luna-lovegood-0"), proto, port, false);
      poke(cluster, harry1, pod("hufflepuff", "cedric-diggory-0"), proto, port, false);
      poke(cluster, harry1, pod("slytherin", "draco-malfoy-0"), proto, port, true);
    }
  });
  it("Should support an 'allow-egress' rule policy for egress-cidr-peer", () => {
    const ipOf = (key: string): string => cluster.pods.find((p) => `${p.namespace}/${p.name}` === key)!.ips[0]!;
    const [luna0, cedric0] = [pod("ravenclaw", "luna-lovegood-0"), pod("hufflepuff", "cedric-diggory-0")];
    cnp.spec.egress!.unshift({ name: "allow-egress-to-specific-podIPs", action: "Accept", to: [{ networks: [`${ipOf(luna0)}/32`, `${ipOf(cedric0)}/32`] }] });
    for (const [proto, port] of probes) {
      poke(cluster, harry1, luna0, proto, port, true);
      poke(cluster, harry1, cedric0, proto, port, true);
      poke(cluster, harry1, pod("ravenclaw", "luna-lovegood-1"), proto, port, false);
    }
  });
});

describe("Baseline tier and port ranges", () => {
  it("baseline deny decides only for pods no NetworkPolicy isolates; a port range rule matches its ends only", () => {
    const cnp: ClusterNetworkPolicy = {
      metadata: { name: "baseline-ranges" },
      spec: {
        tier: "Baseline",
        priority: 5,
        subject: byHouse("ravenclaw"),
        ingress: [
          { name: "allow-range", action: "Accept", from: [byHouse("slytherin")], protocols: [{ tcp: { destinationPort: { range: { start: 8000, end: 8080 } } } }] },
          { name: "deny-rest", action: "Deny", from: [byHouse("slytherin")] },
        ],
      },
    };
    const cluster = conformanceCluster([cnp]);
    const [draco0, luna0] = [pod("slytherin", "draco-malfoy-0"), pod("ravenclaw", "luna-lovegood-0")];
    poke(cluster, draco0, luna0, "TCP", 8000, true);
    poke(cluster, draco0, luna0, "TCP", 8080, true);
    poke(cluster, draco0, luna0, "TCP", 8081, false);
    poke(cluster, draco0, luna0, "UDP", 8080, false);
    poke(cluster, pod("hufflepuff", "cedric-diggory-0"), luna0, "TCP", 80, true);
  });

  it("a peer with no known field fails closed: an Accept matches nothing, a Deny everything", () => {
    const cnp: ClusterNetworkPolicy = {
      metadata: { name: "from-the-future" },
      spec: { tier: "Admin", priority: 1, subject: byHouse("ravenclaw"), ingress: [{ name: "accept-unknown", action: "Accept", from: [{}] }, { name: "deny-unknown", action: "Deny", from: [{}] }] },
    };
    const v = evaluate(conformanceCluster([cnp]), { from: { pod: pod("slytherin", "draco-malfoy-0") }, to: { pod: pod("ravenclaw", "luna-lovegood-0") }, protocol: "TCP", port: 80 });
    expect(v).toMatchObject({ allowed: false, ingress: { rule: "deny-unknown" } });
  });
});
