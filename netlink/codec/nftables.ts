// nf_tables over NETLINK_NETFILTER, only as far as set elements, the ruleset generation and named
// counters go: the CNI plugin adds and removes one element per pod in a set that weftd created (with
// nft), in a transaction batch {BATCH_BEGIN, NEWSETELEM | DELSETELEM, BATCH_END}, and CHECK looks the
// set and an element up; weftd reads the generation and its filter's drop counters at every resync. A
// process start of `nft` would cost ~5 ms each time; this costs a socket and one datagram.
import { encodeIp } from "./addresses.js";
import { ByteWriter, parseAttributes } from "./attributes.js";
import { NLM_F } from "./constants.js";
import type { NetlinkMessage } from "./message.js";
import type { Request } from "./request.js";
import { readU32BE, writeU32BE } from "./bytes.js";

export const NETLINK_NETFILTER = 12;
export const NFPROTO = { INET: 1, IPV4: 2, BRIDGE: 7 } as const;
export type NftFamily = keyof typeof NFPROTO;

const NFNL_SUBSYS_NFTABLES = 10;
const NFNL_MSG_BATCH_BEGIN = 0x10;
const NFNL_MSG_BATCH_END = 0x11;
const NFT_MSG_GETSET = 10;
const NFT_MSG_NEWSETELEM = 12;
const NFT_MSG_GETSETELEM = 13;
const NFT_MSG_DELSETELEM = 14;
const NFT_MSG_NEWGEN = 15;
const NFT_MSG_GETGEN = 16;
const NFT_MSG_NEWOBJ = 18;
const NFT_MSG_GETOBJ = 19;
const NFTA_GEN_ID = 1;
const NFTA_SET_TABLE = 1;
const NFTA_SET_NAME = 2;
const NFTA_SET_ELEM_LIST_TABLE = 1;
const NFTA_SET_ELEM_LIST_SET = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS = 3;
const NFTA_LIST_ELEM = 1;
const NFTA_SET_ELEM_KEY = 1;
const NFTA_DATA_VALUE = 1;
const NFTA_OBJ_TABLE = 1;
const NFTA_OBJ_NAME = 2;
const NFTA_OBJ_TYPE = 3;
const NFTA_OBJ_DATA = 4;
const NFT_OBJECT_COUNTER = 1;
const NFTA_COUNTER_PACKETS = 2;
const IFNAMSIZ = 16;

/** struct nfgenmsg {family u8, version u8, res_id be16}. */
function nfgenmsg(w: ByteWriter, family: number, resId: number): void {
  w.u8(family);
  w.u8(0); // NFNETLINK_V0
  w.u8(resId >> 8);
  w.u8(resId & 0xff);
}

function batchMarker(type: number): Request {
  const w = new ByteWriter();
  nfgenmsg(w, 0, NFNL_SUBSYS_NFTABLES);
  return { type, flags: NLM_F.REQUEST, body: w.toBuffer() };
}

export interface SetRef {
  family: NftFamily;
  table: string;
  set: string;
}

export interface SetElementsChange extends SetRef {
  op: "add" | "delete";
  /** Each element's key, already laid out as the set's key type (see `concatKey`). */
  keys: Buffer[];
}

const nftType = (msg: number): number => (NFNL_SUBSYS_NFTABLES << 8) | msg;

function elementsBody(ref: SetRef, keys: Buffer[]): Buffer {
  const w = new ByteWriter();
  nfgenmsg(w, NFPROTO[ref.family], 0);
  w.attrString(NFTA_SET_ELEM_LIST_TABLE, ref.table);
  w.attrString(NFTA_SET_ELEM_LIST_SET, ref.set);
  w.nest(NFTA_SET_ELEM_LIST_ELEMENTS, () => {
    for (const key of keys) {
      w.nest(NFTA_LIST_ELEM, () => w.nest(NFTA_SET_ELEM_KEY, () => w.attr(NFTA_DATA_VALUE, key)));
    }
  });
  return w.toBuffer();
}

/** Keys per message: a set's change of thousands of elements is several messages of one batch. */
const KEYS_PER_MESSAGE = 256;

function changeMessages(change: SetElementsChange): Request[] {
  const type = nftType(change.op === "add" ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM);
  // Adding an element that is there already is not an error (no EXCL): ADD can be retried.
  const flags = NLM_F.REQUEST | NLM_F.ACK | (change.op === "add" ? NLM_F.CREATE : 0);
  const out: Request[] = [];
  for (let i = 0; i < change.keys.length; i += KEYS_PER_MESSAGE) out.push({ type, flags, body: elementsBody(change, change.keys.slice(i, i + KEYS_PER_MESSAGE)) });
  return out;
}

/** The batch for one change of a set's elements: begin, the change (with ACK), end. */
export function buildSetElementsBatch(change: SetElementsChange): Request[] {
  return buildSetElementsTransaction([change]);
}

/** One batch for changes of several sets: the kernel commits all of them, or none (one transaction). */
export function buildSetElementsTransaction(changes: SetElementsChange[]): Request[] {
  return [batchMarker(NFNL_MSG_BATCH_BEGIN), ...changes.filter((c) => c.keys.length > 0).flatMap(changeMessages), batchMarker(NFNL_MSG_BATCH_END)];
}

/** Looks a set up (the kernel answers with it, or ENOENT): outside a batch, reads are not transactions. */
export function buildGetSet(ref: SetRef): Request {
  const w = new ByteWriter();
  nfgenmsg(w, NFPROTO[ref.family], 0);
  w.attrString(NFTA_SET_TABLE, ref.table);
  w.attrString(NFTA_SET_NAME, ref.set);
  return { type: nftType(NFT_MSG_GETSET), flags: NLM_F.REQUEST | NLM_F.ACK, body: w.toBuffer() };
}

