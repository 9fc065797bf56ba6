// ClusterNetworkPolicy (v1alpha2) conformance cases of kubernetes-sigs/network-policy-api, replayed
// against `evaluate` on the conformance model (conformance-cases.fixture.ts: houses as namespaces, two
// pods each, centaurs as host-network pods, policies patched in sequence as upstream does). The same
// catalogue runs with real traffic in the lab (test/e2e/lab-cnp-conformance.test.ts); below it, what
// the verdicts say beyond allowed or not.
import { describe, expect, it } from "vitest";
import { byHouse, CONFORMANCE_CASES, conformanceCluster, HOST_PORTS, nsOf, pod } from "./conformance-cases.fixture.js";
import { evaluate } from "./evaluate.js";
import type { Cluster, ClusterNetworkPolicy, Protocol } from "./types.js";

function poke(cluster: Cluster, from: string, to: string, protocol: Protocol, port: number, want: boolean): void {
  const v = evaluate(cluster, { from: { pod: from }, to: { pod: to }, protocol, port });
  expect(v.allowed, `${from} -> ${to} ${protocol}/${port}: ${JSON.stringify(v)}`).toBe(want);
}

const ipsOf = (cluster: Cluster) => (key: string): string[] => cluster.pods.find((p) => `${p.namespace}/${p.name}` === key)?.ips ?? [];

describe.each(CONFORMANCE_CASES.map((c) => [c.name, c] as const))("%s", (_name, c) => {
  const steps = c.steps({ ips: ipsOf(conformanceCluster([])) });
  const subtests = [...new Set(steps.flatMap((s) => s.pokes.map((p) => p.test)))];
  it.each(subtests)("%s", (test) => {
    for (const step of steps) {
      const cluster = conformanceCluster(step.cnps, step.nps);
      for (const p of step.pokes.filter((x) => x.test === test)) poke(cluster, p.from, p.to, p.protocol, p.port, p.allowed);
    }
  });
});

describe("what a verdict says", () => {
  const [draco0, harry0, harry1] = [pod("slytherin", "draco-malfoy-0"), pod("gryffindor", "harry-potter-0"), pod("gryffindor", "harry-potter-1")];
  const integration = CONFORMANCE_CASES.find((c) => c.name.startsWith("CNPAdminTierIntegration"))!.steps({ ips: () => [] });

  it("a Pass hands the decision to the NetworkPolicy that selects the pod, and says who passed it", () => {
    const step = integration[1]!;
    const v = evaluate(conformanceCluster(step.cnps, step.nps), { from: { pod: draco0 }, to: { pod: harry0 }, protocol: "TCP", port: 80 });
    expect(v.ingress).toMatchObject({ tier: "NetworkPolicy", policy: `${nsOf("gryffindor")}/${step.nps[0]!.metadata.name}`, passedBy: { policy: "pass-example" } });
  });

  it("with no NetworkPolicy the Baseline tier decides", () => {
    const step = integration[3]!;
    expect(evaluate(conformanceCluster(step.cnps, step.nps), { from: { pod: draco0 }, to: { pod: harry0 }, protocol: "TCP", port: 80 }).ingress).toMatchObject({ tier: "Baseline", policy: "default" });
  });

  it("a node's address is the same peer as its host-network pod", () => {
    const step = CONFORMANCE_CASES.find((c) => c.name.startsWith("CNPAdminTierEgressNodePeers"))!.steps({ ips: () => [] })[0]!;
    const v = evaluate(conformanceCluster(step.cnps), { from: { pod: harry1 }, to: { ip: "172.18.0.3" }, protocol: "TCP", port: HOST_PORTS[1] as number });
    expect(v).toMatchObject({ allowed: false, egress: { rule: "deny-egress-to-slytherin-and-nodes-and-internet" } });
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
