// Startup of the single executables against `node -e 0`, measured in the same run with hyperfine,
// called as a container runtime calls a plugin (env -i PATH=…).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, ms, percentile, ratio, requireBuild, RUNTIME_PATH } from "./lib.mjs";

requireBuild();
const runs = Number(process.env.BENCH_RUNS ?? 60);
const dir = mkdtempSync(join(tmpdir(), "weft-bench-startup-"));
const cmds = {
  "node -e 0": `env -i PATH=${RUNTIME_PATH} ${process.execPath} -e 0`,
  "weft --version": `env -i PATH=${RUNTIME_PATH} ${join(BIN, "weft")} --version`,
  "weftd --version": `env -i PATH=${RUNTIME_PATH} ${join(BIN, "weftd")} --version`,
  "ipamctl --version": `env -i PATH=${RUNTIME_PATH} ${join(BIN, "ipamctl")} --version`,
};
try {
  const out = join(dir, "startup.json");
  execFileSync("hyperfine", ["-N", "--warmup", "5", "--runs", String(runs), "--export-json", out, ...Object.values(cmds)], { stdio: "ignore" });
  const results = JSON.parse(readFileSync(out, "utf8")).results.map((r) => ({ p50: percentile(r.times, 50) * 1000, p95: percentile(r.times, 95) * 1000 }));
  const names = Object.keys(cmds);
  const base = results[0].p50;
  console.log(`startup (${runs} runs each, hyperfine -N, env -i)`);
  console.log(`${"command".padEnd(20)} ${"p50".padStart(10)} ${"p95".padStart(10)}   vs node -e 0`);
  results.forEach((r, i) => console.log(`${names[i].padEnd(20)} ${ms(r.p50).padStart(10)} ${ms(r.p95).padStart(10)}   ${ratio(r.p50, base)}`));
  console.log(`\nweft --version / node -e 0 = ${ratio(results[1].p50, base)} (target ≤ 1.10×)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
