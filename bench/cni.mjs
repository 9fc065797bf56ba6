// weft versus the reference chain flannel delegates to (/usr/lib/cni/bridge + host-local), same subnet
// size, called as a runtime calls plugins (env -i with PATH and CNI_* only), in one run, the rows'
// sequential calls interleaved: ADD and DEL p50/p95 over N pods, 50 ADDs 10-way parallel (row after
// row), and the floors the targets are measured from: `weft --version` (Node's start, called through
// nsenter as the plugin is, in turn with the rows' calls) and the kernel's deletion of such a veth
// alone (bench/veth-delete-worker.ts).
// weft's node has weftd's anti-spoofing set, as on a real node, so ADD and DEL pay for their entry;
// "weft, no filter" runs the same binary on a node without the set, whose subnet.env says so (as weftd
// --no-anti-spoofing writes it); "weft, no key" on a node whose subnet.env does not say (flanneld's, or
// an older weftd's): the plugin does not touch nf_tables on either. BENCH_BASELINE_BIN=<another build's
// dist/bin> adds that build's three weft rows to the run (e.g. the commit before a change).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addPodFilterSet, BASELINE_BIN, BIN, bundleWorker, execAsync, execTimed, ms, Namespaces, percentile, ratio, requireBuild, withCleanup } from "./lib.mjs";

requireBuild();
const PODS = Number(process.env.BENCH_PODS ?? 40);
const PARALLEL_PODS = 50;
const CONCURRENCY = 10;
const ns = new Namespaces("cn");
const dir = mkdtempSync(join(tmpdir(), "weft-bench-cni-"));
const subnetEnv = (antiSpoofing) => `FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\nWEFT_ANTI_SPOOFING=${antiSpoofing}\n`;
writeFileSync(join(dir, "subnet.env"), subnetEnv(true));
writeFileSync(join(dir, "subnet-unfiltered.env"), subnetEnv(false));
writeFileSync(join(dir, "subnet-nokey.env"), subnetEnv(false).replace(/^WEFT_ANTI_SPOOFING=.*\n/m, ""));
// A dual-stack node (its IPv6 subnet beside the IPv4 one), filter off: what the second family costs.
writeFileSync(join(dir, "subnet-dual.env"), subnetEnv(false).replace("FLANNEL_MTU", "FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64\nFLANNEL_MTU"));
// An IPv6-only node, filter off, against the reference chain on an IPv6 subnet of the same run.
writeFileSync(join(dir, "subnet-v6.env"), "FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64\nFLANNEL_MTU=1430\nFLANNEL_IPMASQ=false\nWEFT_ANTI_SPOOFING=false\n");

const filterEntries = (node) => {
  const out = JSON.parse(execFileSync("ip", ["netns", "exec", node, "nft", "-j", "list", "set", "bridge", "weft", "pod-addresses"], { encoding: "utf8" }));
  return out.nftables.find((i) => i.set)?.set.elem?.length ?? 0;
};

const weftPlugin = {
  bin: join(BIN, "weft"),
  conf: (tag) => ({ cniVersion: "1.0.0", name: `weft${tag}`, type: "weft", subnetFile: join(dir, "subnet.env"), dataDir: join(dir, "weft-data"), bridge: "cni0" }),
  held: (tag) => readdirSync(join(dir, "weft-data", `weft${tag}`)).filter((f) => /^\d/.test(f)),
};

