// IPv6 arithmetic for the network config, leases and subnet.env: addresses as bigints, written back in
// RFC 5952's canonical text (lowercase, no leading zeros, the longest run of zero groups as "::"), so
// that one address always has one spelling in etcd keys and files.

export class Ipv6FormatError extends Error {
  constructor(what: string, value: string) {
    super(`invalid ${what} "${value}"`);
    this.name = "Ipv6FormatError";
  }
}

const GROUP = /^[0-9a-fA-F]{1,4}$/;

function groupsOf(text: string): string[] | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const split = (s: string): string[] => (s === "" ? [] : s.split(":"));
  const head = split(halves[0] ?? "");
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const tail = split(halves[1] ?? "");
  const missing = 8 - head.length - tail.length;
  return missing >= 1 ? [...head, ...Array<string>(missing).fill("0"), ...tail] : undefined;
}

export function ipv6ToBigInt(ip: string): bigint {
  const groups = groupsOf(ip);
  if (!groups || !groups.every((g) => GROUP.test(g))) throw new Ipv6FormatError("IPv6 address", ip);
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

export function bigIntToIpv6(n: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(112 - 16 * i)) & 0xffffn));
  // The longest run of two or more zero groups (the first of equal runs) becomes "::".
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(":");
  return `${hex.slice(0, best.at).join(":")}::${hex.slice(best.at + best.len).join(":")}`;
}

export interface Ipv6Cidr {
  /** The address as written. */
  ip: bigint;
  prefixLen: number;
  /** First and last address of the network. */
  network: bigint;
  last: bigint;
}

export function parseIpv6Cidr(cidr: string): Ipv6Cidr {
  const slash = cidr.lastIndexOf("/");
  const lenText = cidr.slice(slash + 1);
  if (slash < 0 || !/^\d{1,3}$/.test(lenText) || Number(lenText) > 128) throw new Ipv6FormatError("IPv6 CIDR", cidr);
  const prefixLen = Number(lenText);
  let ip: bigint;
  try {
    ip = ipv6ToBigInt(cidr.slice(0, slash));
  } catch {
    throw new Ipv6FormatError("IPv6 CIDR", cidr);
  }
  const size = 1n << BigInt(128 - prefixLen);
  const network = ip - (ip % size);
  return { ip, prefixLen, network, last: network + size - 1n };
}

export const formatIpv6Cidr = (network: bigint, prefixLen: number): string => `${bigIntToIpv6(network)}/${prefixLen}`;

/** The same address or CIDR in canonical text ("FD00:0:0::1/64" → "fd00::1/64"). */
export function canonicalIpv6(text: string): string {
  if (!text.includes("/")) return bigIntToIpv6(ipv6ToBigInt(text));
  const c = parseIpv6Cidr(text);
  return `${bigIntToIpv6(c.ip)}/${c.prefixLen}`;
}