/** Looks one element up by its key (the kernel answers with it, or ENOENT). */
export function buildGetSetElement(ref: SetRef, key: Buffer): Request {
  return { type: nftType(NFT_MSG_GETSETELEM), flags: NLM_F.REQUEST | NLM_F.ACK, body: elementsBody(ref, [key]) };
}

/**
 * Asks for the ruleset's generation: a counter the kernel bumps at every committed nf_tables change in
 * the namespace (iptables-nft's rules included), and only then (packet counters do not move it).
 */
export function buildGetGen(): Request {
  const w = new ByteWriter();
  nfgenmsg(w, 0, 0);
  return { type: nftType(NFT_MSG_GETGEN), flags: NLM_F.REQUEST | NLM_F.ACK, body: w.toBuffer() };
}

/** The generation in the kernel's NEWGEN answer; undefined when the message is not one. */
export function parseGenId(msg: NetlinkMessage): number | undefined {
  if (msg.type !== nftType(NFT_MSG_NEWGEN) || msg.payload.length < 4) return undefined;
  const id = parseAttributes(msg.payload, 4).get(NFTA_GEN_ID);
  return id && id.length >= 4 ? readU32BE(id, 0) : undefined;
}

/** A named object of a table (`counter NAME { }` in nft's syntax). */
export interface ObjectRef {
  family: NftFamily;
  table: string;
  name: string;
}

/** Looks a named counter up (the kernel answers with it and its values, or ENOENT). */
export function buildGetCounter(ref: ObjectRef): Request {
  const w = new ByteWriter();
  nfgenmsg(w, NFPROTO[ref.family], 0);
  w.attrString(NFTA_OBJ_TABLE, ref.table);
  w.attrString(NFTA_OBJ_NAME, ref.name);
  const type = Buffer.alloc(4);
  writeU32BE(type, NFT_OBJECT_COUNTER); // nf_tables' numbers are big-endian
  w.attr(NFTA_OBJ_TYPE, type);
  return { type: nftType(NFT_MSG_GETOBJ), flags: NLM_F.REQUEST | NLM_F.ACK, body: w.toBuffer() };
}

/** The packets a counter counted, from the kernel's NEWOBJ answer; undefined when the message is not one. */
export function parseCounterPackets(msg: NetlinkMessage): number | undefined {
  if (msg.type !== nftType(NFT_MSG_NEWOBJ) || msg.payload.length < 4) return undefined;
  const attrs = parseAttributes(msg.payload, 4);
  const type = attrs.get(NFTA_OBJ_TYPE);
  const data = attrs.get(NFTA_OBJ_DATA);
  if (!type || type.length < 4 || readU32BE(type, 0) !== NFT_OBJECT_COUNTER || !data) return undefined;
  const packets = parseAttributes(data).get(NFTA_COUNTER_PACKETS);
  // A u64; a count past 2^53 frames would take centuries at line rate.
  return packets && packets.length >= 8 ? Number(packets.readBigUInt64BE(0)) : undefined;
}

/**
 * One field of a concatenated set key (`type ifname . ether_addr . ipv4_addr`, `type ipv4_addr .
 * inet_proto . inet_service`): an inet_proto is the protocol's number, an inet_service a port.
 */
export type KeyField = { ifname: string } | { etherAddr: string } | { ipv4: string } | { ipv6: string } | { inetProto: number } | { inetService: number };

export class KeyFieldError extends Error {
  constructor(message: string) {
    super(`nftables key: ${message}`);
    this.name = "KeyFieldError";
  }
}

function fieldBytes(f: KeyField): Buffer {
  if ("inetProto" in f) {
    if (!Number.isInteger(f.inetProto) || f.inetProto < 0 || f.inetProto > 255) throw new KeyFieldError(`protocol ${f.inetProto} must be 0–255`);
    return Buffer.from([f.inetProto]);
  }
  if ("inetService" in f) {
    if (!Number.isInteger(f.inetService) || f.inetService < 0 || f.inetService > 65535) throw new KeyFieldError(`port ${f.inetService} must be 0–65535`);
    return Buffer.from([f.inetService >> 8, f.inetService & 0xff]); // network order, as th dport loads it
  }
  if ("ifname" in f) {
    const name = Buffer.from(f.ifname, "utf8");
    if (name.length === 0 || name.length >= IFNAMSIZ) throw new KeyFieldError(`interface name "${f.ifname}" must be 1–15 bytes`);
    return Buffer.concat([name, Buffer.alloc(IFNAMSIZ - name.length)]);
  }
  if ("etherAddr" in f) {
    if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(f.etherAddr)) throw new KeyFieldError(`"${f.etherAddr}" is not a MAC address`);
    return Buffer.from(f.etherAddr.split(":").map((h) => parseInt(h, 16)));
  }
  if ("ipv6" in f) {
    if (!f.ipv6.includes(":")) throw new KeyFieldError(`"${f.ipv6}" is not an IPv6 address`);
    try {
      return encodeIp(f.ipv6);
    } catch {
      throw new KeyFieldError(`"${f.ipv6}" is not an IPv6 address`);
    }
  }
  const octets = f.ipv4.split(".").map((o) => (/^\d{1,3}$/.test(o) ? Number(o) : NaN));
  if (octets.length !== 4 || octets.some((o) => !(o >= 0 && o <= 255))) throw new KeyFieldError(`"${f.ipv4}" is not an IPv4 address`);
  return Buffer.from(octets);
}

/** A concatenated key as the kernel compares it: each field in network order, padded to 4 bytes. */
export function concatKey(fields: KeyField[]): Buffer {
  const w = new ByteWriter();
  for (const f of fields) {
    w.bytes(fieldBytes(f));
    w.pad();
  }
  return Buffer.from(w.toBuffer());
}
