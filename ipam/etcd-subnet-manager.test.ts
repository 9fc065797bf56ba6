// Subnet leases against a real etcd.
import { rmSync } from "node:fs";
import { Etcd3 } from "etcd3";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startEtcd, type EtcdServer } from "../test/helpers/etcd.js";
import { createEtcdClient } from "./etcd-client.js";
import { EtcdSubnetManager } from "./etcd-subnet-manager.js";
import { NetworkConfigMissingError } from "./network-config.js";
import { NetworkFullError, type LeaseEvent } from "./subnet-manager.js";

let etcd: EtcdServer;
let client: Etcd3;
let prefixN = 0;
let prefix: string;

beforeAll(async () => {
  etcd = await startEtcd();
  client = createEtcdClient({ endpoints: [etcd.endpoint] });
});
afterAll(async () => {
  client?.close();
  await etcd?.stop();
});
beforeEach(() => {
  prefix = `/test${++prefixN}/network`;
});

const putConfig = (cfg: object) => client.put(`${prefix}/config`).value(JSON.stringify(cfg));
const attrs = (i: number) => ({ ipv4: { publicIp: `192.168.56.${i}`, vtepMac: `0a:00:00:00:00:${i.toString(16).padStart(2, "0")}` }, vni: 1 });

async function until<T>(fn: () => T | undefined, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("EtcdSubnetManager", () => {
  it("says where to put the config when it is missing", async () => {
    const mgr = new EtcdSubnetManager(client, { prefix });
    await expect(mgr.getNetworkConfig()).rejects.toThrow(NetworkConfigMissingError);
    await expect(mgr.getNetworkConfig()).rejects.toThrow(`${prefix}/config is not set`);
  });

  it("seeds the network config only when none is there", async () => {
    const mgr = new EtcdSubnetManager(client, { prefix });
    const { parseNetworkConfig } = await import("./network-config.js");
    expect(await mgr.putConfigIfAbsent(parseNetworkConfig({ Network: "10.200.0.0/16" }))).toBe(true);
    expect(await mgr.putConfigIfAbsent(parseNetworkConfig({ Network: "10.201.0.0/16" }))).toBe(false);
    expect((await mgr.getNetworkConfig()).network).toBe("10.200.0.0/16");
  });

  it("gives 50 concurrent nodes 50 distinct subnets, stored in flannel's format", async () => {
    await putConfig({ Network: "10.244.0.0/16", SubnetLen: 24, SubnetMax: "10.244.60.0" });
    const leases = await Promise.all(Array.from({ length: 50 }, (_, i) => new EtcdSubnetManager(client, { prefix }).acquireLease(attrs(i + 10))));
    expect(new Set(leases.map((l) => l.ipv4!.subnet)).size).toBe(50);
    const stored = await client.getAll().prefix(`${prefix}/subnets/`).strings();
    expect(Object.keys(stored)).toHaveLength(50);
    const [key, value] = Object.entries(stored)[0] as [string, string];
    expect(key).toMatch(new RegExp(`^${prefix}/subnets/10\\.244\\.\\d+\\.0-24$`));
    expect(JSON.parse(value)).toEqual({ PublicIP: expect.stringMatching(/^192\.168\.56\./), BackendType: "vxlan", BackendData: { VNI: 1, VtepMAC: expect.stringMatching(/^0a:/) } });
  }, 30_000);

  it("never gives two concurrent dual-stack nodes one subnet of either family (their keys differ, so the claim alone cannot tell)", async () => {
    // 3 IPv6 subnets and 3 IPv4 ones for 3 nodes at once: random picks collide in most rounds.
    await putConfig({ Network: "10.250.0.0/28", SubnetLen: 30, EnableIPv6: true, IPv6Network: "fd00:10:250::/62", IPv6SubnetLen: 64 });
    const dual = (i: number) => ({ ...attrs(i), ipv6: { publicIp: `fd00:56::${i}`, vtepMac: `0a:00:00:00:01:${i.toString(16).padStart(2, "0")}` } });
    for (let round = 0; round < 5; round++) {
      await client.delete().prefix(`${prefix}/subnets/`);
      const leases = await Promise.all([1, 2, 3].map((i) => new EtcdSubnetManager(client, { prefix }).acquireLease(dual(round * 10 + i))));
      expect(new Set(leases.map((l) => l.ipv6!.subnet)).size).toBe(3);
      expect(new Set(leases.map((l) => l.ipv4!.subnet)).size).toBe(3);
      expect(Object.keys(await client.getAll().prefix(`${prefix}/subnets/`).strings())).toHaveLength(3);
    }
  }, 30_000);

  it("leases a dual-stack network's two subnets in one key as flannel writes it, keeps both on reuse, and turns a node's IPv4 lease dual-stack in place", async () => {
    await putConfig({ Network: "10.248.0.0/16", EnableIPv6: true, IPv6Network: "fd00:10:248::/56" });
    const dual = (i: number) => ({ ...attrs(i), ipv6: { publicIp: `fd00:56::${i}`, vtepMac: `0a:00:00:00:01:${i.toString(16).padStart(2, "0")}` } });
    const leases = await Promise.all([1, 2, 3, 4, 5].map((i) => new EtcdSubnetManager(client, { prefix }).acquireLease(dual(i))));
    expect(new Set(leases.map((l) => l.ipv6?.subnet)).size).toBe(5);
    for (const l of leases) expect(l.ipv6?.subnet).toMatch(/^fd00:10:248:[0-9a-f]{1,2}::\/64$/);
    const stored = await client.getAll().prefix(`${prefix}/subnets/`).strings();
    const key = `${prefix}/subnets/${leases[0]!.ipv4!.subnet.replace("/", "-")}&${leases[0]!.ipv6!.subnet.replace("/", "-")}`;
    expect(JSON.parse(stored[key] ?? "{}")).toEqual({ PublicIP: "192.168.56.1", PublicIPv6: "fd00:56::1", BackendType: "vxlan", BackendData: { VNI: 1, VtepMAC: "0a:00:00:00:00:01" }, BackendV6Data: { VNI: 1, VtepMAC: "0a:00:00:00:01:01" } });
    const again = await new EtcdSubnetManager(client, { prefix }).acquireLease(dual(1));
    expect(again).toMatchObject({ ipv4: { subnet: leases[0]!.ipv4!.subnet }, ipv6: leases[0]!.ipv6 });
    expect((await new EtcdSubnetManager(client, { prefix }).listLeases()).map((l) => l.ipv6?.subnet).sort()).toEqual(leases.map((l) => l.ipv6?.subnet).sort());
    // A node without an IPv6 address cannot join: said, not half-leased.
    await expect(new EtcdSubnetManager(client, { prefix }).acquireLease(attrs(9))).rejects.toThrow(/has IPv6 \(EnableIPv6, fd00:10:248::\/56\) but this node has no IPv6 underlay address/);
    // An IPv4 network made dual-stack: the node keeps its IPv4 subnet, its key gains the IPv6 one.
    await putConfig({ Network: "10.249.0.0/16" });
    const v4 = await new EtcdSubnetManager(client, { prefix }).acquireLease(attrs(20));
    await putConfig({ Network: "10.249.0.0/16", EnableIPv6: true, IPv6Network: "fd00:10:249::/56" });
    const upgraded = await new EtcdSubnetManager(client, { prefix }).acquireLease(dual(20));
    expect(upgraded.ipv4!.subnet).toBe(v4.ipv4!.subnet);
    const keys = Object.keys(await client.getAll().prefix(`${prefix}/subnets/${v4.ipv4!.subnet.replace("/", "-")}`).strings());
    expect(keys).toEqual([`${prefix}/subnets/${v4.ipv4!.subnet.replace("/", "-")}&${upgraded.ipv6!.subnet.replace("/", "-")}`]);
    // Released by either of its subnets.
    await new EtcdSubnetManager(client, { prefix }).releaseLease(upgraded.ipv6!.subnet);
    expect(await client.getAll().prefix(`${prefix}/subnets/${v4.ipv4!.subnet.replace("/", "-")}`).keys()).toEqual([]);
  });

  it("reuses the node's lease by public IP, and the previous subnet when it is free", async () => {
    await putConfig({ Network: "10.245.0.0/16" });
    const mgr = new EtcdSubnetManager(client, { prefix });
    const first = await mgr.acquireLease(attrs(1));
    const again = await new EtcdSubnetManager(client, { prefix }).acquireLease({ ...attrs(1), ipv4: { ...attrs(1).ipv4, vtepMac: "0a:00:00:00:00:99" } });
    expect(again.ipv4!.subnet).toBe(first.ipv4!.subnet);
    expect(JSON.parse((await client.get(`${prefix}/subnets/${first.ipv4!.subnet.replace("/", "-")}`).string()) ?? "{}").BackendData.VtepMAC).toBe("0a:00:00:00:00:99");
    const prev = await new EtcdSubnetManager(client, { prefix }).acquireLease(attrs(2), { ipv4Subnet: "10.245.77.0/24" });
    expect(prev.ipv4!.subnet).toBe("10.245.77.0/24");
  });

  it("keeps a node's subnet when its public IP changed and its lease still names the old IP; never takes another node's", async () => {
    await putConfig({ Network: "10.247.0.0/16" });
    const a = await new EtcdSubnetManager(client, { prefix }).acquireLease(attrs(11));
    const b = await new EtcdSubnetManager(client, { prefix }).acquireLease(attrs(12));
    // Node a comes back as .21: its lease (still naming .11) is updated in place.
    const moved = await new EtcdSubnetManager(client, { prefix }).acquireLease(attrs(21), { ipv4Subnet: a.ipv4!.subnet, publicIp: "192.168.56.11" });
    expect(moved.ipv4!.subnet).toBe(a.ipv4!.subnet);
    expect(JSON.parse((await client.get(`${prefix}/subnets/${a.ipv4!.subnet.replace("/", "-")}`).string()) ?? "{}").PublicIP).toBe("192.168.56.21");
    // A node claiming b's subnet with a previous IP that is not b's gets another subnet; b's lease is untouched.
    const other = await new EtcdSubnetManager(client, { prefix }).acquireLease(attrs(31), { ipv4Subnet: b.ipv4!.subnet, publicIp: "192.168.56.99" });
    expect(other.ipv4!.subnet).not.toBe(b.ipv4!.subnet);
    expect(JSON.parse((await client.get(`${prefix}/subnets/${b.ipv4!.subnet.replace("/", "-")}`).string()) ?? "{}").PublicIP).toBe("192.168.56.12");
  });

  it("says how many subnets exist when the network is full", async () => {
    await putConfig({ Network: "10.246.0.0/22", SubnetLen: 24 }); // SubnetMin .1.0 → 3 leasable subnets
    const mgr = new EtcdSubnetManager(client, { prefix });
    for (let i = 1; i <= 3; i++) await mgr.acquireLease(attrs(i));
    await expect(mgr.acquireLease(attrs(4))).rejects.toThrow(NetworkFullError);
    await expect(mgr.acquireLease(attrs(4))).rejects.toThrow(/all 3 \/24 subnets are leased/);
  });

  it("watches: a snapshot, then added and removed (with the removed lease's data) events; expiry is a removal", async () => {
    await putConfig({ Network: "10.247.0.0/16" });
    const mgr = new EtcdSubnetManager(client, { prefix, leaseTtlSeconds: 2 });
    const pre = await mgr.acquireLease(attrs(1));
    const events: LeaseEvent[] = [];
    const watch = mgr.watchLeases((e) => events.push(e));
    try {
      const snap = await until(() => events.find((e) => e.type === "snapshot"));
      expect(snap).toMatchObject({ type: "snapshot", leases: [expect.objectContaining({ ipv4: expect.objectContaining({ subnet: pre.ipv4!.subnet, publicIp: "192.168.56.1" }) })] });
      const other = new EtcdSubnetManager(client, { prefix, leaseTtlSeconds: 2 });
      const added = await other.acquireLease(attrs(2));
      expect(await until(() => events.find((e) => e.type === "added"))).toMatchObject({ lease: { ipv4: { subnet: added.ipv4!.subnet, vtepMac: "0a:00:00:00:00:02" } } });
      await other.releaseLease(added.ipv4!.subnet);
      expect(await until(() => events.find((e) => e.type === "removed"))).toMatchObject({ lease: { ipv4: { subnet: added.ipv4!.subnet, publicIp: "192.168.56.2" } } });
      // nobody renews `pre`: its etcd lease expires and the watch reports it removed
      const expired = await until(() => events.find((e) => e.type === "removed" && e.lease.ipv4!.subnet === pre.ipv4!.subnet), 8000);
      expect(expired).toMatchObject({ lease: { ipv4: { publicIp: "192.168.56.1", vtepMac: "0a:00:00:00:00:01" } } });
    } finally {
      watch.close();
    }
  }, 15_000);

  it("starts over with a fresh snapshot when cut off, so consumers end with etcd's leases whatever they missed (history compacted meanwhile)", async () => {
    await putConfig({ Network: "10.250.0.0/16" });
    const mgr = new EtcdSubnetManager(client, { prefix });
    await mgr.acquireLease(attrs(1));
    const events: LeaseEvent[] = [];
    const errors: Error[] = [];
    const watcher = createEtcdClient({ endpoints: [etcd.endpoint], timeoutMs: 1000 });
    const watch = new EtcdSubnetManager(watcher, { prefix }).watchLeases((e) => events.push(e), (e) => errors.push(e));
    try {
      await until(() => events.find((e) => e.type === "snapshot"));
      await etcd.kill(); // the watch is cut off…
      await etcd.restart();
      // …and misses a lease that comes and goes, plus one that stays; then history is compacted away.
      const other = new EtcdSubnetManager(client, { prefix });
      const gone = await other.acquireLease(attrs(2));
      await other.releaseLease(gone.ipv4!.subnet);
      const stays = await other.acquireLease(attrs(3));
      const rev = (await client.get(`${prefix}/config`).exec()).header.revision;
      await client.kv.compact({ revision: rev, physical: true });
      // What a consumer holds after applying every event in order: a snapshot replaces its view.
      const view = (): string[] => {
        const held = new Map<string, string>();
        for (const e of events) {
          if (e.type === "snapshot") {
            held.clear();
            for (const l of e.leases) held.set(l.ipv4!.subnet, l.ipv4!.publicIp);
          } else if (e.type === "added") held.set(e.lease.ipv4!.subnet, e.lease.ipv4!.publicIp);
          else held.delete(e.lease.ipv4!.subnet);
        }
        return [...held.values()].sort();
      };
      const settled = await until(() => (view().join() === "192.168.56.1,192.168.56.3" ? view() : undefined), 15_000).catch(() => view());
      expect(settled).toEqual(["192.168.56.1", "192.168.56.3"]);
      expect(events.filter((e) => e.type === "snapshot").length).toBeGreaterThanOrEqual(2); // it started over after the cut
      expect(events.some((e) => e.type === "snapshot" && e.leases.some((l) => l.ipv4!.subnet === stays.ipv4!.subnet)) || events.some((e) => e.type === "added" && e.lease.ipv4!.subnet === stays.ipv4!.subnet)).toBe(true);
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      watch.close();
      watcher.close();
    }
  }, 30_000);

  it("starts over when etcd comes back empty between the watch's snapshot and its stream (its revision went back)", async () => {
    const own = await startEtcd();
    const c = createEtcdClient({ endpoints: [own.endpoint], timeoutMs: 1000 });
    const p = "/reset/network";
    const retrying = async <T>(fn: () => Promise<T>): Promise<T> => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await fn();
        } catch (err) {
          if (attempt >= 50) throw err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    };
    try {
      await c.put(`${p}/config`).value(JSON.stringify({ Network: "10.240.0.0/16" }));
      const mgr = new EtcdSubnetManager(c, { prefix: p });
      await mgr.acquireLease(attrs(1));
      for (let i = 0; i < 20; i++) await c.put("/reset/filler").value(String(i)); // a revision well above a new etcd's
      // etcd loses its data after the snapshot is read and before the watch's stream is opened.
      const listRaw = mgr.listRaw.bind(mgr);
      let wiped = false;
      mgr.listRaw = async () => {
        const r = await listRaw();
        if (!wiped) {
          wiped = true;
          await own.kill();
          rmSync(own.dataDir, { recursive: true, force: true });
          await own.restart();
        }
        return r;
      };
      const events: LeaseEvent[] = [];
      const errors: Error[] = [];
      const watch = mgr.watchLeases((e) => events.push(e), (e) => errors.push(e));
      try {
        await until(() => events.find((e) => e.type === "snapshot"));
        // The new etcd: the config put back and a node claiming a subnet; the watch must see it.
        await retrying(() => c.put(`${p}/config`).value(JSON.stringify({ Network: "10.240.0.0/16" })).exec());
        const fresh = await retrying(() => new EtcdSubnetManager(c, { prefix: p }).acquireLease(attrs(2)));
        const seen = (e: LeaseEvent): boolean => (e.type === "added" && e.lease.ipv4!.subnet === fresh.ipv4!.subnet) || (e.type === "snapshot" && e.leases.some((l) => l.ipv4!.subnet === fresh.ipv4!.subnet));
        await until(() => events.find(seen), 10_000);
        expect(errors.map((e) => e.message).join("\n")).toMatch(/revision went back from \d+ to \d+/);
        // The lease may come in the new snapshot, before the stream that follows it is open: live soon after.
        expect(await until(() => (watch.live() ? true : undefined), 5_000)).toBe(true);
      } finally {
        watch.close();
      }
    } finally {
      c.close();
      await own.stop();
    }
  }, 40_000);

  it("renews, and re-creates the same subnet when its key vanished", async () => {
    await putConfig({ Network: "10.248.0.0/16" });
    const mgr = new EtcdSubnetManager(client, { prefix, leaseTtlSeconds: 30 });
    const lease = await mgr.acquireLease(attrs(5));
    const renewed = await mgr.renewLease(lease);
    expect(renewed.expiresAt.getTime()).toBeGreaterThan(Date.now() + 25_000);
    await client.delete().key(`${prefix}/subnets/${lease.ipv4!.subnet.replace("/", "-")}`);
    const back = await mgr.renewLease(lease);
    expect(back.ipv4!.subnet).toBe(lease.ipv4!.subnet);
    expect(await client.get(`${prefix}/subnets/${lease.ipv4!.subnet.replace("/", "-")}`).string()).toContain("192.168.56.5");
    const listed = await mgr.listLeases();
    expect(listed).toEqual([expect.objectContaining({ ipv4: expect.objectContaining({ subnet: lease.ipv4!.subnet, publicIp: "192.168.56.5" }) })]);
    expect(listed[0]!.expiresAt.getTime()).toBeGreaterThan(Date.now() + 20_000);
  });

  it("fails cleanly while etcd is down and succeeds after it restarts", async () => {
    await putConfig({ Network: "10.249.0.0/16" });
    await etcd.kill();
    const down = createEtcdClient({ endpoints: [etcd.endpoint], timeoutMs: 1000 });
    try {
      await expect(new EtcdSubnetManager(down, { prefix }).acquireLease(attrs(9))).rejects.toThrow();
      await etcd.restart();
      // The client skips an endpoint that failed three times in a row for 1 s (its circuit breaker):
      // an etcd back sooner than that is tried once the second is over.
      await new Promise((r) => setTimeout(r, 1_100));
      const lease = await new EtcdSubnetManager(down, { prefix }).acquireLease(attrs(9));
      expect(lease.ipv4!.subnet).toMatch(/^10\.249\./);
    } finally {
      down.close();
    }
  }, 30_000);
});
