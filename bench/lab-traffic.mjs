// What the datapath benches share: a lab of two nodes for the length of a measurement, iperf3 between
// two namespaces, the mean RTT of a ping train, and the CPU the whole machine spent meanwhile.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, withCleanup } from "./lib.mjs";

export const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
export const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const LAB = join(ROOT, "dist", "lab", "weft-lab.cjs");

/** Busy and total CPU time of the whole machine so far, in clock ticks (/proc/stat's first line). */
function cpuTicks() {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + f[4];
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** iperf3 TCP for SECONDS: Gbit/s received, and the CPU the machine spent per Gbit moved (core-seconds). */
export function iperf(serverNs, clientNs, serverIp) {
  const server = spawn("ip", ["netns", "exec", serverNs, "iperf3", "-s", "-1", "-J"], { stdio: "ignore" });
  spawnSync("sleep", ["0.3"]);
  const before = cpuTicks();
  const r = spawnSync("ip", ["netns", "exec", clientNs, "iperf3", "-c", serverIp, "-t", String(SECONDS), "-J"], { encoding: "utf8" });
  const after = cpuTicks();
  server.kill();
  if (r.status !== 0) throw new Error(`iperf3 ${clientNs} → ${serverIp} failed: ${r.stdout.slice(0, 300)}${r.stderr}`);
  const end = JSON.parse(r.stdout).end;
  const gbits = end.sum_received.bytes * 8 / 1e9;
  const ticksPerSecond = 100; // USER_HZ
  return { gbps: end.sum_received.bits_per_second / 1e9, cpuPerGbit: (after.busy - before.busy) / ticksPerSecond / gbits };
}

/** The best of REPEATS runs by throughput. */
export const best = (fn) => Array.from({ length: REPEATS }, fn).reduce((a, b) => (b.gbps > a.gbps ? b : a));

/** Mean RTT in ms of 100 echo requests 20 ms apart. */
export function rttMs(clientNs, ip) {
  const out = execFileSync("ip", ["netns", "exec", clientNs, "ping", "-q", "-c", "100", "-i", "0.02", "-W", "1", ip], { encoding: "utf8" });
  const m = /= [\d.]+\/([\d.]+)\//.exec(out);
  if (!m || !/100 received/.test(out)) throw new Error(`ping ${ip}: ${out}`);
  return Number(m[1]);
}

/** A 2-node lab (one pod each) for the length of `body`, torn down whatever happens. */
export async function withLab(tag, upArgs, body) {
  const dir = mkdtempSync(join(tmpdir(), `weft-bench-dp-${tag}-`));
  const env = { ...process.env, WEFT_LAB_STATE_DIR: dir, WEFT_LAB_PREFIX: `wbd${tag}-` };
  const lab = (...a) => execFileSync(process.execPath, [LAB, ...a], { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return withCleanup(
    () => {
      spawnSync(process.execPath, [LAB, "down"], { env });
      rmSync(dir, { recursive: true, force: true });
    },
    async () => {
      lab("up", "--nodes", "2", "--pods-per-node", "1", ...upArgs);
      const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8"));
      return body(state);
    },
  );
}
