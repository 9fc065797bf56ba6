// Benchmark body run by bench/nat-check.mjs (bundled on the fly, run inside the bench's namespace):
// weftd's resync check of its NAT and FORWARD rules, which writes nothing when they are in place.
import { applyMasquerade } from "../daemon/masquerade.js";

const runs = Number(process.argv[2] ?? 10);
await applyMasquerade("10.244.0.0/16", "10.244.5.0/24", true); // the first one writes the rules
const wall: number[] = [];
const cpu0 = process.cpuUsage();
for (let i = 0; i < runs; i++) {
  const t = process.hrtime.bigint();
  if (await applyMasquerade("10.244.0.0/16", "10.244.5.0/24", true)) throw new Error("rules rewritten although in place");
  wall.push(Number(process.hrtime.bigint() - t) / 1e6);
}
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ wall, cpuMsPerCheck: (cpu.user + cpu.system) / 1000 / runs }));