const plugins = {
  weft: {
    ...weftPlugin,
    prepare: addPodFilterSet,
    leftoverEntries: filterEntries,
  },
  weftUnfiltered: {
    ...weftPlugin,
    conf: (tag) => ({ ...weftPlugin.conf(`nf${tag}`), subnetFile: join(dir, "subnet-unfiltered.env") }),
    held: (tag) => weftPlugin.held(`nf${tag}`),
  },
  weftNoKey: {
    ...weftPlugin,
    conf: (tag) => ({ ...weftPlugin.conf(`nk${tag}`), subnetFile: join(dir, "subnet-nokey.env") }),
    held: (tag) => weftPlugin.held(`nk${tag}`),
  },
  weftDualStack: {
    ...weftPlugin,
    conf: (tag) => ({ ...weftPlugin.conf(`ds${tag}`), subnetFile: join(dir, "subnet-dual.env") }),
    // Both families' records: a leftover IPv6 address counts as one.
    held: (tag) => [...weftPlugin.held(`ds${tag}`), ...readdirSync(join(dir, "weft-data", `weftds${tag}`, "ipv6")).filter((f) => f.includes(":"))],
  },
  weftIpv6Only: {
    ...weftPlugin,
    family: 6,
    conf: (tag) => ({ ...weftPlugin.conf(`v6${tag}`), subnetFile: join(dir, "subnet-v6.env") }),
    held: (tag) => readdirSync(join(dir, "weft-data", `weftv6${tag}`, "ipv6")).filter((f) => f.includes(":")),
  },
  referenceIpv6: {
    bin: "/usr/lib/cni/bridge",
    family: 6,
    conf: (tag) => ({ cniVersion: "1.0.0", name: `ref6${tag}`, type: "bridge", bridge: "cni0", isGateway: true, isDefaultGateway: true, hairpinMode: true, mtu: 1430, ipam: { type: "host-local", ranges: [[{ subnet: "fd00:10:244:1::/64" }]], dataDir: join(dir, "ref-data") } }),
    held: (tag) => readdirSync(join(dir, "ref-data", `ref6${tag}`)).filter((f) => f.includes(":")),
  },
  reference: {
    bin: "/usr/lib/cni/bridge",
    conf: (tag) => ({ cniVersion: "1.0.0", name: `ref${tag}`, type: "bridge", bridge: "cni0", isGateway: true, isDefaultGateway: true, hairpinMode: true, mtu: 1450, ipam: { type: "host-local", subnet: "10.244.1.0/24", dataDir: join(dir, "ref-data") } }),
    held: (tag) => readdirSync(join(dir, "ref-data", `ref${tag}`)).filter((f) => /^\d/.test(f)),
  },
};

/** The same three rows for another build's binary. */
// Its own code-cache directory: each build removes the other's caches when it writes its own.
const baselineOf = (name) => ({ ...plugins[name], bin: join(BASELINE_BIN, "weft"), cacheDir: join(dir, "baseline-cache"), conf: (tag) => plugins[name].conf(`base${tag}`), held: (tag) => plugins[name].held(`base${tag}`) });
if (BASELINE_BIN) for (const name of ["weft", "weftUnfiltered", "weftNoKey"]) plugins[`baseline ${name}`] = baselineOf(name);
/** Measured and printed in this order: each reference before the rows it is compared with. */
const ROWS = ["reference", "weft", "weftUnfiltered", "weftNoKey", "weftDualStack", "referenceIpv6", "weftIpv6Only", ...Object.keys(plugins).filter((n) => n.startsWith("baseline "))];

function cniEnv(p, command, pod, i) {
  return { CNI_COMMAND: command, CNI_CONTAINERID: `bench${i}`, CNI_NETNS: `/var/run/netns/${pod}`, CNI_IFNAME: "eth0", CNI_PATH: "/usr/lib/cni", ...(p.cacheDir ? { WEFT_CACHE_DIR: p.cacheDir } : {}) };
}

// Each plugin runs in its own "node" namespace, entered with nsenter: the same wrapper for both.
const call = (p, node, command, pod, i, tag) => execTimed("nsenter", [`--net=/var/run/netns/${node}`, p.bin], { env: cniEnv(p, command, pod, i), input: JSON.stringify(p.conf(tag)) });
const callAsync = (p, node, command, pod, i, tag) => execAsync("nsenter", [`--net=/var/run/netns/${node}`, p.bin], { env: cniEnv(p, command, pod, i), input: JSON.stringify(p.conf(tag)) });

const vethCount = (node) => JSON.parse(execFileSync("ip", ["-n", node, "-j", "link", "show", "type", "veth"], { encoding: "utf8" })).length;

/** A row's node and pods, its bridge made by a first ADD and DEL (not what we time). */
function setUp(name) {
  const p = plugins[name];
  const node = ns.create(`${name.replace(" ", "-")}-node`);
  p.prepare?.(node);
  const pods = Array.from({ length: PODS }, (_, i) => ns.create(`${name.replace(" ", "-")}-p${i}`));
  call(p, node, "ADD", pods[0], 0, "warm");
  call(p, node, "DEL", pods[0], 0, "warm");
  return { name, p, node, pods, add: [], del: [] };
}

