// The upstream NetworkPolicy e2e cases (kubernetes test/e2e/network/netpol/network_policy.go),
// replayed as truth tables against `evaluate`: each case builds the same policies, on the same
// pods, and expects the table upstream derives for them. Multi-step cases replay every step.
import { describe, expect, it } from "vitest";
import { compareTruthTable, podIps, Reachability, upstreamCluster } from "./truth-table.fixture.js";
import type { Cluster, LabelSelector, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, Protocol } from "./types.js";

const NS_LABEL = "kubernetes.io/metadata.name";
const labels = (l: Record<string, string>): LabelSelector => ({ matchLabels: l });
const all: LabelSelector = {};

/** GenNetworkPolicyWithNameAndPodSelector + SetSpecIngressRules/SetSpecEgressRules: each set adds its policy type. */
function policy(name: string, podSelector: LabelSelector, rules: { ingress?: NetworkPolicyIngressRule[]; egress?: NetworkPolicyEgressRule[] }, namespace = "x"): NetworkPolicy {
  const policyTypes: ("Ingress" | "Egress")[] = [];
  if (rules.ingress) policyTypes.push("Ingress");
  if (rules.egress) policyTypes.push("Egress");
  return { metadata: { name, namespace }, spec: { podSelector, policyTypes, ...rules } };
}

interface Probe {
  protocol?: Protocol;
  port: number;
  want: (r: Reachability) => Reachability;
}

/** Checks one state of the cluster on the pods a case uses; fails with the table when it differs. */
function check(cluster: Cluster, pods: string[], probes: Probe[]): void {
  for (const p of probes) {
    const protocol = p.protocol ?? "TCP";
    const { wrong, table } = compareTruthTable(cluster, p.want(new Reachability(pods, true)), protocol, p.port);
    expect(wrong, `${protocol}/${p.port}\n${table}`).toEqual([]);
  }
}

const withPolicies = (...nps: NetworkPolicy[]): Cluster => upstreamCluster(nps);
const pods = (...p: string[]): string[] => p;

