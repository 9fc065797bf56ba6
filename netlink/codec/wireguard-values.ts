// The values WireGuard's netlink attributes carry, converted from and to the text the device model
// uses: keys (32 raw bytes ↔ base64), endpoints (sockaddr_in/sockaddr_in6 ↔ "ip:port"/"[ip6]:port")
// and allowed IPs (family, address, mask ↔ CIDR).
import { decodeIp, encodeIp, ipFamily, parseCidr } from "./addresses.js";
import { AF_INET, AF_INET6 } from "./constants.js";
import { readU16BE, readU16LE, readU32LE, writeU16BE, writeU16LE, writeU32LE } from "./bytes.js";

export const WG_KEY_LEN = 32;
const SOCKADDR_IN_LEN = 16;
const SOCKADDR_IN6_LEN = 28;

/** A value of a device's configuration the kernel could not be given; names the device and the field. */
export class WireguardConfigError extends Error {
  constructor(
    readonly device: string,
    readonly field: string,
    readonly value: string,
    reason: string,
  ) {
    super(`wireguard device "${device}": invalid ${field} "${value}": ${reason}`);
    this.name = "WireguardConfigError";
  }
}

/** Where a value sits, so that errors can name it: the device, and the field within it. */
export interface ValueContext {
  device: string;
  field: string;
}

const BASE64 = /^[A-Za-z0-9+/]{43}=$/;

export function decodeKey(key: string, at: ValueContext): Buffer {
  // Buffer.from ignores bad characters silently; a key that is not exactly 32 bytes of base64 is refused first.
  if (!BASE64.test(key)) throw new WireguardConfigError(at.device, at.field, key, "want 32 bytes in base64 (44 characters, as `wg genkey` prints)");
  return Buffer.from(key, "base64");
}

export const encodeKey = (raw: Buffer): string => raw.toString("base64");

/** The kernel reports "no key" as 32 zero bytes. */
export const isZeroKey = (raw: Buffer): boolean => raw.every((b) => b === 0);

/** "192.0.2.1:51820", "[2001:db8::1]:51821" or "[fe80::1%2]:51820" (numeric scope id) → sockaddr bytes. */
export function encodeEndpoint(endpoint: string, at: ValueContext): Buffer {
  const bad = (reason: string): WireguardConfigError => new WireguardConfigError(at.device, at.field, endpoint, reason);
  const m = /^\[([0-9a-fA-F:.]+)(?:%(\d+))?\]:(\d+)$/.exec(endpoint) ?? /^(\d+\.\d+\.\d+\.\d+)():(\d+)$/.exec(endpoint);
  if (!m) throw bad('want "ip:port" or "[ipv6]:port"');
  const [, host = "", scope, portText = ""] = m;
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad("port out of 1-65535");
  let addr: Buffer;
  try {
    addr = encodeIp(host);
  } catch {
    throw bad("not an IP address");
  }
  if (addr.length === 4) {
    const sa = Buffer.alloc(SOCKADDR_IN_LEN);
    writeU16LE(sa, AF_INET, 0); // sa_family is in host order, the port in network order
    writeU16BE(sa, port, 2);
    addr.copy(sa, 4);
    return sa;
  }
  const sa = Buffer.alloc(SOCKADDR_IN6_LEN);
  writeU16LE(sa, AF_INET6, 0);
  writeU16BE(sa, port, 2);
  addr.copy(sa, 8); // after sin6_flowinfo
  writeU32LE(sa, Number(scope || 0), 24);
  return sa;
}

/** sockaddr_in / sockaddr_in6 → endpoint text; undefined for a family WireGuard does not use. */
export function decodeEndpoint(sa: Buffer): string | undefined {
  if (sa.length < 2) return undefined;
  const family = readU16LE(sa, 0);
  if (family === AF_INET && sa.length >= SOCKADDR_IN_LEN) return `${decodeIp(sa.subarray(4, 8))}:${readU16BE(sa, 2)}`;
  if (family === AF_INET6 && sa.length >= SOCKADDR_IN6_LEN) {
    const scope = readU32LE(sa, 24);
    return `[${decodeIp(sa.subarray(8, 24))}${scope ? `%${scope}` : ""}]:${readU16BE(sa, 2)}`;
  }
  return undefined;
}

export interface AllowedIp {
  family: number;
  addr: Buffer;
  prefixLen: number;
}

export function encodeAllowedIp(cidr: string, at: ValueContext): AllowedIp {
  try {
    // parseCidr reads a bare address as a host route; an allowed IP must say its prefix length.
    if (!cidr.includes("/")) throw new Error("no prefix length");
    const { ip, prefixLen } = parseCidr(cidr);
    return { family: ipFamily(ip) === 4 ? AF_INET : AF_INET6, addr: encodeIp(ip), prefixLen };
  } catch {
    throw new WireguardConfigError(at.device, at.field, cidr, 'want a CIDR such as "10.244.1.0/24" or "fd00::/64"');
  }
}

export const decodeAllowedIp = (a: AllowedIp): string => `${decodeIp(a.addr)}/${a.prefixLen}`;
