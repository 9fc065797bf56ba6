// Every netlink operation checked against what `ip -j -d` and `bridge -j` report, in throwaway namespaces.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { concatKey, ExistsError, NetnsError, NotFoundError, NUD, openHandle, openNftSets, readSysctl, setSysctl, type NetlinkHandle } from "../../netlink/index.js";
import { ipJson, NetnsPool, netnsPath, run } from "../helpers/netns.js";

interface IpLink {
  ifname: string;
  ifindex: number;
  mtu: number;
  address: string;
  flags: string[];
  master?: string;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown>; info_slave_kind?: string; info_slave_data?: Record<string, unknown> };
}
interface IpAddr {
  ifname: string;
  addr_info: { family: string; local: string; prefixlen: number }[];
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev: string;
  flags: string[];
  metrics?: { mtu?: number }[];
  protocol?: string;
  scope?: string;
}

const pool = new NetnsPool("nl");
let ns: string;
let peerNs: string;
let h: NetlinkHandle;

beforeAll(() => {
  ns = pool.create();
  peerNs = pool.create();
  h = openHandle(netnsPath(ns));
});

afterAll(() => {
  h?.close();
  pool.cleanup();
});

const link = (name: string, where = ns): IpLink => {
  const [l] = ipJson<IpLink[]>(where, ["-d", "link", "show", "dev", name]);
  if (!l) throw new Error(`no link ${name}`);
  return l;
};

describe("links", () => {
  it("adds a bridge, sets it up, changes MTU and MAC, and reads them back like ip does", () => {
    const br = h.linkAddBridge("br0", { mtu: 1400 });
    expect(br.kind).toBe("bridge");
    h.linkSetUp("br0");
    h.linkSetMac("br0", "02:00:00:aa:bb:cc");
    h.linkSetMtu(br.index, 1450);
    const seen = link("br0");
    expect(seen.linkinfo?.info_kind).toBe("bridge");
    expect(seen.flags).toContain("UP");
    expect(seen.mtu).toBe(1450);
    expect(seen.address).toBe("02:00:00:aa:bb:cc");
    const mine = h.linkGet("br0");
    expect(mine).toMatchObject({ index: seen.ifindex, name: "br0", mtu: 1450, mac: "02:00:00:aa:bb:cc", up: true, kind: "bridge" });
    expect(h.linkList().map((l) => l.name)).toEqual(expect.arrayContaining(["lo", "br0"]));
  });

  it("creates a veth whose peer is born in another namespace, enslaves it, sets hairpin", () => {
    const host = h.linkAddVeth("vhost0", "eth0", { peerNetnsPath: netnsPath(peerNs), mtu: 1450 });
    expect(host.kind).toBe("veth");
    const peer = link("eth0", peerNs);
    expect(peer.mtu).toBe(1450);
    expect(peer.linkinfo?.info_kind).toBe("veth");
    expect(ipJson<IpLink[]>(ns, ["link"]).some((l) => l.ifname === "eth0")).toBe(false);

    h.linkSetMaster("vhost0", "br0");
    h.linkSetHairpin("vhost0", true);
    h.linkSetUp("vhost0");
    const seen = link("vhost0");
    expect(seen.master).toBe("br0");
    expect(seen.linkinfo?.info_slave_data?.hairpin).toBe(true);
    expect(h.linkGet("vhost0").bridgePort).toEqual({ hairpin: true });
    expect(h.linkGet("vhost0").masterIndex).toBe(h.linkGet("br0").index);

    h.linkSetHairpin("vhost0", false);
    expect(link("vhost0").linkinfo?.info_slave_data?.hairpin).toBe(false);
    h.linkSetMaster("vhost0", null);
    expect(link("vhost0").master).toBeUndefined();
  });

  it("creates a veth born enslaved, with its peer in another namespace with a given MAC, in one request", () => {
    const br = h.linkGet("br0").index;
    const host = h.linkAddVeth("vfast0", "eth9", { peerNetnsPath: netnsPath(peerNs), masterIndex: br, mtu: 1400, peerMac: "0a:58:0a:f4:01:09" });
    expect(link("vfast0").master).toBe("br0");
    const peer = link("eth9", peerNs);
    expect(peer).toMatchObject({ mtu: 1400, address: "0a:58:0a:f4:01:09" });
    // the host end's IFLA_LINK is the peer's index in its own namespace
    expect(host.parentIndex).toBe(peer.ifindex);
    h.linkDelete("vfast0");
  });

  it("adds a vxlan device with VNI, local address, underlay device, port and learning off", () => {
    h.linkAddBridge("under0");
    h.addrAdd("under0", "192.168.77.2/24");
    const dev = h.linkGet("under0").index;
    const vx = h.linkAddVxlan("weft.1", { vni: 1, local: "192.168.77.2", devIndex: dev, port: 8472, learning: false, mtu: 1450, mac: "0a:58:0a:f4:01:00" });
    expect(vx.vxlan).toEqual({ vni: 1, local: "192.168.77.2", devIndex: dev, port: 8472, learning: false });
    const data = link("weft.1").linkinfo?.info_data;
    expect(data).toMatchObject({ id: 1, local: "192.168.77.2", link: "under0", port: 8472, learning: false });
    expect(link("weft.1").address).toBe("0a:58:0a:f4:01:00");
  });

  it("renames a link and moves one to another namespace", () => {
    // Bridges are namespace-local by design (the kernel refuses to move them): move a veth end.
    h.linkAddVeth("tmp0", "tmpb");
    h.linkSetName("tmp0", "tmp1");
    expect(link("tmp1").ifname).toBe("tmp1");
    h.linkSetNetns("tmp1", netnsPath(peerNs));
    expect(h.linkFind("tmp1")).toBeUndefined();
    expect(link("tmp1", peerNs).ifname).toBe("tmp1");
  });

  it("deletes links, and says clearly when a link exists or is gone", () => {
    expect(() => h.linkAddBridge("br0")).toThrow(ExistsError);
    expect(() => h.linkAddBridge("br0")).toThrow(/add bridge "br0" in .*EEXIST/);
    h.linkAddBridge("gone0");
    h.linkDelete("gone0");
    expect(ipJson<IpLink[]>(ns, ["link"]).some((l) => l.ifname === "gone0")).toBe(false);
    expect(() => h.linkDelete("gone0")).toThrow(NotFoundError);
    expect(() => h.linkGet("gone0")).toThrow(/link "gone0"/);
    expect(h.linkFind("gone0")).toBeUndefined();
  });
});

