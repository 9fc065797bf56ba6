// One source pod's row of the policy truth table, run inside that pod's network namespace (a namespace
// is per process: `node dist/lab/netpol-row.cjs JOB`, netpol-row-main.ts): an agnhost connect to every destination, port and
// protocol. TCP and UDP probes run all at once; SCTP ones one after another, as the raw INIT → INIT ACK
// exchange (sctp.ts) blocks its process while it waits.
import { agnhostConnect } from "../containers/agnhost.js";
import type { AgnhostProtocol } from "../containers/agnhost-args.js";

export interface RowTarget {
  to: string;
  host: string;
  port: number;
  protocol: AgnhostProtocol;
}

export interface RowJob {
  from: string;
  timeoutMs: number;
  targets: RowTarget[];
}

export interface RowResult extends RowTarget {
  ok: boolean;
  ms: number;
  detail: string;
}

export async function probeNetpolRow(job: RowJob): Promise<RowResult[]> {
  const probe = async (t: RowTarget): Promise<RowResult> => ({ ...t, ...(await agnhostConnect({ ...t, timeoutMs: job.timeoutMs })) });
  // TCP and UDP first, all at once, and only then SCTP: a raw INIT's wait blocks the event loop, and a
  // connect that completed meanwhile would be seen only after its timeout had fired (a false "denied").
  const parallel = await Promise.all(job.targets.filter((t) => t.protocol !== "sctp").map(probe));
  const sequential: RowResult[] = [];
  for (const t of job.targets.filter((x) => x.protocol === "sctp")) sequential.push(await probe(t));
  return [...parallel, ...sequential];
}
