import { describe, expect, it } from "vitest";
import { sepChain, svcChain } from "./chain-names.js";
import { dualStackCluster, rebuildAfter, sampleCluster } from "./fixtures.js";
import { buildRules, restoreText } from "./iptables-rules.js";
import { servicePorts } from "./service-ports.js";

const opts = { clusterCidr: "10.244.0.0/16" };
const opts6 = { clusterCidr: "fd00:10:244::/56", family: "IPv6" as const };

describe("iptables rules (kube-proxy layout)", () => {
  it("matches the golden rule set for the sample cluster", async () => {
    const text = restoreText(buildRules(servicePorts(sampleCluster(), "node1"), opts), undefined);
    await expect(text).toMatchFileSnapshot("./testdata/iptables-node1.golden");
  });

  it("names chains as kube-proxy does (sha256, base32, 16 characters)", () => {
    const [cluster] = servicePorts(sampleCluster(), "node1").filter((p) => p.service === "cluster-demo");
    expect(cluster?.name).toBe("default/cluster-demo:http");
    expect(svcChain(cluster!)).toMatch(/^KUBE-SVC-[A-Z2-7]{16}$/);
    // kube-proxy's own test data: service port ns1/svc1:p80 (tcp) with an endpoint 10.180.0.1:80.
    const known = { ...cluster!, name: "ns1/svc1:p80" };
    expect(svcChain(known)).toBe("KUBE-SVC-XPGD46QRK7WJZT7O");
    expect(sepChain(known, "10.180.0.1", 80)).toBe("KUBE-SEP-SXIVWICOYRO3J4NJ");
    expect(sepChain(cluster!, "10.244.1.2", 8080)).not.toBe(sepChain(cluster!, "10.244.2.2", 8080));
  });

  it("spreads over ready endpoints with probabilities 1/n, 1/(n-1), then unconditionally", () => {
    const ports = servicePorts(sampleCluster(), "node1");
    const p = ports.find((x) => x.service === "cluster-demo")!;
    const rules = buildRules(ports, opts).nat.get(svcChain(p))!;
    expect(rules.filter((r) => r.includes("KUBE-SEP-")).map((r) => /--probability (\S+)/.exec(r)?.[1] ?? "last")).toEqual(["0.3333333333", "0.5000000000", "last"]);
  });

  it("rejects a service without endpoints in the filter table and sends nothing to it in nat", () => {
    const rs = buildRules(servicePorts(sampleCluster(), "node1"), opts);
    expect(rs.filter.get("KUBE-SERVICES")!.some((r) => r.includes("10.96.0.23/32") && r.includes("REJECT"))).toBe(true);
    expect(rs.nat.get("KUBE-SERVICES")!.some((r) => r.includes("10.96.0.23/32"))).toBe(false);
  });

  it("drops NodePort traffic for a Local service on a node without a local endpoint, and keeps the client address on one with it", () => {
    const node1 = buildRules(servicePorts(sampleCluster(), "node1"), opts);
    expect(node1.filter.get("KUBE-EXTERNAL-SERVICES")!.some((r) => r.includes("--dport 30053") && r.endsWith("-j DROP"))).toBe(true);
    const node2 = buildRules(servicePorts(sampleCluster(), "node2"), opts);
    const ext = [...node2.nat.entries()].find(([c, rules]) => c.startsWith("KUBE-EXT-") && rules.some((r) => r.includes("KUBE-SVL-")))![1];
    expect(ext.some((r) => r === "-j KUBE-MARK-MASQ")).toBe(false);
  });

  it("rewrites only the chains of the service whose endpoint changed", () => {
    const before = sampleCluster();
    const after = sampleCluster();
    after.endpointSlices[0]!.endpoints.pop();
    after.endpointSlices[0]!.endpoints.pop(); // 10.244.2.3 gone
    const prev = buildRules(servicePorts(before, "node1"), opts);
    const text = restoreText(buildRules(servicePorts(after, "node1"), opts), prev);
    const declared = text.split("\n").filter((l) => l.startsWith(":")).map((l) => l.split(" ")[0]!.slice(1));
    const p = servicePorts(after, "node1").find((x) => x.service === "cluster-demo")!;
    expect(declared.sort()).toEqual([svcChain(p), sepChain(p, "10.244.2.3", 8080)].sort());
    expect(text).toContain(`-X ${sepChain(p, "10.244.2.3", 8080)}`);
    expect(restoreText(buildRules(servicePorts(after, "node1"), opts), buildRules(servicePorts(after, "node1"), opts))).toBe("");
  });

  it("a build that reuses the previous sync's per-Service output equals a build from scratch", () => {
    const after = sampleCluster();
    after.endpointSlices[0]!.endpoints[2]!.addresses = ["10.244.2.9"];
    const r = rebuildAfter(buildRules, after, opts);
    expect(r.cached).toEqual(r.fresh);
    // Only the changed Service was built again; the cache holds exactly this sync's ports.
    expect([r.rebuilt, r.cacheSize]).toEqual([1, servicePorts(after, "node1").length]);
  });
});

