// --policy-strict: after a policy change, established flows that the new policy denies are cut. The
// conntrack table is listed with the `conntrack` tool (conntrack-tools), each flow that touches a pod
// of this node is judged by the same model the table was compiled from — by the pod it reaches, the
// reply's source, so a flow through a Service is judged as the rules judge it — and the denied ones'
// entries are deleted: their next packet is then new, and the table drops it. A flow the node itself
// opened (the kubelet's probes, from the bridge's gateway address) is never judged, as the table never
// judges it (it leaves through output): it is left alone.
import { networkInterfaces } from "node:os";
import { ClusterIndex } from "./policy/cluster-index.js";
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
    flows.push({ protocol, src, dst, sport, dport, replySrc, replySport });
  }
  return flows;
}

/** The addresses of the network namespace weftd runs in: the node's own, the bridge's gateway among them. */
export function nodeAddresses(): Set<string> {
  return new Set(Object.values(networkInterfaces()).flatMap((addrs) => (addrs ?? []).map((a) => a.address)));
}

/** The flows that touch a pod of `node`, that the node did not open, and that the cluster's policies now deny. */
export function deniedFlows(cluster: Cluster, node: string | undefined, flows: ConntrackFlow[], ownAddresses: ReadonlySet<string> = new Set()): ConntrackFlow[] {
  const index = new ClusterIndex(cluster);
  const local = new Set(cluster.pods.filter((p) => (node === undefined || p.node === node) && !p.hostNetwork).flatMap((p) => p.ips));
  return flows.filter((f) => {
    if (!local.has(f.src) && !local.has(f.replySrc)) return false;
    if (ownAddresses.has(f.src)) return false;
    try {
      return !evaluate(cluster, { from: { ip: f.src }, to: { ip: f.replySrc }, protocol: f.protocol, port: f.replySport }, index).allowed;
    } catch {
      return false; // an endpoint the model cannot place: left alone
    }
  });
}

export async function cutDeniedFlows(cluster: Cluster, exec: Exec, log: Logger, node?: string): Promise<number> {
  let cut = 0;
  const own = nodeAddresses();
  for (const family of ["ipv4", "ipv6"]) {
    let text: string;
    try {
      text = await exec("conntrack", ["-L", "-f", family]);
    } catch (err) {
      log.error({ err: (err as Error).message.split("\n")[0] }, "--policy-strict: could not list conntrack entries (is conntrack-tools installed?); established flows keep their verdict");
      return cut;
    }
    for (const f of deniedFlows(cluster, node, parseConntrack(text), own)) {
      try {
        await exec("conntrack", ["-D", "-f", family, "-p", f.protocol.toLowerCase(), "-s", f.src, "-d", f.dst, "--sport", String(f.sport), "--dport", String(f.dport)]);
        cut++;
        log.info({ protocol: f.protocol, src: `${f.src}:${f.sport}`, dst: `${f.dst}:${f.dport}`, reaches: `${f.replySrc}:${f.replySport}` }, "--policy-strict: cut an established flow the policy now denies");
      } catch {
        // gone meanwhile
      }
    }
  }
  return cut;
}
