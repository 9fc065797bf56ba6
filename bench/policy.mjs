// Network policy, each figure against a reference from the same run:
//  1. full sync of N policies over M pods on one node, as weftd runs it (build → compile → counters →
//     nft -f of the whole table, in a throwaway namespace), against `nft -f` of the same text alone and
//     of a flat table of the same size (sets, elements, counters, rules) without the model;
//  2. one pod label change, and one namespace label change, as weftd applies them (build → pod-delta →
//     set elements over netlink, to the kernel's ACK), each against, for the same change, the path
//     before (build → compile → counters → the diff with nft -f) and nft -f of that diff alone;
//  3. in a 3-node lab (or BENCH_LAB_NODES): create a deny-all-ingress policy → a probe's connects from the client pod stop
//     succeeding, delete it → they succeed again, against the API server's watch latency (a label
//     change on an unrelated pod, PATCH → its event at a watching client); each node's
//     weft_policy_sync_seconds over those cycles;
//  4. iperf3 TCP and connections per second client → server with 100 policies selecting the server,
//     against the same pods with none, rounds interleaved;
//  5. node1's weftd memory before and after the API holds (1)'s state (pods bound to no real node).
//   BENCH_NAMESPACES=50 BENCH_PODS_PER_NS=20 BENCH_POLICIES=1000 BENCH_FULL_RUNS=3 BENCH_LABEL_RUNS=31 BENCH_NS_RUNS=11
//   BENCH_CYCLES=20 BENCH_SECONDS=3 BENCH_ROUNDS=2 BENCH_PARTS=model,lab BENCH_LAB_NODES=3 BENCH_LAB_FLAGS=
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleWorker, ms, Namespaces, percentile, ratio, ROOT, withCleanup } from "./lib.mjs";

const env = (k, d) => Number(process.env[k] ?? d);
const SIZE = { namespaces: env("BENCH_NAMESPACES", 50), podsPerNamespace: env("BENCH_PODS_PER_NS", 20), policies: env("BENCH_POLICIES", 1000) };
const FULL_RUNS = env("BENCH_FULL_RUNS", 3);
const LABEL_RUNS = env("BENCH_LABEL_RUNS", 31);
const NS_RUNS = env("BENCH_NS_RUNS", 11);
const CYCLES = env("BENCH_CYCLES", 20);
const SECONDS = env("BENCH_SECONDS", 3);
const ROUNDS = env("BENCH_ROUNDS", 2);
const PARTS = (process.env.BENCH_PARTS ?? "model,lab").split(",");
const LAB_NODES = env("BENCH_LAB_NODES", 3);
/** More flags for the lab's `up`, e.g. --no-services: no weft-proxy per node, less load on a small machine. */
const LAB_FLAGS = (process.env.BENCH_LAB_FLAGS ?? "").split(" ").filter(Boolean);
const SERVER_POLICIES = 100;
const LAB = join(ROOT, "dist", "lab", "weft-lab.cjs");
const NS = "bench-pol";
const PROBE_PORT = 9000;
const IPERF_PORT = 5201;
const sleep = (t) => new Promise((r) => setTimeout(r, t));
const p50p99 = (xs) => `p50 ${ms(percentile(xs, 50))}, p99 ${ms(percentile(xs, 99))}`;
const median = (xs) => percentile(xs, 50);
const cores = readFileSync("/proc/cpuinfo", "utf8").match(/^processor/gm).length;