/** 50 ADDs 10-way on the row's node, then their DELs; duplicates and what is left after. */
async function measureParallel({ name, p, node }) {
  const parPods = Array.from({ length: PARALLEL_PODS }, (_, i) => ns.create(`${name.replace(" ", "-")}-q${i}`));
  const t = process.hrtime.bigint();
  const outs = [];
  for (let start = 0; start < PARALLEL_PODS; start += CONCURRENCY) {
    const batch = parPods.slice(start, start + CONCURRENCY).map((pod, k) => callAsync(p, node, "ADD", pod, 1000 + start + k, "par"));
    outs.push(...(await Promise.all(batch)));
  }
  const parallelMs = Number(process.hrtime.bigint() - t) / 1e6;
  const parIps = outs.map((o) => JSON.parse(o).ips[0].address);
  await Promise.all(parPods.map((pod, i) => callAsync(p, node, "DEL", pod, 1000 + i, "par")));
  return { parallelMs, duplicates: parIps.length - new Set(parIps).size, leftovers: p.held("par").length + (p.leftoverEntries?.(node) ?? 0) + vethCount(node) };
}

/**
 * Every row at once, call by call: pod i's ADD on each row's node in turn (rotating which goes first),
 * then the DELs alike, so that a burst of load on this shared machine lands on all rows, not on one.
 */
async function measureAll(names, versionNode, version) {
  const rows = names.map(setUp);
  // `weft --version` takes its turn with the rows: the floor measured under the same load as they are.
  const floor = { name: "version" };
  const inTurn = (i) => [...rows, floor].map((_, k, all) => all[(i + k) % all.length]);
  const callInTurn = (r, verb, i) => {
    if (r === floor) version.push(...versionTimes(versionNode, 1));
    else (verb === "ADD" ? r.add : r.del).push(call(r.p, r.node, verb, r.pods[i], i, "").ms);
  };
  for (let i = 0; i < PODS; i++) for (const r of inTurn(i)) callInTurn(r, "ADD", i);
  for (const r of rows) {
    if (r.p.leftoverEntries && r.p.leftoverEntries(r.node) !== PODS) throw new Error(`${r.name}: ${r.p.leftoverEntries(r.node)} anti-spoofing entries after ${PODS} ADDs`);
    const inet = r.p.family === 6 ? "inet6" : "inet";
    r.distinctIps = new Set(r.pods.map((pod) => JSON.parse(execFileSync("ip", ["-n", pod, "-j", "addr", "show", "dev", "eth0"], { encoding: "utf8" }))[0].addr_info.find((a) => a.family === inet && a.scope === "global").local)).size;
  }
  for (let i = 0; i < PODS; i++) for (const r of inTurn(i)) callInTurn(r, "DEL", i);
  const results = {};
  for (const r of rows) {
    const sequentialLeft = vethCount(r.node) + r.p.held("").length + (r.p.leftoverEntries?.(r.node) ?? 0);
    const par = await measureParallel(r);
    results[r.name] = { add: r.add, del: r.del, distinctIps: r.distinctIps, parallelMs: par.parallelMs, duplicates: par.duplicates, leftovers: sequentialLeft + par.leftovers };
  }
  return results;
}

/** `weft --version` as the plugin is called (nsenter into a node namespace): Node's start, no work. */
function versionTimes(node, count) {
  return Array.from({ length: count }, () => execTimed("nsenter", [`--net=/var/run/netns/${node}`, join(BIN, "weft"), "--version"]).ms);
}

/** 50 `weft --version` in the parallel ADDs' pattern: Node's start alone, the floor of that row on a small machine. */
async function parallelVersionMs(node) {
  const t = process.hrtime.bigint();
  for (let start = 0; start < PARALLEL_PODS; start += CONCURRENCY) {
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, PARALLEL_PODS - start) }, () => execAsync("nsenter", [`--net=/var/run/netns/${node}`, join(BIN, "weft"), "--version"])));
  }
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** The kernel's deletion of a pod's veth, wired as ADD leaves it, timed alone in a running process. */
async function vethDeletionTimes() {
  const worker = await bundleWorker("veth-delete-worker", ["koffi"]);
  const node = ns.create("kdel-node");
  const pods = Array.from({ length: PODS }, (_, i) => ns.create(`kdel-p${i}`));
  return JSON.parse(execFileSync(process.execPath, [worker, `/var/run/netns/${node}`, ...pods.map((p) => `/var/run/netns/${p}`)], { encoding: "utf8" })).deletion;
}

const row = (name, r) =>
  `${name.padEnd(30)} ${ms(percentile(r.add, 50)).padStart(10)} ${ms(percentile(r.add, 95)).padStart(10)} ${ms(percentile(r.del, 50)).padStart(10)} ${ms(percentile(r.del, 95)).padStart(10)} ${ms(r.parallelMs).padStart(12)}   ${r.duplicates} dup, ${r.leftovers} left`;

