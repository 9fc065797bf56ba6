// weft-proxy's IPv6 dataplane on the kernel, in iptables and nftables mode: a "node" namespace with two
// endpoint namespaces behind a bridge and a client namespace standing for the outside; the real
// proxier classes program the node (one per family, as kube-proxy's dual-stack), and real TCP and UDP
// traffic proves ClusterIP, NodePort (masqueraded), rejection of a Service without endpoints and
// ClientIP affinity over IPv6, with the IPv4 proxier's rules beside them untouched. Then weft-proxy
// itself, dual-stack in userspace mode: both families' forwarders, and its refusals at start.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run as runOnHost, type Runner } from "../../proxy/exec.js";
import { dualStackCluster } from "../../proxy/fixtures.js";
import { IptablesProxier } from "../../proxy/iptables-proxier.js";
import type { ClusterState, EndpointSlice, IpFamily, Service } from "../../proxy/model.js";
import { NftProxier } from "../../proxy/nft-proxier.js";
import type { Proxier } from "../../proxy/proxier.js";
import { servicePorts } from "../../proxy/service-ports.js";
import { NetnsPool, run } from "../helpers/netns.js";

const CIDR = { IPv4: "10.244.0.0/16", IPv6: "fd00:10:244::/56" } as const;
const NODE_IP6 = "fd00:56::11";
const BRIDGE_IP6 = "fd00:10:244:1::1";
const ENDPOINTS = { ep1: ["10.244.1.2", "fd00:10:244:1::2"], ep2: ["10.244.1.3", "fd00:10:244:1::3"] } as const;

// Answers each TCP connection and UDP datagram on port 8080 with "<name> <the peer address it saw>".
const SERVER = `
const name = process.argv[1], net = require("node:net"), dgram = require("node:dgram");
let up = 0; const ready = () => ++up === 2 && console.log("ready");
net.createServer((s) => { s.on("error", () => {}); s.end(name + " " + s.remoteAddress + "\\n"); }).listen({ port: 8080, host: "::" }, ready);
const u = dgram.createSocket("udp6");
u.on("message", (m, r) => u.send(name + " " + r.address + "\\n", r.port, r.address));
u.bind(8080, "::", ready);`;

// Makes `count` connections (TCP) or one-datagram flows (UDP) from fresh source ports; prints each
// answer, or the error's code, or "timeout", as a JSON array.
const PROBE = `
const [proto, host, port, count] = process.argv.slice(1), net = require("node:net"), dgram = require("node:dgram");
const tcp = () => new Promise((done) => {
  const s = net.connect({ host, port: +port }); let out = "";
  s.setTimeout(1500, () => { s.destroy(); done("timeout"); });
  s.on("data", (d) => (out += d)); s.on("end", () => done(out.trim())); s.on("error", (e) => done(e.code));
});
const udp = () => new Promise((done) => {
  const s = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
  const t = setTimeout(() => { s.close(); done("timeout"); }, 1500);
  s.on("message", (m) => { clearTimeout(t); s.close(); done(m.toString().trim()); });
  s.on("error", (e) => { clearTimeout(t); s.close(); done(e.code); });
  s.send("hi", +port, host);
});
(async () => { const out = []; for (let i = 0; i < +count; i++) out.push(await (proto === "tcp" ? tcp() : udp())); console.log(JSON.stringify(out)); })();`;

const sh = (ns: string, cmd: string, ...args: string[]): string => run("ip", ["netns", "exec", ns, cmd, ...args]);

