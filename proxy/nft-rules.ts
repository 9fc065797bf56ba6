// kube-proxy's nftables mode as a pure function: one table per family (ip kube-proxy, and ip6
// kube-proxy beside it on a dual-stack node) whose verdict maps send a service IP . protocol . port
// (or a node port) onwards, and the nft script that moves the kernel from one rule set to the next
// in one transaction, touching only what changed.
// Plain services (no affinity, Cluster policies) take a scalable path: a shared chain per endpoint
// count n DNATs through a per-protocol map keyed by (address . port . numgen random mod n), so a
// service is map elements, not chains, and a change is a few element updates (one chain per
// endpoint, kube-proxy's layout, is kept for affinity and Local policies).
import { nftEndpointChain, nftServiceBase } from "./chain-names.js";
import { familySyntax, hostPort, type FamilySyntax } from "./family-syntax.js";
import { familyOfOptions, MASQ_MARK, type ProxyOptions } from "./iptables-rules.js";
import type { IpFamily } from "./model.js";
import { cachedPort, type BuildCache } from "./port-cache.js";
import type { ServiceEndpoint, ServicePortEntry } from "./service-ports.js";

/** "ip kube-proxy" or "ip6 kube-proxy". */
export const nftTable = (family: IpFamily): string => `${familySyntax(family).nftFamily} kube-proxy`;

export interface NftChain {
  /** "type nat hook prerouting priority dstnat; policy accept;" for base chains. */
  hook?: string;
  rules: string[];
}
export interface NftRuleSet {
  /** The table the script writes: one per family. */
  table: string;
  chains: Map<string, NftChain>;
  /** Maps and sets with static elements: their declaration (type line) and elements. */
  maps: Map<string, { kind: "map" | "set"; decl: string; elements: string[] }>;
  /** Dynamic sets (ClientIP affinity state): declared, never flushed while their endpoint exists. */
  sets: Map<string, string>;
}

const PROTOCOLS = ["tcp", "udp", "sctp"] as const;
type L4 = (typeof PROTOCOLS)[number];

/** The maps' declarations in `f`'s table ("ip daddr" and ipv4_addr, or "ip6 daddr" and ipv6_addr). */
function mapDecls(f: FamilySyntax) {
  const ip = f.nftFamily;
  return {
    "service-ips": `type ${f.nftAddrType} . inet_proto . inet_service : verdict`,
    "service-nodeports": "type inet_proto . inet_service : verdict",
    "no-endpoint-services": `type ${f.nftAddrType} . inet_proto . inet_service : verdict`,
    "no-endpoint-nodeports": "type inet_proto . inet_service : verdict",
    // The scalable path's endpoints: which endpoint is number i of a service address (or node port),
    // one map per protocol ("typeof" gives numgen's integer type; nft 1.0.6 cannot add a later rule
    // using a map declared with the protocol-free "th dport", so each rule names its protocol).
    ...(Object.fromEntries(PROTOCOLS.flatMap((l4) => [
      [`cluster-endpoints-${l4}`, `typeof ${ip} daddr . ${l4} dport . numgen random mod 2 : ${ip} daddr . ${l4} dport`],
      [`nodeport-endpoints-${l4}`, `typeof ${l4} dport . numgen random mod 2 : ${ip} daddr . ${l4} dport`],
    ])) as Record<`${"cluster" | "nodeport"}-endpoints-${L4}`, string>),
  };
}
const setDecls = (f: FamilySyntax) => ({
  // Endpoint to itself through a service: masquerade so the reply comes back through the DNAT.
  hairpin: `typeof ${f.nftFamily} saddr . ${f.nftFamily} daddr`,
});

