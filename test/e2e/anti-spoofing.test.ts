// The anti-spoofing filter on one node: weftd's table (the same sync weftd runs), the plugin's
// entries at ADD/DEL/GC, and real packets — a pod sending from another pod's IPv4 address, from
// another pod's MAC, or poisoning the node's ARP entry is dropped; on a dual-stack node, a pod
// advertising another's IPv6 address or the gateway's (unsolicited, or answering solicitations)
// poisons no neighbour entry. Without the filter each works.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PodFilterKeeper, readPodFilter, readPodFilterCounters, syncPodFilter } from "../../daemon/pod-filter.js";
import { linkLocalFor, POD_FILTER, podMacFor } from "../../ipam/attachment.js";
import { PodIpStore, recordedPods } from "../../ipam/pod-ip-store.js";
import { nftGeneration } from "../../netlink/index.js";
import { requireBuiltPlugin, runPlugin } from "../helpers/cni.js";
import { ipJson, NetnsPool, netnsPath, run, watchEchoRequests } from "../helpers/netns.js";
import { neighbourAdvert, sendIcmpv6, watchNeighbourAdverts } from "../helpers/ndisc.js";

const pool = new NetnsPool("as");
let node: string;
let dir: string;
let conf: Record<string, unknown>;
const GATEWAY = "10.244.3.1";

