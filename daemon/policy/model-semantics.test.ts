// Semantics the upstream tables do not pin down: policyTypes defaulting, NotIn on a missing key,
// endPort, named ports resolved per destination pod, ipBlock on pod addresses, IPv6, own-node and
// host-network traffic.
import { describe, expect, it } from "vitest";
import { evaluate } from "./evaluate.js";
import { selectorMatches } from "./labels.js";
import { policyTypesOf } from "./selection.js";
import { upstreamCluster } from "./truth-table.fixture.js";
import type { Flow, NetworkPolicy } from "./types.js";

const flow = (from: string, to: string, port = 80, protocol: Flow["protocol"] = "TCP"): Flow => ({ from: { pod: from }, to: { pod: to }, protocol, port });
const np = (name: string, spec: NetworkPolicy["spec"], namespace = "x"): NetworkPolicy => ({ metadata: { name, namespace }, spec });

describe("policy model semantics", () => {
  it("defaults policyTypes as the API server does: Ingress always, Egress when egress rules exist", () => {
    expect(policyTypesOf(np("i", { podSelector: {} }))).toEqual(["Ingress"]);
    expect(policyTypesOf(np("e", { podSelector: {}, egress: [{}] }))).toEqual(["Ingress", "Egress"]);
    expect(policyTypesOf(np("t", { podSelector: {}, policyTypes: ["Egress"] }))).toEqual(["Egress"]);
    // A policy with only egress rules and no policyTypes isolates ingress too.
    const c = upstreamCluster([np("egress-only", { podSelector: { matchLabels: { pod: "a" } }, egress: [{}] })]);
    expect(evaluate(c, flow("y/a", "x/a")).allowed).toBe(false);
  });

  it("reads NotIn as true for a missing key and DoesNotExist/Exists by key", () => {
    expect(selectorMatches({ matchExpressions: [{ key: "tier", operator: "NotIn", values: ["db"] }] }, {})).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: "tier", operator: "DoesNotExist" }] }, { tier: "" })).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: "tier", operator: "Exists" }] }, { tier: "" })).toBe(true);
  });

  it("endPort makes an inclusive range, for ingress and egress", () => {
    const c = upstreamCluster([
      np("range-in", { podSelector: { matchLabels: { pod: "a" } }, ingress: [{ ports: [{ port: 80, endPort: 80 }] }] }),
      np("range-out", { podSelector: { matchLabels: { pod: "b" } }, policyTypes: ["Egress"], egress: [{ ports: [{ port: 79, endPort: 80, protocol: "UDP" }] }] }),
    ]);
    expect(evaluate(c, flow("y/a", "x/a", 80)).allowed).toBe(true);
    expect(evaluate(c, flow("y/a", "x/a", 81)).allowed).toBe(false);
    expect(evaluate(c, flow("x/b", "y/a", 80, "UDP")).allowed).toBe(true);
    expect(evaluate(c, flow("x/b", "y/a", 81, "UDP")).allowed).toBe(false);
  });

  it("resolves a named port on each destination pod", () => {
    const c = upstreamCluster([np("named", { podSelector: {}, ingress: [{ ports: [{ port: "http" }] }] })]);
    c.pods.find((p) => p.namespace === "x" && p.name === "a")!.ports.push({ containerPort: 8080, name: "http" });
    c.pods.find((p) => p.namespace === "x" && p.name === "b")!.ports.push({ containerPort: 9090, name: "http" });
    expect(evaluate(c, flow("y/a", "x/a", 8080)).allowed).toBe(true);
    expect(evaluate(c, flow("y/a", "x/a", 9090)).allowed).toBe(false);
    expect(evaluate(c, flow("y/a", "x/b", 9090)).allowed).toBe(true);
  });

  it("matches ipBlock against pod addresses of the flow's family", () => {
    const c = upstreamCluster([np("v6-only", { podSelector: { matchLabels: { pod: "a" } }, ingress: [{ from: [{ ipBlock: { cidr: "fd00:10:244:2::/64" } }] }] })]);
    expect(evaluate(c, { ...flow("y/b", "x/a"), family: 6 }).allowed).toBe(true);
    expect(evaluate(c, { ...flow("y/b", "x/a"), family: 4 }).allowed).toBe(false);
    expect(evaluate(c, { ...flow("z/b", "x/a"), family: 6 }).allowed).toBe(false);
  });

  it("always allows the destination's own node, and treats host-network pods as their node", () => {
    const c = upstreamCluster([np("deny", { podSelector: {}, ingress: [{ from: [{ podSelector: {} , namespaceSelector: {} }] }] })]);
    c.pods.push({ namespace: "y", name: "host", labels: { pod: "a" }, ips: ["192.168.56.11"], node: "node-1", ports: [], hostNetwork: true });
    // x/a is on node-1: its node (by address or as a host-network pod) gets in; node-2 does not.
    expect(evaluate(c, { from: { ip: "192.168.56.11" }, to: { pod: "x/a" }, protocol: "TCP", port: 80 }).ingress.tier).toBe("OwnNode");
    expect(evaluate(c, flow("y/host", "x/a")).allowed).toBe(true);
    expect(evaluate(c, { from: { ip: "192.168.56.12" }, to: { pod: "x/a" }, protocol: "TCP", port: 80 }).allowed).toBe(false);
    // A pod selector does not select a host-network pod, even with matching labels.
    expect(evaluate(c, flow("y/host", "x/b")).allowed).toBe(false);
  });
});
