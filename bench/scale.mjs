// Scale: one real weftd in a namespace, beside its etcd, in a cluster of N simulated nodes whose leases
// (flannel's format) a writer puts into etcd. Measures joining the cluster (weftd start → every remote
// node's route programmed), the kernel changes and etcd requests it took, RSS and CPU; then churn
// (RATE lease changes/s, half joins, half leaves: lease written → route added or removed, from the
// kernel's own `ip monitor` stream), and the cluster at rest (etcd writes and watch bytes).
//   BENCH_SCALE=100,1000  BENCH_CHURN_S=60  BENCH_CHURN_RATE=10  BENCH_REST_S=30
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, ms, Namespaces, percentile, ROOT, withCleanup } from "./lib.mjs";

const SIZES = (process.env.BENCH_SCALE ?? "100,1000").split(",").map(Number);
const CHURN_S = Number(process.env.BENCH_CHURN_S ?? 60);
const CHURN_RATE = Number(process.env.BENCH_CHURN_RATE ?? 10);
const REST_S = Number(process.env.BENCH_REST_S ?? 30);
const PREFIX = "/weft/network";
const ETCD = "http://10.200.0.1:2379";
const now = () => performance.timeOrigin + performance.now();
const sleep = (t) => new Promise((r) => setTimeout(r, t));
const CLK_TCK = 100;
const cpuSeconds = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
};
const statusMb = (pid, field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024;
const rssMb = (pid) => statusMb(pid, "VmRSS");
/** Sum of a Prometheus metric's samples (all label sets). */
const metric = (text, name) => text.split("\n").filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `)).reduce((s, l) => s + Number(l.split(" ").at(-1)), 0);

async function measure(n) {
  const nss = new Namespaces("scale");
  const dir = mkdtempSync(join(tmpdir(), "weft-bench-scale-"));
  const procs = [];
  return withCleanup(
    () => {
      for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
      nss.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
    async () => {
      const ns = nss.create("n");
      const inNs = (cmd, args, opts = {}) => execFileSync("ip", ["netns", "exec", ns, cmd, ...args], { encoding: "utf8", ...opts });
      // The underlay: a veth pair inside the namespace (no traffic leaves it; the simulated nodes never answer).
      execFileSync("ip", ["-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"]);
      execFileSync("ip", ["-n", ns, "addr", "add", "10.200.0.1/16", "dev", "eth0"]);
      for (const l of ["eth0", "eth1"]) execFileSync("ip", ["-n", ns, "link", "set", l, "up"]);
      const etcd = spawn("ip", ["netns", "exec", ns, "etcd", "--data-dir", join(dir, "etcd"), "--listen-client-urls", ETCD, "--advertise-client-urls", ETCD, "--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380", "--initial-cluster", "default=http://127.0.0.1:2380", "--log-level", "error"], { stdio: "ignore" });
      procs.push(etcd);
      for (let i = 0; ; i++) {
        try {
          inNs("etcdctl", [`--endpoints=${ETCD}`, "endpoint", "health"], { stdio: "ignore" });
          break;
        } catch {
          if (i > 100) throw new Error("etcd did not start");
          await sleep(100);
        }
      }
      const etcdMetrics = () => inNs("curl", ["-s", `${ETCD}/metrics`]);
      inNs("etcdctl", [`--endpoints=${ETCD}`, "put", `${PREFIX}/config`, JSON.stringify({ Network: "10.128.0.0/9", SubnetLen: 24, Backend: { Type: "vxlan", VNI: 1 } })]);
      const writer = (...args) => inNs(process.execPath, [join(ROOT, "bench", "scale-writer.mjs"), args[0], ETCD, PREFIX, ...args.slice(1).map(String)], { cwd: ROOT, maxBuffer: 1 << 26 });
      writer("fill", n - 1);

      // Join: weftd starts into a cluster of n − 1 other nodes.
      const before = etcdMetrics();
      const routes = () => Number(inNs("sh", ["-c", "ip route show dev weft.1 2>/dev/null | wc -l"]).trim());
      const t0 = now();
      const weftd = spawn("ip", ["netns", "exec", ns, join(BIN, "weftd"), "--etcd-endpoints", ETCD, "--etcd-prefix", PREFIX, "--iface", "eth0", "--subnet-file", join(dir, "subnet.env"), "--data-dir", join(dir, "cni"), "--healthz-addr", "127.0.0.1:19902", "--log-level", "warn"], { stdio: ["ignore", "ignore", "inherit"], env: { PATH: process.env.PATH } });
      procs.push(weftd);
      while (routes() < n - 1) {
        if (now() - t0 > 120_000) throw new Error(`weftd programmed ${routes()}/${n - 1} routes in 120 s`);
        await sleep(20);
      }
      const converge = now() - t0;
      const cpuJoin = cpuSeconds(weftd.pid);
      const weftdMetrics = () => inNs("curl", ["-s", "http://127.0.0.1:19902/metrics"]);
      const changes = metric(weftdMetrics(), "weft_kernel_changes_total");
      const etcdRequests = metric(etcdMetrics(), "grpc_server_handled_total") - metric(before, "grpc_server_handled_total");
      const rssJoin = rssMb(weftd.pid);

      // Churn: the kernel's route stream, timestamped as it arrives.
      const seen = new Map(); // "add 10.x/24" | "del 10.x/24" → time
      const monitor = spawn("ip", ["-n", ns, "monitor", "route"], { stdio: ["ignore", "pipe", "ignore"] });
      procs.push(monitor);
      monitor.stdout.on("data", (chunk) => {
        const t = now();
        for (const line of chunk.toString().split("\n")) {
          const m = /^(Deleted )?(10\.\d+\.\d+\.0\/24) .*dev weft\.1/.exec(line);
          if (m) seen.set(`${m[1] ? "del" : "add"} ${m[2]}`, t);
        }
      });
      await sleep(300);
      const cpu0 = cpuSeconds(weftd.pid);
      // Asynchronously: the monitor's lines must be timestamped while the churn runs.
      const churnOut = await new Promise((resolve, reject) => {
        const w = spawn("ip", ["netns", "exec", ns, process.execPath, join(ROOT, "bench", "scale-writer.mjs"), "churn", ETCD, PREFIX, String(n - 1), String(CHURN_RATE), String(CHURN_S)], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
        procs.push(w);
        let out = "";
        w.stdout.on("data", (d) => (out += d));
        w.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`churn writer exited ${code}`))));
      });
      const events = churnOut.trim().split("\n").map((l) => JSON.parse(l));
      await sleep(1_000);
      const cpuChurn = (cpuSeconds(weftd.pid) - cpu0) / CHURN_S;
      const lat = events.map((e) => (seen.get(`${e.op} ${e.subnet}`) ?? NaN) - e.at);
      const missed = lat.filter((x) => Number.isNaN(x)).length;
      const ok = lat.filter((x) => !Number.isNaN(x));

      // At rest: what the cluster costs etcd and weftd when nothing changes.
      const restBefore = etcdMetrics();
      const cpuRest0 = cpuSeconds(weftd.pid);
      await sleep(REST_S * 1000);
      const restAfter = etcdMetrics();
      const puts = metric(restAfter, "etcd_mvcc_put_total") - metric(restBefore, "etcd_mvcc_put_total");
      const sent = metric(restAfter, "etcd_network_client_grpc_sent_bytes_total") - metric(restBefore, "etcd_network_client_grpc_sent_bytes_total");
      const restCpu = ((cpuSeconds(weftd.pid) - cpuRest0) / REST_S) * 100;
      // Which etcd calls happened at rest (by gRPC method): the check that nothing polls.
      const calls = (text) => new Map(text.split("\n").filter((l) => l.startsWith("grpc_server_handled_total{")).map((l) => [/grpc_method="(\w+)"/.exec(l)?.[1] ?? "?", Number(l.split(" ").at(-1))]));
      const [c0, c1] = [calls(restBefore), calls(restAfter)];
      const restCalls = [...c1].map(([m, v]) => [m, v - (c0.get(m) ?? 0)]).filter(([, d]) => d > 0).map(([m, d]) => `${m} ${d}`).join(", ") || "none";
      // What the RSS is made of: the executable's file-backed pages (shared, reclaimable) and private memory,
      // of which V8's heap (used, and committed) is a part.
      const m = weftdMetrics();
      const memory = { anon: statusMb(weftd.pid, "RssAnon"), file: statusMb(weftd.pid, "RssFile"), heapUsed: metric(m, "nodejs_heap_size_used_bytes") / 2 ** 20, heapTotal: metric(m, "nodejs_heap_size_total_bytes") / 2 ** 20 };
      return { n, converge, cpuJoin, changes, etcdRequests, rssJoin, rssEnd: rssMb(weftd.pid), memory, events: events.length, missed, p50: percentile(ok, 50), p99: percentile(ok, 99), cpuChurn: cpuChurn * 100, puts, sentPerS: sent / REST_S, restCpu, restCalls };
    },
  );
}

console.log(`scale: one weftd joining N − 1 simulated nodes, then ${CHURN_RATE} lease changes/s for ${CHURN_S} s, then ${REST_S} s at rest`);
const rows = [];
for (const n of SIZES) {
  const r = await measure(n);
  rows.push(r);
  console.log(`${String(n).padStart(5)} nodes: join ${ms(r.converge)} (${r.changes} kernel changes, ${r.etcdRequests} etcd requests, ${r.cpuJoin.toFixed(2)} s CPU, RSS ${r.rssJoin.toFixed(0)} MB)`);
  console.log(`        churn: ${r.events} changes, lease → kernel p50 ${ms(r.p50)} p99 ${ms(r.p99)}, ${r.missed} not seen; weftd ${r.cpuChurn.toFixed(1)} % of a core; RSS ${r.rssEnd.toFixed(0)} MB`);
  console.log(`        memory at the end: RSS ${r.rssEnd.toFixed(0)} MB = ${r.memory.file.toFixed(0)} MB executable pages (file-backed, shared) + ${r.memory.anon.toFixed(0)} MB private; JS heap ${r.memory.heapUsed.toFixed(0)} MB used of ${r.memory.heapTotal.toFixed(0)} MB committed`);
  console.log(`        rest: ${r.puts} etcd writes in ${REST_S} s, ${(r.sentPerS / 1024).toFixed(2)} KiB/s sent by etcd to clients (calls: ${r.restCalls}), weftd ${r.restCpu.toFixed(2)} % of a core`);
}
const big = rows.at(-1);
const small = rows[0];
console.log(`\ntargets: join ${big.n} nodes ${ms(big.converge)} (< 2000 ms); churn p99 ${ms(big.p99)} (< 50 ms); RSS ${big.rssEnd.toFixed(0)} MB (< 100 MB); per-event p50 at ${big.n} vs ${small.n}: ${(big.p50 / small.p50).toFixed(2)}×`);
