// Subnet leases: one per node, flannel's key and value format. The daemon talks to this interface;
// etcd is one implementation (etcd-subnet-manager.ts).
import type { NetworkConfig } from "./network-config.js";

export interface Lease {
  /** "10.244.1.0/24" */
  subnet: string;
  publicIp: string;
  backendType: "vxlan";
  vni: number;
  vtepMac: string;
  expiresAt: Date;
}

export interface LeaseAttrs {
  publicIp: string;
  vtepMac: string;
  vni: number;
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

/** "10.244.1.0/24" ↔ "10.244.1.0-24", the key flannel uses. */
export const subnetKey = (cidr: string): string => cidr.replace("/", "-");

export function parseSubnetKey(key: string): string {
  const m = /^(\d+\.\d+\.\d+\.\d+)-(\d+)$/.exec(key);
  if (!m) throw new MalformedLeaseError(`subnet key "${key}" is not like 10.244.1.0-24`);
  return `${m[1]}/${m[2]}`;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** flannel's value: {"PublicIP","BackendType":"vxlan","BackendData":{"VNI","VtepMAC"}}. */
export function encodeLeaseValue(attrs: LeaseAttrs): string {
  return JSON.stringify({ PublicIP: attrs.publicIp, BackendType: "vxlan", BackendData: { VNI: attrs.vni, VtepMAC: attrs.vtepMac } });
}

export function decodeLease(key: string, value: string, expiresAt: Date): Lease {
  const subnet = parseSubnetKey(key);
  if (value.length > 4096) throw new MalformedLeaseError(`lease ${key}: value of ${value.length} bytes is too large`);
  let v: { PublicIP?: unknown; BackendType?: unknown; BackendData?: { VNI?: unknown; VtepMAC?: unknown } };
  try {
    v = JSON.parse(value);
  } catch {
    throw new MalformedLeaseError(`lease ${key}: value is not JSON`);
  }
  if (typeof v?.PublicIP !== "string" || !IPV4.test(v.PublicIP)) throw new MalformedLeaseError(`lease ${key}: PublicIP ${JSON.stringify(v?.PublicIP)} is not an IPv4 address`);
  if (v.BackendType !== "vxlan") throw new MalformedLeaseError(`lease ${key}: BackendType ${JSON.stringify(v.BackendType)} is not "vxlan"`);
  const mac = typeof v.BackendData?.VtepMAC === "string" ? v.BackendData.VtepMAC.toLowerCase() : "";
  if (!MAC.test(mac)) throw new MalformedLeaseError(`lease ${key}: BackendData.VtepMAC ${JSON.stringify(v.BackendData?.VtepMAC)} is not a MAC address`);
  const vni = v.BackendData?.VNI;
  if (typeof vni !== "number" || !Number.isInteger(vni)) throw new MalformedLeaseError(`lease ${key}: BackendData.VNI ${JSON.stringify(vni)} is not an integer`);
  return { subnet, publicIp: v.PublicIP, backendType: "vxlan", vni, vtepMac: mac, expiresAt };
}
