import { describe, expect, it } from "vitest";
import { MemorySubnetManager } from "./memory-subnet-manager.js";
import { NetworkConfigMissingError, parseNetworkConfig } from "./network-config.js";
import { NetworkFullError, type LeaseEvent } from "./subnet-manager.js";

const attrs = (i: number) => ({ publicIp: `192.168.56.${i}`, vtepMac: `02:00:00:00:00:0${i}`, vni: 1 });

describe("MemorySubnetManager", () => {
  it("behaves as the etcd one: distinct claims, reuse by IP and previous subnet, a full network", async () => {
    const mgr = new MemorySubnetManager(parseNetworkConfig({ Network: "10.246.0.0/22", SubnetLen: 24 }));
    const a = await mgr.acquireLease(attrs(1), { previousSubnet: "10.246.2.0/24" });
    expect(a.subnet).toBe("10.246.2.0/24");
    expect((await mgr.acquireLease({ ...attrs(1), vtepMac: "02:00:00:00:00:99" })).subnet).toBe(a.subnet);
    const b = await mgr.acquireLease(attrs(2));
    const c = await mgr.acquireLease(attrs(3));
    expect(new Set([a.subnet, b.subnet, c.subnet]).size).toBe(3);
    await expect(mgr.acquireLease(attrs(4))).rejects.toThrow(NetworkFullError);
    await expect(new MemorySubnetManager(undefined).getNetworkConfig()).rejects.toThrow(NetworkConfigMissingError);
  });

  it("watches with a snapshot first, then added and removed, and expires unrenewed leases", async () => {
    const mgr = new MemorySubnetManager(parseNetworkConfig({ Network: "10.244.0.0/16" }), 60);
    const first = await mgr.acquireLease(attrs(1));
    const events: LeaseEvent[] = [];
    const watch = mgr.watchLeases((e) => events.push(e));
    const second = await mgr.acquireLease(attrs(2));
    await mgr.releaseLease(second.subnet);
    mgr.expire(Date.now() + 61_000);
    watch.close();
    expect(events.map((e) => (e.type === "snapshot" ? `snapshot:${e.leases.length}` : `${e.type}:${e.lease.subnet}`))).toEqual([
      "snapshot:1",
      `added:${second.subnet}`,
      `removed:${second.subnet}`,
      `removed:${first.subnet}`,
    ]);
  });
});
