// Subnet leases: one per node, a part per IP family of the network, in flannel's key and value format.
// The daemon talks to this interface; etcd is one implementation (etcd-subnet-manager.ts).
import { randomInt } from "node:crypto";
import { canonicalIpv6 } from "./ipv6.js";
import { leasableCount, leasableSubnetAt, rangeOf, subnetInNetwork, type NetworkConfig, type SubnetRange } from "./network-config.js";

/** One family's part of a lease: the node's subnet of that family, its underlay address, its VTEP's MAC. */
export interface LeasePart {
  /** "10.244.1.0/24" or "fd00:10:244:1::/64", in canonical text. */
  subnet: string;
  publicIp: string;
  vtepMac: string;
}

export type Family = 4 | 6;

/** A node's lease: a part per family of the network (IPv4, IPv6, or both on a dual-stack network). */
export interface Lease {
  ipv4?: LeasePart;
  ipv6?: LeasePart;
  backendType: "vxlan";
  vni: number;
  expiresAt: Date;
}

export interface LeaseAttrs {
  vni: number;
  /** This node's underlay address and VTEP MAC of each family the network has (its subnets are picked per family). */
  ipv4?: { publicIp: string; vtepMac: string };
  ipv6?: { publicIp: string; vtepMac: string };
}

/** A lease's (or lease attributes') part of `family`. */
export const leasePart = <T>(l: { ipv4?: T; ipv6?: T }, family: Family): T | undefined => (family === 4 ? l.ipv4 : l.ipv6);

/** What ipamctl, logs and errors call a lease by: its IPv4 subnet, or the IPv6 one of an IPv6-only lease. */
export const leaseName = (l: Pick<Lease, "ipv4" | "ipv6">): string => l.ipv4?.subnet ?? l.ipv6?.subnet ?? "";

/** What subnet.env says this node had: its subnets, and the public IP (of its first family) it had then. */
export interface PreviousLease {
  ipv4Subnet?: string;
  ipv6Subnet?: string;
  publicIp?: string;
}

export type LeaseEvent = { type: "snapshot"; leases: Lease[] } | { type: "added"; lease: Lease } | { type: "removed"; lease: Lease };

export interface LeaseWatch {
  /** True while events flow: a snapshot was delivered and the watch has not been cut off since. */
  live(): boolean;
  /** A revision etcd answered with elsewhere: one below what the watch has seen means etcd lost its data. */
  noticeRevision(revision: string): void;
  close(): void;
}

export interface SubnetManager {
  getNetworkConfig(): Promise<NetworkConfig>;
  acquireLease(attrs: LeaseAttrs, previous?: PreviousLease): Promise<Lease>;
  renewLease(lease: Lease): Promise<Lease>;
  /** Deletes the lease that has `subnet` (of either family). */
  releaseLease(subnet: string): Promise<void>;
  listLeases(): Promise<Lease[]>;
  /** First event is a snapshot; after a compaction or reconnect, another snapshot resets consumers. */
  watchLeases(onEvent: (e: LeaseEvent) => void, onError?: (err: Error) => void): LeaseWatch;
  close(): Promise<void>;
}

export class LeaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class NetworkFullError extends LeaseError {}
export class MalformedLeaseError extends LeaseError {}

/** flannel's key for a lease without IPv4 (its empty IPv4 net): an IPv6-only network's lease. */
const NO_IPV4_KEY = "0.0.0.0-0";

/**
 * A lease's key, as flannel's MakeSubnetKey writes it: "10.244.1.0-24", for a dual-stack lease
 * "10.244.1.0-24&fd00:10:244:1::-64", for an IPv6-only one "0.0.0.0-0&fd00:10:244:1::-64".
 */
export const subnetKey = (ipv4Subnet: string | undefined, ipv6Subnet?: string): string => `${ipv4Subnet ? ipv4Subnet.replace("/", "-") : NO_IPV4_KEY}${ipv6Subnet ? `&${ipv6Subnet.replace(/\/(\d+)$/, "-$1")}` : ""}`;