function skeleton(f: FamilySyntax): NftRuleSet {
  const ip = f.nftFamily;
  const chains = new Map<string, NftChain>([
    ["mark-for-masquerade", { rules: [`mark set mark or ${MASQ_MARK}`] }],
    ["masquerading", { hook: "type nat hook postrouting priority srcnat; policy accept;", rules: [`ct status dnat ${ip} saddr . ${ip} daddr @hairpin masquerade fully-random`, `mark and ${MASQ_MARK} == 0 return`, `mark set mark xor ${MASQ_MARK}`, "masquerade fully-random"] }],
    ["services", { rules: [`${ip} daddr . meta l4proto . th dport vmap @service-ips`, `fib daddr type local ${ip} daddr != ${f.loopback} meta l4proto . th dport vmap @service-nodeports`] }],
    ["nat-prerouting", { hook: "type nat hook prerouting priority dstnat; policy accept;", rules: ["jump services"] }],
    ["nat-output", { hook: "type nat hook output priority -100; policy accept;", rules: ["jump services"] }],
    ["reject-chain", { rules: ["reject"] }],
    ["endpoints-check", { rules: [`${ip} daddr . meta l4proto . th dport vmap @no-endpoint-services`, `fib daddr type local ${ip} daddr != ${f.loopback} meta l4proto . th dport vmap @no-endpoint-nodeports`] }],
    // Before DNAT (priority -110 < dstnat), so the destination is still the service's address.
    ["filter-input", { hook: "type filter hook input priority -110; policy accept;", rules: ["ct state new jump endpoints-check"] }],
    ["filter-forward", { hook: "type filter hook forward priority -110; policy accept;", rules: ["ct state new jump endpoints-check", `mark and ${MASQ_MARK} == ${MASQ_MARK} accept`, "ct state related,established accept"] }],
    ["filter-output", { hook: "type filter hook output priority -110; policy accept;", rules: ["ct state new jump endpoints-check"] }],
  ]);
  const maps: NftRuleSet["maps"] = new Map();
  for (const [name, decl] of Object.entries(mapDecls(f))) maps.set(name, { kind: "map", decl, elements: [] });
  for (const [name, decl] of Object.entries(setDecls(f))) maps.set(name, { kind: "set", decl, elements: [] });
  return { table: nftTable(f.family), chains, maps, sets: new Map() };
}

const l4 = (p: ServicePortEntry): L4 => p.protocol.toLowerCase() as L4;
const affinitySet = (p: ServicePortEntry, ep: ServiceEndpoint): string => `affinity-${nftEndpointChain(p, ep.ip, ep.port).slice("endpoint-".length)}`;

function pick(p: ServicePortEntry, eps: ServiceEndpoint[], f: FamilySyntax): string[] {
  const rules: string[] = [];
  if (p.affinitySeconds !== undefined) for (const ep of eps) rules.push(`${f.nftFamily} saddr @${affinitySet(p, ep)} goto ${nftEndpointChain(p, ep.ip, ep.port)}`);
  rules.push(`numgen random mod ${eps.length} vmap { ${eps.map((ep, i) => `${i} : goto ${nftEndpointChain(p, ep.ip, ep.port)}`).join(" , ")} }`);
  return rules;
}

type MapName = keyof ReturnType<typeof mapDecls> | keyof ReturnType<typeof setDecls>;
type SharedKind = "cluster" | "external" | "nodeport";
/** The chain shared by every plain service with `n` endpoints, for traffic of `kind`. */
const sharedChain = (kind: SharedKind, n: number): string => `${kind}-${n}`;
/** What one service port contributes; recorded once per distinct port entry and replayed after. */
type NftOp = ["chain", string, string[]] | ["element", MapName, string] | ["set", string, string] | ["hairpin", string] | ["shared", SharedKind, number];
export type NftPortOps = NftOp[];
interface NftSink {
  chain(name: string, rules: string[]): void;
  element(map: MapName, el: string): void;
  set(name: string, decl: string): void;
  hairpin(ip: string): void;
  shared(kind: SharedKind, n: number): string;
}

