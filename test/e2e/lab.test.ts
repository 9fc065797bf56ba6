// The lab end to end: the matrix, nodes joining and leaving, weftd restarts, etcd outages and drift
// repair — asserted on packets that flowed and on kernel state read with ip -j.
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { eventually, metricValue, ping, readyz, useLab } from "../helpers/lab.js";
import { LAB_NETWORK } from "../../lab/cluster/paths.js";
import { readPodFilter } from "../../daemon/pod-filter.js";
import { PodIpStore } from "../../ipam/pod-ip-store.js";
import { ipJson, run, watchEchoRequests } from "../helpers/netns.js";

const { lab, stateDir, status } = useLab("t", ["--nodes", "2", "--pods-per-node", "2"]);
const state = () => JSON.parse(readFileSync(join(stateDir, "state.json"), "utf8")) as { etcd: { pid: number } };
const netOf = (subnet: string): string => subnet.replace(/\.1\/24$/, ".0/24");

const remoteEntries = (nodeNs: string, subnet: string) => ({
  routes: ipJson<{ dst: string }[]>(nodeNs, ["route", "show", netOf(subnet)]).length,
  arp: ipJson<{ dst: string }[]>(nodeNs, ["neigh", "show", "dev", "weft.1"]).filter((n) => n.dst === netOf(subnet).split("/")[0]).length,
});

