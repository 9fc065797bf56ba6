import { describe, expect, it } from "vitest";
import { sampleCluster } from "./fixtures.js";
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
    expect(ips.some((e) => e.startsWith("10.96.0.20 . tcp . 80 : goto service-") && e.endsWith("-default/cluster-demo/tcp/http"))).toBe(true);
    expect(ips.some((e) => e.startsWith("192.168.56.200 . tcp . 80 : goto external-"))).toBe(true);
    expect(rs.maps.get("no-endpoint-services")!.elements).toContain("10.96.0.23 . tcp . 80 : goto reject-chain");
    expect(rs.maps.get("no-endpoint-nodeports")!.elements).toContain("udp . 30053 : drop");
  });

  it("an endpoint change touches one service chain, one endpoint chain, and no map", () => {
    const after = sampleCluster();
    after.endpointSlices[0]!.endpoints.splice(2, 1); // 10.244.2.3 gone
    const script = nftScript(buildNftRules(servicePorts(after, "node1"), opts), buildNftRules(servicePorts(sampleCluster(), "node1"), opts));
    const lines = script.trim().split("\n");
    expect(lines.filter((l) => l.startsWith("flush chain")).map((l) => l.split(" ")[4])).toEqual([expect.stringMatching(/^service-.*cluster-demo/), expect.stringMatching(/^endpoint-.*__10\.244\.2\.3\/8080$/)]);
    expect(lines.filter((l) => l.startsWith("delete chain"))).toHaveLength(1);
    expect(lines.some((l) => l.includes("element"))).toBe(false);
  });
});
