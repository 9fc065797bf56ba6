// Benchmark body run by bench/nat-check.mjs (bundled on the fly, run inside the bench's namespace):
// weftd's resync check of its NAT and FORWARD rules, which writes nothing when they are in place.
import { spawnSync } from "node:child_process";
import { applyMasquerade, NatRulesKeeper } from "../daemon/masquerade.js";
import { nftGeneration } from "../netlink/index.js";
import { timeRuns } from "./worker-clock.js";

const runs = Number(process.argv[2] ?? 10);
await applyMasquerade("10.244.0.0/16", "10.244.5.0/24", true); // the first one writes the rules
const check = await timeRuns(runs, async () => {
  if (await applyMasquerade("10.244.0.0/16", "10.244.5.0/24", true)) throw new Error("rules rewritten although in place");
});
// The reference, from the same process in the same namespace: iptables-save alone, its output unread.
let dumpBytes = 0;
const dump = await timeRuns(runs, () => {
  const r = spawnSync("iptables-save", [], { maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`iptables-save failed: ${String(r.stderr).slice(0, 300)}`);
  dumpBytes = r.stdout.length;
});
// weftd's resync as it runs: through the keeper, which skips the read while the ruleset's generation stands still.
const keeper = new NatRulesKeeper(() => nftGeneration());
await keeper.ensure("10.244.0.0/16", "10.244.5.0/24", true); // reads once and records the generation
const unchanged = await timeRuns(runs, async () => {
  if ((await keeper.ensure("10.244.0.0/16", "10.244.5.0/24", true)) !== "unchanged") throw new Error("the ruleset moved under the bench");
});
console.log(JSON.stringify({ wall: check.wall, cpuMsPerCheck: check.cpuMsPerRun, dumpWall: dump.wall, dumpBytes, unchanged: unchanged.wall }));