describe("the lab", () => {
  type MatrixRow = { condition: string; from: string; to: string; cells: { protocol: string; ok?: boolean; ms?: number; mbps?: number; note?: string }[] };
  const matrix = (): { code: number; rows: MatrixRow[] } => {
    const r = lab("matrix", "--json");
    return { code: r.code, rows: JSON.parse(r.out) as MatrixRow[] };
  };
  const failedCells = (rows: MatrixRow[]): string[] => rows.flatMap((row) => row.cells.filter((c) => c.ok === false).map((c) => `${row.condition}/${c.protocol}`)).sort();

  it("passes every applicable cell of the connectivity matrix, with real packets", () => {
    const { code, rows } = matrix();
    expect(rows.map((x) => x.condition)).toEqual([
      "pod → pod, same node",
      "pod → pod, across nodes (VXLAN)",
      "pod → pod, across nodes (DirectRouting)",
      "pod → pod is never masqueraded",
      "pod → ClusterIP",
      "pod → ClusterIP by DNS name",
      "node → ClusterIP",
      "wan → NodePort",
      "wan → LoadBalancer",
      "wan → Ingress",
      "wan → pod (hostPort)",
      "pod → wan (masqueraded)",
    ]);
    expect(rows.flatMap((row) => row.cells.filter((c) => c.ok === false).map((c) => `${row.condition}/${c.protocol}: ${c.note}`))).toEqual([]);
    expect(code).toBe(0);
    const cell = (condition: string, protocol: string) => rows.find((r) => r.condition === condition)?.cells.find((c) => c.protocol === protocol);
    // Every protocol passes across nodes, through the ClusterIP and from the WAN through a NodePort.
    for (const condition of ["pod → pod, across nodes (VXLAN)", "pod → ClusterIP", "wan → NodePort", "wan → LoadBalancer"]) {
      for (const protocol of ["TCP", "UDP", "SCTP", "HTTP/1.1", "HTTP/2", "gRPC"]) expect(cell(condition, protocol)?.ok, `${condition}/${protocol}`).toBe(true);
    }
    for (const protocol of ["HTTP/1.1", "HTTP/2", "gRPC"]) expect(cell("wan → Ingress", protocol)?.ok, `Ingress/${protocol}`).toBe(true);
    // SCTP is proved by the raw INIT/INIT ACK exchange on this kernel (no SCTP sockets), and says so.
    expect(cell("pod → ClusterIP", "SCTP")?.note).toMatch(/INIT ACK|association/);
    // The name was resolved by the cluster DNS; the ClusterIP row's cells are not applicable for ICMP.
    expect(cell("pod → ClusterIP by DNS name", "UDP")?.note).toMatch(/weft-matrix\.weft-lab → 10\.\d+\.\d+\.\d+ by cluster DNS/);
    expect(cell("pod → ClusterIP", "ICMP")?.ok).toBeUndefined();
    expect(cell("pod → pod, across nodes (VXLAN)", "TCP")?.mbps).toBeGreaterThan(10);
    expect(rows.find((r) => r.condition === "pod → pod, across nodes (DirectRouting)")?.cells.every((c) => c.ok === undefined && /VXLAN/.test(c.note ?? ""))).toBe(true);
  }, 120_000);

  it("turns exactly the affected cells red when one protocol is dropped on one path", () => {
    const s = status();
    const [n1, n2] = s.nodes;
    const p11 = n1!.pods[0]!.ip;
    const p21 = n2!.pods[0]!.ip;
    // UDP to node2-pod1, dropped where node2 forwards it: only that pod's UDP cell is on this path.
    const udpRule = ["FORWARD", "-p", "udp", "-d", p21, "-j", "DROP"];
    spawnSync("ip", ["netns", "exec", n2!.netns, "iptables", "-I", ...udpRule]);
    try {
      const { code, rows } = matrix();
      expect(failedCells(rows)).toEqual(["pod → pod, across nodes (VXLAN)/UDP"]);
      expect(code).toBe(1);
    } finally {
      spawnSync("ip", ["netns", "exec", n2!.netns, "iptables", "-D", ...udpRule]);
    }
    // SCTP from or to node1-pod1, dropped where node1 forwards it (bridge netfilter includes same-node
    // traffic): every SCTP cell whose path starts or ends at node1-pod1, and nothing else.
    const sctpRules = [["FORWARD", "-p", "sctp", "-s", p11, "-j", "DROP"], ["FORWARD", "-p", "sctp", "-d", p11, "-j", "DROP"]];
    for (const r of sctpRules) spawnSync("ip", ["netns", "exec", n1!.netns, "iptables", "-I", ...r]);
    try {
      const { rows } = matrix();
      const sctpPaths = ["pod → pod, same node", "pod → pod, across nodes (VXLAN)", "pod → ClusterIP", "pod → ClusterIP by DNS name", "wan → pod (hostPort)", "pod → wan (masqueraded)"];
      expect(failedCells(rows)).toEqual(sctpPaths.map((c) => `${c}/SCTP`).sort());
    } finally {
      for (const r of sctpRules) spawnSync("ip", ["netns", "exec", n1!.netns, "iptables", "-D", ...r]);
    }
    expect(matrix().code).toBe(0);
  }, 120_000);

  it("writes a report that headless Chromium renders with every node, pod and cell, and no console error", () => {
    const out = join(stateDir, "report.html");
    const r = lab("report", "--out", out);
    expect(r.code, r.err).toBe(0);
    const s = status();
    const chromium = (...args: string[]) => spawnSync("chromium", ["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0", ...args, `file://${out}`], { encoding: "utf8", cwd: stateDir, timeout: 60_000 });
    const dom = chromium("--dump-dom");
    expect(dom.status).toBe(0);
    // The page's script ran (it writes the summary) and nothing was logged to the console.
    expect(dom.stdout).toMatch(/<p id="summary" class="summary good"[^>]*>all \d+ applicable cells passed<\/p>/);
    expect(dom.stderr).not.toMatch(/CONSOLE|Uncaught/);
    for (const n of s.nodes) {
      expect(dom.stdout).toContain(`data-id="${n.name}"`);
      expect(dom.stdout).toContain(n.subnet);
      for (const p of n.pods) expect(dom.stdout).toContain(`data-id="${p.name}"`);
    }
    for (const host of ["etcd", "router", "wan"]) expect(dom.stdout).toContain(`data-id="${host}"`);
    const rows = [...dom.stdout.matchAll(/<tr data-condition="([^"]+)">/g)].map((m) => m[1]);
    expect(rows).toHaveLength(12);
    expect(dom.stdout.match(/<td class="cell (pass|fail|na)"/g)).toHaveLength(12 * 7);
    expect(dom.stdout.match(/<td class="cell fail"/g)).toBeNull();
    // The leases: one row per node, with its VTEP MAC.
    expect(dom.stdout.match(/<code>([0-9a-f]{2}:){5}[0-9a-f]{2}<\/code>/g)).toHaveLength(s.nodes.length);
    const shot = chromium("--screenshot=report.png", "--window-size=1400,1400");
    expect(shot.status).toBe(0);
    const png = readFileSync(join(stateDir, "report.png"));
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1400, 1400]);
    expect(png.length).toBeGreaterThan(50_000);
  }, 120_000);

  it("mirrors every pod's address to etcd, where ipamctl lists it under its node and subnet", async () => {
    const s = status();
    // What the plugin holds on each node (the lab's pods, and the cluster DNS pod it deploys).
    const want = s.nodes.flatMap((n) => new PodIpStore({ dataDir: join(stateDir, n.name, "cni"), network: LAB_NETWORK }).list().map((p) => `${p.ip} ${n.underlayIp} ${netOf(n.subnet)}`)).sort();
    for (const n of s.nodes) for (const p of n.pods) expect(want).toContain(`${p.ip} ${n.underlayIp} ${netOf(n.subnet)}`);
    const ipamctlPods = (): string[] => {
      const r = spawnSync("nsenter", [`--net=/var/run/netns/${s.etcd.netns}`, join(import.meta.dirname, "../../dist/bin/ipamctl"), "pods", "-o", "json", "--timeout", "2", "--etcd-endpoints", s.etcd.endpoints.join(",")], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(r.stderr);
      return (JSON.parse(r.stdout) as { ip: string; node: string; subnet: string }[]).map((p) => `${p.ip} ${p.node} ${p.subnet}`).sort();
    };
    // weftd mirrors at each resync (2 s in the lab): wait for it, then compare with a diff.
    await eventually("ipamctl pods lists the lab's pods", () => JSON.stringify(ipamctlPods()) === JSON.stringify(want), 6_000).catch(() => undefined);
    expect(ipamctlPods()).toEqual(want);
  });

  it("lists every pod in its node's anti-spoofing set, and a pod forging a neighbour's address reaches no one across nodes", async () => {
    const [n1, n2] = status().nodes;
    for (const n of [n1!, n2!]) {
      const filter = await readPodFilter((cmd, args, input) => run("ip", ["netns", "exec", n.netns, cmd, ...args], input));
      const ips = (filter?.entries ?? []).map((e) => e.ip);
      for (const pod of n.pods) expect(ips).toContain(pod.ip);
    }
    const [a, b] = n1!.pods;
    const d = n2!.pods[0]!;
    const watch = watchEchoRequests(d.netns, b!.ip);
    const fromB = watch.count;
    expect(ping(b!.netns, d.ip).received).toBe(3);
    expect(fromB()).toBe(3);
    expect(ping(a!.netns, d.ip).received).toBe(3); // a knows its gateway's MAC: what follows is IPv4, not ARP
    spawnSync("ip", ["-n", a!.netns, "addr", "add", `${b!.ip}/32`, "dev", "eth0"]);
    try {
      expect(spawnSync("ip", ["netns", "exec", a!.netns, "ping", "-q", "-c", "3", "-i", "0.2", "-W", "1", "-I", b!.ip, d.ip]).status).not.toBe(0);
      expect(fromB()).toBe(3); // none of the forged requests crossed
      // weftd on a's node counts them (read at its next resync) and says so in its log.
      await eventually("weftd counts the forged frames", () => metricValue(n1!.netns, "weft_spoofed_frames_dropped_total") >= 3, 6_000);
      expect(readFileSync(join(stateDir, "node1", "weftd.log"), "utf8")).toMatch(/"level":"warn".*dropped IPv4\/ARP frames that pods sent from a MAC or address not their own/);
    } finally {
      spawnSync("ip", ["-n", a!.netns, "addr", "del", `${b!.ip}/32`, "dev", "eth0"]);
      watch.remove();
    }
    expect(ping(a!.netns, d.ip).received).toBe(3);
  });

  it("follows a node replaced with the same IP and a new VTEP MAC (flannel's stale-FDB failure) within one event", async () => {
    const s = status();
    const [n1, n2] = s.nodes;
    const key = `/weft/network/subnets/${netOf(n2!.subnet).replace("/", "-")}`;
    const etcdctl = (...args: string[]) => spawnSync("ip", ["netns", "exec", s.etcd.netns, "etcdctl", `--endpoints=${s.etcd.endpoints[0]}`, ...args], { encoding: "utf8" });
    const vtep = netOf(n2!.subnet).split("/")[0]!;
    const n1Sees = () => ({
      arp: ipJson<{ dst: string; lladdr?: string }[]>(n1!.netns, ["neigh", "show", "dev", "weft.1"]).find((n) => n.dst === vtep)?.lladdr,
      fdb: (JSON.parse(spawnSync("ip", ["netns", "exec", n1!.netns, "bridge", "-j", "fdb", "show", "dev", "weft.1"], { encoding: "utf8" }).stdout) as { mac: string; dst?: string }[]).filter((f) => f.dst === n2!.underlayIp).map((f) => f.mac),
    });
    const oldMac = n1Sees().arp;
    expect(n1Sees().fdb).toEqual([oldMac]);
    // The replacement: the old weftd is gone, the node's VXLAN device has a new MAC, and its lease says so
    // (as a flannel node rebuilt with a random MAC would write it; --ignore-lease keeps the lease's TTL).
    process.kill(n2!.weftdPid, "SIGKILL");
    const newMac = "02:aa:bb:cc:dd:ee";
    // A new MAC flushes the device's own ARP entries; the replacement node's daemon would write them again.
    const own = ipJson<{ dst: string; lladdr: string }[]>(n2!.netns, ["neigh", "show", "dev", "weft.1", "nud", "permanent"]);
    expect(own.length).toBeGreaterThan(0);
    spawnSync("ip", ["-n", n2!.netns, "link", "set", "weft.1", "address", newMac]);
    for (const n of own) spawnSync("ip", ["-n", n2!.netns, "neigh", "replace", n.dst, "lladdr", n.lladdr, "dev", "weft.1", "nud", "permanent"]);
    const lease = JSON.parse(etcdctl("get", key, "--print-value-only").stdout) as { BackendData: { VtepMAC: string } };
    lease.BackendData.VtepMAC = newMac;
    const t0 = performance.now();
    expect(etcdctl("put", "--ignore-lease", key, JSON.stringify(lease)).status).toBe(0);
    await eventually("node1's ARP and FDB entries name the new MAC", () => n1Sees().arp === newMac && n1Sees().fdb.join() === newMac, 5_000);
    const followedMs = performance.now() - t0;
    console.info(`node1 followed node2's new VTEP MAC ${followedMs.toFixed(0)} ms after the lease was written`);
    expect(followedMs).toBeLessThan(2_000); // a lab resync is 2 s: the lease event did it
    expect(ping(n1!.pods[0]!.netns, n2!.pods[0]!.ip).received).toBe(3);
    // The node's own weftd comes back, puts the MAC it derives from its IP on the device and the lease; node1 follows again.
    expect(lab("restart-weftd", "node2").code).toBe(0);
    await eventually("node1 follows the restarted node's MAC", () => n1Sees().arp === oldMac && n1Sees().fdb.join() === oldMac, 15_000);
    expect(ping(n1!.pods[0]!.netns, n2!.pods[0]!.ip).received).toBe(3);
  }, 30_000);

  it("gives a node added at runtime a subnet that the others reach", async () => {
    expect(lab("add-node", "--pods", "1").code).toBe(0);
    const s = status();
    const node3 = s.nodes[2];
    expect(node3?.subnet).toMatch(/^10\.244\./);
    await eventually("node1 has a route to node3's subnet", () => remoteEntries(s.nodes[0]!.netns, node3!.subnet).routes === 1);
    expect(ping(s.nodes[0]!.pods[0]!.netns, node3!.pods[0]!.ip).received).toBe(3);
  });

  it("keeps every ping while weftd is SIGKILLed and restarted, and keeps the subnet", async () => {
    const s = status();
    const [n1, n2] = s.nodes;
    const pinger = spawn("ip", ["netns", "exec", n1!.pods[0]!.netns, "ping", "-q", "-c", "60", "-i", "0.05", "-W", "1", n2!.pods[0]!.ip], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    pinger.stdout.on("data", (d) => (out += d));
    const done = new Promise<void>((r) => pinger.on("exit", () => r()));
    expect(lab("restart-weftd", "node1", "--signal", "SIGKILL").code).toBe(0);
    await done;
    expect(out).toMatch(/60 packets transmitted, 60 received/);
    const after = status();
    expect(after.nodes[0]!.subnet).toBe(n1!.subnet);
    expect(after.nodes[0]!.weftdPid).not.toBe(n1!.weftdPid);
  }, 30_000);

  it("restores a route deleted by hand, and a VXLAN device deleted by hand, within a resync", async () => {
    const [n1, n2] = status().nodes;
    // The deletions are proven by ip's exit status, not by reading the table back: a resync (every 2 s)
    // may restore the route between the two commands, which read it as "never deleted".
    expect(spawnSync("ip", ["-n", n1!.netns, "route", "del", netOf(n2!.subnet)]).status).toBe(0);
    await eventually("route restored", () => remoteEntries(n1!.netns, n2!.subnet).routes === 1, 6_000);
    expect(spawnSync("ip", ["-n", n1!.netns, "link", "del", "weft.1"]).status).toBe(0);
    await eventually("device and entries restored", () => remoteEntries(n1!.netns, n2!.subnet).routes === 1 && remoteEntries(n1!.netns, n2!.subnet).arp === 1, 8_000);
    expect(ping(n1!.pods[0]!.netns, n2!.pods[0]!.ip).received).toBe(3);
  }, 20_000);

  it("removes every route, ARP and FDB entry of a node whose lease is released", async () => {
    const s = status();
    const node3 = s.nodes[2]!;
    const mac = ipJson<{ dst: string; lladdr: string }[]>(s.nodes[0]!.netns, ["neigh", "show", "dev", "weft.1"]).find((n) => n.dst === netOf(node3.subnet).split("/")[0])?.lladdr;
    expect(mac).toBeDefined();
    process.kill(node3.weftdPid, "SIGTERM"); // weftd leaves its lease on SIGTERM: release it as an operator would
    spawnSync("ip", ["netns", "exec", s.etcd.netns, "etcdctl", `--endpoints=${s.etcd.endpoints[0]}`, "del", `/weft/network/subnets/${netOf(node3.subnet).replace("/", "-")}`]);
    await eventually("node1 forgot node3", () => remoteEntries(s.nodes[0]!.netns, node3.subnet).routes === 0 && remoteEntries(s.nodes[0]!.netns, node3.subnet).arp === 0);
    const fdb = JSON.parse(spawnSync("ip", ["netns", "exec", s.nodes[0]!.netns, "bridge", "-j", "fdb", "show", "dev", "weft.1"], { encoding: "utf8" }).stdout) as { mac: string }[];
    expect(fdb.some((f) => f.mac === mac)).toBe(false);
  });

  it("follows a node whose public IP changes: same subnet, its lease names the new address, every other node updates", async () => {
    const s = status();
    const [n1, n2] = s.nodes;
    const [oldIp, newIp] = [n2!.underlayIp, "192.168.56.22"];
    // The address changes under the node (as a new DHCP lease would), then its weftd restarts.
    spawnSync("ip", ["netns", "exec", n2!.netns, "sysctl", "-qw", "net.ipv4.conf.eth0.promote_secondaries=1"]);
    spawnSync("ip", ["-n", n2!.netns, "addr", "add", `${newIp}/24`, "dev", "eth0"]);
    spawnSync("ip", ["-n", n2!.netns, "addr", "del", `${oldIp}/24`, "dev", "eth0"]);
    spawnSync("ip", ["-n", n2!.netns, "route", "replace", "default", "via", "192.168.56.1"]);
    expect(lab("restart-weftd", "node2").code).toBe(0);
    const key = `/weft/network/subnets/${netOf(n2!.subnet).replace("/", "-")}`;
    const lease = (): { PublicIP?: string; BackendData?: { VtepMAC?: string } } => JSON.parse(spawnSync("ip", ["netns", "exec", s.etcd.netns, "etcdctl", `--endpoints=${s.etcd.endpoints[0]}`, "get", key, "--print-value-only"], { encoding: "utf8" }).stdout || "{}");
    await eventually("the lease names the new address", () => lease().PublicIP === newIp, 15_000);
    const mac = lease().BackendData?.VtepMAC;
    const fdb = (): { mac: string; dst?: string }[] => JSON.parse(spawnSync("ip", ["netns", "exec", n1!.netns, "bridge", "-j", "fdb", "show", "dev", "weft.1"], { encoding: "utf8" }).stdout) as { mac: string; dst?: string }[];
    await eventually("node1's FDB sends node2's VTEP to the new address", () => fdb().some((f) => f.mac === mac && f.dst === newIp));
    expect(fdb().some((f) => f.dst === oldIp)).toBe(false);
    expect(status().nodes[1]!.subnet).toBe(n2!.subnet);
    expect(ping(n1!.pods[0]!.netns, n2!.pods[0]!.ip).received).toBe(3);
  }, 30_000);

  it("keeps pod traffic flowing while etcd is down, and readyz says so", async () => {
    const [n1, n2] = status().nodes;
    // the previous tests disturbed node1 (device deleted, a node gone): start from a ready node
    await eventually("node1 ready before etcd goes away", () => readyz(n1!.netns).status === 200, 15_000);
    expect(readyz(n1!.netns)).toEqual({ status: 200, body: "ready\n" });
    process.kill(state().etcd.pid, "SIGKILL");
    await eventually("readyz reports etcd", () => {
      const r = readyz(n1!.netns);
      return r.status === 503 && r.body.includes("etcd unreachable");
    }, 15_000);
    expect(ping(n1!.pods[0]!.netns, n2!.pods[0]!.ip, 20, "0.05")).toEqual({ sent: 20, received: 20 });
  }, 30_000);
});
