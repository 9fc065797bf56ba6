// Runs the rule loaders (iptables-restore, nft, ipvsadm-restore) with the rule text on stdin.
import { execFileSync } from "node:child_process";

export class RuleLoadError extends Error {
  constructor(
    readonly command: string,
    readonly stderr: string,
    readonly input: string,
  ) {
    super(`${command} failed: ${stderr.trim().split("\n").slice(0, 3).join(" | ")}`);
  }
}

export type Runner = (cmd: string, args: string[], input?: string) => string;

export const run: Runner = (cmd, args, input) => {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"], maxBuffer: 256 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new RuleLoadError(`${cmd} ${args.join(" ")}`, e.stderr ?? e.message, input ?? "");
  }
};
