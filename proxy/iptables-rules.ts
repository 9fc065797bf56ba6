// kube-proxy's iptables mode as a pure function: service ports → the chains of the nat and filter
// tables, in kube-proxy's layout (KUBE-SERVICES → KUBE-SVC-* → KUBE-SEP-*, KUBE-NODEPORTS → KUBE-EXT-*,
// KUBE-MARK-MASQ with mark 0x4000, KUBE-POSTROUTING), and the iptables-restore text that moves the
// kernel from one rule set to the next rewriting only the chains that changed. One family per rule
// set: the IPv6 proxier writes the same chains for ip6tables-restore.
import { extChain, sepChain, svcChain, svlChain } from "./chain-names.js";
import { familySyntax, hostPort, type FamilySyntax } from "./family-syntax.js";
import { ipFamilyOf, type IpFamily } from "./model.js";
import { cachedPort, type BuildCache } from "./port-cache.js";
import type { ServiceEndpoint, ServicePortEntry } from "./service-ports.js";

export const MASQ_MARK = "0x4000";
export type Table = "nat" | "filter";
/** chain name → its rules (each the text after "-A CHAIN "), per table. */
export type RuleSet = Record<Table, Map<string, string[]>>;

export interface ProxyOptions {
  /** The pod network: traffic from outside it to a cluster IP is masqueraded (kube-proxy's --cluster-cidr). */
  clusterCidr: string;
  /** The family this proxier programs; the cluster CIDR's when not given. */
  family?: IpFamily;
}

export const familyOfOptions = (opts: ProxyOptions): IpFamily => opts.family ?? ipFamilyOf(opts.clusterCidr);

/** Jumps from the built-in chains into ours; ensured once at start, never rewritten. */
export const BASE_JUMPS: Record<Table, [string, string][]> = {
  nat: [
    ["PREROUTING", `-m comment --comment "kubernetes service portals" -j KUBE-SERVICES`],
    ["OUTPUT", `-m comment --comment "kubernetes service portals" -j KUBE-SERVICES`],
    ["POSTROUTING", `-m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING`],
  ],
  filter: [
    ["INPUT", `-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES`],
    ["FORWARD", `-m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD`],
    ["FORWARD", `-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`],
    ["FORWARD", `-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES`],
    ["OUTPUT", `-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`],
  ],
};

const q = (s: string): string => `"${s.replace(/["\\]/g, "")}"`;
const match = (p: ServicePortEntry, port: number): string => `-p ${p.protocol.toLowerCase()} -m ${p.protocol.toLowerCase()} --dport ${port}`;

/** Spreads new connections over `eps` like kube-proxy: probability 1/n, 1/(n−1), …, then the last unconditionally. */
function spread(p: ServicePortEntry, eps: ServiceEndpoint[]): string[] {
  const rules: string[] = [];
  if (p.affinitySeconds !== undefined) {
    for (const ep of eps) rules.push(`-m comment --comment ${q(`${p.name} -> ${hostPort(ep.ip, ep.port)}`)} -m recent --name ${sepChain(p, ep.ip, ep.port)} --rcheck --seconds ${p.affinitySeconds} --reap -j ${sepChain(p, ep.ip, ep.port)}`);
  }
  eps.forEach((ep, i) => {
    const left = eps.length - i;
    const stat = left > 1 ? `-m statistic --mode random --probability ${(1 / left).toFixed(10)} ` : "";
    rules.push(`-m comment --comment ${q(`${p.name} -> ${hostPort(ep.ip, ep.port)}`)} ${stat}-j ${sepChain(p, ep.ip, ep.port)}`);
  });
  return rules;
}

/** One service port's rules, as (table, chain, rule) in order: built once per distinct port entry. */
export type PortRules = [Table, string, string][];

