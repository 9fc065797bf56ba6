// The probers of a truth table's rows, one process per source pod inside its network namespace (a
// namespace is per process). Kept running for as long as their user wants them (a replay of many
// steps): each takes a row job as one line on its stdin and answers one line of results, so a round of
// nine rows costs nine lines, not nine Node starts (~0.1 s of CPU each, most of a replay's CPU).
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { dirname, join } from "node:path";
import { SELF } from "../cluster/paths.js";
import type { RowJob, RowResult } from "./netpol-row.js";

/** The row prober's own bundle, built beside the lab CLI (netpol-row-main.ts). */
const ROW_PROBER = join(dirname(SELF), "netpol-row.cjs");

interface Prober {
  proc: ChildProcessWithoutNullStreams;
  waiting: { resolve: (r: RowResult[]) => void; reject: (e: Error) => void }[];
  buffered: string;
  stderr: string;
}

export class RowProbers {
  private readonly probers = new Map<string, Prober>();

  /** One row from inside `netns`; `what` names the source in an error. */
  probe(netns: string, job: RowJob, what: string): Promise<RowResult[]> {
    const p = this.probers.get(netns) ?? this.start(netns, what);
    return new Promise((resolve, reject) => {
      p.waiting.push({ resolve, reject });
      p.proc.stdin.write(`${JSON.stringify(job)}\n`);
    });
  }

  private start(netns: string, what: string): Prober {
    const proc = spawn("nsenter", [`--net=/var/run/netns/${netns}`, process.execPath, ROW_PROBER, "--serve"], { stdio: ["pipe", "pipe", "pipe"] });
    const p: Prober = { proc, waiting: [], buffered: "", stderr: "" };
    proc.stdout.on("data", (d: Buffer) => {
      p.buffered += d.toString();
      for (let nl = p.buffered.indexOf("\n"); nl >= 0; nl = p.buffered.indexOf("\n")) {
        const line = p.buffered.slice(0, nl);
        p.buffered = p.buffered.slice(nl + 1);
        const answer = JSON.parse(line) as RowResult[] | { error: string };
        const w = p.waiting.shift();
        if (Array.isArray(answer)) w?.resolve(answer);
        else w?.reject(new Error(`probing from ${what} (namespace ${netns}): ${answer.error}`));
      }
    });
    proc.stderr.on("data", (d: Buffer) => (p.stderr += d.toString()));
    const fail = (why: string): void => {
      this.probers.delete(netns);
      for (const w of p.waiting.splice(0)) w.reject(new Error(`probing from ${what} (namespace ${netns}): ${why}${p.stderr ? `: ${p.stderr.trim().split("\n")[0]}` : ""}`));
    };
    proc.on("error", (err) => fail(err.message));
    proc.on("close", (code) => fail(`the prober exited ${code}`));
    this.probers.set(netns, p);
    return p;
  }

  /** Ends every prober (their stdin closed: each exits when its last row is answered). */
  close(): void {
    for (const p of this.probers.values()) p.proc.stdin.end();
    this.probers.clear();
  }
}
