// The wireguard backend on a dual-stack lab (wireguard-go here: this kernel has no WireGuard module):
// a device per family on each node with a peer per other node, leases as flannel writes them, the
// whole matrix over it, nothing of a pod's payload in clear on the underlay, a weftd killed and
// restarted keeping its key, device and peers, a replaced key and a removed lease leaving no stale
// peer behind, and a node programmed as flanneld's wireguard backend programs it reaching and reached.
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { eventually, metricValue, ping, useLab, type LabStatus } from "../helpers/lab.js";
import { ipJson, run } from "../helpers/netns.js";
import { wgDevices, wgDump } from "../helpers/wireguard.js";

const { lab, stateDir, status } = useLab("g", ["--nodes", "2", "--pods-per-node", "2", "--ip-family", "dual", "--backend", "wireguard"]);

type Pod = { name: string; netns: string; ip: string; ip6: string };
type DualStatus = LabStatus & { nodes: (LabStatus["nodes"][number] & { underlayIp6: string; pods: Pod[] })[] };
const dual = (): DualStatus => status() as DualStatus;
const prefix = (): string => (JSON.parse(readFileSync(join(stateDir, "state.json"), "utf8")) as { prefix: string }).prefix;
type MatrixRow = { condition: string; cells: { protocol: string; ok?: boolean; note?: string }[] };
const etcdctl = (s: DualStatus, ...args: string[]): string => run("ip", ["netns", "exec", s.etcd.netns, "etcdctl", `--endpoints=${s.etcd.endpoints[0]}`, ...args]);
type WgLease = { PublicIP: string; PublicIPv6: string; BackendType: string; BackendData: { PublicKey: string; Port: number }; BackendV6Data: { PublicKey: string; Port: number } };
const leases = (s: DualStatus): Record<string, WgLease> => {
  const lines = etcdctl(s, "get", "--prefix", "/weft/network/subnets/").trim().split("\n");
  const out: Record<string, WgLease> = {};
  for (let i = 0; i + 1 < lines.length; i += 2) out[lines[i]!.split("/").pop()!] = JSON.parse(lines[i + 1]!) as WgLease;
  return out;
};
const leaseOf = (s: DualStatus, ip: string): WgLease => Object.values(leases(s)).find((l) => l.PublicIP === ip)!;
const ping6 = (fromNs: string, to: string, count = 3): number => Number(/(\d+) received/.exec(spawnSync("ip", ["netns", "exec", fromNs, "ping", "-6", "-q", "-c", String(count), "-i", "0.2", "-W", "1", to], { encoding: "utf8" }).stdout)?.[1] ?? 0);