function portRules(p: ServicePortEntry, opts: ProxyOptions, f: FamilySyntax): PortRules {
  const out: PortRules = [];
  const add = (table: Table, chain: string, rule: string): void => void out.push([table, chain, rule]);
  const all = p.endpoints;
  const local = all.filter((e) => e.local);
  const hasExternal = p.nodePort !== undefined || p.loadBalancerIPs.length > 0;
  const internalEps = p.internalLocal ? local : all;
  const externalEps = p.externalLocal ? local : all;
  const cip = `-d ${p.clusterIP}${f.hostMask} ${match(p, p.port)}`;

  if (internalEps.length > 0) add("nat", "KUBE-SERVICES", `-m comment --comment ${q(`${p.name} cluster IP`)} ${cip} -j ${p.internalLocal ? svlChain(p) : svcChain(p)}`);
  else add("filter", "KUBE-SERVICES", `-m comment --comment ${q(`${p.name} has no ${p.internalLocal ? "local " : ""}endpoints`)} ${cip} -j REJECT --reject-with ${f.portUnreachable}`);

  if (all.length > 0) {
    add("nat", svcChain(p), `-m comment --comment ${q(`${p.name} cluster IP`)} ! -s ${opts.clusterCidr} ${cip} -j KUBE-MARK-MASQ`);
    for (const r of spread(p, all)) add("nat", svcChain(p), r);
  }
  if ((p.externalLocal || p.internalLocal) && local.length > 0) for (const r of spread(p, local)) add("nat", svlChain(p), r);

  if (hasExternal) {
    const reject = all.length === 0 ? `REJECT --reject-with ${f.portUnreachable}` : "DROP";
    const why = all.length === 0 ? "has no endpoints" : "has no local endpoints";
    for (const lb of p.loadBalancerIPs) {
      if (externalEps.length > 0) add("nat", "KUBE-SERVICES", `-m comment --comment ${q(`${p.name} loadbalancer IP`)} -d ${lb}${f.hostMask} ${match(p, p.port)} -j ${extChain(p)}`);
      else add("filter", "KUBE-EXTERNAL-SERVICES", `-m comment --comment ${q(`${p.name} ${why}`)} -d ${lb}${f.hostMask} ${match(p, p.port)} -j ${reject}`);
    }
    if (p.nodePort !== undefined) {
      if (externalEps.length > 0) add("nat", "KUBE-NODEPORTS", `-m comment --comment ${q(p.name)} ${match(p, p.nodePort)} -j ${extChain(p)}`);
      else add("filter", "KUBE-EXTERNAL-SERVICES", `-m comment --comment ${q(`${p.name} ${why}`)} -m addrtype --dst-type LOCAL ${match(p, p.nodePort)} -j ${reject}`);
    }
    if (externalEps.length > 0) {
      if (p.externalLocal) {
        // Local: keep the client's address; pods and the node itself still reach every endpoint.
        add("nat", extChain(p), `-m comment --comment ${q(`pod traffic for ${p.name} external destinations`)} -s ${opts.clusterCidr} -j ${svcChain(p)}`);
        add("nat", extChain(p), `-m comment --comment ${q(`masquerade LOCAL traffic for ${p.name} external destinations`)} -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`);
        add("nat", extChain(p), `-m comment --comment ${q(`route LOCAL traffic for ${p.name} external destinations`)} -m addrtype --src-type LOCAL -j ${svcChain(p)}`);
        add("nat", extChain(p), `-j ${svlChain(p)}`);
      } else {
        add("nat", extChain(p), `-m comment --comment ${q(`masquerade traffic for ${p.name} external destinations`)} -j KUBE-MARK-MASQ`);
        add("nat", extChain(p), `-j ${svcChain(p)}`);
      }
    }
  }

  for (const ep of all) {
    const sep = sepChain(p, ep.ip, ep.port);
    add("nat", sep, `-m comment --comment ${q(p.name)} -s ${ep.ip}${f.hostMask} -j KUBE-MARK-MASQ`);
    const recent = p.affinitySeconds !== undefined ? ` -m recent --set --name ${sep} --mask ${f.allOnesMask} --rsource` : "";
    add("nat", sep, `-m comment --comment ${q(p.name)} -p ${p.protocol.toLowerCase()}${recent} -m ${p.protocol.toLowerCase()} -j DNAT --to-destination ${hostPort(ep.ip, ep.port)}`);
  }
  return out;
}

