// Runs every benchmark in turn (each prints its own ratios against the reference it measures).
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./lib.mjs";

const benches = (process.argv.slice(2).length ? process.argv.slice(2) : ["startup", "netlink", "cni", "ipam", "datapath", "backends", "convergence", "services", "scale", "nat-check", "filter-check"]).map((b) => `${b}.mjs`);
let failed = 0;
for (const b of benches) {
  console.log(`\n=== ${b}`);
  const r = spawnSync(process.execPath, [join(ROOT, "bench", b)], { stdio: "inherit" });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
