// Running commands for the lab (test tooling: it may use ip, bridge and iptables directly).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { openSync } from "node:fs";

export function sh(cmd: string, args: string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")}: ${(e.stderr ?? "").trim() || e.message}`);
  }
}

export const ip = (...args: string[]): string => sh("ip", args);
export const inNs = (netns: string, cmd: string, ...args: string[]): string => sh("ip", ["netns", "exec", netns, cmd, ...args]);

export function tryRun(cmd: string, args: string[]): { ok: boolean; out: string; err: string; ms: number } {
  const t = performance.now();
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 15_000 });
  return { ok: r.status === 0, out: r.stdout ?? "", err: r.stderr ?? "", ms: performance.now() - t };
}

/** Starts a long-running process inside a namespace, detached, output to a log file; returns its pid. */
export function spawnInNetns(netns: string, cmd: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = process.env): number {
  const out = openSync(logFile, "a");
  // nsenter, not `ip netns exec`: it keeps /sys and the cgroup mounts as they are.
  const p = spawn("nsenter", [`--net=/var/run/netns/${netns}`, cmd, ...args], { detached: true, stdio: ["ignore", out, out], env });
  p.unref();
  if (!p.pid) throw new Error(`could not start ${cmd} in ${netns}`);
  return p.pid;
}

export function pidAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
