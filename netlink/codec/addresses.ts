// Address encodings used in rtnetlink payloads: IPv4/IPv6 in network byte order, MACs as 6 bytes.
import type { Family, Mac } from "../types.js";
import { AF_INET, AF_INET6 } from "./constants.js";
import { readU16BE, writeU16BE } from "./bytes.js";

export class AddressFormatError extends Error {
  constructor(what: string, value: string) {
    super(`netlink: invalid ${what} "${value}"`);
    this.name = "AddressFormatError";
  }
}

export function ipFamily(ip: string): Family {
  return ip.includes(":") ? 6 : 4;
}

export const afOf = (family: Family): number => (family === 6 ? AF_INET6 : AF_INET);
export const familyOfAf = (af: number): Family => (af === AF_INET6 ? 6 : 4);

export function encodeIp(ip: string): Buffer {
  return ipFamily(ip) === 4 ? encodeIpv4(ip) : encodeIpv6(ip);
}

function encodeIpv4(ip: string): Buffer {
  const parts = ip.split(".");
  if (parts.length !== 4) throw new AddressFormatError("IPv4 address", ip);
  const out = Buffer.alloc(4);
  parts.forEach((p, i) => {
    const n = Number(p);
    if (!/^\d{1,3}$/.test(p) || n > 255) throw new AddressFormatError("IPv4 address", ip);
    out[i] = n;
  });
  return out;
}

function encodeIpv6(ip: string): Buffer {
  const out = Buffer.alloc(16);
  let text = ip;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const b = encodeIpv4(v4[1]);
    text = `${text.slice(0, -v4[1].length)}${readU16BE(b, 0).toString(16)}:${readU16BE(b, 2).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) throw new AddressFormatError("IPv6 address", ip);
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const groups = halves.length === 2 ? [...head, ...Array(8 - head.length - tail.length).fill("0"), ...tail] : head;
  if (groups.length !== 8) throw new AddressFormatError("IPv6 address", ip);
  groups.forEach((g, i) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw new AddressFormatError("IPv6 address", ip);
    writeU16BE(out, parseInt(g, 16), i * 2);
  });
  return out;
}

export function decodeIp(b: Buffer): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) throw new AddressFormatError("address length", String(b.length));
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(readU16BE(b, i));
  // Compress the longest run of zero groups (RFC 5952).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

export function parseCidr(cidr: string): { ip: string; prefixLen: number; family: Family } {
  const slash = cidr.indexOf("/");
  const ip = slash === -1 ? cidr : cidr.slice(0, slash);
  const family = ipFamily(ip);
  const max = family === 4 ? 32 : 128;
  const prefixLen = slash === -1 ? max : Number(cidr.slice(slash + 1));
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > max) throw new AddressFormatError("CIDR", cidr);
  encodeIp(ip); // validates
  return { ip, prefixLen, family };
}

export function encodeMac(mac: Mac): Buffer {
  const parts = mac.split(":");
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new AddressFormatError("MAC address", mac);
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

export function decodeMac(b: Buffer): Mac {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
}
