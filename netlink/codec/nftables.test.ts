import { describe, expect, it } from "vitest";
import { parseAttributes } from "./attributes.js";
import { NLA_TYPE_MASK } from "./constants.js";
import { buildGetCounter, buildGetGen, buildGetSet, buildGetSetElement, buildSetElementsBatch, buildSetElementsTransaction, concatKey, KeyFieldError, parseCounterPackets, parseGenId } from "./nftables.js";

describe("nftables concatenated keys", () => {
  it("lays out ifname . ether_addr . ipv4_addr as nft does (16 + 6 padded to 8 + 4 bytes)", () => {
    // `nft --debug=netlink add element …{ "weft1234abce" . 0a:58:0a:f4:01:06 . 10.244.1.6 }` prints
    // these 28 bytes as host-order words: 74666577 34333231 65636261 00000000 f40a580a 00000601 0601f40a
    const key = concatKey([{ ifname: "weft1234abce" }, { etherAddr: "0a:58:0a:f4:01:06" }, { ipv4: "10.244.1.6" }]);
    const words = [...Array(key.length / 4).keys()].map((i) => key.readUInt32LE(i * 4).toString(16).padStart(8, "0"));
    expect(words).toEqual(["74666577", "34333231", "65636261", "00000000", "f40a580a", "00000601", "0601f40a"]);
  });

  it("lays out ipv4_addr . inet_proto . inet_service (a named port's element) as 4 + 1 + 2 bytes, each padded to 4", () => {
    const key = concatKey([{ ipv4: "10.244.0.2" }, { inetProto: 6 }, { inetService: 8080 }]);
    expect(key).toEqual(Buffer.from([10, 244, 0, 2, 6, 0, 0, 0, 0x1f, 0x90, 0, 0]));
    expect(concatKey([{ ipv6: "fd00::5" }, { inetProto: 132 }, { inetService: 80 }])).toHaveLength(24);
    expect(() => concatKey([{ inetProto: 256 }])).toThrow(/0–255/);
    expect(() => concatKey([{ inetService: 65536 }])).toThrow(/0–65535/);
  });

  it("refuses names, MACs and addresses the kernel would misread", () => {
    expect(() => concatKey([{ ifname: "" }])).toThrow(KeyFieldError);
    expect(() => concatKey([{ ifname: "sixteen-bytes-xx" }])).toThrow(/1–15 bytes/);
    expect(() => concatKey([{ etherAddr: "0a:58:0a:f4:01" }])).toThrow(/not a MAC/);
    expect(() => concatKey([{ ipv4: "10.244.1.256" }])).toThrow(/not an IPv4/);
    expect(() => concatKey([{ ipv4: "10.244.1" }])).toThrow(/not an IPv4/);
  });
});

describe("nftables set element batches", () => {
  const ref = { family: "BRIDGE", table: "weft", set: "pod-addresses" } as const;
  const key = concatKey([{ ifname: "weft00000001" }, { etherAddr: "0a:58:0a:f4:01:05" }, { ipv4: "10.244.1.5" }]);

  it("wraps the change in BATCH_BEGIN/END for the nf_tables subsystem; only the change asks for an ACK", () => {
    const [begin, change, end] = buildSetElementsBatch({ op: "add", ...ref, keys: [key] });
    expect(begin).toMatchObject({ type: 0x10, flags: 0x1 });
    expect(begin!.body).toEqual(Buffer.from([0, 0, 0, 10])); // res_id = NFNL_SUBSYS_NFTABLES, big-endian
    expect(end).toMatchObject({ type: 0x11, flags: 0x1 });
    expect(change!.type).toBe((10 << 8) | 12); // NFT_MSG_NEWSETELEM
    expect(change!.flags).toBe(0x1 | 0x4 | 0x400); // REQUEST | ACK | CREATE, no EXCL: re-adding is fine
    const del = buildSetElementsBatch({ op: "delete", ...ref, keys: [key] })[1]!;
    expect(del.type).toBe((10 << 8) | 14);
    expect(del.flags).toBe(0x1 | 0x4);
  });

  it("puts changes of several sets in one batch, a large change in several messages of it, and skips empty ones", () => {
    const keys = Array.from({ length: 600 }, (_, i) => concatKey([{ ipv4: `10.244.${i >> 8}.${i & 0xff}` }]));
    const batch = buildSetElementsTransaction([
      { op: "delete", family: "INET", table: "weft-policy", set: "peer-v4", keys: keys.slice(0, 1) },
      { op: "add", family: "INET", table: "weft-policy", set: "local-pods-v4", keys },
      { op: "add", family: "INET", table: "weft-policy", set: "empty-v4", keys: [] },
    ]);
    expect(batch.map((r) => r.type)).toEqual([0x10, (10 << 8) | 14, (10 << 8) | 12, (10 << 8) | 12, (10 << 8) | 12, 0x11]);
    const elements = (r: { body: Buffer }): number => parseAttributes(r.body, 4).get(3)!.length;
    expect(elements(batch[2]!)).toBe(elements(batch[3]!)); // 256 keys each, then the last 88
    expect(batch[1]!.body[0]).toBe(1); // NFPROTO_INET
  });

  it("names the table and set and nests each key as LIST_ELEM → KEY → DATA_VALUE", () => {
    const body = buildSetElementsBatch({ op: "add", ...ref, keys: [key, key] })[1]!.body;
    expect(body.subarray(0, 4)).toEqual(Buffer.from([7, 0, 0, 0])); // NFPROTO_BRIDGE
    const attrs = parseAttributes(body, 4);
    expect(attrs.get(1)!.toString()).toBe("weft\0");
    expect(attrs.get(2)!.toString()).toBe("pod-addresses\0");
    const elements = body.subarray(4);
    // Walk the nest by hand: the parser keeps the last of repeated types, and there are two elements.
    let pos = 0;
    const keys: Buffer[] = [];
    while (pos < elements.length) {
      const len = elements.readUInt16LE(pos);
      const type = elements.readUInt16LE(pos + 2);
      if ((type & NLA_TYPE_MASK) === 3) {
        for (let p = pos + 4; p < pos + len; ) {
          const elLen = elements.readUInt16LE(p);
          const keyNest = parseAttributes(elements, p + 4, p + elLen).get(1)!;
          keys.push(parseAttributes(keyNest).get(1)!);
          p += (elLen + 3) & ~3;
        }
      }
      pos += (len + 3) & ~3;
    }
    expect(keys).toEqual([key, key]);
  });

  it("looks a set and an element up outside a batch, with the same element layout", () => {
    const getSet = buildGetSet(ref);
    expect(getSet).toMatchObject({ type: (10 << 8) | 10, flags: 0x1 | 0x4 });
    const attrs = parseAttributes(getSet.body, 4);
    expect([attrs.get(1)!.toString(), attrs.get(2)!.toString()]).toEqual(["weft\0", "pod-addresses\0"]);
    const getElem = buildGetSetElement(ref, key);
    expect(getElem).toMatchObject({ type: (10 << 8) | 13, flags: 0x1 | 0x4 });
    expect(getElem.body).toEqual(buildSetElementsBatch({ op: "delete", ...ref, keys: [key] })[1]!.body);
  });
});

