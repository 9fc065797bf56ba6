import { describe, expect, it } from "vitest";
import { dualStackCluster, sampleCluster } from "./fixtures.js";
import type { ClusterState } from "./model.js";
import { ipToInt, servicePorts } from "./service-ports.js";

const names = (state: ClusterState, family: "IPv4" | "IPv6"): string[] => servicePorts(state, "node1", family).map((p) => `${p.name} ${p.clusterIP}`);

describe("servicePorts per IP family", () => {
  it("gives a SingleStack IPv4 Service no IPv6 entry, a SingleStack IPv6 one no IPv4 entry, a dual-stack one an entry in each", () => {
    const dual = dualStackCluster();
    expect(names(dual, "IPv4")).toEqual(["default/cluster-demo:http 10.96.0.20", "default/empty 10.96.0.23", "default/lb-demo:web 10.96.0.22", "default/nodeport-demo 10.96.0.21"]);
    expect(names(dual, "IPv6")).toEqual(["default/cluster-demo:http fd00:10:96::20", "default/lb-demo:web fd00:10:96::22", "default/nodeport-demo fd00:10:96::21", "default/v6-only fd00:10:96::30"]);
    // Objects from before dual-stack (clusterIP alone) are IPv4.
    expect(servicePorts(sampleCluster(), "node1", "IPv6")).toEqual([]);
  });

  it("takes each family's endpoints from that family's slices only, and its LoadBalancer addresses", () => {
    const dual = dualStackCluster();
    // The IPv6 slices change nothing in the IPv4 view: it is the single-stack cluster's, entry for entry.
    expect(servicePorts(dual, "node1", "IPv4")).toEqual(servicePorts(sampleCluster(), "node1"));
    const v6 = servicePorts(dual, "node1", "IPv6");
    const cluster = v6.find((p) => p.service === "cluster-demo")!;
    expect(cluster.endpoints.map((e) => `${e.ip} ${e.port} ${e.local}`)).toEqual(["fd00:10:244:1::2 8080 true", "fd00:10:244:2::2 8080 false", "fd00:10:244:2::3 8080 false"]);
    expect(v6.find((p) => p.service === "lb-demo")!.loadBalancerIPs).toEqual(["fd00:56::200"]);
    expect(servicePorts(dual, "node1", "IPv4").find((p) => p.service === "lb-demo")!.loadBalancerIPs).toEqual(["192.168.56.200"]);
    // An IPv6 slice of a SingleStack IPv4 Service gives it no IPv6 entry; an address of the other family inside a slice is skipped.
    dual.endpointSlices.push({ metadata: { name: "empty-v6", labels: { "kubernetes.io/service-name": "empty" } }, addressType: "IPv6", ports: [{ port: 80 }], endpoints: [{ addresses: ["fd00:10:244:1::7"], conditions: {} }] });
    dual.endpointSlices.push({ metadata: { name: "cluster-demo-odd", labels: { "kubernetes.io/service-name": "cluster-demo" } }, addressType: "IPv6", ports: [{ name: "http", port: 8080 }], endpoints: [{ addresses: ["10.244.1.9"], conditions: {} }] });
    expect(servicePorts(dual, "node1", "IPv6").map((p) => p.service)).not.toContain("empty");
    expect(servicePorts(dual, "node1", "IPv6").find((p) => p.service === "cluster-demo")!.endpoints).toHaveLength(3);
  });

  it("orders IPv6 endpoints by their numeric value, whatever their spelling or the slices' order", () => {
    const spellings = ["fd00:10:244:1::10", "fd00:10:244:1::9", "fd00:10:244:1:0:0:0:a", "fd00:10:244::ff", "fd00:10:244:1::9"];
    const state = (addrs: string[]): ClusterState => ({
      services: [{ metadata: { name: "s" }, spec: { clusterIPs: ["fd00:10:96::1"], ipFamilies: ["IPv6"], ports: [{ port: 80 }] } }],
      endpointSlices: addrs.map((a, i) => ({ metadata: { name: `s-${i}`, labels: { "kubernetes.io/service-name": "s" } }, addressType: "IPv6" as const, ports: [{ port: 8080 }], endpoints: [{ addresses: [a], conditions: {} }] })),
      pods: [],
      nodes: [],
    });
    const order = (addrs: string[]): string[] => servicePorts(state(addrs), "n", "IPv6")[0]!.endpoints.map((e) => e.ip);
    expect(order(spellings)).toEqual(["fd00:10:244::ff", "fd00:10:244:1::9", "fd00:10:244:1:0:0:0:a", "fd00:10:244:1::10"]);
    expect(order([...spellings].reverse())).toEqual(order(spellings));
  });

  it("reads addresses of either family as numbers", () => {
    expect(ipToInt("10.0.0.1")).toBe(0x0a000001n);
    expect(ipToInt("255.255.255.255")).toBe(0xffffffffn);
    expect(ipToInt("::1")).toBe(1n);
    expect(ipToInt("fd00::")).toBe(0xfd00n << 112n);
    expect(ipToInt("fd00:10:244:1::2")).toBe(0xfd000010024400010000000000000002n);
    expect(ipToInt("::ffff:10.0.0.1")).toBe(0xffff0a000001n);
    expect(ipToInt("1:2:3:4:5:6:7:8")).toBe(0x00010002000300040005000600070008n);
  });
});
