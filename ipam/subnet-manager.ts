// Subnet leases: one per node, a part per IP family of the network, in flannel's key and value format.
// The daemon talks to this interface; etcd is one implementation (etcd-subnet-manager.ts).
import { randomInt } from "node:crypto";
import { canonicalIpv6 } from "./ipv6.js";
import { leasableCount, leasableSubnetAt, rangeOf, subnetInNetwork, type NetworkConfig, type SubnetRange } from "./network-config.js";

/** How the node's backend reaches it, as flannel's lease types name them (BackendType). */
export type BackendType = "vxlan" | "wireguard" | "host-gw";

/** A WireGuard lease part's BackendData: the node's public key and listen port (absent in older flannel). */
export interface WireguardLeaseData {
  publicKey: string;
  port?: number;
}

/** What a node publishes of one family for the other nodes: its underlay address and its backend's data. */
export interface LeasePartAttrs {
  publicIp: string;
  /** vxlan: the VTEP's MAC. */
  vtepMac?: string;
  /** wireguard: the node's key and port. host-gw publishes nothing more than the address. */
  wireguard?: WireguardLeaseData;
}

/** One family's part of a lease: the node's subnet of that family, its underlay address, its backend's data. */
export interface LeasePart extends LeasePartAttrs {
  /** "10.244.1.0/24" or "fd00:10:244:1::/64", in canonical text. */
  subnet: string;
}

export type Family = 4 | 6;

/** A node's lease: a part per family of the network (IPv4, IPv6, or both on a dual-stack network). */
export interface Lease {
  ipv4?: LeasePart;
  ipv6?: LeasePart;
  backendType: BackendType;
  /** vxlan's VNI; 0 for the other backends. */
  vni: number;
  expiresAt: Date;
}

export interface LeaseAttrs {
  /** Absent: vxlan. */
  backendType?: BackendType;
  vni: number;
  /** This node's underlay address and backend data of each family the network has (its subnets are picked per family). */
  ipv4?: LeasePartAttrs;
  ipv6?: LeasePartAttrs;
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
