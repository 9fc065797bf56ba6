// The plugin on a dual-stack node (subnet.env with FLANNEL_IPV6_*): each pod gets an address of each
// family, usable at once (no DAD), routes for both, the bridge both gateways; CHECK, DEL and GC cover
// both. On an IPv6-only node (FLANNEL_IPV6_* alone) a pod gets its IPv6 address only, with a MAC made
// from it — asserted on kernel state and on packets between the pods.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireBuiltPlugin, runPlugin } from "../helpers/cni.js";
import { ipJson, NetnsPool, netnsPath, run } from "../helpers/netns.js";

interface Addr {
  family: string;
  local: string;
  prefixlen: number;
  scope: string;
  tentative?: boolean;
  dadfailed?: boolean;
}

const pool = new NetnsPool("ds");
let node: string;
let dir: string;
let conf: Record<string, unknown>;
const GW6 = "fd00:10:244:5::1";

const podEnv = (id: string, pod: string) => ({ CNI_CONTAINERID: id, CNI_NETNS: netnsPath(pod), CNI_IFNAME: "eth0" });
const add = (id: string, pod: string, config = conf) => runPlugin({ nodeNetns: node, command: "ADD", config, env: podEnv(id, pod) });
const del = (id: string, pod: string) => runPlugin({ nodeNetns: node, command: "DEL", config: conf, env: podEnv(id, pod) });
const records = (family: 4 | 6) => readdirSync(family === 6 ? join(dir, "data", "weft", "ipv6") : join(dir, "data", "weft")).filter((f) => (family === 6 ? f.includes(":") : /^\d/.test(f)));
const globals = (ns: string, ifname: string) => ipJson<{ addr_info: Addr[] }[]>(ns, ["addr", "show", "dev", ifname])[0]!.addr_info.filter((a) => a.scope === "global");

beforeAll(() => {
  requireBuiltPlugin();
  node = pool.create();
  dir = mkdtempSync(join(tmpdir(), "weft-ds-"));
  writeFileSync(join(dir, "subnet.env"), `FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.5.1/24\nFLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=${GW6}/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\nWEFT_ANTI_SPOOFING=false\n`);
  conf = { cniVersion: "1.1.0", name: "weft", type: "weft", subnetFile: join(dir, "subnet.env"), dataDir: join(dir, "data") };
});