describe("addresses", () => {
  it("adds, replaces, lists and deletes addresses", () => {
    h.addrAdd("br0", "10.244.1.1/24");
    const shown = ipJson<IpAddr[]>(ns, ["addr", "show", "dev", "br0"]);
    expect(shown[0]?.addr_info.filter((a) => a.family === "inet")).toEqual([expect.objectContaining({ local: "10.244.1.1", prefixlen: 24 })]);
    expect(() => h.addrAdd("br0", "10.244.1.1/24")).toThrow(ExistsError);
    h.addrReplace("br0", "10.244.1.1/24");
    h.addrAdd("br0", "fd00::1/64");
    const mine = h.addrList("br0");
    expect(mine).toEqual(expect.arrayContaining([expect.objectContaining({ address: "10.244.1.1", prefixLen: 24, family: 4 }), expect.objectContaining({ address: "fd00::1", prefixLen: 64, family: 6 })]));
    expect(h.addrList(undefined, 4).every((a) => a.family === 4)).toBe(true);
    h.addrDel("br0", "10.244.1.1/24");
    expect(h.addrList("br0", 4)).toEqual([]);
    expect(() => h.addrDel("br0", "10.244.1.1/24")).toThrow(NotFoundError);
  });
});

describe("routes", () => {
  it("adds routes with gateway, onlink, MTU and table, replaces and deletes them", () => {
    h.addrAdd("br0", "10.244.1.1/24");
    h.linkSetUp("br0");
    const br = h.linkGet("br0").index;
    h.routeAdd({ dst: "10.250.0.0/16", gateway: "10.244.1.7", oif: br, mtu: 1400 });
    let seen = ipJson<IpRoute[]>(ns, ["-d", "route", "show", "10.250.0.0/16"]);
    expect(seen[0]).toMatchObject({ dst: "10.250.0.0/16", gateway: "10.244.1.7", dev: "br0" });
    expect(seen[0]?.metrics).toEqual([{ mtu: 1400 }]);
    expect(() => h.routeAdd({ dst: "10.250.0.0/16", gateway: "10.244.1.7", oif: br })).toThrow(ExistsError);

    h.routeReplace({ dst: "10.250.0.0/16", gateway: "10.244.1.8", oif: br });
    seen = ipJson<IpRoute[]>(ns, ["route", "show", "10.250.0.0/16"]);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.gateway).toBe("10.244.1.8");

    // flannel's shape: remote subnet via the remote .0 onlink on the vxlan device
    h.linkSetUp("under0");
    h.linkSetUp("weft.1");
    const vx = h.linkGet("weft.1").index;
    h.routeReplace({ dst: "10.244.2.0/24", gateway: "10.244.2.0", oif: vx, onlink: true });
    const onlink = ipJson<IpRoute[]>(ns, ["route", "show", "10.244.2.0/24"]);
    expect(onlink[0]).toMatchObject({ gateway: "10.244.2.0", dev: "weft.1" });
    expect(onlink[0]?.flags).toContain("onlink");
    expect(h.routeList({ oif: vx, family: 4 })).toEqual([expect.objectContaining({ dst: "10.244.2.0/24", gateway: "10.244.2.0", onlink: true, oif: vx })]);

    h.routeAdd({ dst: "10.9.0.0/16", oif: br, table: 100 });
    expect(ipJson<IpRoute[]>(ns, ["route", "show", "table", "100"])[0]).toMatchObject({ dst: "10.9.0.0/16", dev: "br0" });
    expect(h.routeList({ table: 100 })).toEqual([expect.objectContaining({ dst: "10.9.0.0/16", table: 100 })]);

    h.routeAdd({ gateway: "10.244.1.254", oif: br });
    expect(h.routeList().some((r) => r.dst === undefined && r.gateway === "10.244.1.254")).toBe(true);
    expect(ipJson<IpRoute[]>(ns, ["route", "show", "default"])[0]).toMatchObject({ dst: "default", gateway: "10.244.1.254" });

    h.routeDel({ dst: "10.244.2.0/24", oif: vx });
    expect(ipJson<IpRoute[]>(ns, ["route", "show", "10.244.2.0/24"])).toEqual([]);
    expect(() => h.routeDel({ dst: "10.244.2.0/24", oif: vx })).toThrow(NotFoundError);
  });
});

