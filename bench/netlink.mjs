// Create and delete 100 veth pairs through weft's netlink library versus `ip` commands (one exec per
// operation, and one `ip -batch`), in the same run, each in its own throwaway namespace.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addPodFilterSet, bundleWorker, ms, Namespaces, percentile, ratio, timeSync, withCleanup } from "./lib.mjs";

const COUNT = Number(process.env.BENCH_COUNT ?? 100);
const ns = new Namespaces("nl");
const tmp = mkdtempSync(join(tmpdir(), "weft-bench-nl-"));

await withCleanup(
  () => {
    ns.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  },
  async () => {
    const worker = await bundleWorker("netlink-worker", ["koffi"]);

    const libNs = ns.create("lib");
    addPodFilterSet(libNs);
    const lib = timeSync(() => JSON.parse(execFileSync(process.execPath, [worker, `/var/run/netns/${libNs}`, String(COUNT)], { encoding: "utf8" })));

    const ipNs = ns.create("ip");
    const ipAdd = [];
    const ipDel = [];
    const ipTotal = timeSync(() => {
      for (let i = 0; i < COUNT; i++) ipAdd.push(timeSync(() => execFileSync("ip", ["-n", ipNs, "link", "add", `bv${i}`, "type", "veth", "peer", "name", `bp${i}`])).ms);
      for (let i = 0; i < COUNT; i++) ipDel.push(timeSync(() => execFileSync("ip", ["-n", ipNs, "link", "del", `bv${i}`])).ms);
    });

    const batchNs = ns.create("batch");
    const addFile = join(tmp, "add.batch");
    const delFile = join(tmp, "del.batch");
    writeFileSync(addFile, Array.from({ length: COUNT }, (_, i) => `link add bv${i} type veth peer name bp${i}`).join("\n"));
    writeFileSync(delFile, Array.from({ length: COUNT }, (_, i) => `link del bv${i}`).join("\n"));
    const batch = timeSync(() => {
      execFileSync("ip", ["-n", batchNs, "-batch", addFile]);
      execFileSync("ip", ["-n", batchNs, "-batch", delFile]);
    });

    const libTotal = lib.ms;
    const { add, del, elemAdd, elemDel } = lib.result;
    const nftNs = ns.create("nft");
    addPodFilterSet(nftNs);
    const NFT_OPS = Math.min(COUNT, 30);
    const nftAdd = Array.from({ length: NFT_OPS }, (_, i) => timeSync(() => execFileSync("ip", ["netns", "exec", nftNs, "nft", "add", "element", "bridge", "weft", "pod-addresses", `{ "weft${String(i).padStart(8, "0")}" . 0a:58:0a:f4:00:${(i + 16).toString(16)} . 10.244.0.${i + 2} }`])).ms);
    console.log(`netlink: create + delete ${COUNT} veth pairs`);
    console.log(`${"".padEnd(26)} ${"total".padStart(11)} ${"add p50".padStart(10)} ${"add p95".padStart(10)} ${"del p50".padStart(10)} ${"del p95".padStart(10)}`);
    console.log(`${"weft netlink (1 process)".padEnd(26)} ${ms(libTotal).padStart(11)} ${ms(percentile(add, 50)).padStart(10)} ${ms(percentile(add, 95)).padStart(10)} ${ms(percentile(del, 50)).padStart(10)} ${ms(percentile(del, 95)).padStart(10)}`);
    console.log(`${"ip, one exec per op".padEnd(26)} ${ms(ipTotal.ms).padStart(11)} ${ms(percentile(ipAdd, 50)).padStart(10)} ${ms(percentile(ipAdd, 95)).padStart(10)} ${ms(percentile(ipDel, 50)).padStart(10)} ${ms(percentile(ipDel, 95)).padStart(10)}`);
    console.log(`${"ip -batch (2 execs)".padEnd(26)} ${ms(batch.ms).padStart(11)}`);
    console.log(`\nweft / ip per op: ${ratio(libTotal, ipTotal.ms)} of the time (${ratio(ipTotal.ms, libTotal)} faster); weft / ip -batch: ${ratio(libTotal, batch.ms)}`);
    console.log(`per-operation latency through the library: add ${ms(percentile(add, 50))}, delete ${ms(percentile(del, 50))} (delete is dominated by the kernel's RCU grace period)`);
    console.log(`\nanti-spoofing set element (socket + one nf_tables batch + close), ${COUNT} each: add p50 ${ms(percentile(elemAdd, 50))} p95 ${ms(percentile(elemAdd, 95))}, delete p50 ${ms(percentile(elemDel, 50))} p95 ${ms(percentile(elemDel, 95))}`);
    console.log(`the same add through \`nft add element\` (one exec each, ${NFT_OPS}): p50 ${ms(percentile(nftAdd, 50))} — the library is ${ratio(percentile(nftAdd, 50), percentile(elemAdd, 50))} faster`);
  },
);
