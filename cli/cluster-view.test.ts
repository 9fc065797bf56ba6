import { describe, expect, it } from "vitest";
import { findProblems, parsePodKey, podRows, sameIpv6, type ClusterView } from "./cluster-view.js";

const lease = (subnet: string, publicIp: string, ipv6?: string) => ({
  key: subnet.replace("/", "-"),
  value: "",
  etcdLeaseId: "7",
  modRevision: "1", createRevision: "1",
  lease: { ipv4: { subnet, publicIp, vtepMac: "02:00:00:00:00:01" }, backendType: "vxlan" as const, vni: 1, expiresAt: new Date(0), ...(ipv6 ? { ipv6: { subnet: ipv6, publicIp: "fd00:56::1", vtepMac: "02:00:00:00:01:01" } } : {}) },
  ttl: { remaining: 500, granted: 600 },
});
const record = (ip: string, name: string, ipv6?: unknown) => JSON.stringify({ containerId: `c-${name}`, ifname: "eth0", podName: name, podNamespace: "default", node: "192.168.56.11", allocatedAt: "x", ...(ipv6 !== undefined ? { ipv6 } : {}) });
const view = (pods: [string, string][], leases = [lease("10.246.1.0/24", "192.168.56.11", "fd00:10:246:1::/64"), lease("10.246.2.0/24", "192.168.56.12")]): ClusterView => ({
  leases,
  pods: pods.map(([key, value]) => parsePodKey(key, value)),
  badPods: [],
});

describe("a pod's record in etcd on a dual-stack node", () => {
  it("reads the pod's IPv6 address beside the IPv4 one its key names; a record without it still reads", () => {
    expect(parsePodKey("10.246.1.0-24/10.246.1.5", record("10.246.1.5", "web-0", "fd00:10:246:1::5"))).toMatchObject({ ip: "10.246.1.5", ipv6: "fd00:10:246:1::5", subnet: "10.246.1.0/24" });
    expect(parsePodKey("10.246.1.0-24/10.246.1.5", record("10.246.1.5", "web-0"))).not.toHaveProperty("ipv6");
  });

  it("is found by its node's IPv6 subnet, however it is spelled, as by its IPv4 subnet", () => {
    const v = view([["10.246.1.0-24/10.246.1.5", record("10.246.1.5", "web-0", "fd00:10:246:1::5")], ["10.246.2.0-24/10.246.2.5", record("10.246.2.5", "db-0")]]);
    expect(podRows(v, { subnet: "fd00:10:246:1:0::/64" }).map((p) => p.podName)).toEqual(["web-0"]);
    expect(podRows(v, { subnet: "10.246.2.0/24" }).map((p) => p.podName)).toEqual(["db-0"]);
    expect(podRows(v, { subnet: "fd00:10:246:2::/64" })).toEqual([]);
    expect(sameIpv6("FD00::5", "fd00:0::5")).toBe(true);
    expect(sameIpv6("10.246.1.5", "10.246.1.5")).toBe(false); // IPv4 is compared as it is
    expect(sameIpv6("fd00::5", "not an address")).toBe(false);
  });

  it("is checked against its node's IPv6 subnet: outside it, on a lease without one, not an address, or held twice", () => {
    const good: [string, string] = ["10.246.1.0-24/10.246.1.5", record("10.246.1.5", "web-0", "fd00:10:246:1::5")];
    expect(findProblems(view([good, ["10.246.2.0-24/10.246.2.5", record("10.246.2.5", "db-0")]]))).toEqual([]);
    expect(findProblems(view([good, ["10.246.1.0-24/10.246.1.6", record("10.246.1.6", "web-1", "fd00:10:246:9::6")]]))).toEqual(["pod record 10.246.1.6: IPv6 address fd00:10:246:9::6 is outside its node's IPv6 subnet fd00:10:246:1::/64"]);
    expect(findProblems(view([["10.246.2.0-24/10.246.2.5", record("10.246.2.5", "db-0", "fd00:10:246:2::5")]]))).toEqual(["pod record 10.246.2.5 has IPv6 address fd00:10:246:2::5, but its node's lease 10.246.2.0/24 has no IPv6 subnet"]);
    expect(findProblems(view([["10.246.1.0-24/10.246.1.6", record("10.246.1.6", "web-1", "fd00::zz")]]))).toEqual(['pod record 10.246.1.6 has IPv6 address "fd00::zz", which is not an IPv6 address']);
    expect(findProblems(view([["10.246.1.0-24/10.246.1.6", record("10.246.1.6", "web-1", 5)]]))).toEqual(["pod record 10.246.1.6 has IPv6 address 5, which is not an IPv6 address"]);
    expect(findProblems(view([good, ["10.246.1.0-24/10.246.1.6", record("10.246.1.6", "web-1", "FD00:10:246:1:0:0:0:5")]]))).toEqual(["duplicate pod IP fd00:10:246:1::5: held by default/web-0 on 192.168.56.11 and default/web-1 on 192.168.56.11"]);
    // A pod on a subnet without a lease is reported once, for its lease, not again for its IPv6 address.
    expect(findProblems(view([["10.246.9.0-24/10.246.9.5", record("10.246.9.5", "lost", "fd00:10:246:9::5")]]))).toEqual(["pod 10.246.9.5 (lost) is on subnet 10.246.9.0/24, which has no lease"]);
  });
});