describe("nftables ruleset generation", () => {
  it("asks with GETGEN and reads NFTA_GEN_ID (big-endian) from the kernel's NEWGEN, and nothing from anything else", () => {
    const req = buildGetGen();
    expect(req.type).toBe((10 << 8) | 16);
    expect([...req.body]).toEqual([0, 0, 0, 0]);
    // NEWGEN: nfgenmsg, then NFTA_GEN_ID (len 8, type 1, be32 0x01020304) and NFTA_GEN_PROC_PID.
    const payload = Buffer.from([0, 0, 0, 0, 8, 0, 1, 0, 1, 2, 3, 4, 8, 0, 2, 0, 0, 0, 0, 42]);
    const msg = { type: (10 << 8) | 15, flags: 0, seq: 1, pid: 0, payload };
    expect(parseGenId(msg)).toBe(0x01020304);
    expect(parseGenId({ ...msg, type: (10 << 8) | 13 })).toBeUndefined();
    expect(parseGenId({ ...msg, payload: payload.subarray(0, 4) })).toBeUndefined();
    expect(() => parseGenId({ ...msg, payload: Buffer.from([0, 0, 0, 0, 8, 0, 1, 0, 1]) })).toThrow(/malformed attribute/);
  });
});

describe("nftables named counters", () => {
  it("asks with GETOBJ for a counter by table and name, and reads its packets (big-endian u64) from the kernel's NEWOBJ", () => {
    const req = buildGetCounter({ family: "BRIDGE", table: "weft", name: "spoofed" });
    expect(req.type).toBe((10 << 8) | 19);
    // nfgenmsg (bridge), NFTA_OBJ_TABLE "weft\0", NFTA_OBJ_NAME "spoofed\0", NFTA_OBJ_TYPE be32 1 (counter).
    expect([...req.body]).toEqual([7, 0, 0, 0, 9, 0, 1, 0, ...Buffer.from("weft\0"), 0, 0, 0, 12, 0, 2, 0, ...Buffer.from("spoofed\0"), 8, 0, 3, 0, 0, 0, 0, 1]);
    // NEWOBJ: nfgenmsg, NFTA_OBJ_TYPE, NFTA_OBJ_DATA (nested) { NFTA_COUNTER_BYTES, NFTA_COUNTER_PACKETS = 2^32 + 5 }.
    const u64 = (v: bigint): number[] => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(v);
      return [...b];
    };
    const data = [12, 0, 1, 0, ...u64(999n), 12, 0, 2, 0, ...u64(2n ** 32n + 5n)];
    const payload = Buffer.from([7, 0, 0, 0, 8, 0, 3, 0, 0, 0, 0, 1, 4 + data.length, 0, 4, 0x80, ...data]);
    const msg = { type: (10 << 8) | 18, flags: 0, seq: 1, pid: 0, payload };
    expect(parseCounterPackets(msg)).toBe(2 ** 32 + 5);
    expect(parseCounterPackets({ ...msg, type: (10 << 8) | 15 })).toBeUndefined();
    const quota = Buffer.from(payload);
    quota.writeUInt32BE(2, 8); // NFT_OBJECT_QUOTA: not a counter
    expect(parseCounterPackets({ ...msg, payload: quota })).toBeUndefined();
    expect(() => parseCounterPackets({ ...msg, payload: payload.subarray(0, payload.length - 3) })).toThrow(/malformed attribute/);
  });
});
