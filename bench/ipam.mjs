// IPAM: N simulated nodes acquiring subnet leases from one etcd (time and etcd requests per acquire),
// and pod IP allocate + release in-process versus the reference host-local ADD + DEL, same run.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleWorker, execTimed, ms, percentile, ratio, withCleanup } from "./lib.mjs";

const NODES = Number(process.env.BENCH_NODES ?? 1000);
const OPS = Number(process.env.BENCH_OPS ?? 2000);
const REF_OPS = 100;
const freePort = () => new Promise((r) => { const s = createServer(); s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); });
const dir = mkdtempSync(join(tmpdir(), "weft-bench-ipam-"));
const [cport, pport] = [await freePort(), await freePort()];
const endpoint = `http://127.0.0.1:${cport}`;
const etcd = spawn("etcd", ["--data-dir", join(dir, "etcd"), "--listen-client-urls", endpoint, "--advertise-client-urls", endpoint, "--listen-peer-urls", `http://127.0.0.1:${pport}`, "--initial-advertise-peer-urls", `http://127.0.0.1:${pport}`, "--initial-cluster", `default=http://127.0.0.1:${pport}`, "--log-level", "error"], { stdio: "ignore" });

const grpcRequests = async () => {
  const text = await (await fetch(`${endpoint}/metrics`)).text();
  return text.split("\n").filter((l) => l.startsWith("grpc_server_handled_total")).reduce((s, l) => s + Number(l.split(" ").pop()), 0);
};

await withCleanup(
  () => {
    etcd.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  },
  async () => {
    for (let i = 0; i < 100; i++) {
      try {
        await fetch(`${endpoint}/health`);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const worker = await bundleWorker("ipam-worker", ["etcd3", "ip-num", "cockatiel"]);
    const before = await grpcRequests();
    const { acquire, alloc } = JSON.parse(execFileSync(process.execPath, [worker, endpoint, String(NODES), String(OPS)], { encoding: "utf8", maxBuffer: 64 << 20 }));
    const requests = (await grpcRequests()) - before - 1; // minus the config put

    const hl = { cniVersion: "1.0.0", name: "bench", type: "bridge", ipam: { type: "host-local", subnet: "10.244.0.0/16", dataDir: join(dir, "hl") } };
    const hostLocal = [];
    for (let i = 0; i < REF_OPS; i++) {
      const env = { CNI_CONTAINERID: `c${i}`, CNI_NETNS: "/var/run/netns/none", CNI_IFNAME: "eth0", CNI_PATH: "/usr/lib/cni" };
      const add = execTimed("/usr/lib/cni/host-local", [], { env: { ...env, CNI_COMMAND: "ADD" }, input: JSON.stringify(hl) });
      const del = execTimed("/usr/lib/cni/host-local", [], { env: { ...env, CNI_COMMAND: "DEL" }, input: JSON.stringify(hl) });
      hostLocal.push(add.ms + del.ms);
    }
    console.log(`ipam: ${NODES} nodes acquiring leases from one etcd (10.0.0.0/8, /24 subnets)`);
    console.log(`  acquire p50 ${ms(percentile(acquire, 50))}, p95 ${ms(percentile(acquire, 95))}, p99 ${ms(percentile(acquire, 99))}; first 100 p50 ${ms(percentile(acquire.slice(0, 100), 50))}, last 100 p50 ${ms(percentile(acquire.slice(-100), 50))}`);
    console.log(`  etcd requests per acquire: ${(requests / NODES).toFixed(2)} (${requests} in all)`);
    console.log(`pod IP allocate + release, /16, ${OPS} ops in-process: p50 ${ms(percentile(alloc, 50))}, p95 ${ms(percentile(alloc, 95))}`);
    console.log(`host-local ADD + DEL (two execs), ${REF_OPS} ops: p50 ${ms(percentile(hostLocal, 50))}, p95 ${ms(percentile(hostLocal, 95))}`);
    console.log(`store / host-local: ${ratio(percentile(alloc, 50), percentile(hostLocal, 50))} (the reference pays two process starts per op; weft's store runs inside the plugin's one)`);
  },
);
