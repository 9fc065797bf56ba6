// Convergence: at N lab nodes, the time from a new lease written to etcd until its route is on every
// node (each node's `ip monitor route` stream, so nothing polls), p50/p99 over several leases; then
// weftd's RSS and idle CPU per node.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ms, percentile, ROOT, withCleanup } from "./lib.mjs";

const SIZES = (process.env.BENCH_NODES ?? "10,30").split(",").map(Number);
const LEASES = Number(process.env.BENCH_LEASES ?? 20);
const LAB = join(ROOT, "dist", "lab", "weft-lab.cjs");
const CLK_TCK = 100;

function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}
const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024;

async function measure(nodes) {
  const dir = mkdtempSync(join(tmpdir(), "weft-bench-conv-"));
  const env = { ...process.env, WEFT_LAB_STATE_DIR: dir, WEFT_LAB_PREFIX: `wbc${nodes}-` };
  const monitors = [];
  return withCleanup(
    () => {
      for (const m of monitors) m.kill();
      spawnSync(process.execPath, [LAB, "down"], { env });
      rmSync(dir, { recursive: true, force: true });
    },
    async () => {
      // The pod network alone: N weft-proxies and a controller on the same 2 cores would be measured too.
      execFileSync(process.execPath, [LAB, "up", "--nodes", String(nodes), "--pods-per-node", "0", "--no-services"], { env, stdio: "ignore" });
      const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8"));
      const seen = new Map(); // subnet → Map(node → time)
      for (const node of state.nodes) {
        const m = spawn("ip", ["-n", node.netns, "monitor", "route"], { stdio: ["ignore", "pipe", "ignore"] });
        monitors.push(m);
        m.stdout.on("data", (chunk) => {
          const t = performance.now();
          for (const line of chunk.toString().split("\n")) {
            const subnet = /^(10\.244\.\d+\.0\/24) via .* dev weft\.1/.exec(line)?.[1];
            if (subnet && !seen.get(subnet)?.has(node.name)) seen.set(subnet, (seen.get(subnet) ?? new Map()).set(node.name, t));
          }
        });
      }
      await new Promise((r) => setTimeout(r, 500));
      const etcdctl = (...a) => execFileSync("ip", ["netns", "exec", state.etcd.netns, "etcdctl", `--endpoints=${state.etcd.endpoint}`, ...a], { encoding: "utf8" });
      const latencies = [];
      const nodeSubnets = new Set(state.nodes.map((n) => n.subnet.replace(/\.1\/24$/, ".0/24")));
      const fresh = [];
      for (let x = 0; fresh.length < LEASES; x++) if (!nodeSubnets.has(`10.244.${x}.0/24`)) fresh.push(`10.244.${x}.0/24`);
      for (let i = 0; i < LEASES; i++) {
        const subnet = fresh[i];
        const value = JSON.stringify({ PublicIP: `192.168.56.${150 + i}`, BackendType: "vxlan", BackendData: { VNI: 1, VtepMAC: `02:01:c0:a8:38:${(150 + i).toString(16)}` } });
        const t0 = performance.now();
        etcdctl("put", `/weft/network/subnets/${subnet.replace("/", "-")}`, value);
        const deadline = Date.now() + 10_000;
        while ((seen.get(subnet)?.size ?? 0) < nodes && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
        const times = [...(seen.get(subnet)?.values() ?? [])];
        if (times.length < nodes) throw new Error(`${subnet}: only ${times.length}/${nodes} nodes programmed it within 10 s`);
        latencies.push(Math.max(...times) - t0);
      }
      for (const subnet of fresh) etcdctl("del", `/weft/network/subnets/${subnet.replace("/", "-")}`);
      const pids = state.nodes.map((n) => n.weftdPid);
      const cpu0 = pids.map(cpuSeconds);
      await new Promise((r) => setTimeout(r, 10_000));
      const idleCpu = pids.map((p, i) => ((cpuSeconds(p) - cpu0[i]) / 10) * 100);
      return { nodes, latencies, rss: pids.map(rssMb), idleCpu };
    },
  );
}

console.log(`convergence: lease written to etcd → its route on every node (${LEASES} leases per size; weftd resync 2 s)`);
for (const n of SIZES) {
  const r = await measure(n);
  const avg = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`${String(n).padStart(3)} nodes: p50 ${ms(percentile(r.latencies, 50))}, p99 ${ms(percentile(r.latencies, 99))} (target p99 < 200 ms at 50); weftd RSS avg ${avg(r.rss).toFixed(0)} MB, max ${Math.max(...r.rss).toFixed(0)} MB; idle CPU avg ${avg(r.idleCpu).toFixed(2)} % of a core`);
}