export const leaseKey = (l: Pick<Lease, "ipv4" | "ipv6">): string => subnetKey(l.ipv4?.subnet, l.ipv6?.subnet);

const KEY = /^(\d+\.\d+\.\d+\.\d+)-(\d+)(?:&([0-9a-fA-F:]+)-(\d+))?$/;

/** A key's subnets: the IPv4 one (none in an IPv6-only key), and the IPv6 one (canonical). */
export function parseLeaseKey(key: string): { ipv4Subnet?: string; ipv6Subnet?: string } {
  const m = KEY.exec(key);
  if (!m) throw new MalformedLeaseError(`subnet key "${key}" is not like 10.244.1.0-24, 10.244.1.0-24&fd00:10:244:1::-64 or 0.0.0.0-0&fd00:10:244:1::-64`);
  const v4 = `${m[1]}-${m[2]}` === NO_IPV4_KEY ? {} : { ipv4Subnet: `${m[1]}/${m[2]}` };
  if (m[3] === undefined) {
    if (!v4.ipv4Subnet) throw new MalformedLeaseError(`subnet key "${key}" names no subnet`);
    return v4;
  }
  try {
    return { ...v4, ipv6Subnet: canonicalIpv6(`${m[3]}/${m[4]}`) };
  } catch {
    throw new MalformedLeaseError(`subnet key "${key}": "${m[3]}-${m[4]}" is not an IPv6 subnet`);
  }
}

/** The subnet a key names a lease by (leaseName's). */
export const parseSubnetKey = (key: string): string => {
  const { ipv4Subnet, ipv6Subnet } = parseLeaseKey(key);
  return ipv4Subnet ?? ipv6Subnet ?? "";
};

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** flannel's PublicIP of a lease without IPv4: its zero IPv4 address (the field has no omitempty). */
const NO_IPV4 = "0.0.0.0";

/**
 * flannel's value: {"PublicIP","PublicIPv6","BackendType":"vxlan","BackendData":{"VNI","VtepMAC"},
 * "BackendV6Data"}, each family's fields where the lease has that family, in flannel's order.
 */
export function encodeLeaseValue(attrs: LeaseAttrs): string {
  const backend = (p: { vtepMac: string } | undefined) => p && { VNI: attrs.vni, VtepMAC: p.vtepMac };
  return JSON.stringify({ PublicIP: attrs.ipv4?.publicIp ?? NO_IPV4, PublicIPv6: attrs.ipv6?.publicIp, BackendType: "vxlan", BackendData: backend(attrs.ipv4), BackendV6Data: backend(attrs.ipv6) });
}

/** The attributes a lease was written from. */
export const leaseAttrs = (l: Lease): LeaseAttrs => ({ vni: l.vni, ...(l.ipv4 ? { ipv4: { publicIp: l.ipv4.publicIp, vtepMac: l.ipv4.vtepMac } } : {}), ...(l.ipv6 ? { ipv6: { publicIp: l.ipv6.publicIp, vtepMac: l.ipv6.vtepMac } } : {}) });

interface LeaseJson {
  PublicIP?: unknown;
  PublicIPv6?: unknown;
  BackendType?: unknown;
  BackendData?: { VNI?: unknown; VtepMAC?: unknown };
  BackendV6Data?: { VNI?: unknown; VtepMAC?: unknown };
}

function vtepOf(key: string, field: "BackendData" | "BackendV6Data", data: LeaseJson["BackendData"]): { vni: number; mac: string } {
  const mac = typeof data?.VtepMAC === "string" ? data.VtepMAC.toLowerCase() : "";
  if (!MAC.test(mac)) throw new MalformedLeaseError(`lease ${key}: ${field}.VtepMAC ${JSON.stringify(data?.VtepMAC)} is not a MAC address`);
  const vni = data?.VNI;
  if (typeof vni !== "number" || !Number.isInteger(vni)) throw new MalformedLeaseError(`lease ${key}: ${field}.VNI ${JSON.stringify(vni)} is not an integer`);
  return { vni, mac };
}