describe("ip6tables rules (the IPv6 proxier: the same layout)", () => {
  const v6 = (state = dualStackCluster(), node = "node1") => servicePorts(state, node, "IPv6");

  it("matches the golden rule set for the dual-stack cluster's IPv6 side", async () => {
    await expect(restoreText(buildRules(v6(), opts6), undefined)).toMatchFileSnapshot("./testdata/ip6tables-node1.golden");
  });

  it("leaves the IPv4 rules of a dual-stack cluster byte for byte those of the single-stack one", async () => {
    const text = restoreText(buildRules(servicePorts(dualStackCluster(), "node1", "IPv4"), opts), undefined);
    expect(text).toBe(restoreText(buildRules(servicePorts(sampleCluster(), "node1"), opts), undefined));
    await expect(text).toMatchFileSnapshot("./testdata/iptables-node1.golden");
  });

  it("writes IPv6 host masks, ICMPv6 rejects, an all-ones IPv6 recent mask and bracketed DNAT targets", () => {
    const rs = buildRules(v6(), opts6);
    const all = [...rs.nat.values(), ...rs.filter.values()].flat();
    expect(rs.filter.get("KUBE-SERVICES")).toContain(`-m comment --comment "default/v6-only has no endpoints" -d fd00:10:96::30/128 -p tcp -m tcp --dport 80 -j REJECT --reject-with icmp6-port-unreachable`);
    const p = v6().find((x) => x.service === "lb-demo")!;
    expect(rs.nat.get(sepChain(p, "fd00:10:244:1::2", 8080))).toEqual([
      `-m comment --comment "default/lb-demo:web" -s fd00:10:244:1::2/128 -j KUBE-MARK-MASQ`,
      `-m comment --comment "default/lb-demo:web" -p tcp -m recent --set --name ${sepChain(p, "fd00:10:244:1::2", 8080)} --mask ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff --rsource -m tcp -j DNAT --to-destination [fd00:10:244:1::2]:8080`,
    ]);
    expect(rs.nat.get(svcChain(p))![0]).toBe(`-m comment --comment "default/lb-demo:web cluster IP" ! -s fd00:10:244::/56 -d fd00:10:96::22/128 -p tcp -m tcp --dport 80 -j KUBE-MARK-MASQ`);
    expect(rs.nat.get("KUBE-SERVICES")).toContain(`-m comment --comment "default/lb-demo:web loadbalancer IP" -d fd00:56::200/128 -p tcp -m tcp --dport 80 -j KUBE-EXT-KW5AIXHIUIYOUULX`);
    // kube-proxy never sends ::1 to a node port: IPv6 cannot route loopback-sourced replies out.
    expect(rs.nat.get("KUBE-SERVICES")!.at(-1)).toBe(`-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL ! -d ::1/128 -j KUBE-NODEPORTS`);
    expect(all.filter((r) => /\/32\b|icmp-port|255\.255|\b10\.|192\.168/.test(r))).toEqual([]);
  });

  it("names a service's chains as in IPv4 (they live in ip6tables), an endpoint's from its own address", () => {
    const [v4p, v6p] = [servicePorts(dualStackCluster(), "node1", "IPv4"), v6()].map((ps) => ps.find((x) => x.service === "cluster-demo")!);
    expect(svcChain(v6p!)).toBe(svcChain(v4p!));
    expect(sepChain(v6p!, "fd00:10:244:1::2", 8080)).toMatch(/^KUBE-SEP-[A-Z2-7]{16}$/);
    expect(sepChain(v6p!, "fd00:10:244:1::2", 8080)).not.toBe(sepChain(v4p!, "10.244.1.2", 8080));
  });

  it("rewrites only the chains of the IPv6 service whose endpoint changed", () => {
    const after = dualStackCluster();
    after.endpointSlices.find((s) => s.addressType === "IPv6" && s.metadata.name.startsWith("cluster-demo"))!.endpoints[2]!.addresses = ["fd00:10:244:2::9"];
    const text = restoreText(buildRules(v6(after), opts6), buildRules(v6(), opts6));
    const p = v6(after).find((x) => x.service === "cluster-demo")!;
    const declared = text.split("\n").filter((l) => l.startsWith(":")).map((l) => l.split(" ")[0]!.slice(1));
    expect(declared.sort()).toEqual([svcChain(p), sepChain(p, "fd00:10:244:2::3", 8080), sepChain(p, "fd00:10:244:2::9", 8080)].sort());
    expect(text).toContain(`-A ${sepChain(p, "fd00:10:244:2::9", 8080)} -m comment --comment "default/cluster-demo:http" -p tcp -m tcp -j DNAT --to-destination [fd00:10:244:2::9]:8080`);
  });

  it("a build that reuses the previous sync's per-Service output equals a build from scratch", () => {
    const after = dualStackCluster();
    after.endpointSlices.find((s) => s.addressType === "IPv6" && s.metadata.name.startsWith("cluster-demo"))!.endpoints[2]!.addresses = ["fd00:10:244:2::9"];
    const r = rebuildAfter(buildRules, after, opts6, dualStackCluster());
    expect(r.cached).toEqual(r.fresh);
    expect([r.rebuilt, r.cacheSize]).toEqual([1, v6(after).length]);
  });
});
