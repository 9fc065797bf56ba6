// Netlink attributes (struct nlattr): 4-byte header {len, type} and a payload padded to 4 bytes.
// Builders write into one growing buffer so message layouts read as a list of intents.
import { NLA_F_NESTED, NLA_TYPE_MASK } from "./constants.js";

export const align4 = (n: number): number => (n + 3) & ~3;

/** A byte writer that grows as needed; offsets are returned so nests can patch their length. */
export class ByteWriter {
  private buf = Buffer.alloc(256);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  bytes(data: Buffer | Uint8Array): void {
    this.reserve(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
  }

  zeros(n: number): void {
    this.reserve(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }

  u8(v: number): void {
    this.reserve(1);
    this.buf.writeUInt8(v, this.length);
    this.length += 1;
  }

  u16(v: number): void {
    this.reserve(2);
    this.buf.writeUInt16LE(v, this.length);
    this.length += 2;
  }

  u32(v: number): void {
    this.reserve(4);
    this.buf.writeUInt32LE(v >>> 0, this.length);
    this.length += 4;
  }

  i32(v: number): void {
    this.reserve(4);
    this.buf.writeInt32LE(v, this.length);
    this.length += 4;
  }

  patchU32(offset: number, v: number): void {
    this.buf.writeUInt32LE(v >>> 0, offset);
  }

  patchU16(offset: number, v: number): void {
    this.buf.writeUInt16LE(v, offset);
  }

  pad(): void {
    this.zeros(align4(this.length) - this.length);
  }

  /** Attribute with a raw payload. */
  attr(type: number, payload: Buffer | Uint8Array): void {
    this.u16(4 + payload.length);
    this.u16(type);
    this.bytes(payload);
    this.pad();
  }

  attrU8(type: number, v: number): void {
    this.attr(type, Uint8Array.of(v & 0xff));
  }

  attrU16(type: number, v: number): void {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v);
    this.attr(type, b);
  }

  /** A 16-bit attribute in network byte order (e.g. IFLA_VXLAN_PORT). */
  attrBe16(type: number, v: number): void {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v);
    this.attr(type, b);
  }

  attrU32(type: number, v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    this.attr(type, b);
  }

  /** NUL-terminated string attribute. */
  attrString(type: number, s: string): void {
    this.attr(type, Buffer.from(`${s}\0`, "utf8"));
  }

  /** Opens a nested attribute; the callback writes its children; the length is patched after. */
  nest(type: number, body: () => void): void {
    const start = this.length;
    this.u16(0);
    this.u16(type | NLA_F_NESTED);
    body();
    this.patchU16(start, this.length - start);
    this.pad();
  }

  toBuffer(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

/** Parsed attributes of one level: type → payload (the last one wins; netlink sends each once). */
export type AttrMap = Map<number, Buffer>;

export class AttributeParseError extends Error {
  constructor(message: string) {
    super(`netlink: malformed attribute: ${message}`);
    this.name = "AttributeParseError";
  }
}

export function parseAttributes(buf: Buffer, offset = 0, end = buf.length): AttrMap {
  return new Map(parseAttributeList(buf, offset, end).map((a) => [a.type, a.payload]));
}

/** One attribute of a netlink array, where the type is an index (often 0 for every element) and may repeat. */
export interface ListedAttribute {
  type: number;
  payload: Buffer;
}

/** Attributes in order, repeats kept: what a netlink array (WireGuard peers, genetlink groups) needs. */
export function parseAttributeList(buf: Buffer, offset = 0, end = buf.length): ListedAttribute[] {
  const list: ListedAttribute[] = [];
  let pos = offset;
  while (pos + 4 <= end) {
    const len = buf.readUInt16LE(pos);
    const type = buf.readUInt16LE(pos + 2) & NLA_TYPE_MASK;
    if (len < 4 || pos + len > end) throw new AttributeParseError(`length ${len} at offset ${pos} runs past ${end}`);
    list.push({ type, payload: buf.subarray(pos + 4, pos + len) });
    pos += align4(len);
  }
  return list;
}

export const attrString = (b: Buffer | undefined): string | undefined => {
  if (!b) return undefined;
  const nul = b.indexOf(0);
  return b.toString("utf8", 0, nul === -1 ? b.length : nul);
};
export const attrU8 = (b: Buffer | undefined): number | undefined => (b && b.length >= 1 ? b.readUInt8(0) : undefined);
export const attrU16 = (b: Buffer | undefined): number | undefined => (b && b.length >= 2 ? b.readUInt16LE(0) : undefined);
export const attrBe16 = (b: Buffer | undefined): number | undefined => (b && b.length >= 2 ? b.readUInt16BE(0) : undefined);
export const attrU32 = (b: Buffer | undefined): number | undefined => (b && b.length >= 4 ? b.readUInt32LE(0) : undefined);
/** A u64 counter as a number: exact up to 2^53 bytes, which no interface counter reaches. */
export const attrU64 = (b: Buffer | undefined): number | undefined => (b && b.length >= 8 ? Number(b.readBigUInt64LE(0)) : undefined);