const procs = [];
const started = (p) => (procs.push(p), p);
/** Runs a process to its end, collecting stdout (async, so the SIGINT cleanup can still run). */
const collect = (p, what) =>
  new Promise((resolve, reject) => {
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${what} exited ${code}`))));
  });
const runWorker = async (worker, prefix, mode, config) => JSON.parse(await collect(started(spawn(prefix[0], [...prefix.slice(1), process.execPath, worker, mode, JSON.stringify(config)], { stdio: ["ignore", "pipe", "inherit"] })), `the ${mode} worker`));

// ---- 1 and 2: the model and nft in a throwaway namespace ----

/**
 * One kind of change: the element path's figure, its parts, and the two references from the same runs.
 * The first run of each kind is shown apart: its code runs for the first time (not yet optimised).
 */
function printChange(n, what, all) {
  const [first, ...runs] = all;
  const fast = runs.map((x) => x.fast.total);
  const old = runs.map((x) => x.old.total);
  const alone = runs.map((x) => x.nftAlone);
  const part = (k) => median(runs.map((x) => x.fast[k]));
  console.log(`${n}. ${what}, ${runs.length} runs after the first, as weftd applies it (build → pod-delta → set elements over netlink, to the kernel's ACK): ${p50p99(fast)} (target < 20 ms: ${percentile(fast, 99) < 20 ? "met at p99" : median(fast) < 20 ? "met at p50, not at p99" : "NOT met"})`);
  console.log(`   build ${ms(part("build"))}, pod-delta ${ms(part("delta"))}, netlink write ${ms(part("write"))}; median ${part("elements")} elements in ${part("sets")} sets`);
  console.log(`   reference, the path before for the same change (build → compile ${ms(median(runs.map((x) => x.old.compile)))} → counters → nft -f of the diff ${ms(median(runs.map((x) => x.old.nft)))}): ${p50p99(old)}; element path / that: p50 ${ratio(median(fast), median(old))}`);
  console.log(`   reference, nft -f of the same diff alone: ${p50p99(alone)}; element path / that: p50 ${ratio(median(fast), median(alone))}, its netlink write alone / that: ${ratio(part("write"), median(alone))}`);
  console.log(`   the first of the ${all.length} runs, apart: element path ${ms(first.fast.total)} (build ${ms(first.fast.build)}, pod-delta ${ms(first.fast.delta)}, write ${ms(first.fast.write)}), path before ${ms(first.old.total)}, nft -f alone ${ms(first.nftAlone)}`);
}

async function modelPart(worker, nss) {
  const ns = nss.create("m");
  const r = await runWorker(worker, ["ip", "netns", "exec", ns], "model", { ...SIZE, fullRuns: FULL_RUNS, labelRuns: LABEL_RUNS, namespaceRuns: NS_RUNS });
  const s = r.size;
  const full = r.full.map((x) => x.total);
  const part = (xs, k) => median(xs.map((x) => x[k]));
  console.log(`policy model: ${s.policies} NetworkPolicies over ${s.pods} pods (${SIZE.namespaces} namespaces × ${SIZE.podsPerNamespace}), every pod on the node compiled for; ${cores} cores`);
  console.log(`  table: ${s.sets} sets, ${s.elements} elements, ${s.chains} chains, ${s.rules} rules, ${s.counters} named counters; ${(s.textBytes / 2 ** 20).toFixed(2)} MiB of nft text (kernel after: ${r.inKernel.rules} rules, ${r.inKernel.elements} elements)`);
  console.log(`1. full sync, median of ${full.length}: ${ms(median(full))} (target < 1 s: ${median(full) < 1000 ? "met" : "NOT met"})`);
  console.log(`   build ${ms(part(r.full, "build"))}, compile ${ms(part(r.full, "compile"))}, counters ${ms(part(r.full, "counters"))}, nft -f ${ms(part(r.full, "nft"))}; rendering the text ${ms(part(r.full, "render"))}`);
  console.log(`   reference, nft -f of the same text alone: ${ms(median(r.rawNft))}; full sync / that ${ratio(median(full), median(r.rawNft))}`);
  console.log(`   reference, nft -f of a flat table of the same size (no model, ${(s.flatBytes / 2 ** 20).toFixed(2)} MiB): ${ms(median(r.flatNft))}; full sync / that ${ratio(median(full), median(r.flatNft))}`);
  printChange("2a", `one pod label change (e.g. ${JSON.stringify(r.diffSample.trim().slice(0, 160))}…)`, r.label);
  if (r.namespace.length) printChange("2b", "one namespace label change (env prod ↔ dev: its 20 pods in or out of the egress peer sets)", r.namespace);
  const differs = r.inKernel.setsDifferingFromModel;
  console.log(`   the kernel after every change: ${differs.length === 0 ? "each set's elements equal the model's" : `${differs.length} sets differ from the model: ${differs.slice(0, 5).join(", ")}`}`);
  if (differs.length) throw new Error("the kernel's sets differ from the model after the element path");
  return r;
}

// ---- 3, 4 and 5: a 3-node lab (BENCH_LAB_NODES) ----

function histogram(text, name) {
  const buckets = [];
  let count = 0;
  let sum = 0;
  for (const l of text.split("\n")) {
    const b = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)`).exec(l);
    if (b) buckets.push([b[1] === "+Inf" ? Infinity : Number(b[1]), Number(b[2])]);
    if (l.startsWith(`${name}_count `)) count = Number(l.split(" ")[1]);
    if (l.startsWith(`${name}_sum `)) sum = Number(l.split(" ")[1]);
  }
  return { buckets, count, sum };
}
const metricsOf = (nodeNs) => spawnSync("nsenter", [`--net=/var/run/netns/${nodeNs}`, process.execPath, "-e", "fetch('http://127.0.0.1:9901/metrics').then(r=>r.text()).then(t=>process.stdout.write(t)).catch(()=>{})"], { encoding: "utf8" }).stdout;
/** The histogram's change between two readings, with the bucket bound that holds the p50 and p99. */
function histogramDelta(a, b) {
  const count = b.count - a.count;
  const at = (p) => b.buckets.find((_bucket, i) => b.buckets[i][1] - (a.buckets[i]?.[1] ?? 0) >= Math.ceil(p * count))?.[0];
  return { count, meanMs: count ? ((b.sum - a.sum) / count) * 1000 : NaN, p50LeMs: at(0.5) * 1000, p99LeMs: at(0.99) * 1000 };
}
const memMb = (pid) => {
  const st = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (f) => Number(new RegExp(`${f}:\\s+(\\d+)`).exec(st)[1]) / 1024;
  return { rss: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile") };
};

/** iperf3 TCP for SECONDS from the client's namespace: Gbit/s received. */
function iperf(clientNetns, ip) {
  const r = spawnSync("ip", ["netns", "exec", clientNetns, "iperf3", "-c", ip, "-p", String(IPERF_PORT), "-t", String(SECONDS), "-J"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`iperf3 → ${ip} failed: ${r.stdout.slice(0, 300)}${r.stderr}`);
  return JSON.parse(r.stdout).end.sum_received.bits_per_second / 1e9;
}
/** Sequential connects (connect, close, next) for SECONDS: connections per second. */
function cps(clientNetns, ip) {
  const script = `const net=require("node:net");let n=0;const end=Date.now()+${SECONDS * 1000};const one=()=>{if(Date.now()>end){console.log(n);return;}const s=net.connect({host:"${ip}",port:${PROBE_PORT}});s.setTimeout(1000,()=>{console.log("timeout");process.exit(1);});s.once("connect",()=>{n++;s.destroy();setImmediate(one);});s.once("error",(e)=>{console.log(String(e));process.exit(1);});};one();`;
  const r = spawnSync("ip", ["netns", "exec", clientNetns, process.execPath, "-e", script], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`the connect loop failed: ${r.stdout}${r.stderr}`);
  return Number(r.stdout.trim()) / SECONDS;
}
/** One connect from the client: true when it connects within 300 ms. */
function connects(clientNetns, ip, port) {
  const script = `const s=require("node:net").connect({host:"${ip}",port:${port}});const t=setTimeout(()=>process.exit(1),300);s.once("connect",()=>process.exit(0));s.once("error",()=>process.exit(2));`;
  return spawnSync("ip", ["netns", "exec", clientNetns, process.execPath, "-e", script]).status === 0;
}
async function until(what, check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(100);
  }
}

const POD = (name, node, app) => `---\napiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: ${NS}, labels: {app: ${app}}}\nspec: {nodeName: ${node}, containers: [{name: s, image: agnhost, ports: [{containerPort: 8080, name: http}]}]}\n`;

async function labPart(worker, dir, labEnv) {
  const lab = (...a) => execFileSync(process.execPath, [LAB, ...a], { env: labEnv, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const tUp = performance.now();
  lab("up", "--nodes", String(LAB_NODES), "--pods-per-node", "1", ...LAB_FLAGS);
  const upMs = performance.now() - tUp;
  const kubeconfig = lab("kubeconfig").trim();
  const k = (...a) => execFileSync("kubectl", ["--kubeconfig", kubeconfig, ...a], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const manifest = join(dir, "bench-pods.yaml");
  writeFileSync(manifest, `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${NS}}\n${POD("server", "node1", "server")}${POD("client", "node2", "client")}${POD("bystander", "node3", "bystander")}`);
  k("apply", "-f", manifest);
  k("wait", "--for=condition=Ready", "pod", "--all", "-n", NS, "--timeout=60s");
  const status = JSON.parse(lab("status", "--json"));
  const netnsOf = (pod) => {
    for (const n of status.nodes) {
      const log = join(dir, "state", n.name, "kubelet.log");
      if (!existsSync(log)) continue;
      const line = readFileSync(log, "utf8").split("\n").find((l) => l.includes(`"pod":"${NS}/${pod}"`) && l.includes('"pod started"'));
      if (line) return JSON.parse(line).netns;
    }
    throw new Error(`no netns for ${NS}/${pod} in the kubelets' logs`);
  };
  const serverIp = k("get", "pod", "-n", NS, "server", "-o", "jsonpath={.status.podIP}").trim();
  const [serverNs, clientNs] = [netnsOf("server"), netnsOf("client")];
  // In the server pod's namespace: a listener that accepts and closes (the probe's and the connect loop's), and iperf3.
  started(spawn("ip", ["netns", "exec", serverNs, process.execPath, "-e", `require("node:net").createServer((s)=>s.destroy()).listen(${PROBE_PORT})`], { stdio: "ignore" }));
  started(spawn("ip", ["netns", "exec", serverNs, "iperf3", "-s", "-p", String(IPERF_PORT)], { stdio: "ignore" }));
  await until("the server's listeners answer the client", () => connects(clientNs, serverIp, PROBE_PORT) && connects(clientNs, serverIp, IPERF_PORT), 10_000);

  const base = { kubeconfig, namespace: NS, server: { ip: serverIp, port: PROBE_PORT }, clientNetns: clientNs, cycles: CYCLES, unrelatedPod: "bystander" };
  const nodes = status.nodes.map((n) => ({ name: n.name, netns: n.netns, weftdPid: n.weftdPid }));
  const before = nodes.map((n) => histogram(metricsOf(n.netns), "weft_policy_sync_seconds"));
  const enf = await runWorker(worker, ["env"], "enforce", base);
  const syncs = nodes.map((n, i) => ({ node: n.name, ...histogramDelta(before[i], histogram(metricsOf(n.netns), "weft_policy_sync_seconds")) }));

  // Datapath, rounds interleaved: no policy, then 100 policies selecting the server.
  const dp = { none: { gbps: [], cps: [] }, policies: { gbps: [], cps: [] } };
  for (let r = 0; r < ROUNDS; r++) {
    dp.none.gbps.push(iperf(clientNs, serverIp));
    dp.none.cps.push(cps(clientNs, serverIp));
    await runWorker(worker, ["env"], "policies", { ...base, count: SERVER_POLICIES, ports: [PROBE_PORT, IPERF_PORT] });
    // Enforced when a port no policy allows is denied and the allowed ones still connect.
    await until("the 100 policies enforced on node1", () => !connects(clientNs, serverIp, 8080), 30_000);
    if (!connects(clientNs, serverIp, PROBE_PORT) || !connects(clientNs, serverIp, IPERF_PORT)) throw new Error("the 100 policies deny what the last of them allows");
    await sleep(2_000); // every node's weftd done with its syncs: their CPU is not the datapath's
    dp.policies.gbps.push(iperf(clientNs, serverIp));
    dp.policies.cps.push(cps(clientNs, serverIp));
    await runWorker(worker, ["env"], "unpolicies", { ...base, count: SERVER_POLICIES });
    await until("the 100 policies gone on node1", () => connects(clientNs, serverIp, 8080), 30_000);
    await sleep(2_000);
  }

  // weftd's memory on node1, then with (1)'s state in the API (pods bound to a node that does not exist).
  const node1 = nodes.find((n) => n.name === "node1");
  const memBefore = memMb(node1.weftdPid);
  const filled = await runWorker(worker, ["env"], "fill", { kubeconfig, ...SIZE });
  const filledAt = Date.now();
  const weftdLog = join(dir, "state", "node1", "weftd.log");
  let applied;
  const appliedAfterFill = () => {
    const lines = readFileSync(weftdLog, "utf8").split("\n").filter((l) => l.includes("policy table applied"));
    for (const l of lines.reverse()) {
      const j = JSON.parse(l);
      const at = typeof j.time === "number" ? j.time : Date.parse(j.time);
      // Every policy and every pod of the fill in node1's table (the node's own pods besides).
      if (at >= filledAt && j.policies >= SIZE.policies && j.pods >= SIZE.namespaces * SIZE.podsPerNamespace) return (applied = j);
      if (at < filledAt) return undefined;
    }
    return undefined;
  };
  let memAfter;
  try {
    await until("node1's weftd applies a table with every policy and pod", appliedAfterFill, 600_000);
    await sleep(3_000);
    memAfter = memMb(node1.weftdPid);
  } catch (err) {
    memAfter = { error: err.message };
  }
  const bigSyncs = histogramDelta(before[0], histogram(metricsOf(node1.netns), "weft_policy_sync_seconds"));
  return { upMs, enf, syncs, dp, memBefore, memAfter, filled, applied, bigSyncs };
}

