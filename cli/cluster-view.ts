// What ipamctl shows and checks, computed from what etcd holds (pure: unit-tested without etcd).
import type { RawLease } from "../ipam/etcd-subnet-manager.js";
import { ipv4ToInt, parseIpv4Cidr } from "../ipam/ipv4.js";
import { canonicalIpv6, ipv6ToBigInt, parseIpv6Cidr } from "../ipam/ipv6.js";
import { leasableCount, networkFamilies, rangeOf, subnetInNetwork, type NetworkConfig } from "../ipam/network-config.js";
import type { PodRecord } from "../ipam/pod-mirror.js";
import { leaseName, leasePart, parseSubnetKey, type LeasePart } from "../ipam/subnet-manager.js";

/** A lease as ipamctl shows it (its JSON as before dual-stack: the IPv4 part's fields at the top). */
export interface LeaseRow {
  /** The IPv4 part; absent on an IPv6-only network's lease. */
  subnet?: string;
  publicIp?: string;
  vtepMac?: string;
  /** The IPv6 part: the subnet, the node's IPv6 address and its IPv6 VTEP's MAC. */
  ipv6?: LeasePart;
  /** Seconds left, or undefined for a key not attached to an etcd lease. */
  expiresInS?: number;
  grantedTtlS?: number;
  pods: number;
}

export interface PodRow extends PodRecord {
  /** Its node's lease by name: the IPv4 subnet, or an IPv6-only lease's IPv6 subnet. */
  subnet: string;
  /** Its first address (IPv4, or IPv6 on an IPv6-only node). */
  ip: string;
}

export interface ClusterView {
  config?: NetworkConfig;
  leases: (RawLease & { ttl?: { remaining: number; granted: number } })[];
  pods: PodRow[];
  /** Pod record keys that could not be read. */
  badPods: { key: string; error: string }[];
}

export function parsePodKey(key: string, value: string): PodRow {
  const [subnetKey, ip] = key.split("/");
  if (!subnetKey || !ip) throw new Error(`pod record key "${key}" is not <subnet>/<ip>`);
  return { ...(JSON.parse(value) as PodRecord), subnet: parseSubnetKey(subnetKey), ip };
}

/** Whether two IPv6 addresses or subnets are the same however they are spelled; false when either is not one. */
export function sameIpv6(a: string | undefined, b: string | undefined): boolean {
  try {
    return a !== undefined && b !== undefined && a.includes(":") && canonicalIpv6(a) === canonicalIpv6(b);
  } catch {
    return false;
  }
}

/** The pod records on `node` and in `subnet`: a node's IPv4 subnet, or its IPv6 one (as its lease gives it). */
export function podRows(view: ClusterView, filter: { node?: string; subnet?: string }): PodRow[] {
  const subnet6 = new Map(view.leases.flatMap((l) => (l.lease ? [[leaseName(l.lease), l.lease.ipv6?.subnet]] : [])));
  const inSubnet = (p: PodRow, s: string): boolean => p.subnet === s || sameIpv6(subnet6.get(p.subnet), s);
  return view.pods.filter((p) => (!filter.node || p.node === filter.node) && (!filter.subnet || inSubnet(p, filter.subnet)));
}

export function leaseRows(view: ClusterView): LeaseRow[] {
  return view.leases
    .filter((l) => l.lease)
    .map((l) => {
      const lease = l.lease!;
      const row: LeaseRow = { ...(lease.ipv4 ?? {}), ...(lease.ipv6 ? { ipv6: lease.ipv6 } : {}), pods: view.pods.filter((p) => p.subnet === leaseName(lease)).length };
      if (l.ttl) {
        row.expiresInS = l.ttl.remaining;
        row.grantedTtlS = l.ttl.granted;
      }
      return row;
    })
    .sort((a, b) => compareCidr(rowName(a), rowName(b)));
}

/** A row's lease by name: its IPv4 subnet, or an IPv6-only lease's IPv6 subnet. */
export const rowName = (r: LeaseRow): string => r.subnet ?? r.ipv6?.subnet ?? "";