describe("neighbours and FDB", () => {
  it("adds permanent ARP entries and VXLAN FDB entries, replaces and deletes them", () => {
    const vx = h.linkGet("weft.1").index;
    h.neighAdd({ family: 4, ifindex: vx, dst: "10.244.2.0", lladdr: "aa:bb:cc:00:00:02", state: NUD.PERMANENT });
    const arp = ipJson<{ dst: string; lladdr: string; state: string[] }[]>(ns, ["neigh", "show", "dev", "weft.1"]);
    expect(arp).toEqual([expect.objectContaining({ dst: "10.244.2.0", lladdr: "aa:bb:cc:00:00:02", state: ["PERMANENT"] })]);
    expect(() => h.neighAdd({ family: 4, ifindex: vx, dst: "10.244.2.0", lladdr: "aa:bb:cc:00:00:02" })).toThrow(ExistsError);
    h.neighReplace({ family: 4, ifindex: vx, dst: "10.244.2.0", lladdr: "aa:bb:cc:00:00:09" });
    expect(h.neighList({ family: 4, ifindex: vx })).toEqual([expect.objectContaining({ dst: "10.244.2.0", lladdr: "aa:bb:cc:00:00:09", state: NUD.PERMANENT })]);

    h.neighAdd({ family: "bridge", ifindex: vx, lladdr: "aa:bb:cc:00:00:09", dst: "192.168.77.3", flags: 0x02, state: NUD.PERMANENT });
    const fdb = JSON.parse(run("ip", ["netns", "exec", ns, "bridge", "-j", "fdb", "show", "dev", "weft.1"])) as { mac: string; dst?: string; state: string }[];
    expect(fdb).toEqual(expect.arrayContaining([expect.objectContaining({ mac: "aa:bb:cc:00:00:09", dst: "192.168.77.3", state: "permanent" })]));
    expect(h.neighList({ family: "bridge", ifindex: vx })).toEqual(expect.arrayContaining([expect.objectContaining({ lladdr: "aa:bb:cc:00:00:09", dst: "192.168.77.3" })]));

    h.neighDel({ family: "bridge", ifindex: vx, lladdr: "aa:bb:cc:00:00:09", dst: "192.168.77.3", flags: 0x02 });
    h.neighDel({ family: 4, ifindex: vx, dst: "10.244.2.0" });
    expect(h.neighList({ family: 4, ifindex: vx })).toEqual([]);
    expect(() => h.neighDel({ family: 4, ifindex: vx, dst: "10.244.2.0" })).toThrow(NotFoundError);
  });
});

describe("namespaces and sysctls", () => {
  it("binds a handle to a namespace without moving the process, and writes sysctls there", () => {
    const peer = openHandle(netnsPath(peerNs));
    try {
      expect(peer.linkList().map((l) => l.name).sort()).toEqual(["eth0", "lo", "tmp1"]);
      // tmp1's peer stayed behind: a veth pair can span namespaces after a move, too.
      expect(h.linkGet("tmpb").kind).toBe("veth");
      // The caller's own namespace is untouched: our handle still sees br0, the peer's does not.
      expect(peer.linkFind("br0")).toBeUndefined();
      expect(h.linkFind("br0")).toBeDefined();
    } finally {
      peer.close();
    }
    setSysctl(netnsPath(ns), "net.ipv4.ip_forward", "1");
    expect(run("ip", ["netns", "exec", ns, "cat", "/proc/sys/net/ipv4/ip_forward"]).trim()).toBe("1");
    expect(readSysctl(netnsPath(ns), "net.ipv4.ip_forward")).toBe("1");
    expect(readSysctl(netnsPath(peerNs), "net.ipv4.ip_forward")).toBe("0");
  });

  it("refuses a namespace path that does not exist or is not a namespace", () => {
    expect(() => openHandle("/var/run/netns/does-not-exist-weft")).toThrow(NetnsError);
    expect(() => openHandle("/etc/hostname")).toThrow(/is not a network namespace/);
  });
});

