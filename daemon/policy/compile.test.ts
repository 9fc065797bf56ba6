// compile: the table for one node is valid nft (checked by `nft -c`, which needs root and changes
// nothing), names the sets a pod or label change moves, and such a change diffs to elements only.
import { describe, expect, it } from "vitest";
import { compile } from "./compile.js";
import { diffRulesets, renderRuleset } from "./nft-ruleset.js";
import { podIps, upstreamCluster } from "./truth-table.fixture.js";
import type { Cluster, ClusterNetworkPolicy, NetworkPolicy } from "./types.js";
import { canNftCheck, nftChecker } from "./nft-check.fixture.js";

const nftCheck = nftChecker();
const canCheck = canNftCheck;

const NS = "kubernetes.io/metadata.name";
const policies: NetworkPolicy[] = [
  { metadata: { name: "deny-all", namespace: "x" }, spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } },
  {
    metadata: { name: "a-from-y", namespace: "x" },
    spec: {
      podSelector: { matchLabels: { pod: "a" } },
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { [NS]: "y" } }, podSelector: { matchExpressions: [{ key: "pod", operator: "In", values: ["a", "b"] }] } }], ports: [{ port: "serve-80-tcp" }, { protocol: "UDP", port: 81 }] }],
      egress: [{ to: [{ ipBlock: { cidr: "10.0.0.0/8", except: ["10.244.3.0/24"] } }, { ipBlock: { cidr: "fd00::/8" } }], ports: [{ port: 80, endPort: 81 }, { protocol: "SCTP" }] }],
    },
  },
];
const cnps: ClusterNetworkPolicy[] = [
  {
    metadata: { name: "admin-deny-z" },
    spec: {
      tier: "Admin",
      priority: 10,
      subject: { namespaces: { matchLabels: { ns: "x" } } },
      ingress: [
        { name: "pass-y", action: "Pass", from: [{ namespaces: { matchLabels: { ns: "y" } } }] },
        { name: "deny-z", action: "Deny", from: [{ pods: { namespaceSelector: { matchLabels: { ns: "z" } }, podSelector: {} } }], protocols: [{ tcp: { destinationPort: { range: { start: 80, end: 90 } } } }, { destinationNamedPort: "serve-81-udp" }] },
      ],
      egress: [{ name: "nodes-and-net", action: "Accept", to: [{ nodes: { matchLabels: { "kubernetes.io/os": "linux" } } }, { networks: ["192.0.2.0/24", "2001:db8::/32"] }] }],
    },
  },
  { metadata: { name: "baseline" }, spec: { tier: "Baseline", priority: 1, subject: { pods: { namespaceSelector: {}, podSelector: { matchLabels: { pod: "c" } } } }, ingress: [{ action: "Deny", from: [{ namespaces: {} }] }] } },
];

const cluster = (): Cluster => upstreamCluster(structuredClone(policies), structuredClone(cnps));

describe("compile", () => {
  it("writes a table nft accepts, with per-selector, per-node and named-port sets", () => {
    const compiled = compile(cluster(), "node-1");
    const script = renderRuleset(compiled);
    const names = compiled.sets.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(["local-pods-v4", "local-pods-v6", "isolated-ingress-v4", "isolated-egress-v6", "port-serve-80-tcp-v4", "port-serve-81-udp-v6"]));
    expect(names.some((n) => /^peer-[0-9a-f]{12}-v4$/.test(n))).toBe(true);
    expect(names.some((n) => /^nodes-[0-9a-f]{12}-v6$/.test(n))).toBe(true);
    expect(script).toContain("type filter hook forward priority filter; policy accept;");
    expect(script).toMatch(/chain forward \{\n.*\n {4}ct mark & 0x01000000 == 0x01000000 counter drop comment "a flow --policy-strict cut"\n {4}ct state established,related accept/);
    expect(script).toContain("icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect } accept");
    // x/a (10.244.1.10) is on node-1; the named port set holds every pod's serve-80-tcp.
    const local = compiled.sets.find((s) => s.name === "local-pods-v4")!;
    expect(local.elements).toContain(podIps("x", "a")[0]);
    expect(compiled.sets.find((s) => s.name === "port-serve-80-tcp-v4")!.elements).toContain(`${podIps("z", "c")[0]} . tcp . 80`);
    expect(script).toContain("ip daddr != { 10.244.3.0/24 }");
    if (canCheck) nftCheck(script, "full.nft");
  });

  it("turns a pod label change into element changes only, and nft accepts the diff", () => {
    const before = compile(cluster(), "node-1");
    const changed = cluster();
    changed.pods.find((p) => p.namespace === "y" && p.name === "c")!.labels.pod = "a";
    const after = compile(changed, "node-1");
    const diff = diffRulesets(before, after);
    expect(diff).not.toBe("");
    for (const line of diff.trim().split("\n")) expect(line).toMatch(/^(add|delete) element inet weft-policy /);
    expect(diff).toContain(`add element inet weft-policy peer-`);
    expect(diff).toContain(podIps("y", "c")[0]);
    if (canCheck) nftCheck(renderRuleset(before) + diff, "label-change.nft");
  });

  it("turns a new pod and a namespace label change into element changes only", () => {
    const before = compile(cluster(), "node-1");
    const changed = cluster();
    changed.pods.push({ namespace: "x", name: "d", labels: { pod: "d" }, ips: ["10.244.1.20", "fd00:10:244:1::20"], node: "node-1", ports: [{ containerPort: 80, name: "serve-80-tcp" }] });
    changed.namespaces.find((n) => n.name === "z")!.labels.ns = "y";
    const diff = diffRulesets(before, compile(changed, "node-1"));
    for (const line of diff.trim().split("\n")) expect(line).toMatch(/^(add|delete) element /);
    expect(diff).toMatch(/add element inet weft-policy isolated-ingress-v4 \{ 10\.244\.1\.20 \}/);
    if (canCheck) nftCheck(renderRuleset(before) + diff, "pod-change.nft");
  });

  it("rewrites only the chains of a changed policy, creating and dropping its sets in one valid transaction", () => {
    const before = compile(cluster(), "node-1");
    const changed = cluster();
    changed.networkPolicies = changed.networkPolicies.filter((np) => np.metadata.name !== "a-from-y");
    changed.networkPolicies.push({ metadata: { name: "b-from-z", namespace: "x" }, spec: { podSelector: { matchLabels: { pod: "b" } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: "z" } } }] }] } });
    const diff = diffRulesets(before, compile(changed, "node-1"));
    expect(diff).toContain("flush chain inet weft-policy ingress-isolated");
    expect(diff).not.toContain("flush chain inet weft-policy forward");
    expect(diff).toMatch(/delete set inet weft-policy port-serve-80-tcp-v4/);
    if (canCheck) nftCheck(renderRuleset(before) + diff, "policy-change.nft");
  });

  it("gives an empty diff for an unchanged cluster", () => {
    expect(diffRulesets(compile(cluster(), "node-2"), compile(cluster(), "node-2"))).toBe("");
  });
});