describe("the wireguard backend on a dual-stack lab (userspace WireGuard)", () => {
  it("gives each node a device per family with a peer per other node, and a lease as flannel writes it", () => {
    const s = dual();
    const [n1, n2] = s.nodes;
    const underlayMtu = ipJson<{ mtu: number }[]>(n1!.netns, ["link", "show", "eth0"])[0]!.mtu;
    for (const [me, other] of [[n1!, n2!], [n2!, n1!]] as const) {
      const devices = wgDevices(me.netns);
      expect(devices).toHaveLength(2);
      const [v4dev, v6dev] = [devices.find((d) => !d.endsWith("-v6"))!, devices.find((d) => d.endsWith("-v6"))!];
      const lease = leaseOf(s, me.underlayIp);
      const theirs = leaseOf(s, other.underlayIp);
      // flannel's lease: BackendType wireguard, the key and port per family.
      expect(lease).toMatchObject({ BackendType: "wireguard", PublicIPv6: me.underlayIp6, BackendData: { Port: 51820 }, BackendV6Data: { Port: 51821 } });
      expect(lease.BackendData.PublicKey).toBe(lease.BackendV6Data.PublicKey);
      const d4 = wgDump(me.netns, v4dev)!;
      const d6 = wgDump(me.netns, v6dev)!;
      expect([d4.publicKey, d4.listenPort, d6.listenPort]).toEqual([lease.BackendData.PublicKey, 51820, 51821]);
      const otherSub4 = other.pods[0]!.ip.replace(/\.\d+$/, ".0/24");
      const otherSub6 = other.pods[0]!.ip6.replace(/::\d+$/, "::/64");
      expect(d4.peers.map((p) => [p.publicKey, p.endpoint, p.allowedIps])).toEqual([[theirs.BackendData.PublicKey, `${other.underlayIp}:51820`, [otherSub4]]]);
      expect(d6.peers.map((p) => [p.publicKey, p.endpoint, p.allowedIps])).toEqual([[theirs.BackendV6Data.PublicKey, `[${other.underlayIp6}]:51821`, [otherSub6]]]);
      // A route for the cluster network per family on the device; MTU = underlay − 80, and subnet.env says so.
      expect(ipJson<{ dst: string; dev: string }[]>(me.netns, ["route", "show", "10.244.0.0/16"])[0]?.dev).toBe(v4dev);
      expect(ipJson<{ dst: string; dev: string }[]>(me.netns, ["-6", "route", "show", "fd00:10:244::/56"])[0]?.dev).toBe(v6dev);
      expect(ipJson<{ mtu: number }[]>(me.netns, ["link", "show", v4dev])[0]!.mtu).toBe(underlayMtu - 80);
      expect(readFileSync(join(stateDir, me.name, "subnet.env"), "utf8")).toMatch(new RegExp(`^FLANNEL_MTU=${underlayMtu - 80}$`, "m"));
      // The key is kept, readable by root alone.
      expect(statSync(join(stateDir, me.name, "wireguard.key")).mode & 0o777).toBe(0o400);
      expect(ipJson(me.netns, ["link", "show", "type", "vxlan"])).toEqual([]);
    }
  });

  it("passes every applicable cell of the matrix, pod → pod across nodes over WireGuard on both families", () => {
    const r = lab("matrix", "--json");
    const rows = JSON.parse(r.out) as MatrixRow[];
    expect(rows.flatMap((row) => row.cells.filter((c) => c.ok === false).map((c) => `${row.condition}/${c.protocol}`))).toEqual([]);
    expect(r.code).toBe(0);
    const wg = rows.find((x) => x.condition === "pod → pod, across nodes (WireGuard)");
    expect(wg?.cells.filter((c) => c.ok).map((c) => c.protocol)).toEqual(["ICMP", "TCP", "UDP", "SCTP", "HTTP/1.1", "HTTP/2", "gRPC"]);
    expect(rows.find((x) => x.condition === "pod → pod, across nodes (IPv6)")?.cells.every((c) => c.ok !== false)).toBe(true);
    expect(rows.find((x) => x.condition === "pod → pod, across nodes (VXLAN)")?.cells.every((c) => c.ok === undefined)).toBe(true);
  }, 150_000);

  it("encrypts: on the underlay, pod traffic between nodes is UDP to the listen ports alone, and the payload is nowhere in clear", async () => {
    const [n1, n2] = dual().nodes;
    const [a, b] = [n1!.pods[0]!, n2!.pods[0]!];
    const pcap = join(stateDir, "underlay.pcap");
    const marker = "77656674636c656172"; // "weftclear" in hex: ping fills its payload with it
    // Every frame to or from node2's port, whatever its addresses: WireGuard follows a peer to the source
    // address of its latest packet, which can be a LoadBalancer address node2 holds on its underlay port.
    const n2Mac = (JSON.parse(run("ip", ["-n", n2!.netns, "-j", "link", "show", "eth0"])) as { address: string }[])[0]!.address;
    const cap = spawn("ip", ["netns", "exec", n1!.netns, "tcpdump", "-i", "eth0", "-U", "-n", "-w", pcap, `ether host ${n2Mac}`], { stdio: ["ignore", "ignore", "pipe"] });
    // Pings only once tcpdump says it listens: under load it can take more than a second to start.
    await new Promise<void>((resolve, reject) => {
      let said = "";
      const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${said}`)), 15_000);
      cap.stderr.on("data", (d: Buffer) => {
        said += d.toString();
        if (/listening on/.test(said)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    // Between the two nodes beside pod traffic: the LoadBalancer speakers' heartbeats (UDP 7946) and
    // the underlay's own ARP and neighbour discovery. Everything else must be WireGuard.
    const housekeeping = (l: string): boolean => /\.7946 > .*\.7946: UDP/.test(l) || /ARP,|ICMP6, neighbor (solicitation|advertisement)/.test(l);
    const captured = (): string[] => spawnSync("tcpdump", ["-r", pcap, "-n", "-q"], { encoding: "utf8" }).stdout.trim().split("\n").filter(Boolean);
    try {
      expect(Number(/(\d+) received/.exec(run("ip", ["netns", "exec", a.netns, "ping", "-q", "-c", "5", "-i", "0.2", "-p", marker, b.ip]))?.[1])).toBe(5);
      expect(Number(/(\d+) received/.exec(run("ip", ["netns", "exec", a.netns, "ping", "-6", "-q", "-c", "5", "-i", "0.2", "-p", marker, b.ip6]))?.[1])).toBe(5);
      // Under load tcpdump writes behind the pings (a run once lost the last exchange to a fixed 0.5 s
      // wait): stop it once the file holds the 20 echo packets, or after 10 s (then the count below fails).
      await eventually("the capture holds the 20 echo packets", () => captured().filter((l) => !housekeeping(l)).length >= 20, 10_000).catch(() => undefined);
    } finally {
      cap.kill("SIGINT");
      await new Promise((r) => cap.on("exit", r));
    }
    const lines = run("tcpdump", ["-r", pcap, "-n", "-q"]).trim().split("\n").filter(Boolean);
    const podTraffic = lines.filter((l) => !housekeeping(l));
    expect(podTraffic.length, lines.join("\n")).toBeGreaterThanOrEqual(20); // 20 echo packets at least (requests and replies, both families)
    expect(podTraffic.filter((l) => !/\.(51820|51821) > \S+\.(51820|51821): UDP, length \d+$/.test(l))).toEqual([]);
    expect(lines.filter((l) => /10\.244\.|fd00:10:244:/.test(l))).toEqual([]); // no pod address in any header on the wire
    const bytes = readFileSync(pcap);
    expect(bytes.includes(Buffer.from("weftclear"))).toBe(false);
    expect(bytes.includes(Buffer.from(a.ip.split(".").map(Number)))).toBe(false); // no inner IPv4 header in clear either
    rmSync(pcap, { force: true });
  }, 30_000);

  it("keeps the key, the device and its peers when weftd is killed and restarted, and pods keep talking through it", async () => {
    const s = dual();
    const [n1, n2] = s.nodes;
    const v4dev = wgDevices(n1!.netns).find((d) => !d.endsWith("-v6"))!;
    const before = { index: ipJson<{ ifindex: number }[]>(n1!.netns, ["link", "show", v4dev])[0]!.ifindex, dump: wgDump(n1!.netns, v4dev)!, lease: leaseOf(s, n1!.underlayIp) };
    // A ping of 60 packets over 3 s runs across the restart.
    const flow = new Promise<string>((resolve) => {
      const p = spawn("ip", ["netns", "exec", n1!.pods[0]!.netns, "ping", "-q", "-c", "60", "-i", "0.05", "-W", "1", n2!.pods[0]!.ip], { stdio: ["ignore", "pipe", "ignore"] });
      let out = "";
      p.stdout!.on("data", (d: Buffer) => (out += d.toString()));
      p.on("exit", () => resolve(out));
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(lab("restart-weftd", "node1", "--signal", "SIGKILL").code).toBe(0);
    const out = await flow;
    const received = Number(/(\d+) received/.exec(out)?.[1] ?? -1);
    process.stdout.write(`wireguard: weftd SIGKILL and restart during a 60-packet ping: ${60 - received} lost\n`);
    expect(received).toBe(60);
    await eventually("node1 ready again", () => spawnSync("grep", ["-c", "WireGuard peers reconciled\\|read this node's WireGuard key", join(stateDir, "node1", "weftd.log")], { encoding: "utf8" }).stdout.trim() !== "0");
    await eventually("the restarted weftd read the key it had", () => readFileSync(join(stateDir, "node1", "weftd.log"), "utf8").includes("read this node's WireGuard key"));
    const after = { index: ipJson<{ ifindex: number }[]>(n1!.netns, ["link", "show", v4dev])[0]!.ifindex, dump: wgDump(n1!.netns, v4dev)!, lease: leaseOf(dual(), n1!.underlayIp) };
    expect(after.index).toBe(before.index); // the same device, not a new one
    expect(after.dump.publicKey).toBe(before.dump.publicKey);
    expect(after.lease.BackendData.PublicKey).toBe(before.lease.BackendData.PublicKey);
    expect(after.dump.peers.map((p) => [p.publicKey, p.endpoint, p.allowedIps])).toEqual(before.dump.peers.map((p) => [p.publicKey, p.endpoint, p.allowedIps]));
    // The restarted weftd's metrics: one peer on the device, its session up (traffic just flowed).
    await eventually("the peer metrics after a resync", () => metricValue(n1!.netns, `weft_wireguard_peers{device="${v4dev}"}`) === 1 && metricValue(n1!.netns, `weft_wireguard_peers_handshaken{device="${v4dev}"}`) === 1, 8_000);
  }, 60_000);

  it("drops the stale peer on every other node when a node's key is replaced", async () => {
    const s = dual();
    const [n1, n2] = s.nodes;
    const old = leaseOf(s, n2!.underlayIp).BackendData.PublicKey;
    rmSync(join(stateDir, "node2", "wireguard.key"), { force: true });
    expect(lab("restart-weftd", "node2", "--signal", "SIGKILL").code).toBe(0);
    await eventually("node2's lease carries a new key", () => leaseOf(dual(), n2!.underlayIp).BackendData.PublicKey !== old, 15_000);
    const fresh = leaseOf(dual(), n2!.underlayIp).BackendData.PublicKey;
    for (const dev of wgDevices(n1!.netns)) {
      await eventually(`${dev} on node1 holds node2's new key alone`, () => JSON.stringify(wgDump(n1!.netns, dev)!.peers.map((p) => p.publicKey)) === JSON.stringify([fresh]), 5_000);
    }
    expect(ping(n1!.pods[0]!.netns, n2!.pods[0]!.ip).received).toBe(3);
    expect(ping6(n1!.pods[0]!.netns, n2!.pods[0]!.ip6)).toBe(3);
  }, 60_000);

  it("reaches and is reached by a node programmed as flanneld's wireguard backend does, and drops its peer when its lease goes", async () => {
    const s = dual();
    const n1 = s.nodes[0]!;
    const a = n1.pods[0]!;
    const p = prefix();
    const fl = `${p}flwg`;
    // flanneld's two devices in its default (separate) mode, flannel-wg and flannel-wg-v6, named apart per lab.
    const tag = p.replace(/[^A-Za-z0-9]/g, "").slice(-6);
    const devs = { 4: `${tag}flwg`, 6: `${tag}flwg-v6` } as const;
    const key = "/weft/network/subnets/10.244.251.0-24&fd00:10:244:fb::-64";
    const inFl = (...args: string[]) => run("ip", ["-n", fl, ...args]);
    run("ip", ["netns", "add", fl]);
    const pids: number[] = [];
    try {
      run("ip", ["-n", `${p}fabric`, "link", "add", `${p}flw`, "type", "veth", "peer", "name", "eth0", "netns", fl]);
      run("ip", ["-n", `${p}fabric`, "link", "set", `${p}flw`, "master", "br0", "up"]);
      inFl("addr", "add", "192.168.56.51/24", "dev", "eth0");
      inFl("addr", "add", "fd00:56::33/64", "dev", "eth0", "nodad");
      inFl("link", "set", "eth0", "up");
      inFl("link", "add", "cni0", "type", "bridge");
      inFl("addr", "add", "10.244.251.1/24", "dev", "cni0");
      inFl("addr", "add", "fd00:10:244:fb::1/64", "dev", "cni0", "nodad");
      inFl("link", "set", "cni0", "up");
      // One key for both devices, as flanneld keeps one key file; each device's port, address, cluster route and peer, set with the wg tool.
      const priv = run("wg", ["genkey"]).trim();
      const pub = run("wg", ["pubkey"], priv).trim();
      const theirs = leaseOf(s, n1.underlayIp);
      for (const f of [4, 6] as const) {
        const dev = devs[f];
        const wg = spawn("ip", ["netns", "exec", fl, "wireguard-go", "-f", dev], { env: { ...process.env, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: "1" }, stdio: "ignore" });
        if (wg.pid) pids.push(wg.pid);
        await eventually(`flannel's ${dev} is up`, () => wgDump(fl, dev) !== undefined, 5_000);
        run("ip", ["netns", "exec", fl, "sh", "-c", `umask 077; printf %s '${priv}' > /dev/shm/${dev}.key && wg set ${dev} private-key /dev/shm/${dev}.key listen-port ${f === 4 ? 51820 : 51821}; rm -f /dev/shm/${dev}.key`]);
        inFl(...(f === 4 ? ["addr", "add", "10.244.251.0/32", "dev", dev] : ["addr", "add", "fd00:10:244:fb::/128", "dev", dev, "nodad"]));
        inFl("link", "set", dev, "up");
        inFl(...(f === 4 ? ["route", "add", "10.244.0.0/16", "dev", dev] : ["-6", "route", "add", "fd00:10:244::/56", "dev", dev]));
        const endpoint = f === 4 ? `${n1.underlayIp}:${theirs.BackendData.Port}` : `[${n1.underlayIp6}]:${theirs.BackendV6Data.Port}`;
        const allowed = f === 4 ? a.ip.replace(/\.\d+$/, ".0/24") : a.ip6.replace(/::\d+$/, "::/64");
        run("wg", ["set", dev, "peer", theirs.BackendData.PublicKey, "endpoint", endpoint, "allowed-ips", allowed]);
      }
      // Its lease, as flanneld writes it (newSubnetAttrs): the one key in both families' data, each family's port.
      etcdctl(s, "put", key, JSON.stringify({ PublicIP: "192.168.56.51", PublicIPv6: "fd00:56::33", BackendType: "wireguard", BackendData: { PublicKey: pub, Port: 51820 }, BackendV6Data: { PublicKey: pub, Port: 51821 } }));
      const [v4dev, v6dev] = [wgDevices(n1.netns).find((d) => !d.endsWith("-v6"))!, wgDevices(n1.netns).find((d) => d.endsWith("-v6"))!];
      await eventually("node1 peers with the flannel node on both devices", () => wgDump(n1.netns, v4dev)!.peers.some((x) => x.publicKey === pub && x.allowedIps.join() === "10.244.251.0/24") && wgDump(n1.netns, v6dev)!.peers.some((x) => x.publicKey === pub && x.endpoint === "[fd00:56::33]:51821"), 5_000);
      expect(ping(a.netns, "10.244.251.1").received).toBe(3);
      expect(ping6(a.netns, "fd00:10:244:fb::1")).toBe(3);
      // And the other way: from the flannel node's bridge address to the weft pod.
      expect(ping(fl, a.ip).received).toBe(3);
      etcdctl(s, "del", key);
      for (const d of [v4dev, v6dev]) await eventually(`${d} drops the flannel node's peer`, () => !wgDump(n1.netns, d)!.peers.some((x) => x.publicKey === pub), 5_000);
    } finally {
      etcdctl(s, "del", key);
      for (const pid of pids) spawnSync("kill", [String(pid)]);
      spawnSync("ip", ["netns", "del", fl]);
    }
  }, 60_000);
});