describe("upstream NetworkPolicy e2e cases (TCP)", () => {
  it("should support a 'default-deny-ingress' policy", () => {
    check(withPolicies(policy("deny-ingress", all, { ingress: [] })), pods("x/a", "x/b", "y/a", "y/b"), [{ port: 80, want: (r) => r.expectPeer({}, { namespace: "x" }, false) }]);
  });

  it("should support a 'default-deny-all' policy", () => {
    check(withPolicies(policy("deny-all", all, { ingress: [], egress: [] })), pods("x/a", "x/b", "y/a"), [
      { port: 80, want: (r) => r.expectPeer({}, { namespace: "x" }, false).expectPeer({ namespace: "x" }, {}, false) },
    ]);
  });

  it("should enforce policy to allow traffic from pods within server namespace based on PodSelector", () => {
    const np = policy("x-a-allows-x-b", labels({ pod: "a" }), { ingress: [{ from: [{ podSelector: labels({ pod: "b" }) }] }] });
    check(withPolicies(np), pods("x/a", "x/b", "x/c", "y/a"), [{ port: 80, want: (r) => r.expectAllIngress("x/a", false).expect("x/b", "x/a", true) }]);
  });

  it("should enforce policy to allow ingress traffic for a target", () => {
    const deny = policy("deny-all", all, { ingress: [] });
    const allowA = policy("allow-all-to-a", labels({ pod: "a" }), { ingress: [{ from: [{ podSelector: {}, namespaceSelector: {} }] }] });
    check(withPolicies(deny, allowA), pods("x/a", "x/b", "y/a"), [{ port: 80, want: (r) => r.expectAllIngress("x/a", true).expectAllIngress("x/b", false) }]);
  });

  it("should enforce policy to allow ingress traffic from pods in all namespaces", () => {
    const np = policy("allow-from-another-ns", labels({ pod: "a" }), { ingress: [{ from: [{ namespaceSelector: { matchLabels: {} } }] }] });
    check(withPolicies(np), pods("x/a", "x/b", "y/a", "z/a"), [{ port: 80, want: (r) => r }]);
  });

  it("should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector", () => {
    const np = policy("allow-client-a-via-ns-selector", labels({ pod: "a" }), { ingress: [{ from: [{ namespaceSelector: labels({ [NS_LABEL]: "y" }) }] }] });
    check(withPolicies(np), pods("x/a", "x/b", "y/a", "z/a"), [
      { port: 80, want: (r) => r.expectPeer({ namespace: "x" }, { namespace: "x", pod: "a" }, false).expectPeer({ namespace: "z" }, { namespace: "x", pod: "a" }, false) },
    ]);
  });

  it("should enforce policy based on PodSelector with MatchExpressions", () => {
    const np = policy("x-a-allows-x-b", labels({ pod: "a" }), { ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: "pod", operator: "In", values: ["b"] }] } }] }] });
    check(withPolicies(np), pods("x/a", "x/b", "y/a"), [{ port: 80, want: (r) => r.expectAllIngress("x/a", false).expect("x/b", "x/a", true) }]);
  });

  it("should enforce policy based on NamespaceSelector with MatchExpressions", () => {
    const ns = { matchExpressions: [{ key: NS_LABEL, operator: "In" as const, values: ["y"] }] };
    const np = policy("allow-ns-y-match-selector", labels({ pod: "a" }), { ingress: [{ from: [{ namespaceSelector: ns }] }] });
    check(withPolicies(np), pods("x/a", "x/b", "y/a", "z/a"), [
      { port: 80, want: (r) => r.expectPeer({ namespace: "x" }, { namespace: "x", pod: "a" }, false).expectPeer({ namespace: "z" }, { namespace: "x", pod: "a" }, false) },
    ]);
  });

  it("should enforce policy based on PodSelector or NamespaceSelector", () => {
    const notX = { matchExpressions: [{ key: NS_LABEL, operator: "NotIn" as const, values: ["x"] }] };
    const np = policy("allow-ns-y-match-selector", labels({ pod: "a" }), { ingress: [{ from: [{ namespaceSelector: notX }, { podSelector: labels({ pod: "b" }) }] }] });
    check(withPolicies(np), pods("x/a", "x/b", "x/c", "y/a"), [{ port: 80, want: (r) => r.expect("x/a", "x/a", false).expect("x/c", "x/a", false) }]);
  });

  it("should enforce policy based on PodSelector and NamespaceSelector", () => {
    const notX = { matchExpressions: [{ key: NS_LABEL, operator: "NotIn" as const, values: ["x"] }] };
    const np = policy("allow-ns-y-podselector-and-nsselector", labels({ pod: "a" }), { ingress: [{ from: [{ namespaceSelector: notX, podSelector: labels({ pod: "b" }) }] }] });
    check(withPolicies(np), pods("x/a", "x/b", "y/a", "y/b", "z/b"), [
      { port: 80, want: (r) => r.expectAllIngress("x/a", false).expect("y/b", "x/a", true).expect("z/b", "x/a", true) },
    ]);
  });

  it("should enforce policy based on Multiple PodSelectors and NamespaceSelectors", () => {
    const notX = { matchExpressions: [{ key: NS_LABEL, operator: "NotIn" as const, values: ["x"] }] };
    const bc = { matchExpressions: [{ key: "pod", operator: "In" as const, values: ["b", "c"] }] };
    const np = policy("allow-ns-y-z-pod-b-c", labels({ pod: "a" }), { ingress: [{ from: [{ namespaceSelector: notX, podSelector: bc }] }] });
    check(withPolicies(np), pods("x/a", "x/b", "y/a", "y/b", "y/c"), [
      { port: 80, want: (r) => r.expectPeer({ namespace: "x" }, { namespace: "x", pod: "a" }, false).expect("y/a", "x/a", false) },
    ]);
  });

  it("should enforce policy based on any PodSelectors", () => {
    const np = policy("allow-ns-x-pod-b-c", labels({ pod: "a" }), { ingress: [{ from: [{ podSelector: labels({ pod: "b" }) }, { podSelector: labels({ pod: "c" }) }] }] });
    check(withPolicies(np), pods("x/a", "x/b", "x/c"), [{ port: 80, want: (r) => r.expectAllIngress("x/a", false).expect("x/b", "x/a", true).expect("x/c", "x/a", true) }]);
  });

  it("should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector", () => {
    const np = policy("allow-ns-y-pod-a-via-namespace-pod-selector", labels({ pod: "a" }), {
      ingress: [{ from: [{ namespaceSelector: labels({ [NS_LABEL]: "y" }), podSelector: labels({ pod: "a" }) }] }],
    });
    check(withPolicies(np), pods("x/a", "x/b", "y/a", "y/b", "z/a"), [{ port: 80, want: (r) => r.expectAllIngress("x/a", false).expect("y/a", "x/a", true) }]);
  });

  const allowYOn = (name: string, port: number | string, protocol: Protocol = "TCP"): NetworkPolicy =>
    policy(name, labels({ pod: "a" }), { ingress: [{ from: [{ namespaceSelector: labels({ [NS_LABEL]: "y" }) }], ports: [{ port, protocol }] }] });
  const onlyYToXa = (r: Reachability): Reachability =>
    r
      .expectPeer({ namespace: "x" }, { namespace: "x", pod: "a" }, false)
      .expectPeer({ namespace: "y" }, { namespace: "x", pod: "a" }, true)
      .expectPeer({ namespace: "z" }, { namespace: "x", pod: "a" }, false);

  it("should enforce policy based on Ports", () => {
    check(withPolicies(allowYOn("allow-client-a-via-ns-selector", 81)), pods("x/a", "x/b", "y/a", "y/b", "z/a"), [{ port: 81, want: onlyYToXa }]);
  });

  it("should enforce multiple, stacked policies with overlapping podSelectors", () => {
    const p81 = allowYOn("allow-client-a-via-ns-selector", 81);
    const five = pods("x/a", "x/b", "y/a", "y/b", "z/a");
    check(withPolicies(p81), five, [
      { port: 81, want: onlyYToXa },
      { port: 80, want: (r) => r.expectAllIngress("x/a", false) },
    ]);
    check(withPolicies(p81, allowYOn("allow-client-a-via-ns-selector-80", 80)), five, [{ port: 80, want: onlyYToXa }]);
  });

  it("should support allow-all policy", () => {
    check(withPolicies(policy("allow-all", all, { ingress: [{}] })), pods("x/a", "x/b", "y/a"), [
      { port: 80, want: (r) => r },
      { port: 81, want: (r) => r },
    ]);
  });

  it("should allow ingress access on one named port", () => {
    check(withPolicies(policy("allow-all", all, { ingress: [{ ports: [{ port: "serve-81-tcp" }] }] })), pods("x/a", "x/b", "y/a"), [
      { port: 81, want: (r) => r },
      { port: 80, want: (r) => r.expectPeer({}, { namespace: "x" }, false) },
    ]);
  });

  it("should allow ingress access from namespace on one named port", () => {
    check(withPolicies(allowYOn("allow-client-a-via-ns-selector-80", "serve-80-tcp")), pods("x/a", "x/b", "y/a", "z/a"), [
      { port: 80, want: (r) => r.expectPeer({ namespace: "x" }, { namespace: "x", pod: "a" }, false).expectPeer({ namespace: "z" }, { namespace: "x", pod: "a" }, false) },
      { port: 81, want: (r) => r.expectAllIngress("x/a", false) },
    ]);
  });

  it("should allow egress access on one named port", () => {
    check(withPolicies(policy("allow-egress", all, { egress: [{ ports: [{ port: "serve-80-tcp" }] }] })), pods("x/a", "y/a"), [
      { port: 80, want: (r) => r },
      { port: 81, want: (r) => r.expectPeer({ namespace: "x" }, {}, false) },
    ]);
  });

  it("should enforce updated policy", () => {
    const xa = pods("x/a", "y/a");
    check(withPolicies(policy("allow-all-mutate-to-deny-all", all, { ingress: [{}] })), xa, [{ port: 81, want: (r) => r }]);
    check(withPolicies(policy("allow-all-mutate-to-deny-all", all, { ingress: [] })), xa, [{ port: 81, want: (r) => r.expectPeer({}, { namespace: "x" }, false) }]);
  });

  it("should allow ingress access from updated namespace", () => {
    const np = policy("allow-client-a-via-ns-selector", labels({ pod: "a" }), { ingress: [{ from: [{ namespaceSelector: labels({ ns2: "updated" }) }] }] });
    const cluster = withPolicies(np);
    check(cluster, pods("x/a", "y/a"), [{ port: 80, want: (r) => r.expectAllIngress("x/a", false) }]);
    cluster.namespaces.find((n) => n.name === "y")!.labels.ns2 = "updated";
    check(cluster, pods("x/a", "y/a"), [{ port: 80, want: (r) => r.expectAllIngress("x/a", false).expectPeer({ namespace: "y" }, {}, true) }]);
  });

  it("should allow ingress access from updated pod", () => {
    const np = policy("allow-client-a-via-pod-selector", labels({ pod: "a" }), { ingress: [{ from: [{ podSelector: labels({ pod: "b", pod2: "updated" }) }] }] });
    const cluster = withPolicies(np);
    check(cluster, pods("x/a", "x/b"), [{ port: 80, want: (r) => r.expectAllIngress("x/a", false) }]);
    cluster.pods.find((p) => p.namespace === "x" && p.name === "b")!.labels.pod2 = "updated";
    check(cluster, pods("x/a", "x/b"), [{ port: 80, want: (r) => r.expectAllIngress("x/a", false).expect("x/b", "x/a", true) }]);
  });

  it("should deny ingress from pods on other namespaces", () => {
    check(withPolicies(policy("deny-empty-policy", all, { ingress: [{ from: [{ podSelector: { matchLabels: {} } }] }] })), pods("x/a", "x/b", "y/a", "z/a"), [
      { port: 80, want: (r) => r.expectPeer({ namespace: "y" }, { namespace: "x" }, false).expectPeer({ namespace: "z" }, { namespace: "x" }, false) },
    ]);
  });

  it("should deny ingress access to updated pod", () => {
    const cluster = withPolicies(policy("deny-ingress-via-label-selector", labels({ target: "isolated" }), { ingress: [] }));
    check(cluster, pods("x/a", "y/a"), [{ port: 80, want: (r) => r }]);
    cluster.pods.find((p) => p.namespace === "x" && p.name === "a")!.labels.target = "isolated";
    check(cluster, pods("x/a", "y/a"), [{ port: 80, want: (r) => r.expectAllIngress("x/a", false) }]);
  });

  it("should deny egress from pods based on PodSelector", () => {
    check(withPolicies(policy("deny-egress-pod-a", labels({ pod: "a" }), { egress: [] })), pods("x/a", "x/b", "y/a"), [{ port: 80, want: (r) => r.expectAllEgress("x/a", false) }]);
  });

  it("should deny egress from all pods in a namespace", () => {
    check(withPolicies(policy("deny-egress-ns-x", all, { egress: [] })), pods("x/a", "x/b", "y/a"), [{ port: 80, want: (r) => r.expectPeer({ namespace: "x" }, {}, false) }]);
  });

  it("should work with Ingress, Egress specified together", () => {
    const np = policy("allow-client-a-via-pod-selector", labels({ pod: "a" }), { ingress: [{ from: [{ podSelector: labels({ pod: "b" }) }] }], egress: [{ ports: [{ port: 80 }] }] });
    check(withPolicies(np), pods("x/a", "x/b", "x/c", "y/a"), [
      { port: 80, want: (r) => r.expectAllIngress("x/a", false).expect("x/b", "x/a", true) },
      { port: 81, want: (r) => r.expectAllIngress("x/a", false).expectAllEgress("x/a", false).expect("x/b", "x/a", true) },
    ]);
  });

  it("should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)", () => {
    const egress = policy("allow-to-ns-y-pod-a", labels({ pod: "a" }), { egress: [{ to: [{ namespaceSelector: labels({ [NS_LABEL]: "y" }), podSelector: labels({ pod: "a" }) }] }] });
    const fromXa = { ingress: [{ from: [{ namespaceSelector: labels({ [NS_LABEL]: "x" }), podSelector: labels({ pod: "a" }) }] }] };
    const ya = policy("allow-from-xa-on-ya-match-selector", labels({ pod: "a" }), fromXa, "y");
    const yb = policy("allow-from-xa-on-yb-match-selector", labels({ pod: "b" }), fromXa, "y");
    check(withPolicies(egress, ya, yb), pods("x/a", "y/a", "y/b"), [
      {
        port: 80,
        want: (r) =>
          r
            .expectPeer({ namespace: "x", pod: "a" }, {}, false)
            .expectPeer({}, { namespace: "y", pod: "a" }, false)
            .expectPeer({ namespace: "x", pod: "a" }, { namespace: "y", pod: "a" }, true)
            .expectPeer({}, { namespace: "y", pod: "b" }, false),
      },
    ]);
  });

  it("should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector", () => {
    const np = policy("allow-to-ns-y-pod-a", labels({ pod: "a" }), { egress: [{ to: [{ namespaceSelector: labels({ [NS_LABEL]: "y" }), podSelector: labels({ pod: "a" }) }] }] });
    check(withPolicies(np), pods("x/a", "y/a", "y/b"), [{ port: 80, want: (r) => r.expectAllEgress("x/a", false).expect("x/a", "y/a", true) }]);
  });

  it("should enforce ingress policy allowing any port traffic to a server on a specific protocol", () => {
    check(withPolicies(policy("allow-ingress-by-proto", labels({ pod: "a" }), { ingress: [{ ports: [{ protocol: "TCP" }] }] })), pods("x/a", "y/a"), [
      { port: 80, want: (r) => r },
      { port: 80, protocol: "UDP", want: (r) => r.expectPeer({}, { namespace: "x", pod: "a" }, false) },
    ]);
  });

  it("should enforce multiple ingress policies with ingress allow-all policy taking precedence", () => {
    const only80 = policy("allow-ingress-port-80", all, { ingress: [{ ports: [{ port: 80 }] }] });
    check(withPolicies(only80), pods("x/a", "y/a"), [{ port: 81, want: (r) => r.expectPeer({}, { namespace: "x" }, false) }]);
    check(withPolicies(only80, policy("allow-ingress", all, { ingress: [{}] })), pods("x/a", "y/a"), [{ port: 81, want: (r) => r }]);
  });

  it("should enforce multiple egress policies with egress allow-all policy taking precedence", () => {
    const only80 = policy("allow-egress-port-80", all, { egress: [{ ports: [{ port: 80 }] }] });
    check(withPolicies(only80), pods("x/a", "y/a"), [{ port: 81, want: (r) => r.expectPeer({ namespace: "x" }, {}, false) }]);
    check(withPolicies(only80, policy("allow-egress", all, { egress: [{}] })), pods("x/a", "y/a"), [{ port: 81, want: (r) => r }]);
  });

  it("should stop enforcing policies after they are deleted", () => {
    check(withPolicies(policy("deny-all", all, { ingress: [], egress: [] })), pods("x/a", "y/a"), [
      { port: 80, want: (r) => r.expectPeer({ namespace: "x" }, {}, false).expectPeer({}, { namespace: "x" }, false) },
    ]);
    check(withPolicies(), pods("x/a", "y/a"), [{ port: 80, want: (r) => r }]);
  });

  /** makeLargeCIDRForIP: the /4 around the address. */
  const largeCidr = (ip: string): string => `${(Number(ip.split(".")[0]) & 0xf0).toString()}.0.0.0/4`;
  const [ybIp] = podIps("y", "b");
  const [xbIp] = podIps("x", "b");

  it("should allow egress access to server in CIDR block", () => {
    const np = policy("allow-client-a-via-cidr-egress-rule", labels({ pod: "a" }), { egress: [{ to: [{ ipBlock: { cidr: `${ybIp}/32` } }] }] });
    check(withPolicies(np), pods("x/a", "y/a", "y/b"), [{ port: 80, want: (r) => r.expectAllEgress("x/a", false).expect("x/a", "y/b", true) }]);
  });

  it("should enforce except clause while egress access to server in CIDR block", () => {
    const np = policy("allow-client-a-via-cidr-egress-rule", labels({ pod: "a" }), { egress: [{ to: [{ ipBlock: { cidr: largeCidr(xbIp), except: [`${xbIp}/32`] } }] }] });
    check(withPolicies(np), pods("x/a", "x/b", "x/c"), [{ port: 80, want: (r) => r.expect("x/a", "x/b", false) }]);
  });

  it("should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed", () => {
    const name = "allow-client-a-via-cidr-egress-rule";
    const withExcept = policy(name, labels({ pod: "a" }), { egress: [{ to: [{ ipBlock: { cidr: largeCidr(xbIp), except: [`${xbIp}/32`] } }] }] });
    check(withPolicies(withExcept), pods("x/a", "x/b", "x/c"), [{ port: 80, want: (r) => r.expect("x/a", "x/b", false) }]);
    // Upstream updates the policy of the same name: the second spec replaces the first.
    const onlyXb = policy(name, labels({ pod: "a" }), { egress: [{ to: [{ ipBlock: { cidr: `${xbIp}/32` } }] }] });
    check(withPolicies(onlyXb), pods("x/a", "x/b", "x/c"), [{ port: 80, want: (r) => r.expectAllEgress("x/a", false).expect("x/a", "x/b", true) }]);
  });

  it("should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector", () => {
    const allowEgress = policy("allow-egress-for-target", labels({ pod: "a" }), { egress: [{}] });
    check(withPolicies(allowEgress), pods("x/a", "x/b", "y/a"), [{ port: 80, want: (r) => r }]);
    const denyIngress = policy("deny-ingress-via-label-selector", labels({ pod: "a" }), { ingress: [] });
    check(withPolicies(allowEgress, denyIngress), pods("x/a", "x/b", "y/a"), [{ port: 80, want: (r) => r.expectAllIngress("x/a", false) }]);
  });

  it("should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP', even if the plugin doesn't support SCTP", () => {
    const deny = policy("deny-ingress", all, { ingress: [] });
    const sctp = policy("allow-only-sctp-ingress-on-port-81", labels({ pod: "a" }), { ingress: [{ ports: [{ port: 81, protocol: "SCTP" }] }] });
    check(withPolicies(deny, sctp), pods("x/a", "y/a"), [{ port: 81, want: (r) => r.expectPeer({}, { namespace: "x" }, false) }]);
  });

  it("should properly isolate pods that are selected by a policy allowing SCTP, even if the plugin doesn't support SCTP", () => {
    const sctp = policy("allow-only-sctp-ingress-on-port-80", labels({ pod: "a" }), { ingress: [{ ports: [{ port: 80, protocol: "SCTP" }] }] });
    check(withPolicies(sctp), pods("x/a", "y/a"), [{ port: 81, want: (r) => r.expectAllIngress("x/a", false) }]);
  });

  it("should not allow access by TCP when a policy specifies only UDP", () => {
    const udp = policy("allow-only-udp-ingress-on-port-81", labels({ pod: "a" }), { ingress: [{ ports: [{ port: 81, protocol: "UDP" }] }] });
    check(withPolicies(udp), pods("x/a", "y/a"), [{ port: 81, want: (r) => r.expectAllIngress("x/a", false) }]);
  });

  it("should enforce policy to allow traffic based on NamespaceSelector with MatchLabels using default ns label", () => {
    const np = policy("allow-client-a-via-ns-selector-for-immutable-ns-label", labels({ pod: "a" }), { ingress: [{ from: [{ namespaceSelector: labels({ [NS_LABEL]: "y" }) }] }] });
    check(withPolicies(np), pods("x/a", "x/b", "y/a", "z/a"), [
      { port: 80, want: (r) => r.expectPeer({ namespace: "x" }, { namespace: "x", pod: "a" }, false).expectPeer({ namespace: "z" }, { namespace: "x", pod: "a" }, false) },
    ]);
  });

  it("should enforce policy based on NamespaceSelector with MatchExpressions using default ns label", () => {
    const notY = { matchExpressions: [{ key: NS_LABEL, operator: "NotIn" as const, values: ["y"] }] };
    const np = policy("allow-ns-y-match-selector-for-immutable-ns-label", labels({ pod: "a" }), { egress: [{ to: [{ namespaceSelector: notY }] }] });
    check(withPolicies(np), pods("x/a", "x/b", "y/a", "z/a"), [{ port: 80, want: (r) => r.expectPeer({ namespace: "x", pod: "a" }, { namespace: "y" }, false) }]);
  });
});

