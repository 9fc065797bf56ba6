import { describe, expect, it } from "vitest";
import { podRecord, podRecordsKey } from "./pod-mirror.js";

describe("a pod's record in etcd", () => {
  const a = { containerId: "c1", ifname: "eth0", ipv4: "10.246.1.5", podName: "web-0", podNamespace: "default", allocatedAt: "2026-12-04T00:00:00Z" };

  it("carries a dual-stack pod's IPv6 address; a pod without one is written as before", () => {
    expect(podRecord({ ...a, ipv6: "fd00:10:246:1::5" }, "192.168.56.11")).toEqual({ containerId: "c1", ifname: "eth0", podName: "web-0", podNamespace: "default", ipv6: "fd00:10:246:1::5", node: "192.168.56.11", allocatedAt: "2026-12-04T00:00:00Z" });
    expect(JSON.stringify(podRecord(a, "192.168.56.11"))).toBe('{"containerId":"c1","ifname":"eth0","node":"192.168.56.11","allocatedAt":"2026-12-04T00:00:00Z","podName":"web-0","podNamespace":"default"}');
  });

  it("keys an IPv6-only pod by its IPv6 address under its lease's IPv6-only key, its record without an ipv6 field", () => {
    const only6 = { containerId: "c1", ifname: "eth0", ipv6: "fd00:10:246:1::5", allocatedAt: "x" };
    expect(podRecord(only6, "fd00:56::b")).toEqual({ containerId: "c1", ifname: "eth0", node: "fd00:56::b", allocatedAt: "x" });
    expect(podRecordsKey({ ipv6: { subnet: "fd00:10:246:1::/64", publicIp: "fd00:56::b", vtepMac: "02:00:00:00:00:01" } })).toBe("0.0.0.0-0&fd00:10:246:1::-64");
    expect(podRecordsKey({ ipv4: { subnet: "10.246.1.0/24", publicIp: "192.168.56.11", vtepMac: "02:00:00:00:00:01" }, ipv6: { subnet: "fd00:10:246:1::/64", publicIp: "fd00:56::b", vtepMac: "02:00:00:00:00:01" } })).toBe("10.246.1.0-24");
  });
});