/** weftd's exec, run inside the test's node namespace. */
const execInNode = (cmd: string, args: string[], input?: string): string =>
  execFileSync("ip", ["netns", "exec", node, cmd, ...args], { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
const allocations = () => recordedPods(new PodIpStore({ dataDir: join(dir, "data"), network: "weft" }).list(), []);
/** The node's weft pod ports, as weftd lists them. */
const ports = () => ipJson<{ ifname: string }[]>(node, ["link", "show", "type", "veth"]).map((l) => l.ifname).filter((n) => n.startsWith("weft"));
const inputs = () => ({ allocations: allocations(), relist: allocations, ports: ports() });
/** weftd's sync, carrying what differed from one call to the next as weftd does. */
let differing: ReadonlySet<string> = new Set();
const sync = async () => {
  const r = await syncPodFilter(inputs(), execInNode, differing);
  differing = r.differing;
  return r;
};
const entries = async () => ((await readPodFilter(execInNode))?.entries ?? []).map((e) => `${e.hostVeth} ${e.mac} ${e.ip}`).sort();
const dropped = async () => (await readPodFilter(execInNode))?.droppedFrames ?? 0;

interface Pod {
  ns: string;
  id: string;
  ip: string;
  veth: string;
}

function attach(id: string): Pod {
  const ns = pool.create();
  const r = runPlugin({ nodeNetns: node, command: "ADD", config: conf, env: { CNI_CONTAINERID: id, CNI_NETNS: netnsPath(ns), CNI_IFNAME: "eth0" } });
  if (r.code !== 0) throw new Error(`ADD ${id}: ${r.stdout}`);
  const ifaces = r.json?.interfaces as { name: string }[];
  const ips = r.json?.ips as { address: string }[];
  return { ns, id, ip: ips[0]!.address.split("/")[0]!, veth: ifaces[1]!.name };
}
const detach = (p: Pod) => runPlugin({ nodeNetns: node, command: "DEL", config: conf, env: { CNI_CONTAINERID: p.id, CNI_NETNS: netnsPath(p.ns), CNI_IFNAME: "eth0" } });
const entryOf = (p: Pod) => `${p.veth} ${podMacFor(p.ip)} ${p.ip}`;

function ping(from: Pod, to: string, source?: string): number {
  const args = ["netns", "exec", from.ns, "ping", "-q", "-c", "3", "-i", "0.2", "-W", "1", ...(source ? ["-I", source] : []), to];
  const out = execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).toString();
  return Number(/(\d+) received/.exec(out)?.[1] ?? -1);
}
function pingQuiet(from: Pod, to: string, source?: string): void {
  try {
    ping(from, to, source);
  } catch {
    // no replies expected: they go to the address's real owner
  }
}

/** Echo requests the node received from pod b's address (set up by the first test that needs it). */
let echoRequestsFromB = (): number => -1;
const nodeNeighMac = (ip: string) => ipJson<{ dst: string; lladdr?: string }[]>(node, ["neigh", "show", ip])[0]?.lladdr;

beforeAll(() => {
  requireBuiltPlugin();
  node = pool.create();
  dir = mkdtempSync(join(tmpdir(), "weft-as-"));
  // As weftd with the filter writes it (before it makes the table).
  writeFileSync(join(dir, "subnet.env"), `FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=${GATEWAY}/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\nWEFT_ANTI_SPOOFING=true\n`);
  conf = { cniVersion: "1.1.0", name: "weft", type: "weft", subnetFile: join(dir, "subnet.env"), dataDir: join(dir, "data"), logFile: join(dir, "weft.log") };
});

afterAll(() => {
  pool.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe("the anti-spoofing filter", async () => {
  let a: Pod;
  let b: Pod;

  it("seeds pods that were attached before the filter existed, then the plugin lists and unlists pods itself", async () => {
    a = attach("ctr-a"); // no table yet: attached unfiltered, as with weftd --no-anti-spoofing
    expect(await readPodFilter(execInNode)).toBeUndefined();
    expect(await sync()).toMatchObject({ tableWritten: true, added: 1, removed: 0, entries: 1 });
    expect(await entries()).toEqual([entryOf(a)]);
    b = attach("ctr-b");
    const c = attach("ctr-c");
    expect(await entries()).toEqual([entryOf(a), entryOf(b), entryOf(c)].sort());
    expect(await sync()).toMatchObject({ tableWritten: false, added: 0, removed: 0 });
    expect(detach(c).code).toBe(0);
    expect(detach(c).code).toBe(0); // DEL twice: the entry is already gone, still success
    expect(await entries()).toEqual([entryOf(a), entryOf(b)].sort());
  });

  it("removes GC'd pods' entries, and a failed ADD leaves no entry", async () => {
    const d = attach("ctr-d");
    const gc = runPlugin({ nodeNetns: node, command: "GC", config: { ...conf, "cni.dev/valid-attachments": [{ containerID: "ctr-a", ifname: "eth0" }, { containerID: "ctr-b", ifname: "eth0" }] } });
    expect(gc.code).toBe(0);
    expect(await entries()).toEqual([entryOf(a), entryOf(b)].sort());
    expect(d.veth).toMatch(/^weft/);
    const busy = pool.create();
    run("ip", ["-n", busy, "link", "add", "eth0", "type", "veth", "peer", "name", "other0"]); // ADD fails after the entry was listed
    const r = runPlugin({ nodeNetns: node, command: "ADD", config: conf, env: { CNI_CONTAINERID: "ctr-e", CNI_NETNS: netnsPath(busy), CNI_IFNAME: "eth0" } });
    expect(r.code).toBe(1);
    expect(await entries()).toEqual([entryOf(a), entryOf(b)].sort());
  });

  it("CHECK names a missing entry", async () => {
    const check = () => runPlugin({ nodeNetns: node, command: "CHECK", config: { ...conf, prevResult: { cniVersion: "1.1.0", ips: [{ address: `${a.ip}/24`, gateway: GATEWAY }], routes: [{ dst: "0.0.0.0/0", gw: GATEWAY }] } }, env: { CNI_CONTAINERID: a.id, CNI_NETNS: netnsPath(a.ns), CNI_IFNAME: "eth0" } });
    expect(check().code).toBe(0);
    execInNode("nft", ["delete", "element", "bridge", POD_FILTER.table, POD_FILTER.set, `{ "${a.veth}" . ${podMacFor(a.ip)} . ${a.ip} }`]);
    const r = check();
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ code: 102, msg: expect.stringContaining(`the anti-spoofing set does not list ${a.veth} ${podMacFor(a.ip)} ${a.ip}`) });
    // Seen missing once, it could be an ADD in flight: the next sync, seeing it again, restores it.
    expect(await sync()).toMatchObject({ added: 0 });
    expect(check().code).toBe(1);
    expect(await sync()).toMatchObject({ added: 1 });
    expect(check().code).toBe(0);
  });

  it("repairs a flushed chain at once and a stale entry when a second sync sees it too", async () => {
    execInNode("nft", ["flush", "chain", "bridge", POD_FILTER.table, "from-pod"]);
    execInNode("nft", ["add", "element", "bridge", POD_FILTER.table, POD_FILTER.set, `{ "weft00000bad" . 0a:58:0a:f4:03:63 . 10.244.3.99 }`]);
    expect((await readPodFilter(execInNode))?.intact).toBe(false);
    expect(await sync()).toMatchObject({ tableWritten: true, removed: 0 }); // the chain at once; the stale entry could be a DEL in flight
    expect((await readPodFilter(execInNode))?.intact).toBe(true);
    expect(await sync()).toMatchObject({ tableWritten: false, removed: 1 });
    expect(await entries()).toEqual([entryOf(a), entryOf(b)].sort());
  });

  it("drops IPv4 that a pod sends from another pod's address; the owner's own traffic passes", async () => {
    echoRequestsFromB = watchEchoRequests(node, b.ip).count;
    expect(ping(a, b.ip)).toBe(3); // pod to pod on the bridge
    expect(ping(b, GATEWAY)).toBe(3);
    expect(echoRequestsFromB()).toBe(3); // the counter counts what b really sends
    expect(ping(a, GATEWAY)).toBe(3); // a knows the gateway's MAC: the forged requests need no ARP
    run("ip", ["-n", a.ns, "addr", "add", `${b.ip}/32`, "dev", "eth0"]);
    const before = await dropped();
    pingQuiet(a, GATEWAY, b.ip);
    expect(echoRequestsFromB()).toBe(3); // none of a's three forged requests arrived
    expect((await dropped()) - before).toBeGreaterThanOrEqual(3);
    run("ip", ["-n", a.ns, "addr", "del", `${b.ip}/32`, "dev", "eth0"]);
    expect(ping(a, GATEWAY)).toBe(3); // a's own address still works
  });

  it("keeps the node's ARP entry for a pod when another pod claims its address", async () => {
    expect(nodeNeighMac(b.ip)).toBe(podMacFor(b.ip));
    claimByArp(a, b.ip);
    expect(nodeNeighMac(b.ip)).toBe(podMacFor(b.ip));
  });

  it("drops frames a pod sends from another pod's MAC, so the bridge keeps learning that MAC on its owner's port", async () => {
    const fdbPort = () =>
      (JSON.parse(execInNode("bridge", ["-j", "fdb", "show", "br", "cni0"])) as { mac: string; ifname: string }[]).find((f) => f.mac === podMacFor(b.ip))?.ifname;
    expect(fdbPort()).toBe(b.veth);
    run("ip", ["-n", a.ns, "link", "set", "eth0", "address", podMacFor(b.ip)]);
    // A new MAC flushes a's ARP cache; a static entry keeps the forged frames from being ARP requests.
    run("ip", ["-n", a.ns, "neigh", "replace", GATEWAY, "lladdr", podMacFor(GATEWAY), "dev", "eth0", "nud", "permanent"]);
    const before = await dropped();
    pingQuiet(a, GATEWAY);
    expect((await dropped()) - before).toBeGreaterThanOrEqual(3);
    expect(fdbPort()).toBe(b.veth);
    run("ip", ["-n", a.ns, "link", "set", "eth0", "address", podMacFor(a.ip)]);
    run("ip", ["-n", a.ns, "neigh", "flush", "dev", "eth0"]);
    expect(ping(a, GATEWAY)).toBe(3);
  });

  it("counts nothing as spoofed while a pod sending its own traffic is deleted (its frames stop with its port, not at the filter)", async () => {
    // Each pod floods the gateway with its own address until its DEL takes the veth away; a frame that
    // met the filter between the entry's removal and the veth's would be counted (and weftd warn) as spoofed.
    const before = await dropped();
    for (let i = 0; i < 8; i++) {
      const p = attach(`ctr-flood-${i}`);
      const flood = spawn("ip", ["netns", "exec", p.ns, "ping", "-q", "-f", "-W", "1", GATEWAY], { stdio: "ignore" });
      await new Promise((r) => setTimeout(r, 150));
      expect(detach(p).code).toBe(0);
      flood.kill("SIGINT");
      await new Promise((r) => flood.on("exit", r));
    }
    expect((await dropped()) - before).toBe(0);
    expect(await entries()).toEqual([entryOf(a), entryOf(b)].sort());
  });

  it("skips listing the table while nothing changed, reads the drop counters over netlink meanwhile, and lists it again at any change", async () => {
    let listings = 0;
    const counting = (cmd: string, args: string[], input?: string): string => {
      if (cmd === "nft" && args.includes("list")) listings++;
      return execInNode(cmd, args, input);
    };
    const generation = () => nftGeneration(netnsPath(node));
    const counters = () => readPodFilterCounters(netnsPath(node));
    const keeper = new PodFilterKeeper(generation, counters, counting);
    const keep = () => keeper.sync(inputs());
    expect(await keep()).toMatchObject({ read: true, added: 0, removed: 0, entries: 2 });
    const skipped = await keep();
    expect(skipped).toMatchObject({ read: false, entries: 2 });
    expect(skipped.droppedFrames).toBe(await dropped()); // the netlink read and nft's agree
    const listed = listings;
    // Drops count without moving the generation: they still reach the sync, through the counters.
    run("ip", ["-n", a.ns, "addr", "add", `${b.ip}/32`, "dev", "eth0"]);
    pingQuiet(a, GATEWAY, b.ip);
    run("ip", ["-n", a.ns, "addr", "del", `${b.ip}/32`, "dev", "eth0"]);
    const afterDrops = await keep();
    expect(afterDrops.read).toBe(false);
    expect(afterDrops.droppedFrames - skipped.droppedFrames).toBeGreaterThanOrEqual(3);
    expect(listings).toBe(listed);
    // A pod's ADD and DEL move the generation: each is followed by one listing.
    const c = attach("ctr-f");
    expect(await keep()).toMatchObject({ read: true, entries: 3, added: 0 });
    expect(await keep()).toMatchObject({ read: false, entries: 3 });
    expect(detach(c).code).toBe(0);
    expect(await keep()).toMatchObject({ read: true, entries: 2, removed: 0 });
    expect(await keep()).toMatchObject({ read: false });
    // An entry deleted by hand: listed at once, restored at its second sighting (as without the keeper).
    execInNode("nft", ["delete", "element", "bridge", POD_FILTER.table, POD_FILTER.set, `{ "${a.veth}" . ${podMacFor(a.ip)} . ${a.ip} }`]);
    expect(await keep()).toMatchObject({ read: true, added: 0 });
    expect(await keep()).toMatchObject({ read: true, added: 1 });
    expect(await keep()).toMatchObject({ read: true, added: 0 }); // its own write moved the generation
    expect(await keep()).toMatchObject({ read: false });
    expect(await entries()).toEqual([entryOf(a), entryOf(b)].sort());
    // With no generation, or no counters, to go by, every sync lists the table.
    const failing = () => {
      throw new Error("no netlink");
    };
    for (const [g, k] of [[undefined, counters], [generation, undefined], [failing, counters], [generation, failing]] as const) {
      const blind = new PodFilterKeeper(g, k, counting);
      const before = listings;
      await blind.sync(inputs());
      await blind.sync(inputs());
      expect(listings).toBe(before + 2);
    }
  });

  it("without the filter each of these works (which is what the filter stops), and a sync brings it back", async () => {
    execInNode("nft", ["delete", "table", "bridge", POD_FILTER.table]);
    run("ip", ["-n", a.ns, "addr", "add", `${b.ip}/32`, "dev", "eth0"]);
    pingQuiet(a, GATEWAY, b.ip);
    expect(echoRequestsFromB()).toBe(6);
    claimByArp(a, b.ip);
    expect(nodeNeighMac(b.ip)).toBe(podMacFor(a.ip));
    run("ip", ["-n", a.ns, "addr", "del", `${b.ip}/32`, "dev", "eth0"]);
    expect(await sync()).toMatchObject({ tableWritten: true, added: 2 });
    expect(await entries()).toEqual([entryOf(a), entryOf(b)].sort());
    run("ip", ["-n", a.ns, "addr", "add", `${b.ip}/32`, "dev", "eth0"]);
    pingQuiet(a, GATEWAY, b.ip);
    expect(echoRequestsFromB()).toBe(6);
    expect(detach(a).code).toBe(0);
    expect(detach(b).code).toBe(0);
    expect(await entries()).toEqual([]);
  });
});

describe("the anti-spoofing filter on a dual-stack node: a neighbour advertisement names only the pod's own addresses", () => {
  const GW6 = "fd00:10:244:4::1";
  let ds: string;
  let dsDir: string;
  let dsConf: Record<string, unknown>;
  type Pod6 = Pod & { ip6: string; mac: string };
  let x: Pod6;
  let y: Pod6;
  let gwMac: string;
  let watch: ReturnType<typeof watchNeighbourAdverts>;
  const inDs = (cmd: string, args: string[], input?: string): string => execFileSync("ip", ["netns", "exec", ds, cmd, ...args], { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
  const records = () => recordedPods(new PodIpStore({ dataDir: join(dsDir, "data"), network: "weft" }).list(), new PodIpStore({ dataDir: join(dsDir, "data"), network: "weft", family: 6 }).list());
  const dsPorts = () => ipJson<{ ifname: string }[]>(ds, ["link", "show", "type", "veth"]).map((l) => l.ifname).filter((n) => n.startsWith("weft"));
  let dsDiffering: ReadonlySet<string> = new Set();
  const syncDs = async () => {
    const r = await syncPodFilter({ allocations: records(), relist: records, ports: dsPorts(), ipv6: true }, inDs, dsDiffering);
    dsDiffering = r.differing;
    return r;
  };
  const targets = async () => ((await readPodFilter(inDs, true))?.entries ?? []).filter((e) => e.ndTarget).map((e) => `${e.hostVeth} ${e.ip}`).sort();
  const targetsOf = (...pods: Pod6[]) => pods.flatMap((p) => [`${p.veth} ${p.ip6}`, `${p.veth} ${linkLocalFor(p.mac)}`]).sort();
  const spoofed = async () => (await readPodFilter(inDs, true))?.droppedFrames ?? 0;
  const neighMac = (ns: string, ip: string) => ipJson<{ dst: string; lladdr?: string }[]>(ns, ["-6", "neigh", "show", ip])[0]?.lladdr;
  const ping6 = (ns: string, to: string) => Number(/(\d+) received/.exec(spawnSync("ip", ["netns", "exec", ns, "ping", "-6", "-q", "-c", "2", "-i", "0.2", "-W", "1", to], { encoding: "utf8" }).stdout)?.[1] ?? -1);
  const settle = () => new Promise((r) => setTimeout(r, 300));
  const podEnv = (id: string, ns: string) => ({ CNI_CONTAINERID: id, CNI_NETNS: netnsPath(ns), CNI_IFNAME: "eth0" });
  function attach6(id: string): Pod6 {
    const ns = pool.create();
    const r = runPlugin({ nodeNetns: ds, command: "ADD", config: dsConf, env: podEnv(id, ns) });
    if (r.code !== 0) throw new Error(`ADD ${id}: ${r.stdout}`);
    const [v4, v6] = (r.json?.ips as { address: string }[]).map((i) => i.address.split("/")[0]!);
    return { ns, id, ip: v4!, ip6: v6!, mac: podMacFor(v4!), veth: (r.json?.interfaces as { name: string }[])[1]!.name };
  }
  const detach6 = (p: Pod6) => runPlugin({ nodeNetns: ds, command: "DEL", config: dsConf, env: podEnv(p.id, p.ns) });
  /** The two forgeries: to the node, "y's address is at x's MAC"; to y, "the gateway's is". Both from x's own address. */
  const forge = async () => {
    sendIcmpv6(x.ns, x.ip6, GW6, neighbourAdvert(y.ip6, x.mac));
    sendIcmpv6(x.ns, x.ip6, y.ip6, neighbourAdvert(GW6, x.mac));
    await settle();
  };

  beforeAll(() => {
    ds = pool.create();
    dsDir = mkdtempSync(join(tmpdir(), "weft-as6-"));
    writeFileSync(join(dsDir, "subnet.env"), `FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.4.1/24\nFLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=${GW6}/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\nWEFT_ANTI_SPOOFING=true\n`);
    dsConf = { cniVersion: "1.1.0", name: "weft", type: "weft", subnetFile: join(dsDir, "subnet.env"), dataDir: join(dsDir, "data"), logFile: join(dsDir, "weft.log") };
  });

  afterAll(() => rmSync(dsDir, { recursive: true, force: true }));

  it("lists each pod's IPv6 and link-local address as the targets it may advertise: weftd for pods it finds, the plugin at ADD and DEL", async () => {
    x = attach6("nd-x"); // before the table: listed by weftd's sync
    expect(await syncDs()).toMatchObject({ tableWritten: true, added: 6, entries: 6 });
    expect(await targets()).toEqual(targetsOf(x));
    y = attach6("nd-y");
    const z = attach6("nd-z");
    expect(await targets()).toEqual(targetsOf(x, y, z));
    expect(detach6(z).code).toBe(0);
    expect(await targets()).toEqual(targetsOf(x, y));
    expect(await syncDs()).toMatchObject({ tableWritten: false, added: 0, removed: 0, entries: 12 });
    gwMac = ipJson<{ address: string }[]>(ds, ["link", "show", "cni0"])[0]!.address;
  });

  it("lets a pod's own advertisements through: IPv6 between pods and to the gateway works, each learnt at its owner's MAC", async () => {
    expect(ping6(x.ns, y.ip6)).toBe(2);
    expect(ping6(x.ns, GW6)).toBe(2);
    expect(ping6(y.ns, GW6)).toBe(2);
    expect(ping6(ds, y.ip6)).toBe(2);
    expect([neighMac(ds, x.ip6), neighMac(ds, y.ip6), neighMac(x.ns, y.ip6), neighMac(y.ns, GW6)]).toEqual([x.mac, y.mac, y.mac, gwMac]);
    watch = watchNeighbourAdverts(ds, x.mac, [x.ip6, y.ip6]);
    const before = watch.count(x.ip6);
    sendIcmpv6(x.ns, x.ip6, GW6, neighbourAdvert(x.ip6, x.mac)); // made as the forgeries below are, naming its own address
    await settle();
    expect(watch.count(x.ip6) - before).toBe(1);
    expect(neighMac(ds, x.ip6)).toBe(x.mac);
  });

  it("drops an advertisement naming another pod's address or the gateway's, unsolicited or answering a solicitation: no neighbour entry changes", async () => {
    const before = await spoofed();
    await forge();
    expect(neighMac(ds, y.ip6)).toBe(y.mac);
    expect(neighMac(y.ns, GW6)).toBe(gwMac);
    expect(watch.count(y.ip6)).toBe(0);
    expect((await spoofed()) - before).toBe(2);
    // x answers the node's solicitations for y's address (proxy NDP), from its own address.
    for (const s of ["net.ipv6.conf.eth0.forwarding=1", "net.ipv6.conf.eth0.proxy_ndp=1", "net.ipv6.neigh.eth0.proxy_delay=0"]) run("ip", ["netns", "exec", x.ns, "sysctl", "-qw", s]);
    run("ip", ["-n", x.ns, "-6", "neigh", "add", "proxy", y.ip6, "dev", "eth0"]);
    inDs("ip", ["-6", "neigh", "del", y.ip6, "dev", "cni0"]);
    expect(ping6(ds, y.ip6)).toBe(2);
    expect(neighMac(ds, y.ip6)).toBe(y.mac);
    expect(watch.count(y.ip6)).toBe(0);
    expect((await spoofed()) - before).toBeGreaterThanOrEqual(3);
  });

  it("without the filter both entries are poisoned (which is what the check stops), and a sync brings the check back", async () => {
    inDs("nft", ["delete", "table", "bridge", POD_FILTER.table]);
    inDs("ip", ["-6", "neigh", "del", y.ip6, "dev", "cni0"]);
    ping6(ds, y.ip6); // y and x both answer now
    expect(watch.count(y.ip6)).toBeGreaterThan(0);
    await forge();
    expect(neighMac(ds, y.ip6)).toBe(x.mac);
    expect(neighMac(y.ns, GW6)).toBe(x.mac);
    expect(await syncDs()).toMatchObject({ tableWritten: true, added: 12 });
    run("ip", ["-n", x.ns, "-6", "neigh", "del", "proxy", y.ip6, "dev", "eth0"]);
    inDs("ip", ["-6", "neigh", "flush", "dev", "cni0"]);
    run("ip", ["-n", y.ns, "-6", "neigh", "flush", "dev", "eth0"]);
    expect(ping6(ds, y.ip6)).toBe(2);
    expect(ping6(y.ns, GW6)).toBe(2);
    await forge();
    expect([neighMac(ds, y.ip6), neighMac(y.ns, GW6)]).toEqual([y.mac, gwMac]);
    watch.remove();
    expect(detach6(x).code).toBe(0);
    expect(detach6(y).code).toBe(0);
    expect(await targets()).toEqual([]);
  });
});

/** Gratuitous ARP from pod `from`'s interface announcing `ip` at its MAC: the classic cache poisoning. */
function claimByArp(from: Pod, ip: string): void {
  try {
    execFileSync("ip", ["netns", "exec", from.ns, "arping", "-U", "-c", "2", "-I", "eth0", "-s", ip, ip], { stdio: "ignore" });
  } catch {
    // no reply comes back to a forged sender
  }
}

describe("a subnet.env that does not say WEFT_ANTI_SPOOFING (flanneld's, or a weftd's older than the filter)", () => {
  it("means no weft filter: ADD, CHECK and DEL leave the set alone, even where one exists", () => {
    const bare = pool.create();
    const bareDir = mkdtempSync(join(tmpdir(), "weft-asx-"));
    try {
      writeFileSync(join(bareDir, "subnet.env"), "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.6.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n");
      const bareConf = { cniVersion: "1.1.0", name: "weft", type: "weft", subnetFile: join(bareDir, "subnet.env"), dataDir: join(bareDir, "data"), logFile: join(bareDir, "weft.log") };
      const inBare = (cmd: string, args: string[], input?: string): string => execFileSync("ip", ["netns", "exec", bare, cmd, ...args], { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
      // A set the plugin would list pods in if it tried: it must not try (each try is an nf_tables batch).
      inBare("nft", ["-f", "-"], `table bridge ${POD_FILTER.table} {\n  set ${POD_FILTER.set} { type ifname . ether_addr . ipv4_addr; }\n}\n`);
      type SetListing = { nftables: { set?: { elem?: { concat: (string | number)[] }[] } }[] };
      const listed = () =>
        (JSON.parse(inBare("nft", ["-j", "list", "set", "bridge", POD_FILTER.table, POD_FILTER.set])) as SetListing).nftables
          .flatMap((i) => i.set?.elem ?? [])
          .map((e) => `${e.concat[0]} ${e.concat[2]}`);
      const podNs = pool.create();
      const env = { CNI_CONTAINERID: "ctr-x", CNI_NETNS: netnsPath(podNs), CNI_IFNAME: "eth0" };
      const add = runPlugin({ nodeNetns: bare, command: "ADD", config: bareConf, env });
      expect(add.code).toBe(0);
      const ip = (add.json?.ips as { address: string }[])[0]!.address.split("/")[0]!;
      const veth = (add.json?.interfaces as { name: string }[])[1]!.name;
      expect(listed()).toEqual([]);
      // An entry put there by someone else stays: DEL does not try the set either.
      inBare("nft", ["add", "element", "bridge", POD_FILTER.table, POD_FILTER.set, `{ "${veth}" . ${podMacFor(ip)} . ${ip} }`]);
      const check = runPlugin({ nodeNetns: bare, command: "CHECK", config: { ...bareConf, prevResult: add.json }, env });
      expect(check.code).toBe(0);
      expect(runPlugin({ nodeNetns: bare, command: "DEL", config: bareConf, env }).code).toBe(0);
      expect(ipJson<unknown[]>(bare, ["link", "show", "type", "veth"])).toEqual([]);
      expect(listed()).toEqual([`${veth} ${ip}`]);
      expect(readFileSync(join(bareDir, "weft.log"), "utf8")).toMatch(/no anti-spoofing filter on this node \(subnet.env: no WEFT_ANTI_SPOOFING/);
    } finally {
      rmSync(bareDir, { recursive: true, force: true });
    }
  });
});
