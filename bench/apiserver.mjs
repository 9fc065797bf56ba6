// The lab's API server (lab/apiserver) over etcd, each against etcd itself in the same run: a watch
// event's latency from write to client versus a raw etcd watch; N pods written through the API versus
// the same writes straight into etcd; listing them versus a range read of their keys; the server's
// memory idle and after. etcd and the server run in a throwaway namespace, the measuring client beside
// them (the server's own listener, no relay hop); kubectl and one more list go through the host's relay.
//   BENCH_PODS=2500,10000 (pods filled by the end of each stage)  BENCH_WATCH_WRITES=500  BENCH_CONCURRENCY=20  BENCH_LISTS=5
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleWorker, ms, Namespaces, percentile, ratio, ROOT, withCleanup } from "./lib.mjs";

const SIZES = (process.env.BENCH_PODS ?? "2500,10000").split(",").map(Number);
const WATCH_WRITES = Number(process.env.BENCH_WATCH_WRITES ?? 500);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 20);
const LISTS = Number(process.env.BENCH_LISTS ?? 5);
const LAB = join(ROOT, "dist", "lab", "weft-lab.cjs");
const ETCD = "http://127.0.0.1:2379";
const SERVER = "https://127.0.0.1:6443";
const sleep = (t) => new Promise((r) => setTimeout(r, t));
const freePort = () => new Promise((r) => { const s = createServer(); s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); });
const statusMb = (pid, field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024;
const mb = (x) => `${x.toFixed(0)} MB`;
const p50p99 = (xs) => `p50 ${ms(percentile(xs, 50))}, p99 ${ms(percentile(xs, 99))}`;

/** GET through the relay, timed to the body's last byte. */
const timedGet = (port, path, ca, token) =>
  new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request({ host: "127.0.0.1", port, path, ca, headers: { Authorization: `Bearer ${token}`, Accept: "application/json" } }, (res) => {
      let bytes = 0;
      res.on("data", (c) => (bytes += c.length));
      res.on("end", () => (res.statusCode === 200 ? resolve({ ms: performance.now() - t0, bytes }) : reject(new Error(`GET ${path}: ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end();
  });

/** Runs a process to its end, collecting stdout (async: the SIGINT cleanup must still be able to run). */
const collect = (p, what) =>
  new Promise((resolve, reject) => {
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${what} exited ${code}`))));
  });

const nss = new Namespaces("api");
const dir = mkdtempSync(join(tmpdir(), "weft-bench-apiserver-"));
const procs = [];
const started = (p) => (procs.push(p), p);

await withCleanup(
  () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    nss.cleanup();
    rmSync(dir, { recursive: true, force: true });
  },
  async () => {
    const worker = await bundleWorker("apiserver-worker", ["etcd3", "yaml"]);
    const ns = nss.create("s");
    const inNs = (cmd, args, opts = {}) => spawn("nsenter", [`--net=/var/run/netns/${ns}`, cmd, ...args], opts);
    const etcd = started(inNs("etcd", ["--data-dir", join(dir, "etcd"), "--listen-client-urls", ETCD, "--advertise-client-urls", ETCD, "--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380", "--initial-cluster", "default=http://127.0.0.1:2380", "--log-level", "error"], { stdio: "ignore" }));
    for (let i = 0; spawnSync("ip", ["netns", "exec", ns, "etcdctl", `--endpoints=${ETCD}`, "--dial-timeout=1s", "endpoint", "health"], { stdio: "ignore" }).status !== 0; i++) {
      if (i > 100 || etcd.exitCode !== null) throw new Error("etcd did not start");
      await sleep(100);
    }

    const relayPort = await freePort();
    const files = JSON.parse(execFileSync(process.execPath, [worker, "files", join(dir, "api"), String(relayPort)], { encoding: "utf8" }));
    const f = files.credentials;
    const token = readFileSync(f.tokenFile, "utf8").trim();
    const ca = readFileSync(f.caCert);
    const logFile = join(dir, "apiserver.log");
    started(spawn(process.execPath, [LAB, "agent", "relay", "--", "--socket", files.socket, "--port", String(relayPort)], { stdio: "ignore" }));
    const server = started(inNs(process.execPath, [LAB, "agent", "apiserver", "--", "--etcd", ETCD, "--listen", "127.0.0.1:6443", "--socket", files.socket, "--cert", f.serverCert, "--key", f.serverKey, "--ca", f.caCert, "--token-file", f.tokenFile, "--service-cidr", "10.96.0.0/12", "--log", logFile], { stdio: ["ignore", "ignore", "inherit"] }));
    for (let i = 0; !(await timedGet(relayPort, "/api/v1/namespaces/default", ca, token).then(() => true, () => false)); i++) {
      if (i > 150 || server.exitCode !== null) throw new Error(`the API server did not answer in 15 s`);
      await sleep(100);
    }
    // nsenter execs its command (no fork for a network namespace alone): this pid is the server's node.
    if (!readFileSync(`/proc/${server.pid}/cmdline`, "utf8").includes("apiserver")) throw new Error(`pid ${server.pid} is not the API server`);

    await sleep(1_000);
    const idle = { rss: statusMb(server.pid, "VmRSS"), anon: statusMb(server.pid, "RssAnon") };
    const base = { kubeconfig: files.kubeconfig, server: SERVER, etcd: ETCD, serverPid: server.pid, watchWrites: WATCH_WRITES, concurrency: CONCURRENCY, lists: LISTS };
    const runWorker = async (mode, config) => JSON.parse(await collect(started(inNs(process.execPath, [worker, mode, JSON.stringify({ ...base, ...config })], { stdio: ["ignore", "pipe", "inherit"] })), `the ${mode} worker`));
    const watch = await runWorker("watch", {});
    const stages = [];
    let from = 0;
    for (const to of SIZES) {
      const r = await runWorker("stage", { from, to });
      from = to;
      // Through the host's relay: kubectl once, and the same list as the worker's.
      const t0 = performance.now();
      const k = spawnSync("kubectl", ["--kubeconfig", files.kubeconfig, "get", "pods", "-A", "-o", "name"], { encoding: "utf8", maxBuffer: 1 << 26 });
      r.kubectl = { ms: performance.now() - t0, ok: k.status === 0, names: k.stdout.trim().split("\n").filter(Boolean).length, err: k.stderr.trim().split("\n")[0] };
      r.relayed = [];
      for (let i = 0; i < LISTS; i++) {
        const g = await timedGet(relayPort, "/api/v1/pods", ca, token).catch((err) => ({ error: err.message }));
        if (g.error) r.relayError = g.error;
        else r.relayed.push(g);
      }
      // Whether an unrelated request is still served, and if not, for how long it is refused.
      const t1 = performance.now();
      r.probe = { firstError: await timedGet(relayPort, "/api/v1/namespaces/default", ca, token).then(() => undefined, (err) => err.message) };
      while (r.probe.firstError && performance.now() - t1 < 30_000 && !(await timedGet(relayPort, "/api/v1/namespaces/default", ca, token).then(() => true, () => false))) await sleep(200);
      r.probe.refusedMs = r.probe.firstError ? performance.now() - t1 : 0;
      stages.push({ pods: to, ...r });
    }
    const peak = statusMb(server.pid, "VmHWM");

    const [api, ref] = [watch.api, watch.etcd];
    console.log(`apiserver: the lab's API server over one etcd, on ${readFileSync("/proc/cpuinfo", "utf8").match(/^processor/gm).length} cores; the measuring client beside them in the namespace`);
    console.log(`watch, write → event at the client, ${api.length} writes (${Math.ceil(api.length / 2)} creates, then updates), one at a time:`);
    console.log(`  API (POST/PUT → KubeClient watch on pods): ${p50p99(api)}`);
    console.log(`  etcd (the same transaction → etcd3 watch on a prefix): ${p50p99(ref)}`);
    console.log(`  API / etcd: p50 ${ratio(percentile(api, 50), percentile(ref, 50))}, p99 ${ratio(percentile(api, 99), percentile(ref, 99))}`);
    console.log(`server memory idle: RSS ${mb(idle.rss)} (private ${mb(idle.anon)})`);
    let prev = 0;
    for (const st of stages) {
      const n = st.pods - prev;
      prev = st.pods;
      console.log(`${st.keys} pods (${st.pods} filled + ${st.keys - st.pods} from the watch; ${(st.valueBytes / 2 ** 20).toFixed(1)} MiB in etcd):`);
      console.log(`  fill ${n}, ${CONCURRENCY} at a time: API ${ms(st.fill.api)} (${((n / st.fill.api) * 1000).toFixed(0)}/s), etcd ${ms(st.fill.etcd)} (${((n / st.fill.etcd) * 1000).toFixed(0)}/s), API / etcd ${ratio(st.fill.api, st.fill.etcd)}`);
      const range = percentile(st.range, 50);
      const listed = st.listError ? `FAILED after ${ms(st.listError.afterMs)}: ${st.listError.message}` : `${ms(percentile(st.list, 50))} (${st.items} items), API / etcd ${ratio(percentile(st.list, 50), range)}`;
      console.log(`  GET /api/v1/pods (KubeClient.list, parsed), p50 of ${LISTS}: ${listed}`);
      console.log(`  etcd range read of /registry/pods/ (etcd3 getAll().prefix()), p50 of ${LISTS}: ${ms(range)}`);
      console.log(`  through the host's relay, body read: ${st.relayed.length ? `${ms(percentile(st.relayed.map((x) => x.ms), 50))}, ${(st.relayed[0].bytes / 2 ** 20).toFixed(1)} MiB` : `FAILED: ${st.relayError}`}`);
      console.log(`  kubectl get pods -A -o name, once: ${ms(st.kubectl.ms)} ${st.kubectl.ok ? `(${st.kubectl.names} names)` : `FAILED: ${st.kubectl.err}`}`);
      console.log(`  Informer on pods (pages of 500, then watch): ${st.informer.syncMs ? `synced in ${ms(st.informer.syncMs)}, ${st.informer.objects} objects` : `not synced in 8 s: ${st.informer.error}`}`);
      if (st.probe.firstError) console.log(`  GET /api/v1/namespaces/default right after: ${st.probe.firstError}; refused for ${ms(st.probe.refusedMs)}`);
      console.log(`  server memory after: RSS ${mb(st.memory.rssMb)} (private ${mb(st.memory.anonMb)})`);
    }
    console.log(`server peak RSS over the run: ${mb(peak)}`);
  },
);