await withCleanup(
  () => {
    ns.cleanup();
    rmSync(dir, { recursive: true, force: true });
  },
  async () => {
    const versionNode = ns.create("version-node");
    const version = [];
    const r = await measureAll(ROWS, versionNode, version);
    const deletion = await vethDeletionTimes();
    const parallelVersion = await parallelVersionMs(versionNode);
    const [v50, k50, ref50] = [percentile(version, 50), percentile(deletion, 50), percentile(r.reference.add, 50)];
    console.log(`cni: ${PODS} pods sequential, ${PARALLEL_PODS} ADDs ${CONCURRENCY}-way parallel, env -i, /24 subnet`);
    console.log(`${"".padEnd(30)} ${"ADD p50".padStart(10)} ${"ADD p95".padStart(10)} ${"DEL p50".padStart(10)} ${"DEL p95".padStart(10)} ${"50 par. ADD".padStart(12)}`);
    const labels = { reference: "bridge + host-local", weft: "weft (filter on, set present)", weftUnfiltered: "weft, no filter (key false)", weftNoKey: "weft, no key", weftDualStack: "weft, dual-stack", referenceIpv6: "bridge + host-local, IPv6", weftIpv6Only: "weft, IPv6-only" };
    const label = (name) => labels[name] ?? `baseline: ${labels[name.replace("baseline ", "")]}`;
    for (const name of ROWS) console.log(row(label(name), r[name]));
    console.log(`${"weft --version".padEnd(30)} ${ms(v50).padStart(10)}   (p50 of ${version.length}, in turn with the rows' calls)`);
    console.log(`${"kernel: delete such a veth".padEnd(30)} ${"".padStart(10)} ${"".padStart(10)} ${ms(k50).padStart(10)} ${ms(percentile(deletion, 95)).padStart(10)}`);
    console.log(`${"50 weft --version, 10-way".padEnd(30)} ${"".padStart(10)} ${"".padStart(10)} ${"".padStart(10)} ${"".padStart(10)} ${ms(parallelVersion).padStart(12)}   (${ratio(parallelVersion, r.reference.parallelMs)} the reference's 50 ADDs: Node's start alone)`);
    console.log("");
    for (const name of ROWS.filter((n) => /weft(Unfiltered|NoKey)?$/.test(n))) {
      const { add, del, parallelMs } = r[name];
      const [add50, del50] = [percentile(add, 50), percentile(del, 50)];
      console.log(`${label(name)}: ADD p50 = --version + ${ms(add50 - v50)} (target ≤ +8 ms), ${ratio(add50, ref50)} the reference; DEL p50 = --version + veth deletion + ${ms(del50 - v50 - k50)} (target ≤ +3 ms), ${ratio(del50, percentile(r.reference.del, 50))} the reference; 50 parallel ADDs ${ratio(parallelMs, r.reference.parallelMs)} the reference (target ≤ 1.5×)`);
    }
    const { weft, weftUnfiltered: unfiltered, weftDualStack: dual, referenceIpv6: ref6, weftIpv6Only: only6, reference: ref } = r;
    console.log(`second family (IPv6): ADD p50 ${ms(percentile(dual.add, 50) - percentile(unfiltered.add, 50))}, DEL p50 ${ms(percentile(dual.del, 50) - percentile(unfiltered.del, 50))} (weft dual-stack − weft IPv4, both without the filter)`);
    console.log(`IPv6-only: ADD p50 ${ratio(percentile(only6.add, 50), percentile(ref6.add, 50))} the reference on IPv6, DEL p50 ${ratio(percentile(only6.del, 50), percentile(ref6.del, 50))}; against weft IPv4 (no filter) ADD ${ms(percentile(only6.add, 50) - percentile(unfiltered.add, 50))}, DEL ${ms(percentile(only6.del, 50) - percentile(unfiltered.del, 50))}`);
    console.log(`anti-spoofing entry: ADD p50 ${ms(percentile(weft.add, 50) - percentile(unfiltered.add, 50))}, DEL p50 ${ms(percentile(weft.del, 50) - percentile(unfiltered.del, 50))} (weft − weft without the set)`);
    console.log(`duplicates: weft ${weft.duplicates}, IPv6-only ${only6.duplicates}, reference ${ref.duplicates}; leftovers after DEL: weft ${weft.leftovers}, IPv6-only ${only6.leftovers}, reference ${ref.leftovers}`);
  },
);