function printLab(r) {
  const { deny, allow, flaps } = r.enf.enforce;
  const w = r.enf.watch;
  console.log(`${LAB_NODES}-node lab (up in ${ms(r.upMs)}); server on node1, client on node2, a bystander on node3; ${CYCLES} cycles:`);
  console.log(`3. create deny-all-ingress → the client's connects stop: ${p50p99(deny)} (target p99 ≤ 100 ms: ${percentile(deny, 99) <= 100 ? "met" : "NOT met"})`);
  console.log(`   delete it → connects succeed again: ${p50p99(allow)}; ${flaps} cycles flapped after the change`);
  console.log(`   reference, the API server's watch latency (label PATCH on the bystander → its event at a watching client): ${p50p99(w)}`);
  console.log(`   create → enforced / watch latency: p50 ${ratio(percentile(deny, 50), percentile(w, 50))}, p99 ${ratio(percentile(deny, 99), percentile(w, 99))}; delete → allowed / watch: p50 ${ratio(percentile(allow, 50), percentile(w, 50))}`);
  for (const s of r.syncs) console.log(`   ${s.node} weft_policy_sync_seconds over the cycles: ${s.count} syncs, mean ${ms(s.meanMs)}, p50 ≤ ${s.p50LeMs} ms, p99 ≤ ${s.p99LeMs} ms (bucket bounds)`);
  const best = (xs) => Math.max(...xs);
  const [g0, g1, c0, c1] = [best(r.dp.none.gbps), best(r.dp.policies.gbps), best(r.dp.none.cps), best(r.dp.policies.cps)];
  console.log(`4. datapath client → server across nodes, best of ${ROUNDS} interleaved rounds of ${SECONDS} s (policies: ${SERVER_POLICIES} select the server, each allows the client on its own port, only the last by name on the measured ports):`);
  console.log(`   iperf3 TCP: ${g1.toFixed(2)} Gbit/s with policies, ${g0.toFixed(2)} without: ${ratio(g1, g0)} (target ≥ 0.97×: ${g1 / g0 >= 0.97 ? "met" : "NOT met"}); all rounds ${JSON.stringify(r.dp)}`);
  console.log(`   connections/s (sequential connect+close): ${c1.toFixed(0)} with policies, ${c0.toFixed(0)} without: ${ratio(c1, c0)} (target ≥ 0.90×: ${c1 / c0 >= 0.9 ? "met" : "NOT met"})`);
  const mb = (m) => `RSS ${m.rss.toFixed(0)} MB (private ${m.anon.toFixed(0)}, file-backed ${m.file.toFixed(0)})`;
  console.log(`5. node1's weftd: ${mb(r.memBefore)} before; after ${r.filled.policies} policies and ${r.filled.pods} pods in ${r.filled.namespaces} namespaces went into the API (${ms(r.filled.ms)}): ${r.memAfter.error ? `not measured: ${r.memAfter.error}` : mb(r.memAfter)}`);
  if (r.applied) console.log(`   its first table with every policy: ${JSON.stringify({ kind: r.applied.kind, ms: r.applied.ms, pods: r.applied.pods, policies: r.applied.policies })}; node1's syncs over the whole lab run: ${r.bigSyncs.count}, mean ${ms(r.bigSyncs.meanMs)}`);
}

const nss = new Namespaces("pol");
const dir = mkdtempSync(join(tmpdir(), "weft-bench-policy-"));
const labEnv = { ...process.env, WEFT_LAB_STATE_DIR: join(dir, "state"), WEFT_LAB_PREFIX: `wbp${randomBytes(2).toString("hex")}-` };
mkdirSync(labEnv.WEFT_LAB_STATE_DIR, { mode: 0o700 });
let labUp = false;

await withCleanup(
  () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    nss.cleanup();
    if (labUp) spawnSync(process.execPath, [LAB, "down"], { env: labEnv, stdio: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  },
  async () => {
    const worker = await bundleWorker("policy-worker", ["prom-client", "yaml", "etcd3", "koffi"]);
    if (PARTS.includes("model")) await modelPart(worker, nss);
    if (PARTS.includes("lab")) {
      labUp = true;
      printLab(await labPart(worker, dir, labEnv));
    }
  },
);
