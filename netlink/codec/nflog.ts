// nfnetlink_log (NFLOG) over NETLINK_NETFILTER, subsystem NFNL_SUBSYS_ULOG: the config message that
// binds a socket to one log group with a copy mode and range, and the packet messages the kernel then
// sends for each packet an nft `log group N` rule logged. nfnetlink's numbers are big-endian.
import { attrString, ByteWriter, parseAttributes } from "./attributes.js";
import { NLM_F } from "./constants.js";
import type { NetlinkMessage } from "./message.js";
import type { Request } from "./request.js";
import { readU16BE, readU32BE, readU8, writeU32BE, writeU8 } from "./bytes.js";

const NFNL_SUBSYS_ULOG = 4;
const NFULNL_MSG_PACKET = 0;
const NFULNL_MSG_CONFIG = 1;
export const NFLOG_PACKET_TYPE = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
export const NFLOG_CONFIG_TYPE = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;

const NFULA_CFG = { CMD: 1, MODE: 2, NLBUFSIZ: 3, TIMEOUT: 4, QTHRESH: 5 } as const;
const NFULNL_CFG_CMD = { BIND: 1, UNBIND: 2 } as const;
export const NFULNL_COPY_PACKET = 2;

export const NFULA = {
  PACKET_HDR: 1,
  MARK: 2,
  TIMESTAMP: 3,
  IFINDEX_INDEV: 4,
  IFINDEX_OUTDEV: 5,
  IFINDEX_PHYSINDEV: 6,
  IFINDEX_PHYSOUTDEV: 7,
  PAYLOAD: 9,
  PREFIX: 10,
} as const;

/** Copy mode, range and batching of one group's instance, as the bind request sets them. */
export interface NflogBindOptions {
  group: number;
  /** Bytes of each packet copied, from its network header on: enough for IP and transport headers. */
  copyRange: number;
  /** The kernel flushes its batch after this long (1/100 s units are rounded up). */
  flushMs: number;
  /** ... or after this many packets, whichever comes first. */
  queueThreshold: number;
}

export class NflogGroupError extends Error {
  readonly code = "ENFLOGGROUP";
  constructor(readonly group: number) {
    super(`NFLOG group ${group} is not a number from 0 to 65535`);
  }
}

/** struct nfgenmsg: family, NFNETLINK_V0, res_id (the group) big-endian. */
function nfgenmsg(w: ByteWriter, family: number, resId: number): void {
  w.u8(family);
  w.u8(0);
  w.u8((resId >> 8) & 0xff);
  w.u8(resId & 0xff);
}

const be32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  writeU32BE(b, v >>> 0);
  return b;
};

function checkGroup(group: number): void {
  if (!Number.isInteger(group) || group < 0 || group > 0xffff) throw new NflogGroupError(group);
}

/**
 * Binds the group to the sending socket and sets its mode, in one message: the kernel runs the bind
 * command first, then applies the mode to the instance it just made. Never PF_BIND, which would make
 * nfnetlink_log the namespace's default logger for every `log` rule without a group.
 */
export function buildNflogBind(o: NflogBindOptions): Request {
  checkGroup(o.group);
  const w = new ByteWriter();
  nfgenmsg(w, 0, o.group);
  w.attr(NFULA_CFG.CMD, Uint8Array.of(NFULNL_CFG_CMD.BIND));
  const mode = Buffer.alloc(6); // struct nfulnl_msg_config_mode { __be32 copy_range; u8 copy_mode; u8 pad } packed
  writeU32BE(mode, o.copyRange, 0);
  writeU8(mode, NFULNL_COPY_PACKET, 4);
  w.attr(NFULA_CFG.MODE, mode);
  w.attr(NFULA_CFG.TIMEOUT, be32(Math.max(1, Math.ceil(o.flushMs / 10))));
  w.attr(NFULA_CFG.QTHRESH, be32(o.queueThreshold));
  return { type: NFLOG_CONFIG_TYPE, flags: NLM_F.REQUEST | NLM_F.ACK, body: w.toBuffer() };
}

/** Releases the group (closing the socket does too: the kernel drops a closed port's instances). */
export function buildNflogUnbind(group: number): Request {
  checkGroup(group);
  const w = new ByteWriter();
  nfgenmsg(w, 0, group);
  w.attr(NFULA_CFG.CMD, Uint8Array.of(NFULNL_CFG_CMD.UNBIND));
  return { type: NFLOG_CONFIG_TYPE, flags: NLM_F.REQUEST | NLM_F.ACK, body: w.toBuffer() };
}

/** One logged packet. */
export interface NflogPacket {
  /** The group it was logged to. */
  group: number;
  /** The packet's family as netfilter saw it (NFPROTO_IPV4 2, NFPROTO_IPV6 10). */
  family: number;
  /** The rule's `prefix`, "" when it had none. */
  prefix: string;
  /** The packet from its network header on, cut at the copy range. */
  payload: Buffer;
  /** Netfilter hook number (NF_INET_FORWARD 2, NF_INET_LOCAL_IN 1, ...). */
  hook?: number;
  inIfindex?: number;
  outIfindex?: number;
  /** The bridge ports under the in/out device, for a bridged packet (br_netfilter). */
  physInIfindex?: number;
  physOutIfindex?: number;
}

const be32Of = (b: Buffer | undefined): number | undefined => (b && b.length >= 4 ? readU32BE(b, 0) : undefined);

/** A packet message as a packet; undefined for anything else (a batch's NLMSG_DONE, a config reply). */
export function parseNflogPacket(msg: NetlinkMessage): NflogPacket | undefined {
  if (msg.type !== NFLOG_PACKET_TYPE || msg.payload.length < 4) return undefined;
  const attrs = parseAttributes(msg.payload, 4);
  const prefix = attrs.get(NFULA.PREFIX);
  const hdr = attrs.get(NFULA.PACKET_HDR);
  const packet: NflogPacket = {
    group: readU16BE(msg.payload, 2),
    family: readU8(msg.payload, 0),
    prefix: attrString(prefix) ?? "",
    payload: Buffer.from(attrs.get(NFULA.PAYLOAD) ?? Buffer.alloc(0)),
  };
  if (hdr && hdr.length >= 3) packet.hook = readU8(hdr, 2);
  const ifindexes = [
    ["inIfindex", NFULA.IFINDEX_INDEV],
    ["outIfindex", NFULA.IFINDEX_OUTDEV],
    ["physInIfindex", NFULA.IFINDEX_PHYSINDEV],
    ["physOutIfindex", NFULA.IFINDEX_PHYSOUTDEV],
  ] as const;
  for (const [field, type] of ifindexes) {
    const v = be32Of(attrs.get(type));
    if (v !== undefined) packet[field] = v;
  }
  return packet;
}