/** First and last address of a subnet of either family, as numbers. */
function bounds(cidr: string): { first: bigint; last: bigint; v6: boolean } {
  if (cidr.includes(":")) {
    const c = parseIpv6Cidr(cidr);
    return { first: c.network, last: c.last, v6: true };
  }
  const c = parseIpv4Cidr(cidr);
  return { first: BigInt(c.network), last: BigInt(c.broadcast), v6: false };
}

const contains = (cidr: string, ip: string): boolean => {
  const b = bounds(cidr);
  if (b.v6 !== ip.includes(":")) return false;
  const n = b.v6 ? ipv6ToBigInt(ip) : BigInt(ipv4ToInt(ip));
  return n >= b.first && n <= b.last;
};

/** Subnets in address order, IPv4 before IPv6. */
export function compareCidr(a: string, b: string): number {
  const [x, y] = [bounds(a), bounds(b)];
  if (x.v6 !== y.v6) return x.v6 ? 1 : -1;
  return x.first < y.first ? -1 : x.first > y.first ? 1 : 0;
}

export interface Usage {
  subnets: { subnet: string; publicIp: string; used: number; free: number }[];
  total: { used: number; free: number };
  subnetsLeased: number;
  subnetsLeft: number;
  /** In a dual-stack network: IPv6 subnets leased and left. */
  ipv6?: { subnetsLeased: number; subnetsLeft: number };
}

/** Pod addresses a subnet holds: all but the network and the gateway (and IPv4's broadcast). */
function capacity(subnet: string): number {
  const b = bounds(subnet);
  return Math.max(0, Number(b.last - b.first + 1n) - (b.v6 ? 2 : 3));
}

/** Per lease, the pods its subnet of the network's first family holds and has room for; subnets leased and left. */
export function usage(view: ClusterView): Usage {
  const rows = leaseRows(view).map((r) => ({ subnet: rowName(r), publicIp: r.publicIp ?? r.ipv6?.publicIp ?? "", used: r.pods, free: Math.max(0, capacity(rowName(r)) - r.pods) }));
  const first = view.config ? rangeOf(view.config, networkFamilies(view.config)[0] ?? 4) : undefined;
  const leasable = first ? leasableCount(first) : 0;
  const leased6 = leaseRows(view).filter((r) => r.ipv6).length;
  const v6 = view.config?.enableIPv4 ? view.config.ipv6 : undefined;
  return {
    subnets: rows,
    total: { used: rows.reduce((s, r) => s + r.used, 0), free: rows.reduce((s, r) => s + r.free, 0) },
    subnetsLeased: rows.length,
    subnetsLeft: Math.max(0, leasable - rows.length),
    ...(v6 ? { ipv6: { subnetsLeased: leased6, subnetsLeft: Math.max(0, leasableCount(v6) - leased6) } } : {}),
  };
}

