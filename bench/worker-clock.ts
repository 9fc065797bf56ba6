// What the bench workers measure themselves with: wall time per call and CPU with children.
import { readFileSync } from "node:fs";

/** CPU of the children this process has waited for (iptables, nft, the shell), in ms: /proc/self/stat's cutime + cstime. */
export const childrenCpuMs = (): number => {
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100; // fields 16 and 17, in ticks of 1/100 s
};

/** Runs `fn` `runs` times: each call's wall time, and the CPU per call of this process and its children. */
export async function timeRuns(runs: number, fn: () => Promise<unknown> | unknown): Promise<{ wall: number[]; cpuMsPerRun: number }> {
  const wall: number[] = [];
  const cpu0 = process.cpuUsage();
  const children0 = childrenCpuMs();
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    await fn();
    wall.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const cpu = process.cpuUsage(cpu0);
  return { wall, cpuMsPerRun: ((cpu.user + cpu.system) / 1000 + childrenCpuMs() - children0) / runs };
}
