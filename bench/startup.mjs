// Startup of the single executables against `node -e 0`, measured in the same run with hyperfine,
// called as a container runtime calls a plugin (env -i PATH=…). weftd and ipamctl are the one executable
// called through its links, and by subcommand. BENCH_BASELINE_BIN=<another build's dist/bin> adds that
// build's rows to the same run (e.g. the commit before a change).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BASELINE_BIN, BIN, ms, percentile, ratio, requireBuild, RUNTIME_PATH } from "./lib.mjs";

requireBuild();
const runs = Number(process.env.BENCH_RUNS ?? 60);
const dir = mkdtempSync(join(tmpdir(), "weft-bench-startup-"));
const cmds = {
  "node -e 0": `env -i PATH=${RUNTIME_PATH} ${process.execPath} -e 0`,
  "weft --version": `env -i PATH=${RUNTIME_PATH} ${join(BIN, "weft")} --version`,
  "weftd --version": `env -i PATH=${RUNTIME_PATH} ${join(BIN, "weftd")} --version`,
  "weft daemon --version": `env -i PATH=${RUNTIME_PATH} ${join(BIN, "weft")} daemon --version`,
  "ipamctl --version": `env -i PATH=${RUNTIME_PATH} ${join(BIN, "ipamctl")} --version`,
};
if (BASELINE_BIN) {
  for (const name of ["weft", "weftd", "ipamctl"]) cmds[`baseline ${name} --version`] = `env -i PATH=${RUNTIME_PATH} ${join(BASELINE_BIN, name)} --version`;
}
try {
  const out = join(dir, "startup.json");
  execFileSync("hyperfine", ["-N", "--warmup", "5", "--runs", String(runs), "--export-json", out, ...Object.values(cmds)], { stdio: "ignore" });
  const results = JSON.parse(readFileSync(out, "utf8")).results.map((r) => ({ p50: percentile(r.times, 50) * 1000, p95: percentile(r.times, 95) * 1000 }));
  const names = Object.keys(cmds);
  const base = results[0].p50;
  console.log(`startup (${runs} runs each, hyperfine -N, env -i)`);
  console.log(`${"command".padEnd(28)} ${"p50".padStart(10)} ${"p95".padStart(10)}   vs node -e 0`);
  results.forEach((r, i) => console.log(`${names[i].padEnd(28)} ${ms(r.p50).padStart(10)} ${ms(r.p95).padStart(10)}   ${ratio(r.p50, base)}`));
  console.log(`\nweft --version / node -e 0 = ${ratio(results[1].p50, base)} (target ≤ 1.10×)`);
  if (BASELINE_BIN) {
    const p50 = (name) => results[names.indexOf(name)].p50;
    for (const name of ["weft", "weftd", "ipamctl"]) console.log(`${name} --version / baseline's = ${ratio(p50(`${name} --version`), p50(`baseline ${name} --version`))}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
