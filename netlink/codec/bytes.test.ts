import { describe, expect, it } from "vitest";
import { copyOf, cString, view, readI32LE, readU16BE, readU16LE, readU32BE, readU32LE, readU8, writeI32LE, writeU16BE, writeU16LE, writeU32BE, writeU32LE, writeU8 } from "./bytes.js";

// Each helper against the Buffer method it stands in for, on random bytes at every offset.
const pairs = [
  { width: 1, ours: readU8, node: (b: Buffer, o: number) => b.readUInt8(o) },
  { width: 2, ours: readU16LE, node: (b: Buffer, o: number) => b.readUInt16LE(o) },
  { width: 2, ours: readU16BE, node: (b: Buffer, o: number) => b.readUInt16BE(o) },
  { width: 4, ours: readU32LE, node: (b: Buffer, o: number) => b.readUInt32LE(o) },
  { width: 4, ours: readU32BE, node: (b: Buffer, o: number) => b.readUInt32BE(o) },
  { width: 4, ours: readI32LE, node: (b: Buffer, o: number) => b.readInt32LE(o) },
];
const writers = [
  { max: 0xff, min: 0, ours: writeU8, node: (b: Buffer, v: number, o: number) => b.writeUInt8(v, o) },
  { max: 0xffff, min: 0, ours: writeU16LE, node: (b: Buffer, v: number, o: number) => b.writeUInt16LE(v, o) },
  { max: 0xffff, min: 0, ours: writeU16BE, node: (b: Buffer, v: number, o: number) => b.writeUInt16BE(v, o) },
  { max: 0xffffffff, min: 0, ours: writeU32LE, node: (b: Buffer, v: number, o: number) => b.writeUInt32LE(v, o) },
  { max: 0xffffffff, min: 0, ours: writeU32BE, node: (b: Buffer, v: number, o: number) => b.writeUInt32BE(v, o) },
  { max: 0x7fffffff, min: -0x80000000, ours: writeI32LE, node: (b: Buffer, v: number, o: number) => b.writeInt32LE(v, o) },
];

describe("fixed-width integers", () => {
  it("read what Buffer's methods read, at every offset", () => {
    for (let round = 0; round < 200; round++) {
      const b = Buffer.from(Array.from({ length: 9 }, () => Math.floor(Math.random() * 256)));
      for (const { width, ours, node } of pairs) for (let o = 0; o + width <= b.length; o++) expect(ours(b, o)).toBe(node(b, o));
    }
  });

  it("write what Buffer's methods write, extremes included", () => {
    for (const { max, min, ours, node } of writers) {
      for (const v of [min, max, 0, 1, Math.floor(min + Math.random() * (max - min))]) {
        const a = Buffer.alloc(8, 0xaa);
        const b = Buffer.alloc(8, 0xaa);
        ours(a, v, 3);
        node(b, v, 3);
        expect(a).toEqual(b);
      }
    }
  });

  it("refuse offsets past the end and values out of range, as Node does", () => {
    const b = Buffer.alloc(4);
    expect(() => readU32LE(b, 1)).toThrow(RangeError);
    expect(() => readU8(b, 4)).toThrow(RangeError);
    expect(() => readU16BE(b, -1)).toThrow(RangeError);
    expect(() => writeU16LE(b, 0x10000, 0)).toThrow(RangeError);
    expect(() => writeU32BE(b, 1, 2)).toThrow(RangeError);
    expect(() => writeI32LE(b, 0x80000000, 0)).toThrow(RangeError);
    expect(() => writeU8(b, -1, 0)).toThrow(RangeError);
  });

  it("view shares bytes and copyOf does not, both as Buffers; cString stops at the NUL and decodes UTF-8", () => {
    const b = Buffer.from("cni0\0junk", "latin1");
    const v = view(b, 0, 4);
    const c = copyOf(b, 0, 4);
    expect(Buffer.isBuffer(v) && Buffer.isBuffer(c)).toBe(true);
    b[0] = 0x43;
    expect([v.toString(), c.toString()]).toEqual(["Cni0", "cni0"]);
    expect(cString(b)).toBe("Cni0");
    expect(cString(Buffer.from("no-nul"))).toBe("no-nul");
    expect(cString(Buffer.from("grün\0x"))).toBe("grün");
    expect(cString(Buffer.alloc(0))).toBe("");
  });
});
