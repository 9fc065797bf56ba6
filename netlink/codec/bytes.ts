// Fixed-width integers in byte arrays, as Buffer's readUInt32LE and friends read and write them.
// Why our own: Node's methods are JavaScript that every process compiles again at its first call of
// each (~0.3–0.5 ms for the ten the codec uses, in every start of the CNI plugin), while these are
// the plugin's own code, kept compiled in its code cache. Out-of-range offsets and values throw a
// RangeError, as Node's do: a short message is an error, never a silent 0.
type Bytes = Uint8Array;

function check(b: Bytes, o: number, width: number): void {
  if (!(o >= 0 && o + width <= b.length) || !Number.isInteger(o)) throw new RangeError(`offset ${o} (+${width} bytes) is outside a buffer of ${b.length} bytes`);
}

function checkValue(v: number, min: number, max: number): void {
  if (!(v >= min && v <= max) || !Number.isInteger(v)) throw new RangeError(`value ${v} is outside ${min}..${max}`);
}

export function readU8(b: Bytes, o: number): number {
  check(b, o, 1);
  return b[o]!;
}

export function readU16LE(b: Bytes, o: number): number {
  check(b, o, 2);
  return b[o]! | (b[o + 1]! << 8);
}

export function readU16BE(b: Bytes, o: number): number {
  check(b, o, 2);
  return (b[o]! << 8) | b[o + 1]!;
}

export function readU32LE(b: Bytes, o: number): number {
  check(b, o, 4);
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
}

export function readU32BE(b: Bytes, o: number): number {
  check(b, o, 4);
  return b[o]! * 0x1000000 + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
}

export function readI32LE(b: Bytes, o: number): number {
  check(b, o, 4);
  return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
}

export function writeU8(b: Bytes, v: number, o = 0): void {
  check(b, o, 1);
  checkValue(v, 0, 0xff);
  b[o] = v;
}

export function writeU16LE(b: Bytes, v: number, o = 0): void {
  check(b, o, 2);
  checkValue(v, 0, 0xffff);
  b[o] = v & 0xff;
  b[o + 1] = v >>> 8;
}

export function writeU16BE(b: Bytes, v: number, o = 0): void {
  check(b, o, 2);
  checkValue(v, 0, 0xffff);
  b[o] = v >>> 8;
  b[o + 1] = v & 0xff;
}

export function writeU32LE(b: Bytes, v: number, o = 0): void {
  check(b, o, 4);
  checkValue(v, 0, 0xffffffff);
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = v >>> 24;
}

export function writeU32BE(b: Bytes, v: number, o = 0): void {
  check(b, o, 4);
  checkValue(v, 0, 0xffffffff);
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

export function writeI32LE(b: Bytes, v: number, o = 0): void {
  checkValue(v, -0x80000000, 0x7fffffff);
  writeU32LE(b, v >>> 0, o);
}

// V8's own typed-array methods, not Buffer's overrides of them (JavaScript compiled at first call): they
// still return Buffers, through Buffer's species.
const typedSubarray = Uint8Array.prototype.subarray;
const typedSlice = Uint8Array.prototype.slice;

/** `b.subarray(start, end)`: a view, no copy. */
export function view(b: Buffer, start: number, end: number): Buffer {
  return typedSubarray.call(b, start, end) as Buffer;
}

/** `Buffer.from(b.subarray(start, end))`: a copy. */
export function copyOf(b: Buffer, start: number, end: number): Buffer {
  return typedSlice.call(b, start, end) as Buffer;
}

/** The text before the first NUL (netlink's strings are NUL-terminated); ASCII decoded here, anything else as UTF-8. */
export function cString(b: Buffer): string {
  let end = 0;
  let ascii = true;
  for (; end < b.length && b[end] !== 0; end++) if (b[end]! > 0x7f) ascii = false;
  if (!ascii) return b.toString("utf8", 0, end);
  let s = "";
  for (let i = 0; i < end; i++) s += String.fromCharCode(b[i]!);
  return s;
}
