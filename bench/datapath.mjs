// iperf3 TCP pod → pod across nodes through weft (a lab of 2 nodes) versus two namespaces joined by a
// hand-made static VXLAN on the same fabric; then with DirectRouting versus the plain underlay between
// two namespaces; then, on a dual-stack lab, IPv6 against IPv4 between the same two pods (throughput,
// interleaved, and RTT). Same run, short runs; each lab is torn down whatever happens.
import { execFileSync, spawnSync } from "node:child_process";
import { best as bestRun, iperf as iperfRun, REPEATS, rttMs, SECONDS, withLab } from "./lab-traffic.mjs";
import { ratio } from "./lib.mjs";

const ip = (...a) => execFileSync("ip", a, { encoding: "utf8" });
const iperf = (serverNs, clientNs, serverIp) => iperfRun(serverNs, clientNs, serverIp).gbps;
const best = (fn) => bestRun(() => ({ gbps: fn() })).gbps;

/** Two namespaces on the lab's fabric bridge with underlay addresses; optionally a static VXLAN between them. */
function referencePair(state, vxlan) {
  const fab = `${state.prefix}fabric`;
  const made = [];
  const ends = [];
  for (const n of [1, 2]) {
    const ns = `${state.prefix}ref${n}`;
    ip("netns", "add", ns);
    made.push(ns);
    state.namespaces.push(ns);
    ip("-n", fab, "link", "add", `${state.prefix}r${n}`, "type", "veth", "peer", "name", "eth0", "netns", ns);
    ip("-n", fab, "link", "set", `${state.prefix}r${n}`, "master", "br0", "up");
    ip("-n", ns, "addr", "add", `192.168.56.${200 + n}/24`, "dev", "eth0");
    ip("-n", ns, "link", "set", "eth0", "up");
    ip("-n", ns, "link", "set", "lo", "up");
    ends.push(ns);
  }
  if (vxlan) {
    for (const n of [1, 2]) {
      const ns = ends[n - 1];
      ip("-n", ns, "link", "add", "vx0", "type", "vxlan", "id", "99", "local", `192.168.56.${200 + n}`, "dev", "eth0", "dstport", "8472", "nolearning");
      ip("-n", ns, "link", "set", "vx0", "mtu", "1450", "address", `02:00:00:00:99:0${n}`, "up");
      ip("-n", ns, "addr", "add", `10.99.0.${n}/24`, "dev", "vx0");
      const peer = 3 - n;
      execFileSync("bridge", ["-n", ns, "fdb", "append", `02:00:00:00:99:0${peer}`, "dev", "vx0", "dst", `192.168.56.${200 + peer}`]);
      ip("-n", ns, "neigh", "replace", `10.99.0.${peer}`, "lladdr", `02:00:00:00:99:0${peer}`, "dev", "vx0", "nud", "permanent");
    }
  }
  return { ends, cleanup: () => made.forEach((ns) => spawnSync("ip", ["netns", "del", ns])) };
}

/** weft pod → pod across two nodes, then the reference pair, in one lab. */
const compare = (tag, upArgs, staticVxlan, refServerIp) =>
  withLab(tag, upArgs, (state) => {
    const [a, b] = state.nodes.map((n) => n.pods[0]);
    const weft = best(() => iperf(b.netns, a.netns, b.ip));
    const ref = referencePair(state, staticVxlan);
    try {
      return { weft, ref: best(() => iperf(ref.ends[1], ref.ends[0], refServerIp)) };
    } finally {
      ref.cleanup();
    }
  });

const vx = await compare("v", [], true, "10.99.0.2");
const ds = await withLab("6", ["--ip-family", "dual", "--no-services"], (state) => {
  const [a, b] = state.nodes.map((n) => n.pods[0]);
  const v4 = [];
  const v6 = [];
  for (let i = 0; i < REPEATS; i++) {
    v4.push(iperf(b.netns, a.netns, b.ip));
    v6.push(iperf(b.netns, a.netns, b.ip6));
  }
  return { v4: Math.max(...v4), v6: Math.max(...v6), rtt4: rttMs(a.netns, b.ip), rtt6: rttMs(a.netns, b.ip6) };
});
const dr = await compare("d", ["--direct-routing"], false, "192.168.56.202");
console.log(`datapath: iperf3 TCP, best of ${REPEATS} × ${SECONDS} s, pod → pod across 2 lab nodes`);
console.log(`VXLAN:          weft ${vx.weft.toFixed(2)} Gbit/s, static hand-made VXLAN ${vx.ref.toFixed(2)} Gbit/s → ${ratio(vx.weft, vx.ref)} (target ≥ 0.95×)`);
console.log(`DirectRouting:  weft ${dr.weft.toFixed(2)} Gbit/s, plain underlay ${dr.ref.toFixed(2)} Gbit/s → ${ratio(dr.weft, dr.ref)} (target ≥ 0.95×)`);
console.log(`dual-stack:     IPv6 ${ds.v6.toFixed(2)} Gbit/s, IPv4 ${ds.v4.toFixed(2)} Gbit/s → ${ratio(ds.v6, ds.v4)}; RTT IPv6 ${ds.rtt6.toFixed(3)} ms, IPv4 ${ds.rtt4.toFixed(3)} ms → ${ratio(ds.rtt6, ds.rtt4)}`);