function emitPort(p: ServicePortEntry, opts: ProxyOptions, f: FamilySyntax, sink: NftSink): void {
  const ip = f.nftFamily;
  // Hairpin (a pod reaching itself through a service) is DNATed on its own node: local endpoints only.
  for (const ep of p.endpoints) if (ep.local) sink.hairpin(ep.ip);
  if (p.affinitySeconds === undefined && !p.internalLocal && !p.externalLocal && p.endpoints.length > 0) {
    // The scalable path: this service is elements of the shared maps.
    const n = p.endpoints.length;
    const keys = [`${p.clusterIP} . ${l4(p)} . ${p.port}`, ...p.loadBalancerIPs.map((lb) => `${lb} . ${l4(p)} . ${p.port}`)];
    sink.element("service-ips", `${keys[0]} : goto ${sink.shared("cluster", n)}`);
    for (const k of keys.slice(1)) sink.element("service-ips", `${k} : goto ${sink.shared("external", n)}`);
    const byAddress = [p.clusterIP, ...p.loadBalancerIPs].map((ip) => `${ip} . ${p.port}`);
    p.endpoints.forEach((ep, i) => byAddress.forEach((k) => sink.element(`cluster-endpoints-${l4(p)}`, `${k} . ${i} : ${ep.ip} . ${ep.port}`)));
    if (p.nodePort !== undefined) {
      sink.element("service-nodeports", `${l4(p)} . ${p.nodePort} : goto ${sink.shared("nodeport", n)}`);
      p.endpoints.forEach((ep, i) => sink.element(`nodeport-endpoints-${l4(p)}`, `${p.nodePort} . ${i} : ${ep.ip} . ${ep.port}`));
    }
    return;
  }
  const base = nftServiceBase(p);
  const svc = `service-${base}`;
  const ext = `external-${base}`;
  const local = `local-${base}`;
  const all = p.endpoints;
  const localEps = all.filter((e) => e.local);
  const internal = p.internalLocal ? localEps : all;
  const external = p.externalLocal ? localEps : all;
  const key = `${p.clusterIP} . ${l4(p)} . ${p.port}`;
  if (all.length > 0) sink.chain(svc, [`${ip} daddr ${p.clusterIP} ${l4(p)} dport ${p.port} ${ip} saddr != ${opts.clusterCidr} jump mark-for-masquerade`, ...pick(p, all, f)]);
  if ((p.internalLocal || p.externalLocal) && localEps.length > 0) sink.chain(local, pick(p, localEps, f));
  if (internal.length > 0) sink.element("service-ips", `${key} : goto ${p.internalLocal ? local : svc}`);
  else sink.element("no-endpoint-services", `${key} : goto reject-chain`);
  if (p.nodePort !== undefined || p.loadBalancerIPs.length > 0) {
    if (external.length > 0) {
      sink.chain(ext, p.externalLocal ? [`${ip} saddr ${opts.clusterCidr} goto ${svc}`, "fib saddr type local jump mark-for-masquerade", `fib saddr type local goto ${svc}`, `goto ${local}`] : ["jump mark-for-masquerade", `goto ${svc}`]);
      if (p.nodePort !== undefined) sink.element("service-nodeports", `${l4(p)} . ${p.nodePort} : goto ${ext}`);
      for (const lb of p.loadBalancerIPs) sink.element("service-ips", `${lb} . ${l4(p)} . ${p.port} : goto ${ext}`);
    } else {
      const verdict = all.length === 0 ? "goto reject-chain" : "drop";
      if (p.nodePort !== undefined) sink.element("no-endpoint-nodeports", `${l4(p)} . ${p.nodePort} : ${verdict}`);
      for (const lb of p.loadBalancerIPs) sink.element("no-endpoint-services", `${lb} . ${l4(p)} . ${p.port} : ${verdict}`);
    }
  }
  for (const ep of all) {
    const name = nftEndpointChain(p, ep.ip, ep.port);
    const affinity = p.affinitySeconds !== undefined ? [`update @${affinitySet(p, ep)} { ${ip} saddr }`] : [];
    if (p.affinitySeconds !== undefined) sink.set(affinitySet(p, ep), `type ${f.nftAddrType}; flags dynamic,timeout; timeout ${p.affinitySeconds}s`);
    sink.chain(name, [`${ip} saddr ${ep.ip} jump mark-for-masquerade`, ...affinity, `meta l4proto ${l4(p)} dnat to ${hostPort(ep.ip, ep.port)}`]);
  }
}

/**
 * The whole rule set; with `cache` (port-cache.ts), unchanged Services reuse their strings.
 */
export function buildNftRules(ports: ServicePortEntry[], opts: ProxyOptions, cache?: BuildCache<NftPortOps>): NftRuleSet {
  const f = familySyntax(familyOfOptions(opts));
  const ip = f.nftFamily;
  const rs = skeleton(f);
  const chain = (name: string, rules: string[]): void => void rs.chains.set(name, { rules });
  const element = (map: MapName, el: string): void => void rs.maps.get(map)?.elements.push(el);
  const hairpin = new Set<string>();
  const shared = (kind: SharedKind, n: number): string => {
    const name = sharedChain(kind, n);
    if (!rs.chains.has(name)) {
      // One DNAT rule per protocol: "tcp dport" in the key also makes the rule match TCP only.
      const dnat = PROTOCOLS.map((l4) => (kind === "nodeport" ? `dnat ${ip} addr . port to ${l4} dport . numgen random mod ${n} map @nodeport-endpoints-${l4}` : `dnat ${ip} addr . port to ${ip} daddr . ${l4} dport . numgen random mod ${n} map @cluster-endpoints-${l4}`));
      chain(name, [kind === "cluster" ? `${ip} saddr != ${opts.clusterCidr} jump mark-for-masquerade` : "jump mark-for-masquerade", ...dnat]);
    }
    return name;
  };
  const apply = (op: NftOp): void => {
    if (op[0] === "chain") chain(op[1], op[2]);
    else if (op[0] === "element") element(op[1], op[2]);
    else if (op[0] === "set") rs.sets.set(op[1], op[2]);
    else if (op[0] === "hairpin") hairpin.add(op[1]);
    else shared(op[1], op[2]);
  };
  for (const p of ports) {
    const ops = cachedPort(cache, p, () => {
      const rec: NftOp[] = [];
      const record = (op: NftOp): void => void rec.push(op);
      emitPort(p, opts, f, {
        chain: (name, rules) => record(["chain", name, rules]),
        element: (map, el) => record(["element", map, el]),
        set: (name, decl) => record(["set", name, decl]),
        hairpin: (ip) => record(["hairpin", ip]),
        shared: (kind, n) => (record(["shared", kind, n]), sharedChain(kind, n)),
      });
      return rec;
    });
    for (const op of ops) apply(op);
  }
  for (const ip of hairpin) element("hairpin", `${ip} . ${ip}`);
  return rs;
}

