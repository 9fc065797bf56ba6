// Benchmark body run by bench/filter-check.mjs (bundled on the fly, run inside the bench's namespace):
// weftd's resync of its anti-spoofing filter with N pods listed, nothing to repair — read with nft
// (syncPodFilter) and through the keeper, which skips that read while nothing changed.
import { spawnSync } from "node:child_process";
import { PodFilterKeeper, readPodFilterCounters, syncPodFilter } from "../daemon/pod-filter.js";
import { hostVethName, POD_FILTER } from "../ipam/attachment.js";
import type { RecordedPod } from "../ipam/pod-ip-store.js";
import { nftGeneration } from "../netlink/index.js";
import { timeRuns } from "./worker-clock.js";

const pods = Number(process.argv[2] ?? 10);
const runs = Number(process.argv[3] ?? 10);
const allocations: RecordedPod[] = Array.from({ length: pods }, (_, i) => ({ containerId: `bench-pod-${i}`, ifname: "eth0", ipv4: `10.244.${5 + (i >> 8)}.${(i & 255) + 2}`, allocatedAt: "" }));
const relist = (): RecordedPod[] => allocations;
// The pods' ports as the kernel would show them (every one recorded: nothing to report).
const inputs = { allocations, relist, ports: allocations.map((a) => hostVethName(a.containerId, a.ifname)) };
const first = await syncPodFilter(inputs); // writes the table with every pod's entry
if (!first.tableWritten || first.added !== pods) throw new Error(`the filter was not set up: ${JSON.stringify(first)}`);
const read = await timeRuns(runs, async () => {
  const r = await syncPodFilter(inputs);
  if (r.tableWritten || r.added || r.removed) throw new Error("the filter was repaired although in place");
});
// The reference, from the same process in the same namespace: the listing alone, its output unread.
const listing = await timeRuns(runs, () => {
  const r = spawnSync("nft", ["-j", "list", "table", "bridge", POD_FILTER.table], { maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`nft failed: ${String(r.stderr).slice(0, 300)}`);
});
const keeper = new PodFilterKeeper(() => nftGeneration(), () => readPodFilterCounters());
await keeper.sync(inputs); // reads once and records the generation
const skipped = await timeRuns(runs, async () => {
  if ((await keeper.sync(inputs)).read) throw new Error("the ruleset moved under the bench");
});
console.log(JSON.stringify({ read, listing, skipped }));