afterAll(() => {
  pool.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe("a dual-stack node", () => {
  const pods: { ns: string; id: string; v4: string; v6: string }[] = [];

  it("gives each pod an IPv4 and an IPv6 address, both usable at once, routes for both, and both gateways on the bridge", () => {
    for (const id of ["ds-a", "ds-b"]) {
      const ns = pool.create();
      const r = add(id, ns);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const ips = r.json?.ips as { address: string; gateway: string }[];
      expect(ips.map((i) => i.gateway)).toEqual(["10.244.5.1", GW6]);
      expect(r.json?.routes).toEqual([{ dst: "0.0.0.0/0", gw: "10.244.5.1" }, { dst: "::/0", gw: GW6 }]);
      pods.push({ ns, id, v4: ips[0]!.address.split("/")[0]!, v6: ips[1]!.address.split("/")[0]! });
    }
    expect(pods.map((p) => p.v6)).toEqual(["fd00:10:244:5::2", "fd00:10:244:5::3"]);
    for (const p of pods) {
      const addrs = globals(p.ns, "eth0");
      expect(addrs.map((a) => `${a.local}/${a.prefixlen}`)).toEqual([`${p.v4}/24`, `${p.v6}/64`]);
      expect(addrs.some((a) => a.tentative || a.dadfailed)).toBe(false); // no DAD: usable the moment ADD returns
      expect(ipJson<{ dst: string; gateway?: string }[]>(p.ns, ["-6", "route", "show", "default"])[0]).toMatchObject({ dst: "default", gateway: GW6 });
      expect(run("ip", ["netns", "exec", p.ns, "sysctl", "-n", "net.ipv6.conf.eth0.accept_ra"]).trim()).toBe("0");
    }
    expect(globals(node, "cni0").map((a) => `${a.local}/${a.prefixlen}`)).toEqual(["10.244.5.1/24", `${GW6}/64`]);
    // The bridge does no DAD either: while its link-local address was tentative, the node resolved no pod's IPv6 address.
    expect(run("ip", ["netns", "exec", node, "sysctl", "-n", "net.ipv6.conf.cni0.accept_dad"]).trim()).toBe("0");
    // Real packets: pod to pod over the bridge, and to the IPv6 gateway.
    const ping6 = (from: string, to: string) => spawnSync("ip", ["netns", "exec", from, "ping", "-6", "-q", "-c", "2", "-i", "0.2", "-W", "2", to], { encoding: "utf8" }).stdout;
    expect(ping6(pods[0]!.ns, pods[1]!.v6)).toMatch(/2 packets transmitted, 2 received/);
    expect(ping6(pods[1]!.ns, GW6)).toMatch(/2 packets transmitted, 2 received/);
    expect(records(4)).toHaveLength(2);
    expect(records(6)).toHaveLength(2);
  });

  it("CHECK covers the IPv6 address and route, naming what is missing", () => {
    const p = pods[0]!;
    const prevResult = { cniVersion: "1.1.0", ips: [{ address: `${p.v4}/24`, gateway: "10.244.5.1" }, { address: `${p.v6}/64`, gateway: GW6 }], routes: [{ dst: "0.0.0.0/0", gw: "10.244.5.1" }, { dst: "::/0", gw: GW6 }] };
    const check = () => runPlugin({ nodeNetns: node, command: "CHECK", config: { ...conf, prevResult }, env: podEnv(p.id, p.ns) });
    expect(check().code).toBe(0);
    run("ip", ["-n", p.ns, "-6", "route", "del", "default"]);
    expect(check().json).toMatchObject({ code: 102, msg: expect.stringContaining(`route ::/0 via ${GW6} is missing`) });
    run("ip", ["-n", p.ns, "-6", "addr", "del", `${p.v6}/64`, "dev", "eth0"]);
    const r = check();
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ code: 102, msg: expect.stringContaining(`interface eth0 has no IPv6 address, prevResult says ${p.v6}/64`) });
  });

  it("DEL releases both addresses, GC collects both, and a pod on the cluster networks only gets routes to them", () => {
    expect(del(pods[0]!.id, pods[0]!.ns).code).toBe(0);
    expect(records(4)).toHaveLength(1);
    expect(records(6)).toEqual(["fd00:10:244:5::3"]);
    const ns = pool.create();
    const r = add("ds-c", ns, { ...conf, isDefaultGateway: false });
    expect(r.code).toBe(0);
    expect(r.json?.routes).toEqual([{ dst: "10.244.0.0/16", gw: "10.244.5.1" }, { dst: "fd00:10:244::/56", gw: GW6 }]);
    expect(ipJson<{ dst: string }[]>(ns, ["-6", "route", "show", "default"])).toEqual([]);
    expect(runPlugin({ nodeNetns: node, command: "GC", config: { ...conf, "cni.dev/valid-attachments": [{ containerID: "ds-c", ifname: "eth0" }] } }).code).toBe(0);
    expect(records(6)).toHaveLength(1);
    expect(records(4)).toHaveLength(1);
    expect(del("ds-c", ns).code).toBe(0);
    expect(records(6)).toEqual([]);
    // An interface name with a dot gets its sysctl too (the dotted form would read "net.5" as two parts).
    const dotted = pool.create();
    expect(runPlugin({ nodeNetns: node, command: "ADD", config: conf, env: { CNI_CONTAINERID: "ds-d", CNI_NETNS: netnsPath(dotted), CNI_IFNAME: "net.5" } }).code).toBe(0);
    expect(run("ip", ["netns", "exec", dotted, "cat", "/proc/sys/net/ipv6/conf/net.5/accept_ra"]).trim()).toBe("0");
    expect(runPlugin({ nodeNetns: node, command: "DEL", config: conf, env: { CNI_CONTAINERID: "ds-d", CNI_NETNS: netnsPath(dotted), CNI_IFNAME: "net.5" } }).code).toBe(0);
  });
});

