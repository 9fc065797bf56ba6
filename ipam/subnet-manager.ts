// Subnet leases: one per node, flannel's key and value format. The daemon talks to this interface;
// etcd is one implementation (etcd-subnet-manager.ts).
import { randomInt } from "node:crypto";
import { canonicalIpv6 } from "./ipv6.js";
import { leasableCount, leasableSubnetAt, subnetInNetwork, type NetworkConfig, type SubnetRange } from "./network-config.js";

/** A dual-stack lease's IPv6 part: its subnet, the node's IPv6 underlay address, its IPv6 VTEP's MAC. */
export interface Ipv6LeasePart {
  /** "fd00:10:244:1::/64", in canonical text. */
  subnet: string;
  publicIp: string;
  vtepMac: string;
}

export interface Lease {
  /** "10.244.1.0/24": the lease's IPv4 subnet, by which weft knows it. */
  subnet: string;
  publicIp: string;
  backendType: "vxlan";
  vni: number;
  vtepMac: string;
  /** Present on a dual-stack lease. */
  ipv6?: Ipv6LeasePart;
  expiresAt: Date;
}

export interface LeaseAttrs {
  publicIp: string;
  vtepMac: string;
  vni: number;
  /** The IPv6 underlay address and VTEP MAC, for a dual-stack lease (its subnet is picked with the IPv4 one). */
  ipv6?: { publicIp: string; vtepMac: string };
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
  acquireLease(attrs: LeaseAttrs, opts?: { previousSubnet?: string; previousPublicIp?: string }): Promise<Lease>;
  renewLease(lease: Lease): Promise<Lease>;
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

/**
 * A lease's key, as flannel writes it: "10.244.1.0-24", and for a dual-stack lease
 * "10.244.1.0-24&fd00:10:244:1::-64" (flannel's etcd registry always leases IPv4 too).
 */
export const subnetKey = (cidr: string, ipv6Subnet?: string): string => `${cidr.replace("/", "-")}${ipv6Subnet ? `&${ipv6Subnet.replace(/\/(\d+)$/, "-$1")}` : ""}`;

const KEY = /^(\d+\.\d+\.\d+\.\d+)-(\d+)(?:&([0-9a-fA-F:]+)-(\d+))?$/;

/** A key's subnets: the IPv4 one, and the IPv6 one of a dual-stack key (canonical). */
export function parseLeaseKey(key: string): { subnet: string; ipv6Subnet?: string } {
  const m = KEY.exec(key);
  if (!m) throw new MalformedLeaseError(`subnet key "${key}" is not like 10.244.1.0-24 or 10.244.1.0-24&fd00:10:244:1::-64`);
  if (m[3] === undefined) return { subnet: `${m[1]}/${m[2]}` };
  let ipv6Subnet: string;
  try {
    ipv6Subnet = canonicalIpv6(`${m[3]}/${m[4]}`);
  } catch {
    throw new MalformedLeaseError(`subnet key "${key}": "${m[3]}-${m[4]}" is not an IPv6 subnet`);
  }
  return { subnet: `${m[1]}/${m[2]}`, ipv6Subnet };
}

/** The IPv4 subnet a key names. */
export const parseSubnetKey = (key: string): string => parseLeaseKey(key).subnet;

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * flannel's value: {"PublicIP","BackendType":"vxlan","BackendData":{"VNI","VtepMAC"}}, and for a
 * dual-stack lease "PublicIPv6" and "BackendV6Data" (its IPv6 VTEP) beside them.
 */
export function encodeLeaseValue(attrs: LeaseAttrs): string {
  const v6 = attrs.ipv6 ? { PublicIPv6: attrs.ipv6.publicIp } : {};
  const v6Data = attrs.ipv6 ? { BackendV6Data: { VNI: attrs.vni, VtepMAC: attrs.ipv6.vtepMac } } : {};
  return JSON.stringify({ PublicIP: attrs.publicIp, ...v6, BackendType: "vxlan", BackendData: { VNI: attrs.vni, VtepMAC: attrs.vtepMac }, ...v6Data });
}

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
  const { subnet, ipv6Subnet } = parseLeaseKey(key);
  if (value.length > 4096) throw new MalformedLeaseError(`lease ${key}: value of ${value.length} bytes is too large`);
  let v: LeaseJson;
  try {
    v = JSON.parse(value);
  } catch {
    throw new MalformedLeaseError(`lease ${key}: value is not JSON`);
  }
  if (typeof v?.PublicIP !== "string" || !IPV4.test(v.PublicIP)) throw new MalformedLeaseError(`lease ${key}: PublicIP ${JSON.stringify(v?.PublicIP)} is not an IPv4 address`);
  if (v.BackendType !== "vxlan") throw new MalformedLeaseError(`lease ${key}: BackendType ${JSON.stringify(v.BackendType)} is not "vxlan"`);
  const { vni, mac } = vtepOf(key, "BackendData", v.BackendData);
  const lease: Lease = { subnet, publicIp: v.PublicIP, backendType: "vxlan", vni, vtepMac: mac, expiresAt };
  if (ipv6Subnet) {
    let publicIpv6: string;
    try {
      publicIpv6 = canonicalIpv6(typeof v.PublicIPv6 === "string" ? v.PublicIPv6 : "");
    } catch {
      throw new MalformedLeaseError(`lease ${key}: PublicIPv6 ${JSON.stringify(v.PublicIPv6)} is not an IPv6 address`);
    }
    lease.ipv6 = { subnet: ipv6Subnet, publicIp: publicIpv6, vtepMac: vtepOf(key, "BackendV6Data", v.BackendV6Data).mac };
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
 * The IPv6 part of the lease a node claims in a dual-stack network: the one it holds (`mine`), else
 * its previous subnet if still free, else a free one. Undefined where the network has no IPv6.
 */
export function ipv6PartFor(cfg: NetworkConfig, attrs: LeaseAttrs, taken: ReadonlySet<string>, mine?: Lease, previousSubnet?: string): Ipv6LeasePart | undefined {
  if (!cfg.ipv6) return undefined;
  if (!attrs.ipv6) throw new LeaseError(`the network has IPv6 (EnableIPv6, ${cfg.ipv6.network}) but this node has no IPv6 underlay address: give it one, or --public-ipv6`);
  const range = cfg.ipv6;
  const held = mine?.ipv6?.subnet;
  let subnet: string;
  if (held && subnetInNetwork(range, held)) subnet = held;
  else if (previousSubnet && subnetInNetwork(range, previousSubnet) && !taken.has(previousSubnet)) subnet = previousSubnet;
  else subnet = pickFreeSubnet(range, taken);
  return { subnet, publicIp: attrs.ipv6.publicIp, vtepMac: attrs.ipv6.vtepMac };
}
