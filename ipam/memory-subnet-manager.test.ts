import { describe, expect, it } from "vitest";
import { MemorySubnetManager } from "./memory-subnet-manager.js";
import { NetworkConfigMissingError, parseNetworkConfig } from "./network-config.js";
import { NetworkFullError, type LeaseEvent } from "./subnet-manager.js";

const attrs = (i: number) => ({ ipv4: { publicIp: `192.168.56.${i}`, vtepMac: `02:00:00:00:00:0${i}` }, vni: 1 });

describe("MemorySubnetManager", () => {
  it("behaves as the etcd one: distinct claims, reuse by IP and previous subnet, a full network", async () => {
    const mgr = new MemorySubnetManager(parseNetworkConfig({ Network: "10.246.0.0/22", SubnetLen: 24 }));
    const a = await mgr.acquireLease(attrs(1), { ipv4Subnet: "10.246.2.0/24" });
    expect(a.ipv4!.subnet).toBe("10.246.2.0/24");
    expect((await mgr.acquireLease({ ...attrs(1), ipv4: { ...attrs(1).ipv4, vtepMac: "02:00:00:00:00:99" } })).ipv4!.subnet).toBe(a.ipv4!.subnet);
    const b = await mgr.acquireLease(attrs(2));
    const c = await mgr.acquireLease(attrs(3));
    expect(new Set([a.ipv4!.subnet, b.ipv4!.subnet, c.ipv4!.subnet]).size).toBe(3);
    await expect(mgr.acquireLease(attrs(4))).rejects.toThrow(NetworkFullError);
    await expect(new MemorySubnetManager(undefined).getNetworkConfig()).rejects.toThrow(NetworkConfigMissingError);
  });

  it("watches with a snapshot first, then added and removed, and expires unrenewed leases", async () => {
    const mgr = new MemorySubnetManager(parseNetworkConfig({ Network: "10.244.0.0/16" }), 60);
    const first = await mgr.acquireLease(attrs(1));
    const events: LeaseEvent[] = [];
    const watch = mgr.watchLeases((e) => events.push(e));
    const second = await mgr.acquireLease(attrs(2));
    await mgr.releaseLease(second.ipv4!.subnet);
    mgr.expire(Date.now() + 61_000);
    watch.close();
    expect(events.map((e) => (e.type === "snapshot" ? `snapshot:${e.leases.length}` : `${e.type}:${e.lease.ipv4!.subnet}`))).toEqual([
      "snapshot:1",
      `added:${second.ipv4!.subnet}`,
      `removed:${second.ipv4!.subnet}`,
      `removed:${first.ipv4!.subnet}`,
    ]);
  });

  it("leases an IPv6-only network's subnets alone, finds a node's lease again by its IPv6 address, and refuses a node without one", async () => {
    const mgr = new MemorySubnetManager(parseNetworkConfig({ EnableIPv4: false, EnableIPv6: true, IPv6Network: "fd00:10:244::/62" }));
    const v6 = (i: number) => ({ ipv6: { publicIp: `fd00:56::${i}`, vtepMac: `02:00:00:00:01:0${i}` }, vni: 1 });
    const a = await mgr.acquireLease(v6(1), { ipv6Subnet: "fd00:10:244:2::/64" });
    expect(a).toMatchObject({ ipv6: { subnet: "fd00:10:244:2::/64", publicIp: "fd00:56::1" } });
    expect(a.ipv4).toBeUndefined();
    expect((await mgr.acquireLease(v6(1))).ipv6?.subnet).toBe("fd00:10:244:2::/64");
    const [b, c] = [await mgr.acquireLease(v6(2)), await mgr.acquireLease(v6(3))];
    expect(new Set([a, b, c].map((l) => l.ipv6?.subnet)).size).toBe(3);
    await expect(mgr.acquireLease(v6(4))).rejects.toThrow(NetworkFullError); // a /62 of /64s: 3 leasable
    await expect(mgr.acquireLease(attrs(5))).rejects.toThrow(/has IPv6 .* but this node has no IPv6 underlay address/);
    await mgr.releaseLease(b.ipv6!.subnet);
    expect((await mgr.listLeases()).map((l) => l.ipv6?.subnet).sort()).toEqual([a.ipv6?.subnet, c.ipv6?.subnet].sort());
  });
});
