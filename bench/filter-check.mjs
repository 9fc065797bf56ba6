// weftd's per-resync sync of its anti-spoofing filter with 10, 110 (kubelet's default pod limit) and
// 250 pods on the node (BENCH_PODS), nothing to repair: the sync that lists the table with nft, and
// the keeper's, which skips that listing while nf_tables' generation stands still and reads the drop
// counters over netlink; against `nft -j list table` alone, run by the same process, same run.
import { execFileSync } from "node:child_process";
import { bundleWorker, ms, Namespaces, percentile, ratio, RUNTIME_PATH, withCleanup } from "./lib.mjs";

const SIZES = (process.env.BENCH_PODS ?? "10,110,250").split(",").map(Number);
const RUNS = 20;

const ns = new Namespaces("filt");
await withCleanup(
  () => ns.cleanup(),
  async () => {
    const worker = await bundleWorker("filter-check-worker", ["koffi"]);
    console.log(`filter check: weftd's resync of its anti-spoofing filter (in place, nothing written), p50 of ${RUNS}, against nft's listing of the table alone`);
    for (const pods of SIZES) {
      const name = ns.create(String(pods));
      const r = JSON.parse(execFileSync("ip", ["netns", "exec", name, process.execPath, worker, String(pods), String(RUNS)], { encoding: "utf8", env: { PATH: RUNTIME_PATH } }));
      const [readMs, listMs, skipMs] = [r.read, r.listing, r.skipped].map((x) => percentile(x.wall, 50));
      console.log(
        `  ${String(pods).padStart(4)} pods: sync that lists ${ms(readMs)} (CPU with its children ${ms(r.read.cpuMsPerRun)}), nft's listing alone ${ms(listMs)}: ${ratio(readMs, listMs)}; ` +
          `while nothing changed (the keeper: generation and counters over netlink) ${ms(skipMs)} (CPU ${ms(r.skipped.cpuMsPerRun)}): ${ratio(skipMs, readMs)} the listing sync`,
      );
    }
  },
);
