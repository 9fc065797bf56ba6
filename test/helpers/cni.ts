// Runs a CNI plugin binary as a runtime does: a minimal environment with CNI_* and the config on stdin,
// inside a given (test-created) node namespace.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";

export const WEFT_BIN = resolve(import.meta.dirname, "../../dist/bin/weft");

export function requireBuiltPlugin(): void {
  if (!existsSync(WEFT_BIN)) throw new Error(`${WEFT_BIN} is missing: run npm run build first`);
}

export interface PluginRun {
  code: number;
  stdout: string;
  stderr: string;
  json: Record<string, unknown> | undefined;
}

export function runPlugin(opts: { bin?: string; nodeNetns?: string; command: string; config: object | string; env?: Record<string, string> }): PluginRun {
  const bin = opts.bin ?? WEFT_BIN;
  const env: Record<string, string> = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", CNI_COMMAND: opts.command, CNI_PATH: "/usr/lib/cni", ...opts.env };
  const args = opts.nodeNetns ? [`--net=/var/run/netns/${opts.nodeNetns}`, bin] : [];
  const res = spawnSync(opts.nodeNetns ? "nsenter" : bin, args, {
    input: typeof opts.config === "string" ? opts.config : JSON.stringify(opts.config),
    env,
    encoding: "utf8",
    // A plugin that hangs fails its test, and does not outlive it.
    timeout: 20_000,
    killSignal: "SIGKILL",
  });
  let json: Record<string, unknown> | undefined;
  try {
    json = res.stdout.trim() ? (JSON.parse(res.stdout) as Record<string, unknown>) : undefined;
  } catch {
    json = undefined;
  }
  return { code: res.status ?? -1, stdout: res.stdout, stderr: res.stderr, json };
}
