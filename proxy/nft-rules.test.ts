import { describe, expect, it } from "vitest";
import { rebuildAfter, sampleCluster } from "./fixtures.js";
import { buildNftRules, nftScript } from "./nft-rules.js";
import { servicePorts } from "./service-ports.js";

const opts = { clusterCidr: "10.244.0.0/16" };

describe("nftables rules (kube-proxy's nftables layout)", () => {
  it("matches the golden script for the sample cluster", async () => {
    await expect(nftScript(buildNftRules(servicePorts(sampleCluster(), "node1"), opts), undefined)).toMatchFileSnapshot("./testdata/nft-node1.golden");
  });

  it("maps each service IP . protocol . port to its chain, and services without endpoints to reject", () => {
    const rs = buildNftRules(servicePorts(sampleCluster(), "node1"), opts);
    const ips = rs.maps.get("service-ips")!.elements;
    // Plain services: elements of the shared maps; a shared chain per endpoint count.
    expect(ips).toContain("10.96.0.20 . tcp . 80 : goto cluster-3");
    expect(rs.maps.get("cluster-endpoints-tcp")!.elements.filter((e) => e.startsWith("10.96.0.20 . 80 . "))).toEqual(["10.96.0.20 . 80 . 0 : 10.244.1.2 . 8080", "10.96.0.20 . 80 . 1 : 10.244.2.2 . 8080", "10.96.0.20 . 80 . 2 : 10.244.2.3 . 8080"]);
    expect(rs.chains.get("cluster-3")!.rules.slice(1)).toEqual(["tcp", "udp", "sctp"].map((l4) => `dnat ip addr . port to ip daddr . ${l4} dport . numgen random mod 3 map @cluster-endpoints-${l4}`));
    // Affinity (lb-demo) and Local policy (nodeport-demo) keep kube-proxy's per-endpoint chains.
    expect(ips.some((e) => e.startsWith("10.96.0.22 . tcp . 80 : goto service-") && e.endsWith("-default/lb-demo/tcp/web"))).toBe(true);
    expect(ips.some((e) => e.startsWith("192.168.56.200 . tcp . 80 : goto external-"))).toBe(true);
    expect(rs.maps.get("no-endpoint-services")!.elements).toContain("10.96.0.23 . tcp . 80 : goto reject-chain");
    expect(rs.maps.get("no-endpoint-nodeports")!.elements).toContain("udp . 30053 : drop");
  });

  it("an endpoint change of a plain service is map elements only", () => {
    const after = sampleCluster();
    after.endpointSlices[0]!.endpoints[2]!.addresses = ["10.244.2.9"]; // 10.244.2.3 replaced
    const script = nftScript(buildNftRules(servicePorts(after, "node1"), opts), buildNftRules(servicePorts(sampleCluster(), "node1"), opts));
    expect(script.trim().split("\n")).toEqual([
      "delete element ip kube-proxy cluster-endpoints-tcp { 10.96.0.20 . 80 . 2 }",
      "add element ip kube-proxy cluster-endpoints-tcp { 10.96.0.20 . 80 . 2 : 10.244.2.9 . 8080 }",
    ]);
    // Hairpin pairs are for this node's endpoints only (the pod's own node does the DNAT).
    expect(buildNftRules(servicePorts(after, "node2"), opts).maps.get("hairpin")!.elements).toContain("10.244.2.9 . 10.244.2.9");
  });

  it("an endpoint change of an affinity service rewrites its service chain and swaps one endpoint chain", () => {
    const after = sampleCluster();
    after.endpointSlices[2]!.endpoints.pop(); // lb-demo loses 10.244.2.2
    const lines = nftScript(buildNftRules(servicePorts(after, "node1"), opts), buildNftRules(servicePorts(sampleCluster(), "node1"), opts)).trim().split("\n");
    expect(lines.filter((l) => l.startsWith("flush chain")).map((l) => l.split(" ")[4])).toEqual([expect.stringMatching(/^service-.*lb-demo/), expect.stringMatching(/^endpoint-.*lb-demo.*__10\.244\.2\.2\/8080$/)]);
    expect(lines.filter((l) => l.startsWith("delete chain"))).toHaveLength(1);
  });

  it("a resync after a restart deletes what an older layout left, never a set the rules still use", () => {
    const stale = { chains: ["cluster-3", "service-OLD"], sets: ["hairpin", "affinity-OLD"], maps: ["cluster-endpoints", "service-ips"] };
    const lines = nftScript(buildNftRules(servicePorts(sampleCluster(), "node1"), opts), undefined, stale).trim().split("\n");
    const deletes = lines.filter((l) => l.startsWith("delete "));
    expect(deletes).toEqual(["delete chain ip kube-proxy service-OLD", "delete set ip kube-proxy affinity-OLD", "delete map ip kube-proxy cluster-endpoints"]);
  });

  it("a build that reuses the previous sync's per-Service output equals a build from scratch", () => {
    const after = sampleCluster();
    after.endpointSlices[0]!.endpoints[2]!.addresses = ["10.244.2.9"];
    const r = rebuildAfter(buildNftRules, after, opts);
    expect(r.cached).toEqual(r.fresh);
    // Only the changed Service was built again; the cache holds exactly this sync's ports.
    expect([r.rebuilt, r.cacheSize]).toEqual([1, servicePorts(after, "node1").length]);
  });
});
