// weftd's backends side by side: pod → pod across two lab nodes over VXLAN (the reference, the
// default), WireGuard (wireguard-go here: this kernel has no WireGuard module, so the kernel's
// WireGuard is unmeasured) and host-gw; TCP throughput, RTT and the machine's CPU per Gbit moved, each
// as a ratio to VXLAN in the same run; and wireguard-go alone between two bare namespaces, for what
// weft adds to it. Labs run without Services, so nothing else shares the 2 cores.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { best, iperf, REPEATS, rttMs, SECONDS, withLab } from "./lab-traffic.mjs";
import { ratio } from "./lib.mjs";

const run = (cmd, args, input) => execFileSync(cmd, args, { encoding: "utf8", input });

/**
 * The reference for WireGuard: two namespaces on the lab's fabric joined by wireguard-go devices set up
 * by hand with the wg tool (no pod veth, no bridge, no node hop): what wireguard-go alone gives here.
 */
async function wireguardGoPair(state) {
  const made = [];
  const procs = [];
  try {
    const keys = [1, 2].map(() => {
      const priv = run("wg", ["genkey"]).trim();
      return { priv, pub: run("wg", ["pubkey"], priv).trim() };
    });
    for (const n of [1, 2]) {
      const ns = `${state.prefix}wgref${n}`;
      const dev = `${state.prefix.replace(/[^a-z0-9]/g, "")}wgr${n}`;
      run("ip", ["netns", "add", ns]);
      made.push(ns);
      run("ip", ["-n", `${state.prefix}fabric`, "link", "add", `${state.prefix}w${n}`, "type", "veth", "peer", "name", "eth0", "netns", ns]);
      run("ip", ["-n", `${state.prefix}fabric`, "link", "set", `${state.prefix}w${n}`, "master", "br0", "up"]);
      run("ip", ["-n", ns, "addr", "add", `192.168.56.${210 + n}/24`, "dev", "eth0"]);
      run("ip", ["-n", ns, "link", "set", "eth0", "up"]);
      const p = spawn("ip", ["netns", "exec", ns, "wireguard-go", "-f", dev], { env: { ...process.env, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: "1" }, stdio: "ignore" });
      procs.push(p);
      for (let i = 0; i < 100 && spawnSync("wg", ["show", dev]).status !== 0; i++) spawnSync("sleep", ["0.05"]);
      const other = keys[2 - n];
      run("ip", ["netns", "exec", ns, "sh", "-c", `umask 077; printf %s '${keys[n - 1].priv}' > /dev/shm/${dev}.key; wg set ${dev} private-key /dev/shm/${dev}.key listen-port 51900 peer ${other.pub} endpoint 192.168.56.${213 - n}:51900 allowed-ips 10.98.0.${3 - n}/32; rm -f /dev/shm/${dev}.key`]);
      run("ip", ["-n", ns, "addr", "add", `10.98.0.${n}/24`, "dev", dev]);
      run("ip", ["-n", ns, "link", "set", dev, "mtu", "1420", "up"]);
    }
    return { ...best(() => iperf(made[1], made[0], "10.98.0.2")), rtt: rttMs(made[0], "10.98.0.2") };
  } finally {
    for (const p of procs) p.kill();
    for (const ns of made) spawnSync("ip", ["netns", "del", ns]);
  }
}

const BACKENDS = ["vxlan", "wireguard", "host-gw"];
const results = {};
for (const backend of BACKENDS) {
  results[backend] = await withLab(backend.slice(0, 2), ["--backend", backend, "--no-services"], (state) => {
    const [a, b] = state.nodes.map((n) => n.pods[0]);
    const measured = { ...best(() => iperf(b.netns, a.netns, b.ip)), rtt: rttMs(a.netns, b.ip) };
    if (backend === "wireguard") results["wireguard-go alone"] = wireguardGoPair(state);
    return measured;
  });
}
results["wireguard-go alone"] = await results["wireguard-go alone"];
const ref = results.vxlan;
console.log(`backends: iperf3 TCP, best of ${REPEATS} × ${SECONDS} s, pod → pod across 2 lab nodes; RTT the mean of 100 pings; CPU: the machine's busy core-seconds per Gbit moved`);
for (const backend of [...BACKENDS, "wireguard-go alone"]) {
  const r = results[backend];
  console.log(`${backend.padEnd(18)} ${r.gbps.toFixed(2)} Gbit/s (${ratio(r.gbps, ref.gbps)})  RTT ${r.rtt.toFixed(3)} ms (${ratio(r.rtt, ref.rtt)})  CPU ${r.cpuPerGbit.toFixed(3)} core-s/Gbit (${ratio(r.cpuPerGbit, ref.cpuPerGbit)})`);
}
