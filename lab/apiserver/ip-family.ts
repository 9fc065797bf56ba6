// Addresses of either family as numbers, for the lab's allocators (ip-num's arithmetic), written back
// in the one spelling kubectl and the kernel print (RFC 5952's for IPv6).
import { isIPv4, isIPv6 } from "node:net";
import { collapseIPv6Number, IPv4, IPv6 } from "ip-num";
import { ipFamilyOf, type IpFamily } from "../../proxy/model.js";

export interface Family {
  name: IpFamily;
  bits: number;
  valid(ip: string): boolean;
  toNumber(ip: string): bigint;
  toText(n: bigint): string;
}

export const FAMILIES: Record<IpFamily, Family> = {
  IPv4: { name: "IPv4", bits: 32, valid: isIPv4, toNumber: (ip) => IPv4.fromString(ip).value, toText: (n) => IPv4.fromNumber(n).toString() },
  IPv6: { name: "IPv6", bits: 128, valid: isIPv6, toNumber: (ip) => IPv6.fromString(ip).value, toText: (n) => collapseIPv6Number(IPv6.fromBigInt(n).toString()) },
};

export const familyOfAddress = (ip: string): Family => FAMILIES[ipFamilyOf(ip)];

export interface CidrBounds {
  family: Family;
  /** The network's first and last address. */
  first: bigint;
  last: bigint;
  prefixLen: number;
}

export function cidrBounds(cidr: string): CidrBounds {
  const [addr = "", len = ""] = cidr.split("/");
  const family = familyOfAddress(addr);
  const prefixLen = Number(len);
  if (!family.valid(addr) || !/^\d+$/.test(len) || prefixLen > family.bits) throw new Error(`"${cidr}" is not a CIDR`);
  const size = 1n << BigInt(family.bits - prefixLen);
  const first = family.toNumber(addr) - (family.toNumber(addr) % size);
  return { family, first, last: first + size - 1n, prefixLen };
}

/** A comma-separated list of ranges, one per family (as --service-cluster-ip-range): family → range, in the list's order. */
export function cidrsByFamily(list: string): Map<IpFamily, string> {
  const out = new Map<IpFamily, string>();
  for (const cidr of list.split(",").map((c) => c.trim()).filter(Boolean)) {
    const { family } = cidrBounds(cidr);
    if (out.has(family.name)) throw new Error(`"${list}": at most one range per IP family`);
    out.set(family.name, cidr);
  }
  return out;
}
