// Benchmark body run by bench/nat-check.mjs (bundled on the fly, run inside the bench's namespace):
// weftd's resync check of its NAT and FORWARD rules, which writes nothing when they are in place.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { applyMasquerade, NatRulesKeeper } from "../daemon/masquerade.js";
import { nftGeneration } from "../netlink/index.js";

/** CPU of the children this process has waited for (iptables, the shell), in ms: /proc/self/stat's cutime + cstime. */
const childrenCpuMs = (): number => {
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100; // fields 16 and 17, in ticks of 1/100 s
};

const runs = Number(process.argv[2] ?? 10);
await applyMasquerade("10.244.0.0/16", "10.244.5.0/24", true); // the first one writes the rules
const wall: number[] = [];
const cpu0 = process.cpuUsage();
const children0 = childrenCpuMs();
for (let i = 0; i < runs; i++) {
  const t = process.hrtime.bigint();
  if (await applyMasquerade("10.244.0.0/16", "10.244.5.0/24", true)) throw new Error("rules rewritten although in place");
  wall.push(Number(process.hrtime.bigint() - t) / 1e6);
}
const cpu = process.cpuUsage(cpu0);
const ownMs = (cpu.user + cpu.system) / 1000;
const cpuMsPerCheck = (ownMs + childrenCpuMs() - children0) / runs;
// The reference, from the same process in the same namespace: iptables-save alone, its output unread.
const dumpWall: number[] = [];
let dumpBytes = 0;
for (let i = 0; i < runs; i++) {
  const t = process.hrtime.bigint();
  const r = spawnSync("iptables-save", [], { maxBuffer: 1 << 30 });
  dumpWall.push(Number(process.hrtime.bigint() - t) / 1e6);
  if (r.status !== 0) throw new Error(`iptables-save failed: ${String(r.stderr).slice(0, 300)}`);
  dumpBytes = r.stdout.length;
}
// weftd's resync as it runs: through the keeper, which skips the read while the ruleset's generation stands still.
const keeper = new NatRulesKeeper(() => nftGeneration());
await keeper.ensure("10.244.0.0/16", "10.244.5.0/24", true); // reads once and records the generation
const unchanged: number[] = [];
for (let i = 0; i < runs; i++) {
  const t = process.hrtime.bigint();
  if ((await keeper.ensure("10.244.0.0/16", "10.244.5.0/24", true)) !== "unchanged") throw new Error("the ruleset moved under the bench");
  unchanged.push(Number(process.hrtime.bigint() - t) / 1e6);
}
console.log(JSON.stringify({ wall, cpuMsPerCheck, dumpWall, dumpBytes, unchanged }));
