// RTM_*ADDR messages: struct ifaddrmsg {family u8, prefixlen u8, flags u8, scope u8, index u32}
// with IFA_LOCAL/IFA_ADDRESS (equal on non point-to-point links) and IFA_BROADCAST.
import type { Address, Family } from "../types.js";
import { afOf, decodeIp, encodeIp, familyOfAf, parseCidr } from "./addresses.js";
import { ByteWriter, parseAttributes } from "./attributes.js";
import { AF_INET, AF_UNSPEC, IFA, NLM_F, RT_SCOPE, RTM } from "./constants.js";
import { requireLength } from "./message.js";
import { changeFlags, type Request } from "./request.js";
import { scopeName } from "./route.js";
import { readU32BE, readU32LE, readU8, writeU32BE } from "./bytes.js";

const IFADDRMSG_LEN = 8;
const IFA_F_NODAD = 0x02;

function ipv4Broadcast(ip: string, prefixLen: number): Buffer | undefined {
  if (prefixLen >= 31) return undefined;
  const b = encodeIp(ip);
  const hostBits = 32 - prefixLen;
  const n = (readU32BE(b, 0) | (hostBits === 32 ? 0xffffffff : (1 << hostBits) - 1)) >>> 0;
  const out = Buffer.alloc(4);
  writeU32BE(out, n);
  return out;
}

export function buildAddr(type: "new" | "replace" | "del", index: number, cidr: string): Request {
  const { ip, prefixLen, family } = parseCidr(cidr);
  const w = new ByteWriter();
  w.u8(afOf(family));
  w.u8(prefixLen);
  // IPv6: no duplicate address detection. weft hands out each address once; DAD would hold the address
  // "tentative" (unusable) for a second or more after every pod start.
  w.u8(family === 6 && type !== "del" ? IFA_F_NODAD : 0);
  w.u8(RT_SCOPE.universe);
  w.u32(index);
  const raw = encodeIp(ip);
  w.attr(IFA.LOCAL, raw);
  w.attr(IFA.ADDRESS, raw);
  if (family === 4 && type !== "del") {
    const brd = ipv4Broadcast(ip, prefixLen);
    if (brd) w.attr(IFA.BROADCAST, brd);
  }
  const flags = changeFlags(type);
  return { type: type === "del" ? RTM.DELADDR : RTM.NEWADDR, flags, body: w.toBuffer() };
}

export function buildDumpAddrs(family?: Family): Request {
  const w = new ByteWriter();
  w.u8(family ? afOf(family) : AF_UNSPEC);
  w.zeros(IFADDRMSG_LEN - 1);
  return { type: RTM.GETADDR, flags: NLM_F.REQUEST | NLM_F.DUMP, body: w.toBuffer() };
}

export function parseAddr(payload: Buffer): Address {
  requireLength(payload, IFADDRMSG_LEN, "ifaddrmsg");
  const family = familyOfAf(readU8(payload, 0));
  const attrs = parseAttributes(payload, IFADDRMSG_LEN);
  const raw = attrs.get(IFA.LOCAL) ?? attrs.get(IFA.ADDRESS);
  return {
    ifindex: readU32LE(payload, 4),
    family,
    address: raw ? decodeIp(raw) : family === 4 ? "0.0.0.0" : "::",
    prefixLen: readU8(payload, 1),
    scope: scopeName(readU8(payload, 3)),
  };
}

export const isIpv4Af = (af: number): boolean => af === AF_INET;