/**
 * The whole rule set; with `cache` (port-cache.ts), unchanged Services reuse their rule strings.
 */
export function buildRules(ports: ServicePortEntry[], opts: ProxyOptions, cache?: BuildCache<PortRules>): RuleSet {
  const f = familySyntax(familyOfOptions(opts));
  const nat = new Map<string, string[]>([["KUBE-SERVICES", []], ["KUBE-NODEPORTS", []], ["KUBE-POSTROUTING", []], ["KUBE-MARK-MASQ", []]]);
  const filter = new Map<string, string[]>([["KUBE-SERVICES", []], ["KUBE-EXTERNAL-SERVICES", []], ["KUBE-FORWARD", []]]);
  const tables = { nat, filter };
  const add = (t: Map<string, string[]>, chain: string, rule: string): void => {
    const rules = t.get(chain) ?? [];
    rules.push(rule);
    t.set(chain, rules);
  };
  add(nat, "KUBE-MARK-MASQ", `-j MARK --or-mark ${MASQ_MARK}`);
  add(nat, "KUBE-POSTROUTING", `-m mark ! --mark ${MASQ_MARK}/${MASQ_MARK} -j RETURN`);
  add(nat, "KUBE-POSTROUTING", `-j MARK --xor-mark ${MASQ_MARK}`);
  add(nat, "KUBE-POSTROUTING", `-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully`);
  add(filter, "KUBE-FORWARD", `-m conntrack --ctstate INVALID -j DROP`);
  add(filter, "KUBE-FORWARD", `-m comment --comment "kubernetes forwarding rules" -m mark --mark ${MASQ_MARK}/${MASQ_MARK} -j ACCEPT`);
  add(filter, "KUBE-FORWARD", `-m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);

  for (const p of ports) {
    for (const [table, chain, rule] of cachedPort(cache, p, () => portRules(p, opts, f))) add(tables[table], chain, rule);
  }
  // NodePorts are looked at last, for any address of this node; never ::1, which IPv6 cannot route out.
  const notLoopback = f.family === "IPv6" ? ` ! -d ${f.loopback}${f.hostMask}` : "";
  add(nat, "KUBE-SERVICES", `-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL${notLoopback} -j KUBE-NODEPORTS`);
  return { nat, filter };
}

const sameRules = (a: string[] | undefined, b: string[] | undefined): boolean => a !== undefined && b !== undefined && a.length === b.length && a.every((r, i) => r === b[i]);

/**
 * iptables-restore --noflush input taking the kernel from `prev` to `next`. Declaring a chain flushes
 * it, so only changed chains are declared; chains that are gone are flushed and deleted. `prev`
 * undefined means "unknown" (first sync after a start): every chain is written, and `stale` (ours,
 * found in the kernel) are deleted when `next` no longer has them.
 */
export function restoreText(next: RuleSet, prev: RuleSet | undefined, stale: Record<Table, string[]> = { nat: [], filter: [] }): string {
  const out: string[] = [];
  for (const table of ["filter", "nat"] as const) {
    const n = next[table];
    const p = prev?.[table];
    const changed = [...n.keys()].filter((c) => !sameRules(n.get(c), p?.get(c)));
    const gone = [...new Set([...(p ? [...p.keys()] : []), ...stale[table]])].filter((c) => !n.has(c));
    if (changed.length === 0 && gone.length === 0) continue;
    out.push(`*${table}`);
    for (const c of [...changed, ...gone]) out.push(`:${c} - [0:0]`);
    for (const c of changed) for (const r of n.get(c) ?? []) out.push(`-A ${c} ${r}`);
    for (const c of gone) out.push(`-X ${c}`);
    out.push("COMMIT");
  }
  return out.length ? `${out.join("\n")}\n` : "";
}
