// Test fixture (imported only by tests): the upstream NetworkPolicy e2e cases (kubernetes
// test/e2e/network/netpol/network_policy.go) as data, so one catalogue is replayed twice: against
// `evaluate` on the fixture's cluster (upstream-netpol.test.ts) and with real traffic in a lab
// (test/e2e/lab-netpol-upstream.test.ts). This file: selectors, ports and updates on ingress; the
// rest in upstream-netpol-egress-cases.fixture.ts, the builders in upstream-netpol-case-kit.fixture.ts.
import { allowYOn, all, labels, nsIs, nsNot, NS_LABEL, one, onlyYToXa, policy, same, tcp, yaFromNsAndPod, type UpstreamCase } from "./upstream-netpol-case-kit.fixture.js";
import { EGRESS_AND_PROTOCOL_CASES, PROTOCOL_CASES } from "./upstream-netpol-egress-cases.fixture.js";

export type { CaseContext, CaseProbe, CaseStep, UpstreamCase } from "./upstream-netpol-case-kit.fixture.js";

const INGRESS_CASES: UpstreamCase[] = [
  { name: "should support a 'default-deny-ingress' policy", steps: () => one([policy("deny-ingress", all, { ingress: [] })], tcp(80, (r) => r.expectPeer({}, { namespace: "x" }, false))) },
  {
    name: "should support a 'default-deny-all' policy",
    steps: () => one([policy("deny-all", all, { ingress: [], egress: [] })], tcp(80, (r) => r.expectPeer({}, { namespace: "x" }, false).expectPeer({ namespace: "x" }, {}, false))),
  },
  {
    name: "should enforce policy to allow traffic from pods within server namespace based on PodSelector",
    steps: () => one([policy("x-a-allows-x-b", labels({ pod: "a" }), { ingress: [{ from: [{ podSelector: labels({ pod: "b" }) }] }] })], tcp(80, (r) => r.expectAllIngress("x/a", false).expect("x/b", "x/a", true))),
  },
  {
    name: "should enforce policy to allow ingress traffic for a target",
    steps: () =>
      one(
        [policy("deny-all", all, { ingress: [] }), policy("allow-all-to-a", labels({ pod: "a" }), { ingress: [{ from: [{ podSelector: {}, namespaceSelector: {} }] }] })],
        tcp(80, (r) => r.expectPeer({}, { namespace: "x" }, false).expectAllIngress("x/a", true)),
      ),
  },
  {
    name: "should enforce policy to allow ingress traffic from pods in all namespaces",
    steps: () => one([policy("allow-from-another-ns", labels({ pod: "a" }), { ingress: [{ from: [{ namespaceSelector: { matchLabels: {} } }] }] })], tcp(80, same)),
  },
  {
    name: "should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector",
    steps: () => one([policy("allow-client-a-via-ns-selector", labels({ pod: "a" }), { ingress: [{ from: [{ namespaceSelector: nsIs("y") }] }] })], tcp(80, onlyYToXa)),
  },
  {
    name: "should enforce policy based on PodSelector with MatchExpressions",
    steps: () =>
      one(
        [policy("x-a-allows-x-b", labels({ pod: "a" }), { ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: "pod", operator: "In", values: ["b"] }] } }] }] })],
        tcp(80, (r) => r.expectAllIngress("x/a", false).expect("x/b", "x/a", true)),
      ),
  },
  {
    name: "should enforce policy based on NamespaceSelector with MatchExpressions",
    steps: () =>
      one(
        [policy("allow-ns-y-match-selector", labels({ pod: "a" }), { ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: NS_LABEL, operator: "In", values: ["y"] }] } }] }] })],
        tcp(80, onlyYToXa),
      ),
  },
  {
    name: "should enforce policy based on PodSelector or NamespaceSelector",
    steps: () =>
      one(
        [policy("allow-ns-y-match-selector", labels({ pod: "a" }), { ingress: [{ from: [{ namespaceSelector: nsNot("x") }, { podSelector: labels({ pod: "b" }) }] }] })],
        tcp(80, (r) => r.expect("x/a", "x/a", false).expect("x/c", "x/a", false)),
      ),
  },
  {
    name: "should enforce policy based on PodSelector and NamespaceSelector",
    steps: () =>
      one(
        [policy("allow-ns-y-podselector-and-nsselector", labels({ pod: "a" }), { ingress: [{ from: [{ namespaceSelector: nsNot("x"), podSelector: labels({ pod: "b" }) }] }] })],
        tcp(80, (r) => r.expectAllIngress("x/a", false).expect("y/b", "x/a", true).expect("z/b", "x/a", true)),
      ),
  },
  {
    name: "should enforce policy based on Multiple PodSelectors and NamespaceSelectors",
    steps: () =>
      one(
        [policy("allow-ns-y-z-pod-b-c", labels({ pod: "a" }), { ingress: [{ from: [{ namespaceSelector: nsNot("x"), podSelector: { matchExpressions: [{ key: "pod", operator: "In", values: ["b", "c"] }] } }] }] })],
        tcp(80, (r) => r.expectPeer({ namespace: "x" }, { namespace: "x", pod: "a" }, false).expect("y/a", "x/a", false).expect("z/a", "x/a", false)),
      ),
  },
  {
    name: "should enforce policy based on any PodSelectors",
    steps: () =>
      one(
        [policy("allow-ns-x-pod-b-c", labels({ pod: "a" }), { ingress: [{ from: [{ podSelector: labels({ pod: "b" }) }, { podSelector: labels({ pod: "c" }) }] }] })],
        tcp(80, (r) => r.expectAllIngress("x/a", false).expect("x/b", "x/a", true).expect("x/c", "x/a", true)),
      ),
  },
  {
    name: "should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector",
    steps: () => one([yaFromNsAndPod()], tcp(80, (r) => r.expectAllIngress("x/a", false).expect("y/a", "x/a", true))),
  },
  { name: "should enforce policy based on Ports", steps: () => one([allowYOn("allow-client-a-via-ns-selector", 81)], tcp(81, onlyYToXa)) },
  {
    name: "should enforce multiple, stacked policies with overlapping podSelectors",
    steps: () => [
      { policies: [allowYOn("allow-client-a-via-ns-selector", 81)], probes: [tcp(81, onlyYToXa), tcp(80, (r) => r.expectAllIngress("x/a", false))] },
      { policies: [allowYOn("allow-client-a-via-ns-selector", 81), allowYOn("allow-client-a-via-ns-selector-80", 80)], probes: [tcp(80, onlyYToXa)] },
    ],
  },
  { name: "should support allow-all policy", steps: () => one([policy("allow-all", all, { ingress: [{}] })], tcp(80, same), tcp(81, same)) },
  {
    name: "should allow ingress access on one named port",
    steps: () => one([policy("allow-all", all, { ingress: [{ ports: [{ port: "serve-81-tcp" }] }] })], tcp(81, same), tcp(80, (r) => r.expectPeer({}, { namespace: "x" }, false))),
  },
  {
    name: "should allow ingress access from namespace on one named port",
    steps: () => one([allowYOn("allow-client-a-via-ns-selector-80", "serve-80-tcp")], tcp(80, onlyYToXa), tcp(81, (r) => r.expectAllIngress("x/a", false))),
  },
  {
    name: "should allow egress access on one named port",
    steps: () => one([policy("allow-egress", all, { egress: [{ ports: [{ port: "serve-80-tcp" }] }] })], tcp(80, same), tcp(81, (r) => r.expectPeer({ namespace: "x" }, {}, false))),
  },
  {
    name: "should enforce updated policy",
    steps: () => [
      { policies: [policy("allow-all-mutate-to-deny-all", all, { ingress: [{}] })], probes: [tcp(81, same)] },
      { policies: [policy("allow-all-mutate-to-deny-all", all, { ingress: [] })], probes: [tcp(81, (r) => r.expectPeer({}, { namespace: "x" }, false))] },
    ],
  },
  {
    name: "should allow ingress access from updated namespace",
    steps: () => {
      const np = policy("allow-client-a-via-ns-selector", labels({ pod: "a" }), { ingress: [{ from: [{ namespaceSelector: labels({ ns2: "updated" }) }] }] });
      return [
        { policies: [np], probes: [tcp(80, (r) => r.expectAllIngress("x/a", false))] },
        { policies: [np], namespaceLabels: { y: { ns2: "updated" } }, probes: [tcp(80, (r) => r.expectAllIngress("x/a", false).expectPeer({ namespace: "y" }, {}, true))] },
      ];
    },
  },
  {
    name: "should allow ingress access from updated pod",
    steps: () => {
      const np = policy("allow-client-a-via-pod-selector", labels({ pod: "a" }), { ingress: [{ from: [{ podSelector: labels({ pod: "b", pod2: "updated" }) }] }] });
      return [
        { policies: [np], probes: [tcp(80, (r) => r.expectAllIngress("x/a", false))] },
        { policies: [np], podLabels: { "x/b": { pod2: "updated" } }, probes: [tcp(80, (r) => r.expectAllIngress("x/a", false).expect("x/b", "x/a", true))] },
      ];
    },
  },
  {
    name: "should deny ingress from pods on other namespaces",
    steps: () =>
      one([policy("deny-empty-policy", all, { ingress: [{ from: [{ podSelector: { matchLabels: {} } }] }] })], tcp(80, (r) => r.expectPeer({ namespace: "y" }, { namespace: "x" }, false).expectPeer({ namespace: "z" }, { namespace: "x" }, false))),
  },
  {
    name: "should deny ingress access to updated pod",
    steps: () => {
      const np = policy("deny-ingress-via-label-selector", labels({ target: "isolated" }), { ingress: [] });
      return [
        { policies: [np], probes: [tcp(80, same)] },
        { policies: [np], podLabels: { "x/a": { target: "isolated" } }, probes: [tcp(80, (r) => r.expectAllIngress("x/a", false))] },
      ];
    },
  },
];

export const UPSTREAM_CASES: UpstreamCase[] = [...INGRESS_CASES, ...EGRESS_AND_PROTOCOL_CASES, ...PROTOCOL_CASES];
