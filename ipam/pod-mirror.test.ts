import { describe, expect, it } from "vitest";
import { podRecord } from "./pod-mirror.js";

describe("a pod's record in etcd", () => {
  const a = { containerId: "c1", ifname: "eth0", ip: "10.246.1.5", prefixLen: 24, gateway: "10.246.1.1", podName: "web-0", podNamespace: "default", allocatedAt: "2026-12-04T00:00:00Z" };

  it("carries a dual-stack pod's IPv6 address; a pod without one is written as before", () => {
    expect(podRecord({ ...a, ipv6: "fd00:10:246:1::5" }, "192.168.56.11")).toEqual({ containerId: "c1", ifname: "eth0", podName: "web-0", podNamespace: "default", ipv6: "fd00:10:246:1::5", node: "192.168.56.11", allocatedAt: "2026-12-04T00:00:00Z" });
    expect(JSON.stringify(podRecord(a, "192.168.56.11"))).toBe('{"containerId":"c1","ifname":"eth0","node":"192.168.56.11","allocatedAt":"2026-12-04T00:00:00Z","podName":"web-0","podNamespace":"default"}');
  });
});
