import { describe, expect, it } from "vitest";
import { sepChain, svcChain } from "./chain-names.js";
import { rebuildAfter, sampleCluster } from "./fixtures.js";
import { buildRules, restoreText } from "./iptables-rules.js";
import { servicePorts } from "./service-ports.js";

const opts = { clusterCidr: "10.244.0.0/16" };

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
