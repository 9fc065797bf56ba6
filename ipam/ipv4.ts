// Small IPv4 arithmetic for the CNI plugin's hot path (subnet.env, pod IP store). ip-num serves the
// config and lease code; here a few integer operations avoid its load time on every pod start.

export class Ipv4FormatError extends Error {
  constructor(what: string, value: string) {
    super(`invalid ${what} "${value}"`);
    this.name = "Ipv4FormatError";
  }
}

export function ipv4ToInt(ip: string): number {
  const parts = ip.split(".");
  if (parts.length !== 4) throw new Ipv4FormatError("IPv4 address", ip);
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new Ipv4FormatError("IPv4 address", ip);
    n = n * 256 + Number(p);
  }
  return n;
}

export function intToIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export interface Ipv4Cidr {
  /** The address as written (for "10.244.1.1/24": 10.244.1.1). */
  ip: number;
  prefixLen: number;
  /** First and last address of the network. */
  network: number;
  broadcast: number;
}

export function parseIpv4Cidr(cidr: string): Ipv4Cidr {
  const [ipText, lenText, extra] = cidr.split("/");
  if (ipText === undefined || lenText === undefined || extra !== undefined || !/^\d{1,2}$/.test(lenText)) throw new Ipv4FormatError("IPv4 CIDR", cidr);
  const prefixLen = Number(lenText);
  if (prefixLen > 32) throw new Ipv4FormatError("IPv4 CIDR", cidr);
  const ip = ipv4ToInt(ipText);
  const size = 2 ** (32 - prefixLen);
  const network = ip - (ip % size);
  return { ip, prefixLen, network, broadcast: network + size - 1 };
}

export const formatCidr = (network: number, prefixLen: number): string => `${intToIpv4(network)}/${prefixLen}`;

export function cidrContains(outer: Ipv4Cidr, ip: number): boolean {
  return ip >= outer.network && ip <= outer.broadcast;
}
