// What ipamctl shows and checks, computed from what etcd holds (pure: unit-tested without etcd).
import { IPv4, IPv4CidrRange } from "ip-num";
import type { RawLease } from "../ipam/etcd-subnet-manager.js";
import { canonicalIpv6, ipv6ToBigInt, parseIpv6Cidr } from "../ipam/ipv6.js";
import { leasableCount, subnetInNetwork, type NetworkConfig } from "../ipam/network-config.js";
import type { PodRecord } from "../ipam/pod-mirror.js";
import { parseSubnetKey } from "../ipam/subnet-manager.js";

export interface LeaseRow {
  subnet: string;
  publicIp: string;
  vtepMac: string;
  /** A dual-stack lease's IPv6 subnet, the node's IPv6 address and its IPv6 VTEP's MAC. */
  ipv6?: { subnet: string; publicIp: string; vtepMac: string };
  /** Seconds left, or undefined for a key not attached to an etcd lease. */
  expiresInS?: number;
  grantedTtlS?: number;
  pods: number;
}

export interface PodRow extends PodRecord {
  subnet: string;
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
  const subnet6 = new Map(view.leases.map((l) => [l.lease?.subnet, l.lease?.ipv6?.subnet]));
  const inSubnet = (p: PodRow, s: string): boolean => p.subnet === s || sameIpv6(subnet6.get(p.subnet), s);
  return view.pods.filter((p) => (!filter.node || p.node === filter.node) && (!filter.subnet || inSubnet(p, filter.subnet)));
}

export function leaseRows(view: ClusterView): LeaseRow[] {
  return view.leases
    .filter((l) => l.lease)
    .map((l) => {
      const lease = l.lease!;
      const row: LeaseRow = { subnet: lease.subnet, publicIp: lease.publicIp, vtepMac: lease.vtepMac, ...(lease.ipv6 ? { ipv6: lease.ipv6 } : {}), pods: view.pods.filter((p) => p.subnet === lease.subnet).length };
      if (l.ttl) {
        row.expiresInS = l.ttl.remaining;
        row.grantedTtlS = l.ttl.granted;
      }
      return row;
    })
    .sort((a, b) => compareCidr(a.subnet, b.subnet));
}

export function compareCidr(a: string, b: string): number {
  const va = new IPv4(a.split("/")[0] ?? "0.0.0.0").value;
  const vb = new IPv4(b.split("/")[0] ?? "0.0.0.0").value;
  return va < vb ? -1 : va > vb ? 1 : 0;
}

export interface Usage {
  subnets: { subnet: string; publicIp: string; used: number; free: number }[];
  total: { used: number; free: number };
  subnetsLeased: number;
  subnetsLeft: number;
  /** In a dual-stack network: IPv6 subnets leased and left. */
  ipv6?: { subnetsLeased: number; subnetsLeft: number };
}

export function usage(view: ClusterView): Usage {
  const rows = leaseRows(view).map((r) => {
    const size = Number(IPv4CidrRange.fromCidr(r.subnet).getSize());
    const capacity = Math.max(0, size - 3); // network, gateway, broadcast
    return { subnet: r.subnet, publicIp: r.publicIp, used: r.pods, free: Math.max(0, capacity - r.pods) };
  });
  const leasable = view.config ? leasableCount(view.config) : 0;
  const leased6 = leaseRows(view).filter((r) => r.ipv6).length;
  const v6 = view.config?.ipv6;
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
  const good = view.leases.filter((l) => l.lease).map((l) => ({ ...l, lease: l.lease! }));
  for (const l of good) {
    if (view.config && !subnetInNetwork(view.config, l.lease.subnet)) problems.push(`lease ${l.lease.subnet} (node ${l.lease.publicIp}) is outside the network ${view.config.network}`);
    if (l.etcdLeaseId === "0") problems.push(`lease ${l.lease.subnet} (node ${l.lease.publicIp}) is not attached to an etcd lease: it never expires`);
    else if (l.ttl && l.ttl.remaining <= 0) problems.push(`lease ${l.lease.subnet} (node ${l.lease.publicIp}) has expired`);
  }
  for (const l of good) {
    const v6 = l.lease.ipv6;
    if (v6 && view.config?.ipv6 && !subnetInNetwork(view.config.ipv6, v6.subnet)) problems.push(`lease ${l.lease.subnet} (node ${l.lease.publicIp}): IPv6 subnet ${v6.subnet} is outside the IPv6 network ${view.config.ipv6.network}`);
    if (v6 && view.config && !view.config.ipv6) problems.push(`lease ${l.lease.subnet} (node ${l.lease.publicIp}) has IPv6 subnet ${v6.subnet}, but the network config has no IPv6 (EnableIPv6)`);
  }
  const byV6 = new Map<string, string[]>();
  for (const l of good) if (l.lease.ipv6) byV6.set(l.lease.ipv6.subnet, [...(byV6.get(l.lease.ipv6.subnet) ?? []), l.lease.subnet]);
  for (const [v6, holders] of byV6) if (holders.length > 1) problems.push(`IPv6 subnet ${v6} is leased twice: by ${holders.join(" and ")}`);
  for (let i = 0; i < good.length; i++) {
    for (let j = i + 1; j < good.length; j++) {
      const a = IPv4CidrRange.fromCidr(good[i]!.lease.subnet);
      const b = IPv4CidrRange.fromCidr(good[j]!.lease.subnet);
      if (a.inside(b) || b.inside(a) || a.isEquals(b)) problems.push(`leases ${good[i]!.lease.subnet} and ${good[j]!.lease.subnet} overlap`);
    }
  }
  for (const p of view.badPods) problems.push(`malformed pod record ${p.key}: ${p.error}`);
  const byIp = new Map<string, PodRow[]>();
  for (const p of view.pods) for (const ip of [p.ip, ...podIpv6(p)]) byIp.set(ip, [...(byIp.get(ip) ?? []), p]);
  for (const [ip, rows] of byIp) if (rows.length > 1) problems.push(`duplicate pod IP ${ip}: held by ${rows.map((r) => `${r.podNamespace ?? "?"}/${r.podName ?? r.containerId} on ${r.node}`).join(" and ")}`);
  const leaseOf = new Map(good.map((l) => [l.lease.subnet, l.lease]));
  for (const p of view.pods) {
    if (!IPv4CidrRange.fromCidr(p.subnet).contains(IPv4CidrRange.fromCidr(`${p.ip}/32`))) problems.push(`pod record ${p.ip} is outside its node's subnet ${p.subnet}`);
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
  const net = parseIpv6Cidr(subnet6);
  const ip = ipv6ToBigInt(ipv6);
  return ip >= net.network && ip <= net.last ? [] : [`pod record ${p.ip}: IPv6 address ${ipv6} is outside its node's IPv6 subnet ${subnet6}`];
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
