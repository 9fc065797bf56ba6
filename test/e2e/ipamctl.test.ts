// ipamctl against a real etcd, through the built binary; pod records as weftd mirrors them.
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import type { Etcd3 } from "etcd3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEtcdClient } from "../../ipam/etcd-client.js";
import { EtcdSubnetManager } from "../../ipam/etcd-subnet-manager.js";
import type { RecordedPod } from "../../ipam/pod-ip-store.js";
import { syncPodRecords } from "../../ipam/pod-mirror.js";
import { startEtcd, type EtcdServer } from "../helpers/etcd.js";

const IPAMCTL = resolve(import.meta.dirname, "../../dist/bin/ipamctl");
let etcd: EtcdServer;
let client: Etcd3;
const prefix = "/ipamctl-test/network";

function ipamctlAt(etcdPrefix: string, ...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(IPAMCTL, ["--etcd-endpoints", etcd.endpoint, "--etcd-prefix", etcdPrefix, "--timeout", "2", ...args], { encoding: "utf8", env: { PATH: process.env.PATH } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}
const ipamctl = (...args: string[]) => ipamctlAt(prefix, ...args);

beforeAll(async () => {
  etcd = await startEtcd();
  client = createEtcdClient({ endpoints: [etcd.endpoint] });
  await client.put(`${prefix}/config`).value(JSON.stringify({ Network: "10.244.0.0/16", SubnetLen: 24 }));
  const mgr = new EtcdSubnetManager(client, { prefix, leaseTtlSeconds: 600 });
  await mgr.acquireLease({ ipv4: { publicIp: "192.168.56.11", vtepMac: "02:01:c0:a8:38:0b" }, vni: 1 }, { ipv4Subnet: "10.244.1.0/24" });
  await mgr.acquireLease({ ipv4: { publicIp: "192.168.56.12", vtepMac: "02:01:c0:a8:38:0c" }, vni: 1 }, { ipv4Subnet: "10.244.2.0/24" });
  const rec = (node: string, name: string) => JSON.stringify({ containerId: `c-${name}`, ifname: "eth0", podName: name, podNamespace: "default", node, allocatedAt: "2026-11-24T00:00:00Z" });
  await client.put(`${prefix}/pods/10.244.1.0-24/10.244.1.2`).value(rec("192.168.56.11", "web-0"));
  await client.put(`${prefix}/pods/10.244.1.0-24/10.244.1.3`).value(rec("192.168.56.11", "web-1"));
  await client.put(`${prefix}/pods/10.244.2.0-24/10.244.2.2`).value(rec("192.168.56.12", "db-0"));
}, 30_000);

afterAll(async () => {
  client?.close();
  await etcd?.stop();
});

describe("ipamctl", () => {
  it("lists leases sorted by subnet, as a table and as JSON", () => {
    const t = ipamctl("leases");
    expect(t.code).toBe(0);
    const lines = t.out.trim().split("\n");
    expect(lines[0]).toMatch(/^SUBNET\s+PUBLIC IP\s+VTEP MAC\s+EXPIRES IN\s+PODS$/);
    expect(lines[1]).toMatch(/^10\.244\.1\.0\/24\s+192\.168\.56\.11\s+02:01:c0:a8:38:0b\s+\d+m\d+s\s+2$/);
    expect(lines[2]).toMatch(/^10\.244\.2\.0\/24\s+192\.168\.56\.12\s+.*\s+1$/);
    const j = JSON.parse(ipamctl("leases", "-o", "json").out) as { subnet: string; pods: number; expiresInS: number }[];
    expect(j.map((l) => [l.subnet, l.pods])).toEqual([["10.244.1.0/24", 2], ["10.244.2.0/24", 1]]);
    expect(j[0]!.expiresInS).toBeGreaterThan(500);
  });

  it("takes the etcd settings from WEFT_ETCD_* and ignores other WEFT_* variables of the shell", () => {
    const r = spawnSync(IPAMCTL, ["leases", "-o", "json", "--timeout", "2"], { encoding: "utf8", env: { PATH: process.env.PATH, WEFT_ETCD_ENDPOINTS: etcd.endpoint, WEFT_ETCD_PREFIX: prefix, WEFT_CACHE_DIR: "/nonexistent", WEFT_LAB_STATE_DIR: "/x" } });
    expect(r.stderr).toBe("");
    expect((JSON.parse(r.stdout) as unknown[]).length).toBe(2);
  });

  it("filters pods by node and by subnet, and sums usage", () => {
    expect((JSON.parse(ipamctl("pods", "--node", "192.168.56.12", "-o", "json").out) as { podName: string }[]).map((p) => p.podName)).toEqual(["db-0"]);
    expect((JSON.parse(ipamctl("pods", "--subnet", "10.244.1.0/24", "-o", "json").out) as unknown[]).length).toBe(2);
    const u = JSON.parse(ipamctl("usage", "-o", "json").out) as { total: { used: number; free: number }; subnetsLeft: number };
    expect(u.total).toEqual({ used: 3, free: 2 * 253 - 3 });
    expect(u.subnetsLeft).toBe(255 - 2);
  });

  it("check finds each kind of problem and exits 1", async () => {
    expect(ipamctl("check")).toMatchObject({ code: 0, out: "no problems found\n" });
    await client.put(`${prefix}/pods/10.244.2.0-24/10.244.1.2`).value(JSON.stringify({ containerId: "dup", ifname: "eth0", node: "192.168.56.12", allocatedAt: "x" }));
    await client.put(`${prefix}/pods/10.244.9.0-24/10.244.9.5`).value(JSON.stringify({ containerId: "orphan", ifname: "eth0", node: "192.168.56.19", allocatedAt: "x" }));
    await client.put(`${prefix}/subnets/10.244.3.0-24`).value("{not json");
    await client.put(`${prefix}/subnets/10.99.0.0-24`).value(JSON.stringify({ PublicIP: "192.168.56.30", BackendType: "vxlan", BackendData: { VNI: 1, VtepMAC: "02:00:00:00:00:30" } }));
    const r = ipamctl("check");
    expect(r.code).toBe(1);
    expect(r.out).toContain("duplicate pod IP 10.244.1.2");
    expect(r.out).toContain("pod record 10.244.1.2 is outside its node's subnet 10.244.2.0/24");
    expect(r.out).toContain("pod 10.244.9.5 (orphan) is on subnet 10.244.9.0/24, which has no lease");
    expect(r.out).toContain("malformed lease 10.244.3.0-24");
    expect(r.out).toContain("lease 10.99.0.0/24 (node 192.168.56.30) is outside the network 10.244.0.0/16");
    expect(r.out).toContain("lease 10.99.0.0/24 (node 192.168.56.30) is not attached to an etcd lease");
    for (const k of ["pods/10.244.2.0-24/10.244.1.2", "pods/10.244.9.0-24/10.244.9.5", "subnets/10.244.3.0-24", "subnets/10.99.0.0-24"]) await client.delete().key(`${prefix}/${k}`);
    expect(ipamctl("check").code).toBe(0);
  });

  it("release asks for --yes and refuses a live lease without --force", async () => {
    expect(ipamctl("release", "--subnet", "10.244.2.0/24")).toMatchObject({ code: 1, err: expect.stringContaining("add --yes") });
    const refused = ipamctl("release", "--subnet", "10.244.2.0/24", "--yes");
    expect(refused).toMatchObject({ code: 1, err: expect.stringContaining("is live") });
    expect(await client.get(`${prefix}/subnets/10.244.2.0-24`).string()).not.toBeNull();
    expect(ipamctl("release", "--subnet", "10.244.2.0/24", "--yes", "--force").code).toBe(0);
    expect(await client.get(`${prefix}/subnets/10.244.2.0-24`).string()).toBeNull();
    expect(ipamctl("release", "--ip", "10.244.2.2", "--yes").code).toBe(0);
    expect(await client.get(`${prefix}/pods/10.244.2.0-24/10.244.2.2`).string()).toBeNull();
  });

  it("config get and set validate, and refuse to orphan leases", () => {
    expect(JSON.parse(ipamctl("config", "get").out)).toEqual({ Network: "10.244.0.0/16", SubnetLen: 24 });
    const bad = spawnSync(IPAMCTL, ["--etcd-endpoints", etcd.endpoint, "--etcd-prefix", prefix, "config", "set", "-"], { input: '{"Network":"10.244.0.1/16"}', encoding: "utf8" });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("has host bits set");
    const orphaning = spawnSync(IPAMCTL, ["--etcd-endpoints", etcd.endpoint, "--etcd-prefix", prefix, "config", "set", "-"], { input: '{"Network":"10.250.0.0/16"}', encoding: "utf8" });
    expect(orphaning.status).toBe(1);
    expect(orphaning.stderr).toContain("would orphan 1 lease(s): 10.244.1.0/24");
  });

  it("exits 2 with one line naming the endpoints when etcd is unreachable, and 1 on bad flags", () => {
    const r = spawnSync(IPAMCTL, ["--etcd-endpoints", "http://127.0.0.1:1", "--timeout", "1", "leases"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("etcd at http://127.0.0.1:1 did not answer within 1 s");
    const flags = spawnSync(IPAMCTL, ["leases", "--bogus"], { encoding: "utf8" });
    expect(flags.status).toBe(1);
    expect(flags.stderr).toContain("Unknown argument: bogus");
  });
});

describe("ipamctl on a dual-stack network", () => {
  const dualPrefix = "/ipamctl-dual/network";
  const run = (...args: string[]) => ipamctlAt(dualPrefix, ...args);
  const v4 = ["10.246.1.0/24", "10.246.2.0/24"];

  beforeAll(async () => {
    await client.put(`${dualPrefix}/config`).value(JSON.stringify({ Network: "10.246.0.0/16", EnableIPv6: true, IPv6Network: "fd00:10:246::/56" }));
    const mgr = new EtcdSubnetManager(client, { prefix: dualPrefix, leaseTtlSeconds: 600 });
    for (const [i, subnet] of v4.entries()) await mgr.acquireLease({ ipv4: { publicIp: `192.168.56.${21 + i}`, vtepMac: `02:01:c0:a8:38:${(21 + i).toString(16)}` }, vni: 1, ipv6: { publicIp: `fd00:56::${21 + i}`, vtepMac: `02:02:00:00:00:${(21 + i).toString(16)}` } }, { ipv4Subnet: subnet, ipv6Subnet: `fd00:10:246:${i + 1}::/64` });
  }, 30_000);

  it("sets an IPv6-only config, and refuses one that would orphan a lease's IPv6 part unless forced", () => {
    const set = (etcdPrefix: string, cfg: object, ...flags: string[]) => spawnSync(IPAMCTL, ["--etcd-endpoints", etcd.endpoint, "--etcd-prefix", etcdPrefix, "--timeout", "2", "config", "set", "-", ...flags], { encoding: "utf8", input: JSON.stringify(cfg), env: { PATH: process.env.PATH } });
    const only6 = set("/ipamctl-dual-set/network", { EnableIPv4: false, EnableIPv6: true, IPv6Network: "fd00:10:246::/56" });
    expect(only6.stdout).toContain("config set: IPv6 network fd00:10:246::/56, /64 subnets, backend vxlan (VNI 1, port 8472)");
    expect(only6.status).toBe(0);
    // This prefix's leases have IPv6 subnets in fd00:10:246::/56: another IPv6 network would orphan them.
    const moved = set(dualPrefix, { Network: "10.246.0.0/16", EnableIPv6: true, IPv6Network: "fd00:10:247::/56" });
    expect(moved.status).toBe(1);
    expect(moved.stderr).toMatch(/would orphan 2 lease\(s\): 10\.246\.1\.0\/24, 10\.246\.2\.0\/24/);
  });

  it("mirrors a dual-stack pod's IPv6 address with its record: pods shows both, check checks it against its node's IPv6 subnet", async () => {
    const node = "192.168.56.21";
    const pod = (name: string, n: number): RecordedPod => ({ containerId: `c-${name}`, ifname: "eth0", ipv4: `10.246.1.${n}`, ipv6: `fd00:10:246:1::${n}`, podName: name, podNamespace: "default", allocatedAt: "2026-12-04T00:00:00Z" });
    const mirror = (allocations: RecordedPod[]) => syncPodRecords(client, { prefix: dualPrefix, lease: { ipv4: { subnet: v4[0]!, publicIp: node, vtepMac: "" } }, nodeIp: node, allocations });
    expect(await mirror([pod("web-0", 5), pod("web-1", 6)])).toEqual({ put: 2, deleted: 0 });
    expect(await mirror([pod("web-0", 5), pod("web-1", 6)])).toEqual({ put: 0, deleted: 0 });
    // A record from before records carried an IPv6 address still reads.
    await client.put(`${dualPrefix}/pods/10.246.2.0-24/10.246.2.7`).value(JSON.stringify({ containerId: "c-old", ifname: "eth0", podName: "old-0", podNamespace: "default", node: "192.168.56.22", allocatedAt: "2026-11-24T00:00:00Z" }));
    const lines = run("pods").out.trim().split("\n");
    expect(lines[0]).toMatch(/^IP\s+IPV6\s+NODE\s+SUBNET\s+POD\s+CONTAINER\s+IFNAME\s+SINCE$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 5))).toEqual([
      ["10.246.1.5", "fd00:10:246:1::5", node, "10.246.1.0/24", "default/web-0"],
      ["10.246.1.6", "fd00:10:246:1::6", node, "10.246.1.0/24", "default/web-1"],
      ["10.246.2.7", "-", "192.168.56.22", "10.246.2.0/24", "default/old-0"],
    ]);
    const json = JSON.parse(run("pods", "-o", "json").out) as { ip: string; ipv6?: string }[];
    expect(json.map((p) => [p.ip, p.ipv6])).toEqual([["10.246.1.5", "fd00:10:246:1::5"], ["10.246.1.6", "fd00:10:246:1::6"], ["10.246.2.7", undefined]]);
    expect((JSON.parse(run("pods", "--subnet", "fd00:10:246:1::/64", "-o", "json").out) as unknown[]).length).toBe(2);
    expect(run("check")).toMatchObject({ code: 0, out: "no problems found\n" });
    // A record whose IPv6 address is not in its node's IPv6 subnet (a restore from another cluster, say).
    await client.put(`${dualPrefix}/pods/10.246.1.0-24/10.246.1.9`).value(JSON.stringify({ containerId: "c-stray", ifname: "eth0", ipv6: "fd00:10:246:2::9", node, allocatedAt: "x" }));
    expect(run("check")).toMatchObject({ code: 1, out: "✗ pod record 10.246.1.9: IPv6 address fd00:10:246:2::9 is outside its node's IPv6 subnet fd00:10:246:1::/64\n" });
    expect(run("release", "--ip", "fd00:10:246:2::9", "--yes").out).toContain("released pod record 10.246.1.9 and fd00:10:246:2::9");
    expect(await mirror([])).toEqual({ put: 0, deleted: 2 });
    await client.delete().key(`${dualPrefix}/pods/10.246.2.0-24/10.246.2.7`);
    expect(run("pods").out.trim()).toMatch(/^IP\s+NODE\s+SUBNET/);
  });

  it("shows both families in leases and usage, finds an IPv6 subnet leased twice, releases by the IPv6 subnet", async () => {
    const lines = run("leases").out.trim().split("\n");
    expect(lines[0]).toMatch(/^SUBNET\s+IPV6 SUBNET\s+PUBLIC IPV6\s+PUBLIC IP\s+VTEP MAC\s+EXPIRES IN\s+PODS$/);
    expect(lines[1]).toMatch(/^10\.246\.1\.0\/24\s+fd00:10:246:1::\/64\s+fd00:56::21\s+192\.168\.56\.21\s/);
    expect(lines[2]).toMatch(/^10\.246\.2\.0\/24\s+fd00:10:246:2::\/64\s+fd00:56::22\s+192\.168\.56\.22\s/);
    expect(run("usage").out).toMatch(/253 subnets left; IPv6: 2 leased, 253 left/);
    expect(run("check").code).toBe(0);
    // A lease written by hand (another tool, a bad restore) with the IPv6 subnet of node .21.
    const value = JSON.stringify({ PublicIP: "192.168.56.30", PublicIPv6: "fd00:56::30", BackendType: "vxlan", BackendData: { VNI: 1, VtepMAC: "02:00:00:00:00:30" }, BackendV6Data: { VNI: 1, VtepMAC: "02:00:00:00:01:30" } });
    await client.put(`${dualPrefix}/subnets/10.246.3.0-24&fd00:10:246:1::-64`).value(value);
    const check = run("check");
    expect(check.code).toBe(1);
    expect(check.out).toContain("IPv6 subnet fd00:10:246:1::/64 is leased twice: by 10.246.1.0/24 and 10.246.3.0/24");
    expect(run("release", "--subnet", "fd00:10:246:2::/64", "--yes", "--force").out).toContain("released lease fd00:10:246:2::/64");
    expect(Object.keys(await client.getAll().prefix(`${dualPrefix}/subnets/10.246.2.0-24`).strings())).toEqual([]);
  });
});

describe("ipamctl on an IPv6-only network", () => {
  const only6Prefix = "/ipamctl-only6/network";
  const run = (...args: string[]) => ipamctlAt(only6Prefix, ...args);
  const lease = (i: number) => ({ ipv6: { subnet: `fd00:10:248:${i}::/64`, publicIp: `fd00:56::${30 + i}`, vtepMac: `02:02:00:00:00:${30 + i}` } });

  beforeAll(async () => {
    await client.put(`${only6Prefix}/config`).value(JSON.stringify({ EnableIPv4: false, EnableIPv6: true, IPv6Network: "fd00:10:248::/56" }));
    const mgr = new EtcdSubnetManager(client, { prefix: only6Prefix, leaseTtlSeconds: 600 });
    for (const i of [1, 2]) await mgr.acquireLease({ vni: 1, ipv6: { publicIp: lease(i).ipv6.publicIp, vtepMac: lease(i).ipv6.vtepMac } }, { ipv6Subnet: lease(i).ipv6.subnet });
  }, 30_000);

  it("stores leases under flannel's IPv6-only key and shows them in the main columns; pods mirrored by their IPv6 address; check and usage", async () => {
    expect(Object.keys(await client.getAll().prefix(`${only6Prefix}/subnets/`).strings()).sort()).toEqual([`${only6Prefix}/subnets/0.0.0.0-0&fd00:10:248:1::-64`, `${only6Prefix}/subnets/0.0.0.0-0&fd00:10:248:2::-64`]);
    const lines = run("leases").out.trim().split("\n");
    expect(lines[0]).toMatch(/^SUBNET\s+PUBLIC IP\s+VTEP MAC\s+EXPIRES IN\s+PODS$/);
    expect(lines[1]).toMatch(/^fd00:10:248:1::\/64\s+fd00:56::31\s+02:02:00:00:00:31\s/);
    const json = JSON.parse(run("leases", "-o", "json").out) as { subnet?: string; ipv6: { subnet: string } }[];
    expect(json.map((r) => [r.subnet, r.ipv6.subnet])).toEqual([[undefined, "fd00:10:248:1::/64"], [undefined, "fd00:10:248:2::/64"]]);
    const pod: RecordedPod = { containerId: "c-v6", ifname: "eth0", ipv6: "fd00:10:248:1::5", podName: "web-0", podNamespace: "default", allocatedAt: "2026-12-04T00:00:00Z" };
    expect(await syncPodRecords(client, { prefix: only6Prefix, lease: lease(1), nodeIp: "fd00:56::31", allocations: [pod] })).toEqual({ put: 1, deleted: 0 });
    expect(Object.keys(await client.getAll().prefix(`${only6Prefix}/pods/`).strings())).toEqual([`${only6Prefix}/pods/0.0.0.0-0&fd00:10:248:1::-64/fd00:10:248:1::5`]);
    expect(run("pods").out.trim().split("\n")[1]?.split(/\s+/).slice(0, 4)).toEqual(["fd00:10:248:1::5", "fd00:56::31", "fd00:10:248:1::/64", "default/web-0"]);
    expect(run("usage").out).toMatch(/cluster: 1 used, \d+ free in 2 leased subnets; 253 subnets left$/m);
    expect(run("check")).toMatchObject({ code: 0, out: "no problems found\n" });
    // A pod record outside its node's IPv6 subnet is named.
    await client.put(`${only6Prefix}/pods/0.0.0.0-0&fd00:10:248:1::-64/fd00:10:248:9::1`).value(JSON.stringify({ containerId: "c-stray", ifname: "eth0", node: "fd00:56::31", allocatedAt: "x" }));
    expect(run("check")).toMatchObject({ code: 1, out: "✗ pod record fd00:10:248:9::1 is outside its node's subnet fd00:10:248:1::/64\n" });
    expect(run("release", "--ip", "fd00:10:248:9::1", "--yes").code).toBe(0);
    expect(run("release", "--subnet", "fd00:10:248:2::/64", "--yes", "--force").out).toContain("released lease fd00:10:248:2::/64");
    expect(run("leases", "-o", "json").out).not.toContain("fd00:10:248:2::");
  });
});