function probe(ns: string, proto: "tcp" | "udp", host: string, port: number, count: number): string[] {
  const r = spawnSync("ip", ["netns", "exec", ns, process.execPath, "-e", PROBE, proto, host, String(port), String(count)], { encoding: "utf8", timeout: 20_000 });
  if (r.status !== 0) throw new Error(`probe ${proto} [${host}]:${port} in ${ns} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as string[];
}

/** The lab's shape in small: node (bridge br0 to ep1, ep2; uplink to client), addresses of both families. */
function buildTopology(pool: NetnsPool): { node: string; client: string; eps: Record<keyof typeof ENDPOINTS, string> } {
  const [node, client, ep1, ep2] = [pool.create(), pool.create(), pool.create(), pool.create()];
  const ip = (ns: string, ...args: string[]): string => run("ip", ["-n", ns, ...args]);
  ip(node, "link", "add", "br0", "type", "bridge");
  ip(node, "addr", "add", "10.244.1.1/24", "dev", "br0");
  ip(node, "addr", "add", `${BRIDGE_IP6}/64`, "dev", "br0", "nodad");
  ip(node, "link", "set", "br0", "up");
  for (const [i, [ns, [v4, v6]]] of [[ep1, ENDPOINTS.ep1], [ep2, ENDPOINTS.ep2]].entries() as IterableIterator<[number, [string, readonly [string, string]]]>) {
    ip(node, "link", "add", `veth${i}`, "type", "veth", "peer", "name", "eth0", "netns", ns);
    ip(node, "link", "set", `veth${i}`, "master", "br0", "up");
    ip(ns, "addr", "add", `${v4}/24`, "dev", "eth0");
    ip(ns, "addr", "add", `${v6}/64`, "dev", "eth0", "nodad");
    ip(ns, "link", "set", "eth0", "up");
    ip(ns, "route", "add", "default", "via", "10.244.1.1");
    ip(ns, "-6", "route", "add", "default", "via", BRIDGE_IP6);
  }
  ip(node, "link", "add", "uplink", "type", "veth", "peer", "name", "eth0", "netns", client);
  ip(node, "addr", "add", "192.168.56.11/24", "dev", "uplink");
  ip(node, "addr", "add", `${NODE_IP6}/64`, "dev", "uplink", "nodad");
  ip(node, "link", "set", "uplink", "up");
  ip(client, "addr", "add", "192.168.56.100/24", "dev", "eth0");
  ip(client, "addr", "add", "fd00:56::100/64", "dev", "eth0", "nodad");
  ip(client, "link", "set", "eth0", "up");
  // The client sends the service range through the node, as a pod behind it would (the FORWARD path).
  ip(client, "-6", "route", "add", "fd00:10:96::/112", "via", NODE_IP6);
  // A node has a default route: locally generated traffic to a cluster IP needs one before the DNAT.
  ip(node, "route", "add", "default", "via", "192.168.56.100");
  ip(node, "-6", "route", "add", "default", "via", "fd00:56::100");
  sh(node, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1");
  return { node, client, eps: { ep1, ep2 } };
}

const svc = (name: string, last: number, spec: Partial<Service["spec"]>): Service => ({
  metadata: { name, namespace: "default" },
  spec: { ipFamilyPolicy: "RequireDualStack", ipFamilies: ["IPv4", "IPv6"], clusterIP: `10.96.0.${last}`, clusterIPs: [`10.96.0.${last}`, `fd00:10:96::${last}`], ...spec },
});
const slices = (service: string, ports: EndpointSlice["ports"]): EndpointSlice[] =>
  (["IPv4", "IPv6"] as const).map((family, f) => ({
    metadata: { name: `${service}-${family}`, namespace: "default", labels: { "kubernetes.io/service-name": service } },
    addressType: family,
    ports,
    endpoints: Object.entries(ENDPOINTS).map(([name, ips]) => ({ addresses: [ips[f]!], conditions: { ready: true }, nodeName: "node1", targetRef: { kind: "Pod", name } })),
  }));

/** web: NodePort over TCP and UDP; sticky: ClientIP affinity; empty: no endpoints. All dual-stack. */
const cluster: ClusterState = {
  services: [
    svc("web", 20, { type: "NodePort", ports: [{ name: "tcp", protocol: "TCP", port: 80, nodePort: 30080 }, { name: "udp", protocol: "UDP", port: 80, nodePort: 30080 }] }),
    svc("sticky", 21, { sessionAffinity: "ClientIP", ports: [{ protocol: "TCP", port: 80 }] }),
    svc("empty", 23, { ports: [{ protocol: "TCP", port: 80 }] }),
  ],
  endpointSlices: [...slices("web", [{ name: "tcp", port: 8080, protocol: "TCP" }, { name: "udp", port: 8080, protocol: "UDP" }]), ...slices("sticky", [{ port: 8080, protocol: "TCP" }])],
  pods: [],
  nodes: [],
};

const inNetns = (ns: string): Runner => (cmd, args, input) => runOnHost("ip", ["netns", "exec", ns, cmd, ...args], input);
const MODES = {
  iptables: (family: IpFamily, runner: Runner): Proxier => new IptablesProxier({ clusterCidr: CIDR[family], family }, runner),
  nftables: (family: IpFamily, runner: Runner): Proxier => new NftProxier({ clusterCidr: CIDR[family], family }, runner),
};
/** The family's rules as the kernel lists them, without the lines that carry a time. */
const listing = (mode: keyof typeof MODES, ns: string, family: IpFamily): string =>
  (mode === "iptables" ? sh(ns, family === "IPv6" ? "ip6tables-save" : "iptables-save") : sh(ns, "nft", "list", "table", family === "IPv6" ? "ip6" : "ip", "kube-proxy"))
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .join("\n");

/** Resolves when `p` prints a line that `done` accepts (given every line so far); rejects after `ms`. */
function waitForOutput(p: ChildProcess, what: string, done: (lines: string[]) => boolean, ms = 5_000): Promise<string[]> {
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms; output: ${lines.join(" | ")}`)), ms);
    p.stdout!.on("data", (d: Buffer) => {
      lines.push(...d.toString().split("\n").filter(Boolean));
      if (done(lines)) {
        clearTimeout(t);
        resolve(lines);
      }
    });
  });
}