const same = (a: string[] | undefined, b: string[] | undefined): boolean => a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);

/** Objects found in our table in the kernel (by kind), to delete what a sync no longer wants. */
export interface NftObjects {
  chains: string[];
  sets: string[];
  maps: string[];
}

/**
 * The nft script from `prev` to `next` (one transaction with nft -f). `prev` undefined (first sync
 * after a start): every chain and map is rewritten and `stale` objects found in the kernel are
 * deleted. Sets (ClientIP affinity state) are kept while their endpoint exists.
 */
export function nftScript(next: NftRuleSet, prev: NftRuleSet | undefined, stale: NftObjects = { chains: [], sets: [], maps: [] }): string {
  const out: string[] = [];
  const table = next.table;
  if (!prev) out.push(`add table ${table} { comment "rules for kube-proxy" ; }`);
  for (const [name, decl] of next.sets) if (!prev?.sets.has(name)) out.push(`add set ${table} ${name} { ${decl} ; }`);
  for (const [name, m] of next.maps) if (!prev?.maps.has(name)) out.push(`add ${m.kind} ${table} ${name} { ${m.decl} ; }`);
  const changed = [...next.chains].filter(([name, c]) => !same(c.rules, prev?.chains.get(name)?.rules));
  for (const [name, c] of changed) out.push(`add chain ${table} ${name}${c.hook ? ` { ${c.hook} }` : ""}`);
  for (const [name, m] of next.maps) {
    const old = prev?.maps.get(name)?.elements;
    if (!old) {
      out.push(`flush ${m.kind} ${table} ${name}`);
      if (m.elements.length) out.push(`add element ${table} ${name} { ${m.elements.join(" , ")} }`);
      continue;
    }
    const keyOf = (e: string): string => (e.includes(" : ") ? e.slice(0, e.indexOf(" : ")) : e);
    const oldSet = new Set(old);
    const newSet = new Set(m.elements);
    // An element whose verdict changed is deleted and added again in the same transaction.
    const gone = old.filter((e) => !newSet.has(e)).map(keyOf);
    const added = m.elements.filter((e) => !oldSet.has(e));
    if (gone.length) out.push(`delete element ${table} ${name} { ${gone.join(" , ")} }`);
    if (added.length) out.push(`add element ${table} ${name} { ${added.join(" , ")} }`);
  }
  for (const [name, c] of changed) {
    out.push(`flush chain ${table} ${name}`);
    for (const r of c.rules) out.push(`add rule ${table} ${name} ${r}`);
  }
  const goneChains = new Set([...(prev ? [...prev.chains.keys()] : []), ...stale.chains].filter((c) => !next.chains.has(c)));
  // Referencing rules are gone (flushed above); flush, then delete.
  for (const c of goneChains) out.push(`flush chain ${table} ${c}`);
  for (const c of goneChains) out.push(`delete chain ${table} ${c}`);
  // Sets and maps no longer wanted (an endpoint's affinity state, or a previous version's layout);
  // static sets such as hairpin live in `maps` and stay.
  const wanted = (x: string): boolean => next.sets.has(x) || next.maps.has(x);
  for (const s of new Set([...(prev ? [...prev.sets.keys()] : []), ...stale.sets].filter((x) => !wanted(x)))) out.push(`delete set ${table} ${s}`);
  for (const m of new Set([...(prev ? [...prev.maps.keys()] : []), ...stale.maps].filter((x) => !wanted(x)))) out.push(`delete map ${table} ${m}`);
  return out.length ? `${out.join("\n")}\n` : "";
}