describe("bridges stay put", () => {
  it("reports the kernel's reason when a bridge is moved to another namespace", () => {
    h.linkAddBridge("stay0");
    expect(() => h.linkSetNetns("stay0", netnsPath(peerNs))).toThrow(/move to .* link "stay0" .*EINVAL \(The interface netns is immutable\)/);
  });
});

describe("nftables set elements over NETLINK_NETFILTER", () => {
  const ref = { family: "BRIDGE", table: "nltest", set: "pods" } as const;
  const elements = (): string[][] => {
    const out = JSON.parse(run("ip", ["netns", "exec", ns, "nft", "-j", "list", "set", "bridge", ref.table, ref.set])) as { nftables: { set?: { elem?: { concat: string[] }[] } }[] };
    return (out.nftables.find((i) => i.set)?.set?.elem ?? []).map((e) => e.concat);
  };
  const key = (veth: string, mac: string, ip: string): Buffer => concatKey([{ ifname: veth }, { etherAddr: mac }, { ipv4: ip }]);

  it("adds and deletes elements of a concatenated set, as nft lists them; re-adding is fine, deleting twice is NotFound", () => {
    run("ip", ["netns", "exec", ns, "nft", "add table bridge nltest; add set bridge nltest pods { type ifname . ether_addr . ipv4_addr; }"]);
    const sets = openNftSets(netnsPath(ns));
    try {
      sets.addElements(ref, [key("weft0000000a", "0a:58:0a:f4:01:05", "10.244.1.5"), key("weft0000000b", "0a:58:0a:f4:01:06", "10.244.1.6")]);
      sets.addElements(ref, [key("weft0000000a", "0a:58:0a:f4:01:05", "10.244.1.5")]);
      expect(elements().sort()).toEqual([
        ["weft0000000a", "0a:58:0a:f4:01:05", "10.244.1.5"],
        ["weft0000000b", "0a:58:0a:f4:01:06", "10.244.1.6"],
      ]);
      sets.deleteElements(ref, [key("weft0000000a", "0a:58:0a:f4:01:05", "10.244.1.5")]);
      expect(elements()).toEqual([["weft0000000b", "0a:58:0a:f4:01:06", "10.244.1.6"]]);
      expect(() => sets.deleteElements(ref, [key("weft0000000a", "0a:58:0a:f4:01:05", "10.244.1.5")])).toThrow(NotFoundError);
      // All or nothing: one missing element fails the batch and the present one stays.
      expect(() => sets.deleteElements(ref, [key("weft0000000b", "0a:58:0a:f4:01:06", "10.244.1.6"), key("weft0000000c", "0a:58:0a:f4:01:07", "10.244.1.7")])).toThrow(NotFoundError);
      expect(elements()).toHaveLength(1);
      // Lookups, as CHECK makes them.
      expect(sets.hasElement(ref, key("weft0000000b", "0a:58:0a:f4:01:06", "10.244.1.6"))).toBe(true);
      expect(sets.hasElement(ref, key("weft0000000a", "0a:58:0a:f4:01:05", "10.244.1.5"))).toBe(false);
      expect(sets.hasElement(ref, key("weft0000000b", "0a:58:0a:f4:01:06", "10.244.1.7"))).toBe(false); // same port, another address
      // The wrong key length is the kernel's EINVAL, reported as such.
      expect(() => sets.addElements(ref, [concatKey([{ ipv4: "10.244.1.9" }])])).toThrow(/add elements to nftables set bridge nltest pods.*EINVAL/);
    } finally {
      sets.close();
    }
  });

  it("says NotFound for a table or set that does not exist, naming it", () => {
    const sets = openNftSets(netnsPath(peerNs));
    try {
      expect(() => sets.addElements(ref, [key("weft0000000a", "0a:58:0a:f4:01:05", "10.244.1.5")])).toThrow(/nftables set bridge nltest pods.*ENOENT/);
      expect(() => sets.hasElement(ref, key("weft0000000a", "0a:58:0a:f4:01:05", "10.244.1.5"))).toThrow(NotFoundError);
    } finally {
      sets.close();
    }
  });
});