describe.each(["UDP", "SCTP"] as const)("upstream NetworkPolicy e2e cases (%s)", (protocol) => {
  it("should support a 'default-deny-ingress' policy", () => {
    check(withPolicies(policy("deny-all", all, { ingress: [] })), pods("x/a", "x/b", "y/a", "y/b"), [{ port: 80, protocol, want: (r) => r.expectPeer({}, { namespace: "x" }, false) }]);
  });

  it("should enforce policy based on Ports", () => {
    check(withPolicies(allowYOnProtocol(protocol)), pods("x/a", "x/b", "y/a", "z/a"), [
      { port: 81, protocol, want: (r) => r.expectPeer({ namespace: "x" }, { namespace: "x", pod: "a" }, false).expectPeer({ namespace: "z" }, { namespace: "x", pod: "a" }, false) },
    ]);
  });

  it("should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector", () => {
    const np = policy("allow-ns-y-pod-a-via-namespace-pod-selector", labels({ pod: "a" }), {
      ingress: [{ from: [{ namespaceSelector: labels({ [NS_LABEL]: "y" }), podSelector: labels({ pod: "a" }) }] }],
    });
    check(withPolicies(np), pods("x/a", "x/b", "y/a"), [{ port: 80, protocol, want: (r) => r.expectAllIngress("x/a", false).expect("y/a", "x/a", true) }]);
  });
});

function allowYOnProtocol(protocol: Protocol): NetworkPolicy {
  return policy("allow-ingress-on-port-81-ns-x", labels({ pod: "a" }), { ingress: [{ from: [{ namespaceSelector: labels({ [NS_LABEL]: "y" }) }], ports: [{ port: 81, protocol }] }] });
}