/** Every inconsistency ipamctl check reports, one line each. */
export function findProblems(view: ClusterView): string[] {
  const problems: string[] = [];
  for (const l of view.leases) if (l.error) problems.push(`malformed lease ${l.key}: ${l.error.message}`);
  const good = view.leases.filter((l) => l.lease).map((l) => ({ ...l, lease: l.lease!, name: `${leaseName(l.lease!)} (node ${(l.lease!.ipv4 ?? l.lease!.ipv6)?.publicIp ?? "?"})` }));
  const cfg = view.config;
  for (const l of good) {
    for (const f of [4, 6] as const) {
      const part = leasePart(l.lease, f);
      const range = cfg && rangeOf(cfg, f);
      if (!cfg) continue;
      if (part && range && !subnetInNetwork(range, part.subnet)) problems.push(f === 4 ? `lease ${l.name} is outside the network ${range.network}` : `lease ${l.name}: IPv6 subnet ${part.subnet} is outside the IPv6 network ${range.network}`);
      if (part && !range) problems.push(`lease ${l.name} has IPv${f} subnet ${part.subnet}, but the network config has no IPv${f} (${f === 4 ? "EnableIPv4" : "EnableIPv6"})`);
      if (!part && range) problems.push(`lease ${l.name} has no IPv${f} subnet, but the network has IPv${f} (${range.network})`);
    }
    if (l.etcdLeaseId === "0") problems.push(`lease ${l.name} is not attached to an etcd lease: it never expires`);
    else if (l.ttl && l.ttl.remaining <= 0) problems.push(`lease ${l.name} has expired`);
  }
  // Each family's subnets: none leased twice, none overlapping another.
  for (const f of [4, 6] as const) {
    const parts = good.flatMap((l) => {
      const part = leasePart(l.lease, f);
      return part ? [{ subnet: part.subnet, name: leaseName(l.lease), b: bounds(part.subnet) }] : [];
    });
    for (let i = 0; i < parts.length; i++) {
      for (let j = i + 1; j < parts.length; j++) {
        const [a, b] = [parts[i]!, parts[j]!];
        if (a.b.first <= b.b.last && b.b.first <= a.b.last) problems.push(a.subnet === b.subnet && f === 6 ? `IPv6 subnet ${a.subnet} is leased twice: by ${a.name} and ${b.name}` : `leases ${a.subnet} and ${b.subnet} overlap`);
      }
    }
  }
  for (const p of view.badPods) problems.push(`malformed pod record ${p.key}: ${p.error}`);
  const byIp = new Map<string, PodRow[]>();
  for (const p of view.pods) for (const ip of [p.ip, ...podIpv6(p)]) byIp.set(ip, [...(byIp.get(ip) ?? []), p]);
  for (const [ip, rows] of byIp) if (rows.length > 1) problems.push(`duplicate pod IP ${ip}: held by ${rows.map((r) => `${r.podNamespace ?? "?"}/${r.podName ?? r.containerId} on ${r.node}`).join(" and ")}`);
  const leaseOf = new Map(good.map((l) => [leaseName(l.lease), l.lease]));
  for (const p of view.pods) {
    if (!contains(p.subnet, p.ip)) problems.push(`pod record ${p.ip} is outside its node's subnet ${p.subnet}`);
    const lease = leaseOf.get(p.subnet);
    if (!lease) problems.push(`pod ${p.ip} (${p.podName ?? p.containerId}) is on subnet ${p.subnet}, which has no lease`);
    if (p.ipv6 !== undefined) problems.push(...ipv6Problems(p, lease?.ipv6?.subnet, lease !== undefined));
  }
  return problems;
}

/** A pod record's IPv6 address in canonical text, when it has a well-formed one. */
function podIpv6(p: PodRow): string[] {
  try {
    return typeof p.ipv6 === "string" ? [canonicalIpv6(p.ipv6)] : [];
  } catch {
    return [];
  }
}

/** What is wrong with a record's IPv6 address, against its node's IPv6 subnet (`leased`: its node has a lease at all). */
function ipv6Problems(p: PodRow, subnet6: string | undefined, leased: boolean): string[] {
  const [ipv6] = podIpv6(p);
  if (!ipv6) return [`pod record ${p.ip} has IPv6 address ${JSON.stringify(p.ipv6)}, which is not an IPv6 address`];
  if (!subnet6) return leased ? [`pod record ${p.ip} has IPv6 address ${ipv6}, but its node's lease ${p.subnet} has no IPv6 subnet`] : [];
  return contains(subnet6, ipv6) ? [] : [`pod record ${p.ip}: IPv6 address ${ipv6} is outside its node's IPv6 subnet ${subnet6}`];
}

/** A lease is live while its node renews it: renewals come at half the TTL, so more than half is left. */
export function isLive(ttl: { remaining: number; granted: number } | undefined): boolean {
  return ttl !== undefined && ttl.remaining > ttl.granted / 2;
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? "").length)));
  const line = (cells: (string | number)[]): string => cells.map((c, i) => String(c).padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

export function humanDuration(s: number | undefined): string {
  if (s === undefined) return "never";
  if (s <= 0) return "expired";
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, "0")}m` : m ? `${m}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}
