// Test fixture (imported only by tests): the upstream NetworkPolicy e2e cases (network_policy.go) on
// egress, ipBlocks and protocols, and the suite's UDP and SCTP contexts.
import type { Protocol } from "./types.js";
import { all, allowYOn, blocksOf, hostCidr, labels, largeCidr, nsIs, nsNot, one, onlyYToXa, policy, same, tcp, yaFromNsAndPod, type CaseProbe, type UpstreamCase } from "./upstream-netpol-case-kit.fixture.js";

export const EGRESS_AND_PROTOCOL_CASES: UpstreamCase[] = [
  { name: "should deny egress from pods based on PodSelector", steps: () => one([policy("deny-egress-pod-a", labels({ pod: "a" }), { egress: [] })], tcp(80, (r) => r.expectAllEgress("x/a", false))) },
  { name: "should deny egress from all pods in a namespace", steps: () => one([policy("deny-egress-ns-x", all, { egress: [] })], tcp(80, (r) => r.expectPeer({ namespace: "x" }, {}, false))) },
  {
    name: "should work with Ingress, Egress specified together",
    steps: () =>
      one(
        [policy("allow-client-a-via-pod-selector", labels({ pod: "a" }), { ingress: [{ from: [{ podSelector: labels({ pod: "b" }) }] }], egress: [{ ports: [{ port: 80 }] }] })],
        tcp(80, (r) => r.expectAllIngress("x/a", false).expect("x/b", "x/a", true)),
        tcp(81, (r) => r.expectAllIngress("x/a", false).expectAllEgress("x/a", false).expect("x/b", "x/a", true)),
      ),
  },
  {
    name: "should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)",
    steps: () => {
      const fromXa = { ingress: [{ from: [{ namespaceSelector: nsIs("x"), podSelector: labels({ pod: "a" }) }] }] };
      return one(
        [
          policy("allow-to-ns-y-pod-a", labels({ pod: "a" }), { egress: [{ to: [{ namespaceSelector: nsIs("y"), podSelector: labels({ pod: "a" }) }] }] }),
          policy("allow-from-xa-on-ya-match-selector", labels({ pod: "a" }), fromXa, "y"),
          policy("allow-from-xa-on-yb-match-selector", labels({ pod: "b" }), fromXa, "y"),
        ],
        tcp(80, (r) =>
          r
            .expectPeer({ namespace: "x", pod: "a" }, {}, false)
            .expectPeer({}, { namespace: "y", pod: "a" }, false)
            .expectPeer({ namespace: "x", pod: "a" }, { namespace: "y", pod: "a" }, true)
            .expectPeer({}, { namespace: "y", pod: "b" }, false),
        ),
      );
    },
  },
  {
    name: "should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector",
    steps: () =>
      one([policy("allow-to-ns-y-pod-a", labels({ pod: "a" }), { egress: [{ to: [{ namespaceSelector: nsIs("y"), podSelector: labels({ pod: "a" }) }] }] })], tcp(80, (r) => r.expectAllEgress("x/a", false).expect("x/a", "y/a", true))),
  },
  {
    name: "should enforce ingress policy allowing any port traffic to a server on a specific protocol",
    steps: () =>
      one([policy("allow-ingress-by-proto", labels({ pod: "a" }), { ingress: [{ ports: [{ protocol: "TCP" }] }] })], tcp(80, same), { protocol: "UDP", port: 80, want: (r) => r.expectAllIngress("x/a", false) }),
  },
  {
    name: "should enforce multiple ingress policies with ingress allow-all policy taking precedence",
    steps: () => {
      const only80 = policy("allow-ingress-port-80", all, { ingress: [{ ports: [{ port: 80 }] }] });
      return [
        { policies: [only80], probes: [tcp(81, (r) => r.expectPeer({}, { namespace: "x" }, false))] },
        { policies: [only80, policy("allow-ingress", all, { ingress: [{}] })], probes: [tcp(81, same)] },
      ];
    },
  },
  {
    name: "should enforce multiple egress policies with egress allow-all policy taking precedence",
    steps: () => {
      const only80 = policy("allow-egress-port-80", all, { egress: [{ ports: [{ port: 80 }] }] });
      return [
        { policies: [only80], probes: [tcp(81, (r) => r.expectPeer({ namespace: "x" }, {}, false))] },
        { policies: [only80, policy("allow-egress", all, { egress: [{}] })], probes: [tcp(81, same)] },
      ];
    },
  },
  {
    name: "should stop enforcing policies after they are deleted",
    steps: () => [
      { policies: [policy("deny-all", all, { ingress: [], egress: [] })], probes: [tcp(80, (r) => r.expectPeer({ namespace: "x" }, {}, false).expectPeer({}, { namespace: "x" }, false))] },
      { policies: [], probes: [tcp(80, same)] },
    ],
  },
  {
    name: "should allow egress access to server in CIDR block",
    steps: (ctx) =>
      one([policy("allow-client-a-via-cidr-egress-rule", labels({ pod: "a" }), { egress: [{ to: blocksOf(ctx.ips("y/b"), (ip) => ({ cidr: hostCidr(ip) })) }] })], tcp(80, (r) => r.expectAllEgress("x/a", false).expect("x/a", "y/b", true))),
  },
  {
    name: "should enforce except clause while egress access to server in CIDR block",
    steps: (ctx) =>
      one(
        [policy("allow-client-a-via-cidr-egress-rule", labels({ pod: "a" }), { egress: [{ to: blocksOf(ctx.ips("x/b"), (ip) => ({ cidr: largeCidr(ip), except: [hostCidr(ip)] })) }] })],
        tcp(80, (r) => r.expect("x/a", "x/b", false)),
      ),
  },
  {
    name: "should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed",
    // Upstream updates the policy of the same name: the second spec replaces the first.
    steps: (ctx) => [
      {
        policies: [policy("allow-client-a-via-cidr-egress-rule", labels({ pod: "a" }), { egress: [{ to: blocksOf(ctx.ips("x/b"), (ip) => ({ cidr: largeCidr(ip), except: [hostCidr(ip)] })) }] })],
        probes: [tcp(80, (r) => r.expect("x/a", "x/b", false))],
      },
      {
        policies: [policy("allow-client-a-via-cidr-egress-rule", labels({ pod: "a" }), { egress: [{ to: blocksOf(ctx.ips("x/b"), (ip) => ({ cidr: hostCidr(ip) })) }] })],
        probes: [tcp(80, (r) => r.expectAllEgress("x/a", false).expect("x/a", "x/b", true))],
      },
    ],
  },
  {
    name: "should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector",
    steps: () => {
      const allowEgress = policy("allow-egress-for-target", labels({ pod: "a" }), { egress: [{}] });
      return [
        { policies: [allowEgress], probes: [tcp(80, same)] },
        { policies: [allowEgress, policy("deny-ingress-via-label-selector", labels({ pod: "a" }), { ingress: [] })], probes: [tcp(80, (r) => r.expectAllIngress("x/a", false))] },
      ];
    },
  },
  {
    name: "should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP', even if the plugin doesn't support SCTP",
    steps: () =>
      one(
        [policy("deny-ingress", all, { ingress: [] }), policy("allow-only-sctp-ingress-on-port-81", labels({ pod: "a" }), { ingress: [{ ports: [{ port: 81, protocol: "SCTP" }] }] })],
        tcp(81, (r) => r.expectPeer({}, { namespace: "x" }, false)),
      ),
  },
  {
    name: "should properly isolate pods that are selected by a policy allowing SCTP, even if the plugin doesn't support SCTP",
    steps: () => one([policy("allow-only-sctp-ingress-on-port-80", labels({ pod: "a" }), { ingress: [{ ports: [{ port: 80, protocol: "SCTP" }] }] })], tcp(81, (r) => r.expectAllIngress("x/a", false))),
  },
  {
    name: "should not allow access by TCP when a policy specifies only UDP",
    steps: () => one([policy("allow-only-udp-ingress-on-port-81", labels({ pod: "a" }), { ingress: [{ ports: [{ port: 81, protocol: "UDP" }] }] })], tcp(81, (r) => r.expectAllIngress("x/a", false))),
  },
  {
    name: "should enforce policy to allow traffic based on NamespaceSelector with MatchLabels using default ns label",
    steps: () => one([policy("allow-client-a-via-ns-selector-for-immutable-ns-label", labels({ pod: "a" }), { ingress: [{ from: [{ namespaceSelector: nsIs("y") }] }] })], tcp(80, onlyYToXa)),
  },
  {
    name: "should enforce policy based on NamespaceSelector with MatchExpressions using default ns label",
    steps: () =>
      one([policy("allow-ns-y-match-selector-for-immutable-ns-label", labels({ pod: "a" }), { egress: [{ to: [{ namespaceSelector: nsNot("y") }] }] })], tcp(80, (r) => r.expectPeer({ namespace: "x", pod: "a" }, { namespace: "y" }, false))),
  },
];

/** The suite's UDP and SCTP contexts: three cases each, on that protocol. */
const protocolCases = (protocol: Protocol): UpstreamCase[] => {
  const on = (port: number, want: CaseProbe["want"]): CaseProbe => ({ protocol, port, want });
  return [
    { name: `[${protocol}] should support a 'default-deny-ingress' policy`, steps: () => one([policy("deny-all", all, { ingress: [] })], on(80, (r) => r.expectPeer({}, { namespace: "x" }, false))) },
    { name: `[${protocol}] should enforce policy based on Ports`, steps: () => one([allowYOn("allow-ingress-on-port-81-ns-x", 81, protocol)], on(81, onlyYToXa)) },
    {
      name: `[${protocol}] should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector`,
      steps: () => one([yaFromNsAndPod()], on(80, (r) => r.expectAllIngress("x/a", false).expect("y/a", "x/a", true))),
    },
  ];
};

export const PROTOCOL_CASES: UpstreamCase[] = [...protocolCases("UDP"), ...protocolCases("SCTP")];