describe("an IPv6-only node", () => {
  const GW = "fd00:10:244:9::1";
  let node6: string;
  let dir6: string;
  let conf6: Record<string, unknown>;
  const env = (id: string, ns: string) => ({ CNI_CONTAINERID: id, CNI_NETNS: netnsPath(ns), CNI_IFNAME: "eth0" });
  const call = (command: string, id: string, ns: string, config = conf6) => runPlugin({ nodeNetns: node6, command, config, env: env(id, ns) });
  const stores = () => ({ v4: readdirSync(join(dir6, "data", "weft")).filter((f) => /^\d/.test(f)), v6: readdirSync(join(dir6, "data", "weft", "ipv6")).filter((f) => f.includes(":")) });

  beforeAll(() => {
    node6 = pool.create();
    dir6 = mkdtempSync(join(tmpdir(), "weft-v6-"));
    // As flannel writes it for an IPv6-only network: no FLANNEL_NETWORK, no FLANNEL_SUBNET.
    writeFileSync(join(dir6, "subnet.env"), `FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=${GW}/64\nFLANNEL_MTU=1430\nFLANNEL_IPMASQ=false\nWEFT_ANTI_SPOOFING=false\n`);
    conf6 = { cniVersion: "1.1.0", name: "weft", type: "weft", subnetFile: join(dir6, "subnet.env"), dataDir: join(dir6, "data") };
  });
  afterAll(() => rmSync(dir6, { recursive: true, force: true }));

  it("gives a pod its IPv6 address alone (MAC from it), the bridge the IPv6 gateway alone; CHECK, DEL and GC work on it", () => {
    const [a, b] = [pool.create(), pool.create()];
    const r = call("ADD", "v6-a", a);
    expect(r.code, r.stdout).toBe(0);
    expect(r.json?.ips).toEqual([{ address: "fd00:10:244:9::2/64", gateway: GW, interface: 2 }]);
    expect(r.json?.routes).toEqual([{ dst: "::/0", gw: GW }]);
    expect((r.json?.interfaces as { mac?: string }[])[2]?.mac).toBe("0a:58:00:00:00:02"); // 0a:58 + the address's last four bytes
    expect(call("ADD", "v6-b", b).code).toBe(0);
    for (const ns of [a, b]) expect(ipJson<{ addr_info: Addr[] }[]>(ns, ["-4", "addr", "show", "dev", "eth0"])).toEqual([]);
    expect(globals(node6, "cni0").map((x) => `${x.local}/${x.prefixlen}`)).toEqual([`${GW}/64`]);
    expect(spawnSync("ip", ["netns", "exec", a, "ping", "-6", "-q", "-c", "2", "-i", "0.2", "-W", "2", "fd00:10:244:9::3"], { encoding: "utf8" }).stdout).toMatch(/2 packets transmitted, 2 received/);
    expect(stores()).toEqual({ v4: [], v6: ["fd00:10:244:9::2", "fd00:10:244:9::3"] });
    const prevResult = { cniVersion: "1.1.0", ips: r.json?.ips, routes: r.json?.routes };
    expect(call("CHECK", "v6-a", a, { ...conf6, prevResult }).code).toBe(0);
    run("ip", ["-n", a, "-6", "route", "del", "default"]);
    expect(call("CHECK", "v6-a", a, { ...conf6, prevResult }).json).toMatchObject({ code: 102, msg: expect.stringContaining(`route ::/0 via ${GW} is missing`) });
    expect(call("DEL", "v6-a", a).code).toBe(0);
    expect(stores().v6).toEqual(["fd00:10:244:9::3"]);
    expect(call("DEL", "v6-a", a).code).toBe(0); // again: nothing left, still success
    expect(runPlugin({ nodeNetns: node6, command: "GC", config: { ...conf6, "cni.dev/valid-attachments": [] } }).code).toBe(0);
    expect(stores().v6).toEqual([]);
    expect(ipJson<unknown[]>(node6, ["link", "show", "type", "veth"])).toEqual([]);
  });
});
