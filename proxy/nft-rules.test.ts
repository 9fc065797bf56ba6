import { describe, expect, it } from "vitest";
import { dualStackCluster, rebuildAfter, sampleCluster } from "./fixtures.js";
import { buildNftRules, nftScript } from "./nft-rules.js";
import { servicePorts } from "./service-ports.js";

const opts = { clusterCidr: "10.244.0.0/16" };
const opts6 = { clusterCidr: "fd00:10:244::/56", family: "IPv6" as const };

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

describe("nftables rules for IPv6 (table ip6 kube-proxy beside ip kube-proxy)", () => {
  const v6 = (state = dualStackCluster(), node = "node1") => servicePorts(state, node, "IPv6");
  const moveEndpoint = (state: ReturnType<typeof dualStackCluster>): void => {
    state.endpointSlices.find((s) => s.addressType === "IPv6" && s.metadata.name.startsWith("cluster-demo"))!.endpoints[2]!.addresses = ["fd00:10:244:2::9"];
  };

  it("matches the golden script for the dual-stack cluster's IPv6 side", async () => {
    await expect(nftScript(buildNftRules(v6(), opts6), undefined)).toMatchFileSnapshot("./testdata/nft6-node1.golden");
  });

  it("leaves the IPv4 script of a dual-stack cluster byte for byte that of the single-stack one", async () => {
    const text = nftScript(buildNftRules(servicePorts(dualStackCluster(), "node1", "IPv4"), opts), undefined);
    await expect(text).toMatchFileSnapshot("./testdata/nft-node1.golden");
  });

  it("writes the ip6 table with IPv6 types, matches, DNAT targets and the ::1 exclusion, and nothing of IPv4", () => {
    const rs = buildNftRules(v6(), opts6);
    const script = nftScript(rs, undefined);
    expect(script.split("\n").filter((l) => l && !/^\S+ (\S+ )?ip6 kube-proxy /.test(l))).toEqual([]);
    expect(rs.maps.get("service-ips")!.decl).toBe("type ipv6_addr . inet_proto . inet_service : verdict");
    expect(rs.maps.get("cluster-endpoints-tcp")!.decl).toBe("typeof ip6 daddr . tcp dport . numgen random mod 2 : ip6 daddr . tcp dport");
    expect(rs.maps.get("service-ips")!.elements).toContain("fd00:10:96::20 . tcp . 80 : goto cluster-3");
    expect(rs.maps.get("cluster-endpoints-tcp")!.elements.filter((e) => e.startsWith("fd00:10:96::20 . 80 . "))).toEqual(["fd00:10:96::20 . 80 . 0 : fd00:10:244:1::2 . 8080", "fd00:10:96::20 . 80 . 1 : fd00:10:244:2::2 . 8080", "fd00:10:96::20 . 80 . 2 : fd00:10:244:2::3 . 8080"]);
    expect(rs.chains.get("cluster-3")!.rules).toEqual(["ip6 saddr != fd00:10:244::/56 jump mark-for-masquerade", ...["tcp", "udp", "sctp"].map((l4) => `dnat ip6 addr . port to ip6 daddr . ${l4} dport . numgen random mod 3 map @cluster-endpoints-${l4}`)]);
    expect(rs.chains.get("services")!.rules).toEqual(["ip6 daddr . meta l4proto . th dport vmap @service-ips", "fib daddr type local ip6 daddr != ::1 meta l4proto . th dport vmap @service-nodeports"]);
    expect(rs.maps.get("no-endpoint-services")!.elements).toEqual(["fd00:10:96::30 . tcp . 80 : goto reject-chain"]);
    // Affinity keeps per-endpoint chains; nft takes no ":" in a chain name, so the address is written with dots.
    const [name, chain] = [...rs.chains].find(([n]) => n.startsWith("endpoint-") && n.endsWith("-default/lb-demo/tcp/web__fd00.10.244.1..2/8080"))!;
    const set = `affinity-${name.slice("endpoint-".length)}`;
    expect(chain.rules).toEqual(["ip6 saddr fd00:10:244:1::2 jump mark-for-masquerade", `update @${set} { ip6 saddr }`, "meta l4proto tcp dnat to [fd00:10:244:1::2]:8080"]);
    expect(rs.sets.get(set)).toBe("type ipv6_addr; flags dynamic,timeout; timeout 10800s");
    expect(script).not.toMatch(/\bip (saddr|daddr|addr)\b|ipv4_addr|127\.0\.0\.0|\b10\.244\.\d+\.\d+\b/);
  });

  it("an endpoint change of a plain IPv6 service is map elements only", () => {
    const after = dualStackCluster();
    moveEndpoint(after);
    expect(nftScript(buildNftRules(v6(after), opts6), buildNftRules(v6(), opts6)).trim().split("\n")).toEqual([
      "delete element ip6 kube-proxy cluster-endpoints-tcp { fd00:10:96::20 . 80 . 2 }",
      "add element ip6 kube-proxy cluster-endpoints-tcp { fd00:10:96::20 . 80 . 2 : fd00:10:244:2::9 . 8080 }",
    ]);
    expect(buildNftRules(v6(after, "node2"), opts6).maps.get("hairpin")!.elements).toContain("fd00:10:244:2::9 . fd00:10:244:2::9");
  });

  it("a build that reuses the previous sync's per-Service output equals a build from scratch", () => {
    const after = dualStackCluster();
    moveEndpoint(after);
    const r = rebuildAfter(buildNftRules, after, opts6, dualStackCluster());
    expect(r.cached).toEqual(r.fresh);
    expect([r.rebuilt, r.cacheSize]).toEqual([1, v6(after).length]);
  });
});
