// --policy-strict: after a policy change, established flows that the new policy denies are cut, and a
// cut flow that a later change allows again resumes. The conntrack table is listed with the
// `conntrack` tool (conntrack-tools); each flow that touches a pod of this node is judged by the same
// model the table was compiled from — by the pod it reaches, the reply's source, so a flow through a
// Service is judged as the rules judge it. A denied flow's entry gets CUT_FLOW_MARK, which the table
// drops in both directions before its established accept; the entry is kept, not deleted: a deleted
// one would be picked up again mid-stream by whichever side sends next, and from the server's side the
// flow is its egress, which the policy allows. A flow the node itself opened (the kubelet's probes,
// from the bridge's gateway address) is never judged, as the table never judges it (it leaves through
// output): it is left alone.
import { networkInterfaces } from "node:os";
import { ClusterIndex } from "./policy/cluster-index.js";
import { CUT_FLOW_MARK } from "./policy/compile.js";
import { evaluate } from "./policy/evaluate.js";
import type { Cluster, Protocol } from "./policy/types.js";
import type { Exec } from "./exec.js";
import type { Logger } from "./log.js";

export interface ConntrackFlow {
  protocol: Protocol;
  /** The original direction as conntrack keys it. */
  src: string;
  dst: string;
  sport: number;
  dport: number;
  /** The reply's source and source port: the pod (and port) the flow reaches after DNAT. */
  replySrc: string;
  replySport: number;
  /** --policy-strict cut it (CUT_FLOW_MARK set). */
  cut: boolean;
}

const PROTOCOLS: Record<string, Protocol> = { tcp: "TCP", udp: "UDP", sctp: "SCTP" };

/** Flows of `conntrack -L` text (TCP, UDP, SCTP; others skipped). */
export function parseConntrack(text: string): ConntrackFlow[] {
  const flows: ConntrackFlow[] = [];
  for (const line of text.split("\n")) {
    const protocol = PROTOCOLS[line.trim().split(/\s+/)[0] ?? ""];
    if (!protocol) continue;
    const kv = (key: string): string[] => [...line.matchAll(new RegExp(`\\b${key}=(\\S+)`, "g"))].map((m) => m[1] as string);
    const [src, replySrc] = kv("src");
    const [dst] = kv("dst");
    const [sport, replySport] = kv("sport").map(Number);
    const [dport] = kv("dport").map(Number);
    if (!src || !dst || !replySrc || !sport || !dport || !replySport) continue;
    const mark = Number(kv("mark")[0] ?? 0);
    flows.push({ protocol, src, dst, sport, dport, replySrc, replySport, cut: (mark & CUT_FLOW_MARK) !== 0 });
  }
  return flows;
}

/** The addresses of the network namespace weftd runs in: the node's own, the bridge's gateway among them. */
export function nodeAddresses(): Set<string> {
  return new Set(Object.values(networkInterfaces()).flatMap((addrs) => (addrs ?? []).map((a) => a.address)));
}

/** What --policy-strict does to each flow that touches a pod of `node` and that the node did not open: cut the denied, resume the allowed that were cut. */
export function strictChanges(cluster: Cluster, node: string | undefined, flows: ConntrackFlow[], ownAddresses: ReadonlySet<string> = new Set()): { cut: ConntrackFlow[]; resume: ConntrackFlow[] } {
  const index = new ClusterIndex(cluster);
  const local = new Set(cluster.pods.filter((p) => (node === undefined || p.node === node) && !p.hostNetwork).flatMap((p) => p.ips));
  const cut: ConntrackFlow[] = [];
  const resume: ConntrackFlow[] = [];
  for (const f of flows) {
    if ((!local.has(f.src) && !local.has(f.replySrc)) || ownAddresses.has(f.src)) continue;
    let allowed: boolean;
    try {
      allowed = evaluate(cluster, { from: { ip: f.src }, to: { ip: f.replySrc }, protocol: f.protocol, port: f.replySport }, index).allowed;
    } catch {
      continue; // an endpoint the model cannot place: left alone
    }
    if (!allowed && !f.cut) cut.push(f);
    if (allowed && f.cut) resume.push(f);
  }
  return { cut, resume };
}

const hexMark = (m: number): string => `0x${m.toString(16)}`;
const FAMILIES = ["ipv4", "ipv6"] as const;

/** Sets (CUT_FLOW_MARK) or clears (0) a flow's cut bit; the mask zeroes only that bit, the mark's other bits are someone else's. False when the flow went meanwhile. */
async function setCutBit(exec: Exec, log: Logger, family: string, f: ConntrackFlow, value: number, msg: string): Promise<boolean> {
  try {
    await exec("conntrack", ["-U", "-f", family, "-p", f.protocol.toLowerCase(), "-s", f.src, "-d", f.dst, "--sport", String(f.sport), "--dport", String(f.dport), "--mark", `${hexMark(value)}/${hexMark(CUT_FLOW_MARK)}`]);
    log.info({ protocol: f.protocol, src: `${f.src}:${f.sport}`, dst: `${f.dst}:${f.dport}`, reaches: `${f.replySrc}:${f.replySport}` }, msg);
    return true;
  } catch {
    return false;
  }
}

export async function cutDeniedFlows(cluster: Cluster, exec: Exec, log: Logger, node?: string): Promise<number> {
  let cut = 0;
  const own = nodeAddresses();
  for (const family of FAMILIES) {
    let text: string;
    try {
      text = await exec("conntrack", ["-L", "-f", family]);
    } catch (err) {
      log.error({ err: (err as Error).message.split("\n")[0] }, "--policy-strict: could not list conntrack entries (is conntrack-tools installed?); established flows keep their verdict");
      return cut;
    }
    const changes = strictChanges(cluster, node, parseConntrack(text), own);
    for (const f of changes.cut) if (await setCutBit(exec, log, family, f, CUT_FLOW_MARK, "--policy-strict: cut an established flow the policy now denies")) cut++;
    for (const f of changes.resume) await setCutBit(exec, log, family, f, 0, "--policy-strict: a cut flow the policy allows again resumes");
  }
  return cut;
}

/**
 * weftd started without --policy-strict: the flows a strict weftd before it cut resume (their bit
 * cleared), as established flows keep their verdict without it. Where the conntrack tool is missing no
 * strict weftd ran either: nothing to do, and nothing said.
 */
export async function resumeCutFlows(exec: Exec, log: Logger): Promise<number> {
  let resumed = 0;
  for (const family of FAMILIES) {
    let text: string;
    try {
      text = await exec("conntrack", ["-L", "-f", family, "--mark", `${hexMark(CUT_FLOW_MARK)}/${hexMark(CUT_FLOW_MARK)}`]);
    } catch {
      return resumed;
    }
    for (const f of parseConntrack(text).filter((x) => x.cut)) if (await setCutBit(exec, log, family, f, 0, "without --policy-strict: a flow a strict weftd cut resumes")) resumed++;
  }
  return resumed;
}