/** The topology and its two servers, made before the block's tests and removed after them, whatever happened. */
function useTopology(pool: NetnsPool): () => ReturnType<typeof buildTopology> {
  const servers: ChildProcess[] = [];
  let topo: ReturnType<typeof buildTopology> | undefined;
  beforeAll(async () => {
    topo = buildTopology(pool);
    for (const [name, ns] of Object.entries(topo.eps)) {
      const p = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", SERVER, name], { stdio: ["ignore", "pipe", "pipe"] });
      servers.push(p);
      await waitForOutput(p, `server ${name}`, (l) => l.includes("ready"));
    }
  });
  afterAll(() => {
    for (const p of servers) p.kill();
    pool.cleanup();
  });
  return () => topo!;
}

describe.each(Object.keys(MODES) as (keyof typeof MODES)[])("weft-proxy over IPv6 in %s mode (one proxier per family)", (mode) => {
  const pool = new NetnsPool("p6");
  const topology = useTopology(pool);
  let topo: ReturnType<typeof buildTopology>;
  beforeAll(() => void (topo = topology()));

  it("loads each family's rules into its own family's tables, and the IPv6 proxier leaves the IPv4 rules as they were", () => {
    const v4 = MODES[mode]("IPv4", inNetns(topo.node));
    v4.init();
    v4.sync(servicePorts(cluster, "node1", "IPv4"));
    const ipv4Before = listing(mode, topo.node, "IPv4");
    const v6 = MODES[mode]("IPv6", inNetns(topo.node));
    v6.init();
    const stats = v6.sync(servicePorts(cluster, "node1", "IPv6")) as { written: number };
    expect(stats.written).toBeGreaterThan(0);
    expect(listing(mode, topo.node, "IPv4")).toBe(ipv4Before);
    const [ipv4, ipv6] = [ipv4Before, listing(mode, topo.node, "IPv6")];
    if (mode === "iptables") {
      expect(ipv6).toMatch(/^-A KUBE-SERVICES -d fd00:10:96::20\/128 -p tcp .*-j KUBE-SVC-/m);
      expect(ipv6).toContain("--reject-with icmp6-port-unreachable");
      expect(ipv4).toMatch(/^-A KUBE-SERVICES -d 10\.96\.0\.20\/32 -p tcp .*-j KUBE-SVC-/m);
    } else {
      expect(ipv6).toContain("fd00:10:96::20 . tcp . 80 : goto cluster-2");
      expect(ipv4).toContain("10.96.0.20 . tcp . 80 : goto cluster-2");
    }
    expect(ipv6).not.toMatch(/\b10\.96\.\d|\b10\.244\.1\.\d/);
    expect(ipv4).not.toMatch(/fd00:/);
  });

  it("sends TCP and UDP for the IPv6 cluster IP from the node to both endpoints", () => {
    for (const proto of ["tcp", "udp"] as const) {
      const answers = probe(topo.node, proto, "fd00:10:96::20", 80, 16);
      expect(new Set(answers.map((a) => a.split(" ")[0]))).toEqual(new Set(["ep1", "ep2"]));
    }
  });

  it("serves the NodePort on the node's IPv6 address to the outside, masqueraded to the node's address", () => {
    for (const proto of ["tcp", "udp"] as const) {
      for (const answer of probe(topo.client, proto, NODE_IP6, 30080, 4)) expect(answer).toMatch(new RegExp(`^ep[12] ${BRIDGE_IP6}$`));
    }
  });

  it("refuses a connection to an IPv6 Service without endpoints (rejected, not dropped)", () => {
    // Refused within the probe's 1.5 s, not timed out: on one host the first ICMPv6 error comes back
    // while connect() still holds its socket (TcpExtLockDroppedIcmps), so the SYN's retransmission
    // at 1 s is the one refused.
    expect(probe(topo.node, "tcp", "fd00:10:96::23", 80, 1)).toEqual(["ECONNREFUSED"]);
    expect(probe(topo.client, "tcp", "fd00:10:96::23", 80, 1)).toEqual(["ECONNREFUSED"]);
    // The same client reaches a Service with endpoints: what it was refused was the Service, not the route.
    expect(probe(topo.client, "tcp", "fd00:10:96::20", 80, 1)[0]).toMatch(/^ep[12] /);
  });

  it("keeps an IPv6 client on one endpoint with ClientIP affinity, and the IPv4 side keeps working beside it", () => {
    const sticky = probe(topo.node, "tcp", "fd00:10:96::21", 80, 8).map((a) => a.split(" ")[0]);
    expect(sticky[0]).toMatch(/^ep[12]$/);
    expect(new Set(sticky).size).toBe(1);
    expect(probe(topo.node, "tcp", "10.96.0.20", 80, 2).every((a) => /^ep[12] /.test(a))).toBe(true);
  });

  it("the real loaders take the dual-stack fixture's IPv6 rules (the goldens), and a sync after a change", () => {
    const ns = pool.create();
    const p = MODES[mode]("IPv6", inNetns(ns));
    p.init();
    p.sync(servicePorts(dualStackCluster(), "node1", "IPv6"));
    const after = dualStackCluster();
    after.endpointSlices.find((s) => s.addressType === "IPv6" && s.metadata.name.startsWith("lb-demo"))!.endpoints.pop();
    after.endpointSlices.find((s) => s.addressType === "IPv6" && s.metadata.name.startsWith("cluster-demo"))!.endpoints[2]!.addresses = ["fd00:10:244:2::9"];
    p.sync(servicePorts(after, "node1", "IPv6"));
    const text = listing(mode, ns, "IPv6");
    if (mode === "iptables") {
      expect(text).toContain("--mask ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff --rsource -m tcp -j DNAT --to-destination [fd00:10:244:1::2]:8080");
      expect(text).toContain("--to-destination [fd00:10:244:2::9]:8080");
      expect(text).not.toContain("[fd00:10:244:2::3]:8080");
    } else {
      expect(text).toContain("fd00:10:96::20 . 80 . 2 : fd00:10:244:2::9 . 8080");
      expect(text).toMatch(/chain endpoint-\w+-default\/lb-demo\/tcp\/web__fd00\.10\.244\.1\.\.2\/8080 \{/);
      expect(text).not.toContain("lb-demo/tcp/web__fd00.10.244.2..2");
      expect(text).toContain("type ipv6_addr");
    }
  });
});

describe("weft-proxy dual-stack in userspace mode (--cluster-cidr and --node-ip one per family)", () => {
  const pool = new NetnsPool("pu");
  const topology = useTopology(pool);
  const dir = mkdtempSync(join(tmpdir(), "weft-proxy-v6-"));
  const bundle = join(dir, "weft-proxy.cjs");
  const state = join(dir, "api.json");
  let proxy: ChildProcess | undefined;
  const weftProxy = (ns: string, ...flags: string[]): string[] => ["netns", "exec", ns, process.execPath, bundle, "--node-name", "node1", "--cluster-state", state, ...flags];
  beforeAll(async () => {
    const entry = resolve(import.meta.dirname, "../../proxy/main.ts");
    // Built as the project's build makes the lab's weft-proxy (a CommonJS bundle), into the test's own directory.
    await build({ entryPoints: [entry], outfile: bundle, bundle: true, platform: "node", format: "cjs", target: "node20", logLevel: "silent", define: { "import.meta.url": JSON.stringify(pathToFileURL(entry).href) } });
    writeFileSync(state, JSON.stringify(cluster));
  });
  afterAll(() => {
    proxy?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs a proxier per family, each syncing and logging under its family, and serves both families", async () => {
    const { node, client } = topology();
    proxy = spawn("ip", weftProxy(node, "--proxy-mode", "userspace", "--cluster-cidr", `${CIDR.IPv4},${CIDR.IPv6}`, "--node-ip", `192.168.56.11,${NODE_IP6}`), { stdio: ["ignore", "pipe", "pipe"] });
    const synced = (lines: string[]): string[] => lines.map((l) => JSON.parse(l) as { msg: string; family?: string }).filter((l) => l.msg === "rules synced").map((l) => l.family ?? "none");
    const lines = await waitForOutput(proxy, "weft-proxy's first syncs", (l) => new Set(synced(l)).size === 2);
    expect(new Set(synced(lines))).toEqual(new Set(["IPv4", "IPv6"]));
    expect(lines.map((l) => JSON.parse(l) as { family?: string }).every((l) => l.family === "IPv4" || l.family === "IPv6")).toBe(true);
    expect(sh(node, "ip6tables-save", "-t", "nat")).toMatch(new RegExp(`^-A KUBE-PORTALS-HOST -d fd00:10:96::20/128 -p tcp -m tcp --dport 80 .*-j DNAT --to-destination \\[${NODE_IP6}\\]:\\d+$`, "m"));
    // Its forwarders open the connections: endpoints see the node's address on their bridge.
    for (const proto of ["tcp", "udp"] as const) {
      const answers = probe(node, proto, "fd00:10:96::20", 80, 4);
      expect(new Set(answers)).toEqual(new Set([`ep1 ${BRIDGE_IP6}`, `ep2 ${BRIDGE_IP6}`]));
      expect(probe(client, proto, NODE_IP6, 30080, 1)[0]).toMatch(new RegExp(`^ep[12] ${BRIDGE_IP6}$`));
    }
    expect(probe(node, "tcp", "10.96.0.20", 80, 1)[0]).toMatch(/^ep[12] ::ffff:10\.244\.1\.1$/);
  });

  it("refuses at start a family it cannot serve: userspace without the node's address of it, ipvs for IPv6", () => {
    const { node } = topology();
    const start = (...flags: string[]) => spawnSync("ip", weftProxy(node, ...flags), { encoding: "utf8", timeout: 10_000 });
    const userspace = start("--proxy-mode", "userspace", "--cluster-cidr", `${CIDR.IPv4},${CIDR.IPv6}`, "--node-ip", "192.168.56.11");
    expect([userspace.status, userspace.stderr.trim()]).toEqual([1, `weft-proxy: userspace mode: --cluster-cidr has the IPv6 CIDR ${CIDR.IPv6} but --node-ip has no IPv6 address (192.168.56.11); add this node's IPv6 address to --node-ip (its portals send locally generated traffic there), or drop that CIDR`]);
    const ipvs = start("--proxy-mode", "ipvs", "--cluster-cidr", CIDR.IPv6);
    expect([ipvs.status, ipvs.stderr]).toEqual([1, expect.stringMatching(/^weft-proxy: proxy mode "ipvs" of weft-proxy programs IPv4 only/)]);
  });
});
