// The NFLOG codec against bytes written by hand from linux/netfilter/nfnetlink_log.h: the bind
// request's exact layout, and packet messages as the kernel batches them (several in one datagram,
// NLMSG_DONE last).
import { describe, expect, it } from "vitest";
import { parseMessages } from "./message.js";
import { buildNflogBind, buildNflogUnbind, NflogGroupError, parseNflogPacket } from "./nflog.js";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");

/** One netlink message: header (length, type, flags, seq, pid, little-endian) and body. */
function message(type: number, flags: number, body: Buffer): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt32LE(16 + body.length, 0);
  h.writeUInt16LE(type, 4);
  h.writeUInt16LE(flags, 6);
  return Buffer.concat([h, body]);
}

// An IPv4 TCP SYN 10.244.2.3:50000 → 10.244.1.3:8080, cut at 40 bytes.
const TCP_V4 = hex("4500003c 1c464000 4006 0000 0af40203 0af40103  c350 1f90 00000000 00000000 a002faf0 0000 0000");

describe("NFLOG bind request", () => {
  it("binds the group and sets copy-packet mode, range, flush timeout and threshold in one config message", () => {
    const req = buildNflogBind({ group: 0x7765, copyRange: 96, flushMs: 100, queueThreshold: 32 });
    expect(req.type).toBe(0x0401); // NFNL_SUBSYS_ULOG << 8 | NFULNL_MSG_CONFIG
    expect(req.flags).toBe(0x1 | 0x4);
    expect(req.body.toString("hex")).toBe(
      [
        "00007765", // nfgenmsg: AF_UNSPEC, v0, res_id = group big-endian
        "0500010001000000", // NFULA_CFG_CMD: BIND, padded
        "0a000200000000600200" + "0000", // NFULA_CFG_MODE: copy_range 96 (be32), NFULNL_COPY_PACKET, pad
        "080004000000000a", // NFULA_CFG_TIMEOUT: 10 hundredths
        "0800050000000020", // NFULA_CFG_QTHRESH: 32
      ].join(""),
    );
  });

  it("rounds the flush timeout up to the kernel's 1/100 s and never to 0; refuses a group outside u16", () => {
    const body = buildNflogBind({ group: 1, copyRange: 80, flushMs: 1, queueThreshold: 1 }).body;
    expect(body.subarray(24, 32).toString("hex")).toBe("0800040000000001");
    expect(() => buildNflogBind({ group: 65536, copyRange: 80, flushMs: 100, queueThreshold: 1 })).toThrow(NflogGroupError);
    expect(() => buildNflogUnbind(-1)).toThrow(/0 to 65535/);
    expect(buildNflogUnbind(5).body.toString("hex")).toBe("000000050500010002000000");
  });
});

describe("NFLOG packet messages", () => {
  const packetBody = (prefix: string, payload: Buffer, extra = ""): Buffer => {
    const p = Buffer.from(`${prefix}\0`);
    const padded = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
    const attr = (type: number, b: Buffer): Buffer => {
      const h = Buffer.alloc(4);
      h.writeUInt16LE(4 + b.length, 0);
      h.writeUInt16LE(type, 2);
      return padded(Buffer.concat([h, b]));
    };
    return Buffer.concat([
      hex("02007765"), // nfgenmsg: NFPROTO_IPV4, v0, group 0x7765
      attr(1, hex("08000200")), // NFULA_PACKET_HDR: hw_protocol 0x0800, hook 2 (forward)
      attr(4, hex("00000005")), // NFULA_IFINDEX_INDEV 5
      attr(5, hex("00000003")), // NFULA_IFINDEX_OUTDEV 3
      attr(6, hex("00000009")), // NFULA_IFINDEX_PHYSINDEV 9 (a bridge port)
      hex(extra),
      attr(10, p), // NFULA_PREFIX, NUL-terminated
      attr(9, payload), // NFULA_PAYLOAD
    ]);
  };

  it("reads group, family, prefix, hook, interfaces and the payload of each packet of a batch", () => {
    const datagram = Buffer.concat([
      message(0x0400, 0x2, packetBody("weft:0a1b2c3d4e", TCP_V4)),
      message(0x0400, 0x2, packetBody("", TCP_V4.subarray(0, 20), "0800020000000007")), // NFULA_MARK 7 is skipped
      message(3, 0x2, hex("00000000")), // NLMSG_DONE closes the batch
    ]);
    const msgs = parseMessages(datagram);
    expect(msgs).toHaveLength(3);
    const [first, second, done] = msgs.map(parseNflogPacket);
    expect(first).toEqual({ group: 0x7765, family: 2, prefix: "weft:0a1b2c3d4e", payload: TCP_V4, hook: 2, inIfindex: 5, outIfindex: 3, physInIfindex: 9 });
    expect(second?.prefix).toBe("");
    expect(second?.payload).toEqual(TCP_V4.subarray(0, 20));
    expect(done).toBeUndefined();
  });

  it("is not fooled by a config reply or a message too short for its nfgenmsg", () => {
    expect(parseNflogPacket({ type: 0x0401, flags: 0, seq: 1, pid: 0, payload: packetBody("x", TCP_V4) })).toBeUndefined();
    expect(parseNflogPacket({ type: 0x0400, flags: 0, seq: 1, pid: 0, payload: hex("0200") })).toBeUndefined();
  });

  it("copies the payload out of the receive buffer, which the next receive overwrites", () => {
    const rx = message(0x0400, 0, packetBody("p", TCP_V4));
    const packet = parseNflogPacket(parseMessages(rx)[0]!)!;
    rx.fill(0);
    expect(packet.payload).toEqual(TCP_V4);
  });
});