export function decodeLease(key: string, value: string, expiresAt: Date): Lease {
  const { ipv4Subnet, ipv6Subnet } = parseLeaseKey(key);
  if (value.length > 4096) throw new MalformedLeaseError(`lease ${key}: value of ${value.length} bytes is too large`);
  let v: LeaseJson;
  try {
    v = JSON.parse(value);
  } catch {
    throw new MalformedLeaseError(`lease ${key}: value is not JSON`);
  }
  if (typeof v?.PublicIP !== "string" || !IPV4.test(v.PublicIP)) throw new MalformedLeaseError(`lease ${key}: PublicIP ${JSON.stringify(v?.PublicIP)} is not an IPv4 address`);
  if (v.BackendType !== "vxlan") throw new MalformedLeaseError(`lease ${key}: BackendType ${JSON.stringify(v.BackendType)} is not "vxlan"`);
  const lease: Lease = { backendType: "vxlan", vni: 0, expiresAt };
  if (ipv4Subnet) {
    const { vni, mac } = vtepOf(key, "BackendData", v.BackendData);
    lease.ipv4 = { subnet: ipv4Subnet, publicIp: v.PublicIP, vtepMac: mac };
    lease.vni = vni;
  }
  if (ipv6Subnet) {
    let publicIpv6: string;
    try {
      publicIpv6 = canonicalIpv6(typeof v.PublicIPv6 === "string" ? v.PublicIPv6 : "");
    } catch {
      throw new MalformedLeaseError(`lease ${key}: PublicIPv6 ${JSON.stringify(v.PublicIPv6)} is not an IPv6 address`);
    }
    const { vni, mac } = vtepOf(key, "BackendV6Data", v.BackendV6Data);
    lease.ipv6 = { subnet: ipv6Subnet, publicIp: publicIpv6, vtepMac: mac };
    if (!ipv4Subnet) lease.vni = vni;
  }
  return lease;
}

/**
 * A random free subnet of the range. Random probes find one at once while the network has room; only
 * a nearly full network is scanned (a /8 of /24s has 65,535 candidates: listing them all per claim is
 * slow). An IPv6 range may hold more subnets than can be counted exactly: its probes stay within the
 * first 2^47, where a scan would never end anyway.
 */
export function pickFreeSubnet(range: SubnetRange, taken: ReadonlySet<string>): string {
  const count = leasableCount(range);
  const probeRange = Math.min(count, 2 ** 47);
  for (let probe = 0; probe < 32; probe++) {
    const candidate = leasableSubnetAt(range, randomInt(probeRange));
    if (!taken.has(candidate)) return candidate;
  }
  const free: string[] = [];
  for (let i = 0; i < Math.min(count, 1 << 20); i++) {
    const candidate = leasableSubnetAt(range, i);
    if (!taken.has(candidate)) free.push(candidate);
  }
  if (free.length === 0) throw new NetworkFullError(`network ${range.network} is full: all ${count} /${range.subnetLen} subnets are leased; release stale leases (ipamctl leases, ipamctl release) or widen the network`);
  return free[randomInt(free.length)] as string;
}

/**
 * The part of `family` of the lease a node claims: the subnet it holds (`held`, if still one of the
 * range's), else its previous subnet if free, else a free one; with this node's address and VTEP MAC.
 * Undefined where the network lacks the family.
 */
export function partFor(cfg: NetworkConfig, family: Family, attrs: LeaseAttrs, taken: ReadonlySet<string>, held?: string, previous?: string): LeasePart | undefined {
  const range = rangeOf(cfg, family);
  if (!range) return undefined;
  const mine = leasePart(attrs, family);
  if (!mine) throw new LeaseError(`the network has IPv${family} (${family === 6 ? "EnableIPv6" : "Network"}, ${range.network}) but this node has no IPv${family} underlay address: give it one, or ${family === 6 ? "--public-ipv6" : "--public-ip"}`);
  let subnet: string;
  if (held && subnetInNetwork(range, held)) subnet = held;
  else if (previous && subnetInNetwork(range, previous) && !taken.has(previous)) subnet = previous;
  else subnet = pickFreeSubnet(range, taken);
  return { subnet, ...mine };
}
