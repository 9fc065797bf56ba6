// Addresses and CIDRs of either family as (family, bigint), for ipBlock and networks matching and for
// writing them canonically into nft (host bits cleared, IPv6 compressed).
import { isIPv4, isIPv6 } from "node:net";
import { ipv4ToInt, intToIpv4 } from "../../ipam/ipv4.js";
import { bigIntToIpv6, ipv6ToBigInt } from "../../ipam/ipv6.js";

export type Family = 4 | 6;

export class CidrFormatError extends Error {
  readonly code = "EBADCIDR";
  constructor(readonly text: string) {
    super(`${text}: not an IPv4 or IPv6 address or CIDR`);
  }
}

export interface Cidr {
  family: Family;
  network: bigint;
  prefix: number;
}

export function familyOf(ip: string): Family {
  if (isIPv4(ip)) return 4;
  if (isIPv6(ip)) return 6;
  throw new CidrFormatError(ip);
}

function toBigInt(ip: string, family: Family): bigint {
  return family === 4 ? BigInt(ipv4ToInt(ip)) : ipv6ToBigInt(ip);
}

const bits = (family: Family): number => (family === 4 ? 32 : 128);

function mask(family: Family, prefix: number): bigint {
  const width = bits(family);
  return ((1n << BigInt(width)) - 1n) ^ ((1n << BigInt(width - prefix)) - 1n);
}

/** "10.0.0.0/8", "fd00::/8", or a bare address (a host route). */
export function parseCidr(text: string): Cidr {
  const [addr = "", len] = text.split("/");
  const family = familyOf(addr);
  const prefix = len === undefined ? bits(family) : Number(len);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits(family) || (len !== undefined && !/^\d+$/.test(len))) throw new CidrFormatError(text);
  return { family, network: toBigInt(addr, family) & mask(family, prefix), prefix };
}

export function cidrContains(c: Cidr, ip: string): boolean {
  const family = familyOf(ip);
  return family === c.family && (toBigInt(ip, family) & mask(family, c.prefix)) === c.network;
}

/** As nft prints it: the network address, and the length unless it is a single host. */
export function cidrText(c: Cidr): string {
  const addr = c.family === 4 ? intToIpv4(Number(c.network)) : bigIntToIpv6(c.network);
  return c.prefix === bits(c.family) ? addr : `${addr}/${c.prefix}`;
}

export function canonicalIp(ip: string): string {
  return cidrText(parseCidr(ip));
}
