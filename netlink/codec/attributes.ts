// Netlink attributes (struct nlattr): 4-byte header {len, type} and a payload padded to 4 bytes.
// Builders write into one growing buffer so message layouts read as a list of intents.
import { NLA_F_NESTED, NLA_TYPE_MASK } from "./constants.js";
import { cString, readU16BE, readU16LE, readU32LE, readU8, view, writeI32LE, writeU16BE, writeU16LE, writeU32LE, writeU8 } from "./bytes.js";

export const align4 = (n: number): number => (n + 3) & ~3;

/** A byte writer that grows as needed; offsets are returned so nests can patch their length. */
export class ByteWriter {
  private buf = Buffer.alloc(256);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    next.set(view(this.buf, 0, this.length));
    this.buf = next;
  }

  bytes(data: Buffer | Uint8Array): void {
    this.reserve(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
  }

  zeros(n: number): void {
    this.reserve(n);
    // Fresh buffers are zeroed and written once, front to back: the bytes ahead are already 0.
    this.length += n;
  }

  u8(v: number): void {
    this.reserve(1);
    writeU8(this.buf, v, this.length);
    this.length += 1;
  }

  u16(v: number): void {
    this.reserve(2);
    writeU16LE(this.buf, v, this.length);
    this.length += 2;
  }

  u32(v: number): void {
    this.reserve(4);
    writeU32LE(this.buf, v >>> 0, this.length);
    this.length += 4;
  }

  i32(v: number): void {
    this.reserve(4);
    writeI32LE(this.buf, v, this.length);
    this.length += 4;
  }

  patchU32(offset: number, v: number): void {
    writeU32LE(this.buf, v >>> 0, offset);
  }

  patchU16(offset: number, v: number): void {
    writeU16LE(this.buf, v, offset);
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
    writeU16LE(b, v);
    this.attr(type, b);
  }

  /** A 16-bit attribute in network byte order (e.g. IFLA_VXLAN_PORT). */
  attrBe16(type: number, v: number): void {
    const b = Buffer.alloc(2);
    writeU16BE(b, v);
    this.attr(type, b);
  }

  attrU32(type: number, v: number): void {
    const b = Buffer.alloc(4);
    writeU32LE(b, v >>> 0);
    this.attr(type, b);
  }

  /** NUL-terminated string attribute (interface names, kinds: ASCII written directly, anything else as UTF-8). */
  attrString(type: number, s: string): void {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 0 || c > 0x7f) return this.attr(type, Buffer.from(`${s}\0`, "utf8"));
    }
    this.u16(4 + s.length + 1);
    this.u16(type);
    this.reserve(s.length + 1);
    for (let i = 0; i < s.length; i++) this.buf[this.length + i] = s.charCodeAt(i);
    this.length += s.length + 1; // the NUL: a fresh buffer's byte
    this.pad();
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
    return view(this.buf, 0, this.length);
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
    const len = readU16LE(buf, pos);
    const type = readU16LE(buf, pos + 2) & NLA_TYPE_MASK;
    if (len < 4 || pos + len > end) throw new AttributeParseError(`length ${len} at offset ${pos} runs past ${end}`);
    list.push({ type, payload: view(buf, pos + 4, pos + len) });
    pos += align4(len);
  }
  return list;
}

export const attrString = (b: Buffer | undefined): string | undefined => (b ? cString(b) : undefined);
export const attrU8 = (b: Buffer | undefined): number | undefined => (b && b.length >= 1 ? readU8(b, 0) : undefined);
export const attrU16 = (b: Buffer | undefined): number | undefined => (b && b.length >= 2 ? readU16LE(b, 0) : undefined);
export const attrBe16 = (b: Buffer | undefined): number | undefined => (b && b.length >= 2 ? readU16BE(b, 0) : undefined);
export const attrU32 = (b: Buffer | undefined): number | undefined => (b && b.length >= 4 ? readU32LE(b, 0) : undefined);
/** A u64 counter as a number: exact up to 2^53 bytes, which no interface counter reaches. */
export const attrU64 = (b: Buffer | undefined): number | undefined => (b && b.length >= 8 ? Number(b.readBigUInt64LE(0)) : undefined);
