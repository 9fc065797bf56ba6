// RTM_*NEIGH messages: struct ndmsg {family u8, pad u8, pad u16, ifindex i32, state u16, flags u8, type u8}
// with NDA_DST (IP, or the remote VTEP of a VXLAN FDB entry) and NDA_LLADDR (MAC).
import type { NeighFilter, Neighbour } from "../types.js";
import { afOf, decodeIp, decodeMac, encodeIp, encodeMac, familyOfAf, ipFamily } from "./addresses.js";
import { ByteWriter, parseAttributes } from "./attributes.js";
import { AF_BRIDGE, AF_UNSPEC, NDA, NLM_F, NUD_PERMANENT, RTM } from "./constants.js";
import { requireLength } from "./message.js";
import { changeFlags, type Request } from "./request.js";
import { readI32LE, readU16LE, readU8 } from "./bytes.js";

const NDMSG_LEN = 12;

function familyAf(n: Pick<Neighbour, "family">): number {
  return n.family === "bridge" ? AF_BRIDGE : afOf(n.family);
}

export function buildNeigh(type: "new" | "replace" | "del", n: Neighbour): Request {
  const w = new ByteWriter();
  w.u8(familyAf(n));
  w.u8(0);
  w.u16(0);
  w.i32(n.ifindex);
  w.u16(n.state ?? NUD_PERMANENT);
  w.u8(n.flags ?? 0);
  w.u8(0);
  if (n.dst) w.attr(NDA.DST, encodeIp(n.dst));
  if (n.lladdr) w.attr(NDA.LLADDR, encodeMac(n.lladdr));
  const flags = changeFlags(type);
  return { type: type === "del" ? RTM.DELNEIGH : RTM.NEWNEIGH, flags, body: w.toBuffer() };
}

export function buildDumpNeighs(filter: NeighFilter = {}): Request {
  const w = new ByteWriter();
  w.u8(filter.family === undefined ? AF_UNSPEC : familyAf({ family: filter.family }));
  w.zeros(NDMSG_LEN - 1);
  return { type: RTM.GETNEIGH, flags: NLM_F.REQUEST | NLM_F.DUMP, body: w.toBuffer() };
}

export function parseNeigh(payload: Buffer): Neighbour {
  requireLength(payload, NDMSG_LEN, "ndmsg");
  const af = readU8(payload, 0);
  const attrs = parseAttributes(payload, NDMSG_LEN);
  const n: Neighbour = {
    family: af === AF_BRIDGE ? "bridge" : familyOfAf(af),
    ifindex: readI32LE(payload, 4),
    state: readU16LE(payload, 8),
    flags: readU8(payload, 10),
  };
  const dst = attrs.get(NDA.DST);
  if (dst) n.dst = decodeIp(dst);
  const ll = attrs.get(NDA.LLADDR);
  if (ll && ll.length === 6) n.lladdr = decodeMac(ll);
  return n;
}

export const neighFamilyOf = (ip: string): 4 | 6 => ipFamily(ip);
